-- 0005 room feed: posts about newly filed items waiting for the core group's room.
-- A row (with its rendered post) is written in the filing transaction; the room
-- feed enqueues waiting rows (one post each, or one digest after a burst) and
-- marks them posted in that same transaction, so each item is posted exactly once.
CREATE TABLE room_feed (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    key       TEXT NOT NULL UNIQUE CHECK (length(key) > 0),
    item_id   INTEGER NOT NULL REFERENCES items (id),
    post      TEXT NOT NULL CHECK (json_valid(post)),
    queued_at TEXT NOT NULL CHECK (queued_at GLOB '????-??-??T??:??:??.??????+00:00'),
    posted_at TEXT CHECK (posted_at GLOB '????-??-??T??:??:??.??????+00:00')
) STRICT;

CREATE INDEX room_feed_waiting ON room_feed (posted_at, id);
