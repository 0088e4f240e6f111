-- 007: chat, paging and webhook notifications (issue 19). One row per incident, channel and
-- stage, written by the communication agent's consumer (the outbox) and delivered by one worker
-- thread per channel, so an outage of one channel never holds another back. A row is SENDING
-- from the claim until its outcome is recorded: one found SENDING after its lease means its
-- sender died mid-request, and it is sent again (in_doubt_resends) with the same idempotency key
-- (PagerDuty's dedup_key, the webhook's X-SRE-Delivery).
CREATE TABLE IF NOT EXISTS notifications (
  id               BIGSERIAL PRIMARY KEY,
  incident_id      UUID NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
  channel          TEXT NOT NULL CHECK (channel IN ('slack','teams','pagerduty','webhook')),
  stage            TEXT NOT NULL CHECK (stage IN ('INCIDENT_ALERT','RCA_COMPLETE','REMEDIATION_PLAN',
                     'INCIDENT_RESOLVED','POSTMORTEM')),
  stage_rank       SMALLINT NOT NULL,
  status           TEXT NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING','SENDING','SENT','FAILED','SUPPRESSED')),
  notice           JSONB NOT NULL,
  attempts         INTEGER NOT NULL DEFAULT 0,
  in_doubt_resends INTEGER NOT NULL DEFAULT 0,
  last_error       TEXT,
  -- The message that carried it: its own id, or the first row of a burst's grouped message.
  group_id         BIGINT,
  -- What the receiver gave back: Slack's message ts, PagerDuty's dedup_key.
  external_ref     TEXT,
  event_time       TIMESTAMPTZ NOT NULL,
  next_attempt_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
  lease_until      TIMESTAMPTZ,
  created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
  sent_at          TIMESTAMPTZ,
  UNIQUE (incident_id, channel, stage)
);
CREATE INDEX IF NOT EXISTS notifications_due_idx ON notifications (channel, next_attempt_at)
  WHERE status IN ('PENDING','SENDING');
