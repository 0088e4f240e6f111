-- 006: guarded remediation execution (issue 18). One row per action the remediation agent
-- proposed for an incident; its id is the idempotency key sent to the executor. The status moves
-- along shared/remediation_actions.h (ActionStatus); every move is also an ACTION_* row of
-- agent_events. *_time columns are event time, *_at columns wall clock.
CREATE TABLE IF NOT EXISTS remediation_actions (
  id             UUID PRIMARY KEY,
  incident_id    UUID NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
  ordinal        INTEGER NOT NULL,
  action         TEXT NOT NULL,
  service        TEXT NOT NULL,
  params         JSONB NOT NULL DEFAULT '{}',
  executor       TEXT NOT NULL,
  risk           TEXT NOT NULL CHECK (risk IN ('LOW','MEDIUM','HIGH')),
  reversible     BOOLEAN NOT NULL,
  step_id        INTEGER,
  trigger_metric TEXT NOT NULL DEFAULT '',
  status         TEXT NOT NULL CHECK (status IN ('AWAITING_APPROVAL','APPROVED','EXECUTING','EXECUTED',
                   'VERIFIED','FAILED','DRY_RUN','BLOCKED','REJECTED','ESCALATED')),
  mode           TEXT NOT NULL,
  reason         TEXT NOT NULL DEFAULT '',
  confidence     DOUBLE PRECISION,
  decided_by     TEXT,
  decided_at     TIMESTAMPTZ,
  expires_at     TIMESTAMPTZ,
  proposed_time  TIMESTAMPTZ NOT NULL,
  executed_time  TIMESTAMPTZ,
  executed_at    TIMESTAMPTZ,
  result         JSONB,
  verification   JSONB,
  created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
  UNIQUE (incident_id, ordinal)
);
CREATE INDEX IF NOT EXISTS remediation_actions_open_idx ON remediation_actions (status)
  WHERE status IN ('AWAITING_APPROVAL','APPROVED','EXECUTING','EXECUTED');
CREATE INDEX IF NOT EXISTS remediation_actions_service_idx ON remediation_actions (service, executed_time DESC);
