-- 0001 core: meetings, items, documents, agreements (afspraken) and the item audit trail.
-- Instants are UTC text of one fixed width (see daemon/store/timefmt.py), so text
-- order is time order. Booleans are INTEGER 0/1.

CREATE TABLE meetings (
    id         TEXT PRIMARY KEY CHECK (length(id) > 0),
    series     TEXT NOT NULL CHECK (length(series) > 0),
    title      TEXT NOT NULL,
    start      TEXT NOT NULL CHECK (start GLOB '????-??-??T??:??:??.??????+00:00'),
    "end"      TEXT NOT NULL CHECK ("end" GLOB '????-??-??T??:??:??.??????+00:00'),
    location   TEXT NOT NULL,
    status     TEXT NOT NULL DEFAULT 'planned' CHECK (status IN ('planned', 'cancelled')),
    updated_at TEXT NOT NULL CHECK (updated_at GLOB '????-??-??T??:??:??.??????+00:00'),
    CHECK ("end" >= start)
) STRICT;

CREATE INDEX meetings_by_start ON meetings (start);
CREATE INDEX meetings_by_series_start ON meetings (series, start);

CREATE TABLE items (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    kind           TEXT NOT NULL
                   CHECK (kind IN ('agendapunt', 'stuk', 'ter_kennisgeving', 'actualiteit')),
    title          TEXT NOT NULL CHECK (length(trim(title)) > 0),
    text           TEXT NOT NULL DEFAULT '',
    submitter      TEXT NOT NULL,
    received_at    TEXT NOT NULL CHECK (received_at GLOB '????-??-??T??:??:??.??????+00:00'),
    meeting_id     TEXT REFERENCES meetings (id),
    late           INTEGER NOT NULL CHECK (late IN (0, 1)),
    decision_ready INTEGER NOT NULL CHECK (decision_ready IN (0, 1)),
    status         TEXT NOT NULL CHECK (status IN (
                       'filed', 'awaiting_acceptance', 'ter_bespreking',
                       'unplanned', 'rejected', 'withdrawn')),
    source         TEXT NOT NULL CHECK (source IN ('mail', 'chat', 'cli')),
    moved_from     TEXT,
    position       INTEGER NOT NULL CHECK (position >= 1),
    created_at     TEXT NOT NULL CHECK (created_at GLOB '????-??-??T??:??:??.??????+00:00')
) STRICT;

-- Agenda order within a meeting, and the lookup of items not yet planned
-- (meeting_id IS NULL). Unique, so two items never share a place.
CREATE UNIQUE INDEX items_by_meeting_position ON items (meeting_id, position);

CREATE TABLE documents (
    sha256       TEXT PRIMARY KEY
                 CHECK (length(sha256) = 64 AND sha256 NOT GLOB '*[^0-9a-f]*'),
    content_type TEXT NOT NULL CHECK (length(content_type) > 0),
    size         INTEGER NOT NULL CHECK (size >= 0)
) STRICT;

-- A reply that brings new versions of an item's documents adds rows with the
-- next version number, so earlier versions stay as they were sent.
CREATE TABLE item_documents (
    item_id  INTEGER NOT NULL REFERENCES items (id),
    sha256   TEXT NOT NULL REFERENCES documents (sha256),
    version  INTEGER NOT NULL CHECK (version >= 1),
    filename TEXT NOT NULL CHECK (length(filename) > 0),
    added_at TEXT NOT NULL CHECK (added_at GLOB '????-??-??T??:??:??.??????+00:00'),
    PRIMARY KEY (item_id, sha256, version)
) STRICT;

CREATE INDEX item_documents_by_item_version ON item_documents (item_id, version);
CREATE INDEX item_documents_by_sha256 ON item_documents (sha256);

CREATE TABLE agreements (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    what       TEXT NOT NULL CHECK (length(trim(what)) > 0),
    owner      TEXT NOT NULL CHECK (length(trim(owner)) > 0),
    due        TEXT NOT NULL CHECK (due GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
    status     TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done', 'cannot')),
    motivation TEXT,
    created_at TEXT NOT NULL CHECK (created_at GLOB '????-??-??T??:??:??.??????+00:00'),
    meeting_id TEXT REFERENCES meetings (id),
    closed_at  TEXT CHECK (closed_at GLOB '????-??-??T??:??:??.??????+00:00'),
    -- An agreement that cannot be kept is closed only with a motivation (RULES.md).
    CHECK (status != 'cannot' OR (motivation IS NOT NULL AND length(trim(motivation)) > 0)),
    CHECK ((status = 'open') = (closed_at IS NULL))
) STRICT;

CREATE INDEX agreements_by_status_due ON agreements (status, due);
CREATE INDEX agreements_by_meeting ON agreements (meeting_id);

-- What happened to an item and when (filed, moved, accepted, kept for
-- discussion, withdrawn), so a sender can be told when that changes.
CREATE TABLE item_events (
    id      INTEGER PRIMARY KEY,
    item_id INTEGER NOT NULL REFERENCES items (id),
    at      TEXT NOT NULL CHECK (at GLOB '????-??-??T??:??:??.??????+00:00'),
    event   TEXT NOT NULL CHECK (length(event) > 0),
    detail  TEXT NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX item_events_by_item ON item_events (item_id, id);
