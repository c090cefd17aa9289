"""Chat: the core group's Matrix rooms as a way in.

Filing by prefix, file caption or 📌, afspraken with their due dates, the ``!``
commands, who may do what in which room, and the replies. Uses ``engine`` (an
afspraak's reminders), ``publish`` (item posts, change notices) and ``filing``.
"""
