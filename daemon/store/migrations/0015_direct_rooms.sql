-- 0015: the direct chat Wijkbode opened with a member, to remind them of their
-- afspraken (issue 11). One room per member, opened the first time a reminder goes
-- to them and used from then on, so a member gets one conversation with the bot,
-- not one per reminder. The member's user id is personal data: privacy forget finds
-- it here like everywhere else.
CREATE TABLE direct_rooms (
    user_id   TEXT PRIMARY KEY CHECK (length(user_id) > 0),
    room_id   TEXT NOT NULL CHECK (length(room_id) > 0),
    opened_at TEXT NOT NULL CHECK (opened_at GLOB '????-??-??T??:??:??.??????+00:00')
) STRICT;
