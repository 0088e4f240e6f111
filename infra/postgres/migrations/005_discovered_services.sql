-- Services seen in telemetry (sre-ingest: remote write, OTLP, alerts) that the catalogue
-- (knowledge/architecture/services.json) does not list. They run with default settings and are
-- listed by sre-api /api/services with "discovered": true, so an operator sees what to add.
CREATE TABLE IF NOT EXISTS discovered_services (
  name        TEXT PRIMARY KEY,
  source      TEXT NOT NULL,
  first_seen  TIMESTAMPTZ NOT NULL,
  last_seen   TIMESTAMPTZ NOT NULL
);
