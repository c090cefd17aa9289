"""Publication: every outgoing message is composed here.

Receipts, item posts and the room feed, each scheduled moment's messages, and
change notices. Composing is pure; the enqueue helpers write outbox rows in
the caller's transaction.
"""
