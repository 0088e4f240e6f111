-- Recipients the SMTP server refused at RCPT TO, as [{"recipient", "code", "reply"}]: the email
-- still goes to the others (status SENT); when every recipient is refused it is FAILED. An SMTP
-- outage (server down, TLS, credentials) no longer marks an email FAILED: it stays PENDING (or
-- SENDING when the server may have kept it) with the error while the consumer retries it.
ALTER TABLE emails ADD COLUMN IF NOT EXISTS rejected_recipients JSONB NOT NULL DEFAULT '[]';
