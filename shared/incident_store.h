#pragma once
// Writes to the incident row shared by the producers of anomalies: the detector and sre-ingest
// (ARCHITECTURE §5, incidents). Whoever raises an anomaly writes the row before it publishes,
// inside the ProcessOnce transaction of that anomaly, so every later agent finds it.
//
// `baselines` (jsonb, keyed by trigger) tells the resolution monitor what "recovered" means for
// each trigger: {mean, std, threshold, direction} for a metric, {pattern} for a log pattern,
// {kind: "alert", fingerprint, ...} for an alert from Alertmanager or Grafana. Its entries are
// the TriggerBaseline structs of shared/incident.h, which owns the row and its status.
#include <cstdint>
#include <pqxx/pqxx>
#include <string>

#include "shared/incident.h"
#include "shared/json_codec.h"
#include "shared/messages.h"

namespace sre {

// INSERT of a new incident in status DETECTING, from the anomaly that opened it; a row that
// exists already is left as it is (a redelivered anomaly).
void InsertDetectedIncident(pqxx::work& tx, const AnomalyDetected& a, const std::string& trigger,
                            const TriggerBaseline& baseline);

// Adds a trigger to an open incident. The first baseline recorded for a trigger wins: it is the
// pre-incident one.
void AttachTrigger(pqxx::work& tx, const std::string& incident_id, const std::string& trigger,
                   const TriggerBaseline& baseline);

// Marks the alert triggers of unresolved incidents whose fingerprint is `fingerprint` as resolved
// at `resolved_at_ms` (event time). Returns the ids of the incidents it changed.
std::vector<std::string> ResolveAlertTrigger(pqxx::work& tx, const std::string& trigger,
                                             const std::string& fingerprint, int64_t resolved_at_ms);

// Records a service seen in telemetry that knowledge/architecture/services.json does not list, so
// operators see it (sre-api /api/services) with default settings. Cheap to repeat: an upsert of
// last_seen.
void RecordDiscoveredService(pqxx::work& tx, const std::string& service, const std::string& source,
                             int64_t seen_ms);

}  // namespace sre
