"""The public calendar over CalDAV (caldav + icalendar); ``ical`` builds the text without I/O."""
