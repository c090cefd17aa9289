-- 0007: an index that fits the receipt rate limit's question, asked once per mail:
-- "how many receipts to this address since then?" (receipts_since). The only index
-- on outbox had the destination third, so each mail scanned every mail row.
CREATE INDEX outbox_by_channel_destination_created
    ON outbox (channel, destination, created_at);
