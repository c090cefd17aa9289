"""The small interfaces the core declares and connectors implement.

One module per outside concern: ``outbox`` (effects and the channels that
deliver them), ``mail`` (the mailbox we read), ``chat`` (Matrix), ``calendar``.
The core imports these, never a connector's library.
"""
