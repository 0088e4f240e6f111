-- A cascade is the origin incident and every incident whose related_incident_id names it; the
-- RESOLVED email, the postmortem and the dashboard look it up by that column.
CREATE INDEX IF NOT EXISTS incidents_related_idx ON incidents (related_incident_id) WHERE related_incident_id IS NOT NULL;
