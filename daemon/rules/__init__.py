"""The rulebook (docs/RULES.md) as pure functions: no I/O, no store.

``moments`` and ``assignment`` (deadlines, which meeting, lateness), ``plan``
(a series' yearly plan), ``catchup`` (what still makes sense late) and
``defaults`` (RULES.md's numbers).
"""
