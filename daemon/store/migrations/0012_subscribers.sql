-- 0012 residents' mail subscriptions (issue 11): an address given on the public page,
-- kept only to send the announcements of the public series to, and deleted (not
-- flagged) on unsubscribe or when its confirmation expired. Outbox rows name a
-- subscriber as 'subscriber:<id>', never by address; the mail channel looks the address
-- up when it sends. AUTOINCREMENT: an id is never given out twice, so a row queued for
-- someone who left can never reach the next one to subscribe.
-- address_hash: sha256 of the address, to find it again without scanning;
-- confirm_hash: sha256 of the confirmation link's token (the token itself is in the
-- mail only); unsubscribe_token: the token of the unsubscribe link in every mail.
CREATE TABLE subscribers (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    address           TEXT NOT NULL CHECK (length(address) > 0),
    address_hash      TEXT NOT NULL UNIQUE CHECK (length(address_hash) = 64),
    language          TEXT NOT NULL CHECK (length(language) > 0),
    confirm_hash      TEXT UNIQUE CHECK (confirm_hash IS NULL OR length(confirm_hash) = 64),
    confirm_expires   TEXT CHECK (confirm_expires GLOB '????-??-??T??:??:??.??????+00:00'),
    unsubscribe_token TEXT NOT NULL UNIQUE CHECK (length(unsubscribe_token) >= 32),
    created_at        TEXT NOT NULL CHECK (created_at GLOB '????-??-??T??:??:??.??????+00:00'),
    confirmed_at      TEXT CHECK (confirmed_at GLOB '????-??-??T??:??:??.??????+00:00'),
    -- confirmed, or waiting for confirmation until confirm_expires: never both, never neither
    CHECK ((confirmed_at IS NULL) = (confirm_hash IS NOT NULL AND confirm_expires IS NOT NULL))
) STRICT;
