-- 0016: an index that fits the overall receipt limit's question, asked once per mail
-- from a sender outside the partners: "to whom did receipts go since then?"
-- (receipt_destinations_since). Partial, so it holds only the receipts and the
-- question reads only the last hour's rows, not every mail row of the outbox;
-- channel leads, so SQLite prefers it to 0007's index for that question.
CREATE INDEX outbox_receipts_by_created
    ON outbox (channel, created_at, destination)
    WHERE substr(key, 1, 8) = 'receipt/';
