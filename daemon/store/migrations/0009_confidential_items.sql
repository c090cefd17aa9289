-- 0009: an item a core-group member keeps off every public surface (`!vertrouwelijk
-- WB-n`, undone by `!openbaar WB-n`): the announce rooms, the public calendar feed and
-- the public page. Who set it and when is in item_events ('confidential' / 'public').
ALTER TABLE items ADD COLUMN confidential INTEGER NOT NULL DEFAULT 0
    CHECK (confidential IN (0, 1));
