-- 0003 mail: what the mail intake has handled, so every mail is filed exactly once.
-- A mail is named by (folder, uidvalidity, uid) while its folder keeps its
-- UIDVALIDITY; across a renumbering it is recognised by Message-ID plus the
-- sha256 of its bytes. Instants are UTC text of one fixed width (timefmt.py).

-- Where the intake is in its folder: every UID up to last_uid is handled.
CREATE TABLE mail_folder_state (
    folder      TEXT PRIMARY KEY CHECK (length(folder) > 0),
    uidvalidity INTEGER NOT NULL CHECK (uidvalidity >= 0),
    last_uid    INTEGER NOT NULL CHECK (last_uid >= 0),
    updated_at  TEXT NOT NULL CHECK (updated_at GLOB '????-??-??T??:??:??.??????+00:00')
) STRICT;

-- One row per mail handled, written in the transaction that files it (or its
-- quarantine). moved_at stays NULL until the IMAP move is confirmed, so a
-- crash between commit and move only redoes the move.
CREATE TABLE mail_handled (
    folder         TEXT NOT NULL,
    uidvalidity    INTEGER NOT NULL,
    uid            INTEGER NOT NULL CHECK (uid > 0),
    message_id     TEXT NOT NULL,
    content_sha256 TEXT NOT NULL CHECK (length(content_sha256) = 64),
    outcome        TEXT NOT NULL
                   CHECK (outcome IN ('filed', 'version', 'repeat', 'quarantined', 'ignored')),
    item_id        INTEGER REFERENCES items (id),
    sender         TEXT NOT NULL DEFAULT '',
    at             TEXT NOT NULL CHECK (at GLOB '????-??-??T??:??:??.??????+00:00'),
    moved_at       TEXT CHECK (moved_at GLOB '????-??-??T??:??:??.??????+00:00'),
    PRIMARY KEY (folder, uidvalidity, uid),
    CHECK (outcome NOT IN ('filed', 'version', 'repeat') OR item_id IS NOT NULL)
) STRICT;

CREATE INDEX mail_handled_by_message ON mail_handled (message_id, content_sha256);
CREATE INDEX mail_handled_unmoved ON mail_handled (folder, uidvalidity) WHERE moved_at IS NULL;

-- Parse attempts of a mail not yet handled; counted before each attempt, so a
-- mail that takes the daemon down is quarantined after a bounded number of tries.
CREATE TABLE mail_attempts (
    folder      TEXT NOT NULL,
    uidvalidity INTEGER NOT NULL,
    uid         INTEGER NOT NULL,
    attempts    INTEGER NOT NULL CHECK (attempts >= 0),
    last_error  TEXT NOT NULL DEFAULT '',
    updated_at  TEXT NOT NULL CHECK (updated_at GLOB '????-??-??T??:??:??.??????+00:00'),
    PRIMARY KEY (folder, uidvalidity, uid)
) STRICT;

-- Mail that could not be understood, moved to the quarantine folder. The
-- operator asks for a retry (status 'retry'); the intake moves it back to the
-- inbox (status 'retried'), where it arrives with a new UID.
CREATE TABLE mail_quarantine (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    folder         TEXT NOT NULL,
    uidvalidity    INTEGER NOT NULL,
    uid            INTEGER NOT NULL,
    message_id     TEXT NOT NULL DEFAULT '',
    content_sha256 TEXT NOT NULL CHECK (length(content_sha256) = 64),
    sender         TEXT NOT NULL DEFAULT '',
    subject        TEXT NOT NULL DEFAULT '',
    reason         TEXT NOT NULL CHECK (length(reason) > 0),
    at             TEXT NOT NULL CHECK (at GLOB '????-??-??T??:??:??.??????+00:00'),
    status         TEXT NOT NULL DEFAULT 'quarantined'
                   CHECK (status IN ('quarantined', 'retry', 'retried')),
    retried_at     TEXT CHECK (retried_at GLOB '????-??-??T??:??:??.??????+00:00'),
    UNIQUE (folder, uidvalidity, uid)
) STRICT;

CREATE INDEX mail_quarantine_by_status ON mail_quarantine (status, id);

-- Message-IDs that belong to an item's thread: the mails filed for it and the
-- receipts we sent. A reply naming one of them adds a version to that item.
CREATE TABLE mail_thread_ids (
    message_id TEXT PRIMARY KEY CHECK (length(message_id) > 2),
    item_id    INTEGER NOT NULL REFERENCES items (id)
) STRICT;
