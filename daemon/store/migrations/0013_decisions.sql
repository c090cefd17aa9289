-- 0013 decisions and polls (issue 12, RULES.md "Decisions (besluiten) and date polls").
-- A poll in the core room (a decision on an item, or a date poll on a meeting) is stored
-- in the same transaction as the command that started it, with the outbox key of its
-- start event (``start_key``: the delivered row's remote_id is the Matrix event that
-- responses point at) and the members of the room when it started (only they count).
-- Every response is one row keyed by its event id, so a restart that delivers it again
-- adds nothing; the count takes each member's latest response before ``closes_at``.
CREATE TABLE polls (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT NOT NULL CHECK (kind IN ('decision', 'date')),
    item_id     INTEGER REFERENCES items (id),
    meeting_id  TEXT NOT NULL CHECK (length(meeting_id) > 0),
    room_id     TEXT NOT NULL CHECK (length(room_id) > 0),
    question    TEXT NOT NULL CHECK (length(question) > 0),
    answers     TEXT NOT NULL CHECK (json_valid(answers) AND json_array_length(answers) >= 2),
    members     TEXT NOT NULL CHECK (json_valid(members)),
    start_key   TEXT NOT NULL UNIQUE CHECK (length(start_key) > 0),
    started_by  TEXT NOT NULL,
    started_at  TEXT NOT NULL CHECK (started_at GLOB '????-??-??T??:??:??.??????+00:00'),
    closes_at   TEXT NOT NULL CHECK (closes_at GLOB '????-??-??T??:??:??.??????+00:00'),
    closed_at   TEXT CHECK (closed_at GLOB '????-??-??T??:??:??.??????+00:00'),
    result      TEXT CHECK (result IS NULL OR json_valid(result)),
    CHECK ((kind = 'decision') = (item_id IS NOT NULL)),
    CHECK ((closed_at IS NULL) = (result IS NULL))
) STRICT;

-- One open poll per item, and one open date poll per meeting.
CREATE UNIQUE INDEX polls_open_decision ON polls (item_id)
    WHERE kind = 'decision' AND closed_at IS NULL;
CREATE UNIQUE INDEX polls_open_date ON polls (meeting_id)
    WHERE kind = 'date' AND closed_at IS NULL;
CREATE INDEX polls_open_by_close ON polls (closes_at) WHERE closed_at IS NULL;

CREATE TABLE poll_responses (
    event_id    TEXT PRIMARY KEY CHECK (length(event_id) > 0),
    poll_id     INTEGER NOT NULL REFERENCES polls (id),
    sender      TEXT NOT NULL CHECK (length(sender) > 0),
    answer      TEXT NOT NULL,
    at          TEXT NOT NULL CHECK (at GLOB '????-??-??T??:??:??.??????+00:00'),
    received_at TEXT NOT NULL CHECK (received_at GLOB '????-??-??T??:??:??.??????+00:00')
) STRICT;

CREATE INDEX poll_responses_by_poll ON poll_responses (poll_id);

-- A decision on an item: from a closed poll, or the votes counted at the meeting
-- (``!uitslag``). Counts per party and the weights used, as JSON objects
-- ({"bewoners": {"voor": 4, ...}}, {"bewoners": 1, "partners": 1}); the outcome names
-- the rule that decided it (consensus, adopted/rejected by 50%+1, staking).
CREATE TABLE decisions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    item_id     INTEGER NOT NULL REFERENCES items (id),
    meeting_id  TEXT,
    method      TEXT NOT NULL CHECK (method IN ('meeting', 'poll')),
    poll_id     INTEGER UNIQUE REFERENCES polls (id),
    outcome     TEXT NOT NULL CHECK (outcome IN ('consensus', 'adopted', 'rejected', 'staking')),
    counts      TEXT NOT NULL CHECK (json_valid(counts)),
    weights     TEXT NOT NULL CHECK (json_valid(weights)),
    not_counted TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(not_counted)),
    recorded_by TEXT NOT NULL,
    decided_at  TEXT NOT NULL CHECK (decided_at GLOB '????-??-??T??:??:??.??????+00:00'),
    CHECK ((method = 'poll') = (poll_id IS NOT NULL))
) STRICT;

CREATE INDEX decisions_by_item ON decisions (item_id, id);
CREATE INDEX decisions_by_meeting ON decisions (meeting_id, id);

-- A decision a partner will not or cannot carry out: a non-binding advice the partner
-- answers with a motivation by ``due``, tracked as the afspraak ``agreement_id`` (its
-- reminders and overdue report), closed when the answer comes in.
CREATE TABLE advice (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    decision_id  INTEGER NOT NULL UNIQUE REFERENCES decisions (id),
    agreement_id INTEGER REFERENCES agreements (id),
    partner      TEXT NOT NULL CHECK (length(trim(partner)) > 0),
    address      TEXT,
    due          TEXT NOT NULL CHECK (due GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
    requested_by TEXT NOT NULL,
    requested_at TEXT NOT NULL CHECK (requested_at GLOB '????-??-??T??:??:??.??????+00:00'),
    motivation   TEXT,
    answered_at  TEXT CHECK (answered_at GLOB '????-??-??T??:??:??.??????+00:00'),
    CHECK ((answered_at IS NULL) = (motivation IS NULL))
) STRICT;

CREATE INDEX advice_open ON advice (due) WHERE answered_at IS NULL;
