-- 0008 public events: what the public calendar feed and page show of each meeting, as
-- last published. The feed channel writes a row when it delivers an outbox row of channel
-- 'feed' (the meeting's publication moment, then every notice: moved, cancelled, goes
-- ahead), so a meeting is public exactly from the moment its publication job fired, and
-- never before. ``event`` is the CalendarWrite as published (its UID is the CalDAV
-- event's); ``sequence`` only grows (RFC 5545 SEQUENCE), ``moved_from`` is the start it
-- had before the last published move.
CREATE TABLE public_events (
    uid          TEXT PRIMARY KEY CHECK (length(uid) > 0),
    meeting_id   TEXT NOT NULL CHECK (length(meeting_id) > 0),
    feed         TEXT NOT NULL CHECK (length(feed) > 0),
    event        TEXT NOT NULL CHECK (json_valid(event)),
    sequence     INTEGER NOT NULL CHECK (sequence >= 0),
    moved_from   TEXT CHECK (moved_from GLOB '????-??-??T??:??:??.??????+00:00'),
    effect_key   TEXT NOT NULL CHECK (length(effect_key) > 0),
    published_at TEXT NOT NULL CHECK (published_at GLOB '????-??-??T??:??:??.??????+00:00'),
    changed_at   TEXT NOT NULL CHECK (changed_at GLOB '????-??-??T??:??:??.??????+00:00')
) STRICT;

CREATE INDEX public_events_by_meeting ON public_events (meeting_id);
