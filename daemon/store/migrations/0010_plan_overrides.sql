-- 0010 plan overrides: what a source other than the configuration says about a meeting
-- (the planning calendar; later a date poll), kept so it survives restarts and config
-- reloads. One row per outside event (source, external_id = the calendar UID), tied to
-- one meeting for good. base_* is the last state the configuration and the source agreed
-- on (NULL: they never did); a conflict is both moving away from it (see
-- daemon/rules/planning.py). ``applied``: the row's word holds in the stored plan now
-- (what `wijkbode meetings --json` shows as the meeting's source).
CREATE TABLE plan_overrides (
    source         TEXT NOT NULL CHECK (source IN ('calendar', 'poll')),
    external_id    TEXT NOT NULL CHECK (length(external_id) > 0),
    meeting_id     TEXT NOT NULL CHECK (length(meeting_id) > 0),
    series         TEXT NOT NULL CHECK (length(series) > 0),
    start          TEXT NOT NULL CHECK (start GLOB '????-??-??T??:??:??.??????+00:00'),
    "end"          TEXT NOT NULL CHECK ("end" GLOB '????-??-??T??:??:??.??????+00:00'),
    location       TEXT NOT NULL DEFAULT '',
    cancelled      INTEGER NOT NULL CHECK (cancelled IN (0, 1)),
    base_start     TEXT CHECK (base_start GLOB '????-??-??T??:??:??.??????+00:00'),
    base_cancelled INTEGER CHECK (base_cancelled IN (0, 1)),
    applied        INTEGER NOT NULL DEFAULT 0 CHECK (applied IN (0, 1)),
    updated_at     TEXT NOT NULL CHECK (updated_at GLOB '????-??-??T??:??:??.??????+00:00'),
    PRIMARY KEY (source, external_id),
    CHECK ((base_start IS NULL) = (base_cancelled IS NULL))
) STRICT;

-- One source's word per meeting.
CREATE UNIQUE INDEX plan_overrides_by_meeting ON plan_overrides (meeting_id, source);

-- The planning calendar as last read: its RFC 6578 sync token and ctag, and the
-- ETag and UID of every event in it (the fallback compares ETags; a sync report
-- names a removed event only by its href).
CREATE TABLE planning_calendars (
    calendar   TEXT PRIMARY KEY CHECK (length(calendar) > 0),
    sync_token TEXT,
    ctag       TEXT,
    read_at    TEXT NOT NULL CHECK (read_at GLOB '????-??-??T??:??:??.??????+00:00')
) STRICT;

CREATE TABLE planning_events (
    calendar TEXT NOT NULL REFERENCES planning_calendars (calendar),
    href     TEXT NOT NULL CHECK (length(href) > 0),
    etag     TEXT NOT NULL,
    uid      TEXT NOT NULL,
    PRIMARY KEY (calendar, href)
) STRICT;
