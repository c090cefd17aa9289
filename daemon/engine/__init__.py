"""The engine: the scheduler that fires each moment once, the outbox dispatchers
that deliver each effect once, and the sync of the configured plan into the store.
"""
