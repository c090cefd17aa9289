"""The public calendar over CalDAV (caldav + icalendar).

``CaldavChannel`` is the outbox channel for ``CalendarWrite`` effects;
``CaldavConnection`` the login and the calendar it writes to; ``ical`` builds
the iCalendar text without I/O.
"""

from connectors.calendar.channel import CaldavChannel
from connectors.calendar.connection import CaldavConnection

__all__ = ["CaldavChannel", "CaldavConnection"]
