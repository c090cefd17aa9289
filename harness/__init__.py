"""Real servers on loopback (Synapse, Dovecot, an SMTP relay, Radicale) for tests, benchmarks and the demo."""
