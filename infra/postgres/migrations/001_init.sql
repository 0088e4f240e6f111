-- 001: every table of ARCHITECTURE §5.
-- Times: *_time columns are event time (from the payloads); created_at/updated_at are wall clock.

CREATE TABLE incidents (
  id                  UUID PRIMARY KEY,
  status              TEXT NOT NULL CHECK (status IN ('DETECTING','CORRELATING','INVESTIGATING',
                        'RCA_COMPLETE','REMEDIATING','RESOLVED','CLOSED')),
  anomaly_type        TEXT NOT NULL,
  severity            TEXT NOT NULL CHECK (severity IN ('CRITICAL','HIGH','MEDIUM','LOW')),
  service             TEXT NOT NULL,
  trigger_metric      TEXT NOT NULL,
  description         TEXT,
  affected_services   JSONB NOT NULL DEFAULT '[]',
  related_incident_id UUID REFERENCES incidents(id) ON DELETE SET NULL,
  observed_value      DOUBLE PRECISION,
  baseline_mean       DOUBLE PRECISION,
  baseline_std        DOUBLE PRECISION,
  deviation_sigma     DOUBLE PRECISION,
  anomaly_score       DOUBLE PRECISION CHECK (anomaly_score BETWEEN 0 AND 1),
  time_to_failure_s   DOUBLE PRECISION,
  baselines           JSONB NOT NULL DEFAULT '{}',   -- pre-incident baseline per breached series
  correlation_context JSONB,
  blast_radius        JSONB,
  rca_candidates      JSONB,
  root_cause_service  TEXT,
  root_cause_category TEXT,
  top_root_cause      TEXT,
  rca_confidence      DOUBLE PRECISION CHECK (rca_confidence BETWEEN 0 AND 1),
  rca_method          TEXT,
  similar_incidents   JSONB,
  remediation_plan    JSONB,
  postmortem          TEXT,
  detection_time      TIMESTAMPTZ NOT NULL,
  resolution_time     TIMESTAMPTZ,
  mttr_seconds        DOUBLE PRECISION,
  created_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at          TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX incidents_status_idx ON incidents (status);
CREATE INDEX incidents_service_idx ON incidents (service, detection_time DESC);
CREATE INDEX incidents_detection_time_idx ON incidents (detection_time DESC, id);
CREATE INDEX incidents_open_idx ON incidents (detection_time) WHERE status NOT IN ('RESOLVED','CLOSED');

CREATE TABLE agent_events (
  id          BIGSERIAL PRIMARY KEY,
  incident_id UUID NOT NULL,
  agent_name  TEXT NOT NULL,
  event_type  TEXT NOT NULL,
  payload     JSONB NOT NULL DEFAULT '{}',
  event_time  TIMESTAMPTZ NOT NULL,              -- event time: the postmortem timeline's order
  created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX agent_events_incident_idx ON agent_events (incident_id, event_time, id);

CREATE TABLE emails (
  id                BIGSERIAL PRIMARY KEY,
  incident_id       UUID NOT NULL,
  notification_type TEXT NOT NULL CHECK (notification_type IN ('INCIDENT_ALERT','RCA_COMPLETE',
                      'REMEDIATION_PLAN','INCIDENT_RESOLVED','POSTMORTEM')),
  message_id        TEXT NOT NULL UNIQUE,
  recipients        JSONB NOT NULL DEFAULT '[]',
  subject           TEXT NOT NULL,
  body_html         TEXT NOT NULL,
  body_text         TEXT NOT NULL,
  status            TEXT NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING','SENT','FAILED')),
  attempts          INTEGER NOT NULL DEFAULT 0,
  error             TEXT,
  sent_at           TIMESTAMPTZ,
  created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
  UNIQUE (incident_id, notification_type)
);

CREATE TABLE processed_events (
  consumer     TEXT NOT NULL,
  event_id     TEXT NOT NULL,
  outputs      JSONB,
  processed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer, event_id)
);

CREATE TABLE knowledge_documents (
  id                  TEXT PRIMARY KEY,           -- e.g. incident:INC-2025-0142, runbook:rb-latency-spike
  kind                TEXT NOT NULL CHECK (kind IN ('incident','runbook','service','postmortem')),
  title               TEXT NOT NULL,
  anomaly_types       TEXT[] NOT NULL DEFAULT '{}',
  services            TEXT[] NOT NULL DEFAULT '{}',
  root_cause_category TEXT,
  metadata            JSONB NOT NULL DEFAULT '{}',
  content_hash        TEXT NOT NULL,
  updated_at          TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX knowledge_documents_kind_idx ON knowledge_documents (kind);
CREATE INDEX knowledge_documents_types_idx ON knowledge_documents USING GIN (anomaly_types);
CREATE INDEX knowledge_documents_services_idx ON knowledge_documents USING GIN (services);

CREATE TABLE knowledge_chunks (
  id          BIGSERIAL PRIMARY KEY,
  document_id TEXT NOT NULL REFERENCES knowledge_documents(id) ON DELETE CASCADE,
  ordinal     INTEGER NOT NULL,
  section     TEXT NOT NULL,
  content     TEXT NOT NULL,
  -- Dots, slashes, colons and underscores split words, so "java.lang.NullPointerException" or
  -- "latency_p99_ms" match "NullPointerException" or "latency" (the parser would keep them whole).
  tsv         TSVECTOR GENERATED ALWAYS AS (
                setweight(to_tsvector('english', regexp_replace(coalesce(section, ''), '[._/:=-]+', ' ', 'g')), 'B') ||
                setweight(to_tsvector('english', regexp_replace(content, '[._/:=-]+', ' ', 'g')), 'A')) STORED,
  UNIQUE (document_id, ordinal)
);
CREATE INDEX knowledge_chunks_tsv_idx ON knowledge_chunks USING GIN (tsv);
