-- SMTP has no idempotent submit: a sender that dies between the server's "250 queued" and the
-- SENT update leaves the outcome unknown. The communication agent now commits SENDING before it
-- talks to the server; a row found in SENDING by the next sender (the previous one is gone: it
-- held a session advisory lock on the Message-ID) is in doubt and is resent with the same
-- Message-ID, which receiving mail systems use to drop the copy. in_doubt_resends counts those.
ALTER TABLE emails DROP CONSTRAINT IF EXISTS emails_status_check;
ALTER TABLE emails ADD CONSTRAINT emails_status_check
  CHECK (status IN ('PENDING','SENDING','SENT','FAILED'));
ALTER TABLE emails ADD COLUMN IF NOT EXISTS in_doubt_resends INTEGER NOT NULL DEFAULT 0;
