#include "shared/incident_store.h"

namespace sre {

namespace {

void InsertWithBaseline(pqxx::work& tx, const AnomalyDetected& a, const std::string& trigger, const Json& baseline) {
  Json baselines = Json::object();
  baselines[trigger] = baseline;
  tx.exec_params(
      "INSERT INTO incidents (id, status, anomaly_type, severity, service, trigger_metric, description, "
      " affected_services, observed_value, baseline_mean, baseline_std, deviation_sigma, anomaly_score, "
      " time_to_failure_s, baselines, detection_time) "
      "VALUES ($1::uuid, 'DETECTING', $2, $3, $4, $5, $6, $7::jsonb, $8, $9, $10, $11, $12, $13, $14::jsonb, "
      " to_timestamp($15::double precision / 1000.0)) ON CONFLICT (id) DO NOTHING",
      a.incident_id, std::string(ToString(a.anomaly_type)), std::string(ToString(a.severity)), a.service,
      a.trigger_metric, a.description, Dump(Json::array({a.service})), a.observed_value, a.baseline_mean,
      a.baseline_std, a.deviation_sigma, a.anomaly_score, a.time_to_failure_s, Dump(baselines), a.detection_time);
}

void AttachBaseline(pqxx::work& tx, const std::string& incident_id, const std::string& trigger, const Json& baseline) {
  tx.exec_params(
      "UPDATE incidents SET baselines = jsonb_build_object($2::text, $3::jsonb) || baselines, updated_at = now() "
      "WHERE id = $1::uuid",
      incident_id, trigger, Dump(baseline));
}

}  // namespace

void InsertDetectedIncident(pqxx::work& tx, const AnomalyDetected& a, const std::string& trigger,
                            const TriggerBaseline& baseline) {
  InsertWithBaseline(tx, a, trigger, ToJson(baseline));
}

void AttachTrigger(pqxx::work& tx, const std::string& incident_id, const std::string& trigger,
                   const TriggerBaseline& baseline) {
  AttachBaseline(tx, incident_id, trigger, ToJson(baseline));
}

std::vector<std::string> ResolveAlertTrigger(pqxx::work& tx, const std::string& trigger,
                                             const std::string& fingerprint, int64_t resolved_at_ms) {
  pqxx::result rows = tx.exec_params(
      "UPDATE incidents SET baselines = jsonb_set(baselines, ARRAY[$1::text, 'resolved_at'], to_jsonb($3::bigint)), "
      " updated_at = now() "
      "WHERE status NOT IN ('RESOLVED', 'CLOSED') AND baselines -> $1::text ->> 'kind' = 'alert' "
      " AND baselines -> $1::text ->> 'fingerprint' = $2::text "
      " AND NOT (baselines -> $1::text ? 'resolved_at') "
      "RETURNING id::text",
      trigger, fingerprint, resolved_at_ms);
  std::vector<std::string> ids;
  for (const auto& row : rows) ids.push_back(row[0].as<std::string>());
  return ids;
}

void RecordDiscoveredService(pqxx::work& tx, const std::string& service, const std::string& source,
                             int64_t seen_ms) {
  tx.exec_params(
      "INSERT INTO discovered_services (name, source, first_seen, last_seen) "
      "VALUES ($1, $2, to_timestamp($3::double precision / 1000.0), to_timestamp($3::double precision / 1000.0)) "
      "ON CONFLICT (name) DO UPDATE SET last_seen = GREATEST(discovered_services.last_seen, EXCLUDED.last_seen)",
      service, source, seen_ms);
}

}  // namespace sre
