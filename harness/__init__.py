"""Real servers on loopback for tests, benchmarks and the demo.

Dovecot (IMAP + LMTP), an aiosmtpd relay, Radicale and Synapse; see ``servers.py``.
"""
