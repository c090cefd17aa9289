-- 0006: every name a document arrived under; mail that failed authentication at our
-- server; outbox rows a channel failed on unexpectedly.

-- Five identical PDFs under five names are five rows, so the item shows what the
-- receipt says. The same content under the same name in one version is still one row.
CREATE TABLE item_documents_0006 (
    item_id  INTEGER NOT NULL REFERENCES items (id),
    sha256   TEXT NOT NULL REFERENCES documents (sha256),
    version  INTEGER NOT NULL CHECK (version >= 1),
    filename TEXT NOT NULL CHECK (length(filename) > 0),
    added_at TEXT NOT NULL CHECK (added_at GLOB '????-??-??T??:??:??.??????+00:00'),
    PRIMARY KEY (item_id, version, sha256, filename)
) STRICT;

-- In rowid order: the order attached is the order shown.
INSERT INTO item_documents_0006 (item_id, sha256, version, filename, added_at)
    SELECT item_id, sha256, version, filename, added_at FROM item_documents ORDER BY rowid;

DROP TABLE item_documents;

ALTER TABLE item_documents_0006 RENAME TO item_documents;

CREATE INDEX item_documents_by_item_version ON item_documents (item_id, version);
CREATE INDEX item_documents_by_sha256 ON item_documents (sha256);

-- The failing SPF/DKIM/DMARC result our own server gave the mail that filed the item
-- ("possibly forged"); NULL when nothing failed.
ALTER TABLE items ADD COLUMN auth_failure TEXT;

-- Consecutive attempts that ended in an exception the channel did not foresee; the
-- dispatcher parks the row after a few, instead of retrying a bug forever.
ALTER TABLE outbox ADD COLUMN unexpected_failures INTEGER NOT NULL DEFAULT 0
    CHECK (unexpected_failures >= 0);
