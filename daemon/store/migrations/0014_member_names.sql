-- 0014: the names people know the core room's members by (issue 15).
--
-- Behind a WhatsApp bridge a member's Matrix id is a phone number
-- (@whatsapp_31612345678:server); every message Wijkbode writes names a member by
-- the display name kept here instead (daemon/rules/names.py). The chat intake keeps
-- it current in the transactions of the core room's events; a member who left keeps
-- their name, so what they filed earlier is still shown by it.
CREATE TABLE member_names (
    user_id TEXT PRIMARY KEY CHECK (length(user_id) > 0),
    name    TEXT NOT NULL CHECK (length(name) > 0),
    seen_at TEXT NOT NULL CHECK (seen_at GLOB '????-??-??T??:??:??.??????+00:00')
) STRICT;
