"""Adapters from outside systems' libraries to the small interfaces in ``daemon.ports``."""
