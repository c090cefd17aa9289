-- 0002 engine: the outbox (every outgoing effect) and the scheduler's jobs.
-- Instants are UTC text of one fixed width (see daemon/store/timefmt.py).

-- One row per effect, written in the transaction of the state change that
-- causes it. AUTOINCREMENT so ids only grow: delivery order per destination is id order.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    channel         TEXT NOT NULL CHECK (channel IN ('matrix', 'mail', 'caldav', 'feed')),
    destination     TEXT NOT NULL CHECK (length(destination) > 0),
    key             TEXT NOT NULL UNIQUE CHECK (length(key) > 0),
    payload         TEXT NOT NULL CHECK (json_valid(payload)),
    created_at      TEXT NOT NULL CHECK (created_at GLOB '????-??-??T??:??:??.??????+00:00'),
    status          TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'delivered', 'parked')),
    attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at TEXT CHECK (next_attempt_at GLOB '????-??-??T??:??:??.??????+00:00'),
    last_error      TEXT,
    delivered_at    TEXT CHECK (delivered_at GLOB '????-??-??T??:??:??.??????+00:00'),
    remote_id       TEXT,
    CHECK ((status = 'delivered') = (delivered_at IS NOT NULL))
) STRICT;

-- The dispatcher's question: the oldest pending row of each destination of a channel.
CREATE INDEX outbox_pending ON outbox (channel, status, destination, id);

-- One row per (subject, moment, channel). ``target_at`` is the instant the
-- moment points at (the meeting start, a deadline, an afspraak's due instant)
-- and ``subject_at`` the meeting start the job was planned for, so the
-- catch-up policy and the moved-meeting notices need no other table.
CREATE TABLE jobs (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    key          TEXT NOT NULL UNIQUE CHECK (length(key) > 0),
    subject_type TEXT NOT NULL CHECK (subject_type IN ('meeting', 'agreement')),
    subject_id   TEXT NOT NULL CHECK (length(subject_id) > 0),
    moment       TEXT NOT NULL CHECK (length(moment) > 0),
    channel      TEXT NOT NULL CHECK (channel IN ('matrix', 'mail', 'caldav', 'feed')),
    due_at       TEXT NOT NULL CHECK (due_at GLOB '????-??-??T??:??:??.??????+00:00'),
    target_at    TEXT NOT NULL CHECK (target_at GLOB '????-??-??T??:??:??.??????+00:00'),
    subject_at   TEXT NOT NULL CHECK (subject_at GLOB '????-??-??T??:??:??.??????+00:00'),
    status       TEXT NOT NULL DEFAULT 'pending'
                 CHECK (status IN ('pending', 'fired', 'skipped', 'cancelled', 'failed')),
    fired_at     TEXT CHECK (fired_at GLOB '????-??-??T??:??:??.??????+00:00'),
    note         TEXT NOT NULL DEFAULT '',
    created_at   TEXT NOT NULL CHECK (created_at GLOB '????-??-??T??:??:??.??????+00:00'),
    updated_at   TEXT NOT NULL CHECK (updated_at GLOB '????-??-??T??:??:??.??????+00:00')
) STRICT;

CREATE INDEX jobs_by_status_due ON jobs (status, due_at);
CREATE INDEX jobs_by_subject ON jobs (subject_type, subject_id, channel);
CREATE INDEX jobs_by_updated ON jobs (updated_at);
