-- 0004 chat: Matrix events Wijkbode has handled, and the items filed from chat messages.

-- Written in the transaction of the event's effects: an event is handled with
-- all its effects or not at all, and a restart that delivers it again skips it.
CREATE TABLE chat_handled_events (
    event_id   TEXT PRIMARY KEY,
    room_id    TEXT NOT NULL,
    handled_at TEXT NOT NULL
) STRICT;

-- The message an item was filed from (a filing message, or one pinned with 📌),
-- so the same message is never filed twice.
CREATE TABLE chat_items (
    event_id TEXT PRIMARY KEY,
    room_id  TEXT NOT NULL,
    item_id  INTEGER NOT NULL REFERENCES items (id)
) STRICT;

CREATE INDEX chat_items_item ON chat_items (item_id);
