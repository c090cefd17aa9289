"""The calendars over CalDAV (caldav + icalendar).

``channel.CaldavChannel`` is the outbox channel for ``CalendarWrite`` effects;
``connection.CaldavConnection`` the login and the calendar it writes to; ``ical``
builds the iCalendar text without I/O; ``planning`` reads the core group's
planning calendar; ``on_demand.OnDemandCaldavChannel`` defers loading caldav
(about 17 MB) until the first write. This package imports nothing itself.
"""
