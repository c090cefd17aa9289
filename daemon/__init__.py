"""Wijkbode: the core (domain, rules, scheduler, outbox, store, wiring)."""

__version__ = "0.1.0"
