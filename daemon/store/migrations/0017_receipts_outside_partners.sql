-- 0017: which receipts count toward the overall limit on receipts to senders outside
-- the partners ([mail.limits] receipts_per_hour_outside_partners). It was judged by a
-- receipt's destination, but with authserv_id a partner's address is not enough: the
-- receipt of a mail from a partner's address that our server did not verify is an
-- outsider's (it waits on the limit), and a forger can vary the local part at a partner
-- configured by domain. So the intake marks each receipt as it sends it: 1 an
-- outsider's (counted), 0 a verified partner's (never counted). NULL on every other row
-- and on receipts queued before this migration, which are judged by their destination
-- as before. The limit's question still searches 0016's index by time: it reads this
-- column from the window's rows, which are few.
ALTER TABLE outbox ADD COLUMN outside_partners INTEGER
    CHECK (outside_partners IN (0, 1));
