-- 0011 download tokens: a link to one document of one meeting's stukken package, for a
-- partner whose package is too large to attach (issue 11). Minted in the same
-- transaction as the outbox row of the mail that carries it (``effect_key``), so a crash
-- can neither send a link that was never stored nor store one that is never sent.
-- The token is secrets.token_urlsafe(32): unguessable, and the only way in (no listing).
-- A link works until the meeting (as it stands now) is over; ``expires_at`` is the
-- meeting's end when it was minted, used when the meeting is no longer stored.
-- ``downloads`` counts the successful downloads (no address, no agent: no personal data).
CREATE TABLE download_tokens (
    token         TEXT PRIMARY KEY CHECK (length(token) >= 32),
    meeting_id    TEXT NOT NULL CHECK (length(meeting_id) > 0),
    effect_key    TEXT NOT NULL CHECK (length(effect_key) > 0),
    sha256        TEXT NOT NULL
                  CHECK (length(sha256) = 64 AND sha256 NOT GLOB '*[^0-9a-f]*'),
    filename      TEXT NOT NULL CHECK (length(filename) > 0),
    content_type  TEXT NOT NULL CHECK (length(content_type) > 0),
    expires_at    TEXT NOT NULL CHECK (expires_at GLOB '????-??-??T??:??:??.??????+00:00'),
    created_at    TEXT NOT NULL CHECK (created_at GLOB '????-??-??T??:??:??.??????+00:00'),
    downloads     INTEGER NOT NULL DEFAULT 0 CHECK (downloads >= 0),
    UNIQUE (effect_key, sha256)
) STRICT;

CREATE INDEX download_tokens_by_meeting ON download_tokens (meeting_id);
