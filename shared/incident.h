#pragma once
// The incident row (ARCHITECTURE §5.1 `incidents`, §2 "Incident status"), owned here:
//   - its status and the one forward-only rule (AdvanceStatus; StatusAdvances in enums.h is the
//     same rule in C++, and the SQL is generated from the enum's order);
//   - the JSON columns more than one agent reads, as typed structs decoded strictly: a bad value
//     is an error naming the column and the field, never a silent default (CorrelationContext,
//     IncidentBaselines; blast_radius, rca_candidates, similar_incidents, remediation_plan use
//     the payload structs of messages.h);
//   - reading the whole row (LoadIncident) and its audit trail (LoadTimeline).
// The inserts and trigger attachments of detection and sre-ingest are in incident_store.h.
#include <cstdint>
#include <map>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <variant>
#include <vector>

#include "shared/enums.h"
#include "shared/json_codec.h"
#include "shared/messages.h"
#include "shared/status.h"

namespace sre {

// ---- status ----------------------------------------------------------------------------------

// The statuses in their order, as an SQL text array built from EnumNames<IncidentStatus>::kList:
// "ARRAY['DETECTING','CORRELATING',...,'CLOSED']::text[]".
std::string StatusOrderSql();

// The SQL condition "status `column` may advance to the status in `to_param`" (array positions in
// StatusOrderSql()); the SQL form of StatusAdvances(from, to). Exposed for tests.
std::string StatusAdvancesSql(const std::string& column, const std::string& to_param);

// The status after a move to `to` from `from` under the forward-only rule (pure).
inline IncidentStatus StatusAfter(IncidentStatus from, IncidentStatus to) {
  return StatusAdvances(from, to) ? to : from;
}

struct StatusMove {
  IncidentStatus before = IncidentStatus::DETECTING;
  IncidentStatus after = IncidentStatus::DETECTING;  // `to` when it advanced, else `before`
  bool advanced() const { return after != before; }
};

// Moves the incident to `to` when that is forward of its status (never back: a late stage leaves
// it as it is), in the caller's transaction, so it commits with the caller's other column
// updates; touches updated_at when it moves. One statement, the row locked while it decides.
// UnknownIncident (Invalid) when there is no row; Internal when the stored status is not one of
// the enum's names. SQL errors throw (Transact/ProcessOnce map them).
//   tx.exec_params("UPDATE incidents SET remediation_plan = $2::jsonb, updated_at = now() WHERE ...");
//   auto moved = AdvanceStatus(tx, id, IncidentStatus::REMEDIATING);
//   if (!moved.ok()) return moved.status();
Expected<StatusMove> AdvanceStatus(pqxx::work& tx, const std::string& incident_id, IncidentStatus to);

// ---- correlation_context (written by correlation; read by remediation, postmortem, sre-api) ----

// The deployment correlation matched: the newest deployment of the service within 60 minutes
// before detection (agents/correlation MatchDeployment). Also the `deployment_context` of
// incidents.opened.
struct DeploymentContext {
  std::string service, version, previous_version;
  ChangeType change_type = ChangeType::CODE;
  std::string git_sha, description;
  std::vector<std::string> known_risks;
  int64_t deployed_at = 0;  // event time (ms) of the deployment
  double minutes_before_detection = 0;
  double confidence = 0;
  template <class V>
  void Visit(V& v) {
    v("service", service, Check::NonEmpty());
    v("version", version, Check::NonEmpty());
    v("previous_version", previous_version);
    v("change_type", change_type);
    v("git_sha", git_sha);
    v("description", description);
    v("known_risks", known_risks);
    v("deployed_at", deployed_at, Check::Min(0));
    v("minutes_before_detection", minutes_before_detection, Check::Min(0));
    v("confidence", confidence, Check::Range(0, 1));
  }
};

struct CorrelationContext {
  std::vector<CorrelationSignal> signals;     // DEPLOYMENT, CASCADE (evidence "likely_origin"), ...
  std::optional<DeploymentContext> deployment;  // null when no deployment matched
  std::string summary;                        // one paragraph for people
  std::vector<std::string> recent_errors;     // of the service, around detection
  template <class V>
  void Visit(V& v) {
    v("signals", signals);
    v("deployment", deployment);
    v("summary", summary);
    v("recent_errors", recent_errors);
  }
};

// ---- baselines (written by detection and sre-ingest; read by the resolution monitor, the ----
// ---- investigation's alert evidence, postmortem's unit), keyed by trigger -------------------

// A metric series that breached (detection): "recovered" is back within mean ± k·std.
struct MetricBaseline {
  double mean = 0, std = 0, threshold = 0;  // threshold in standard deviations
  std::string direction = "up";             // up, down or both
  std::optional<int64_t> since;             // event time of the raising sample
  std::optional<std::string> unit;          // of mean and std ("%", "ms", ...); absent in older rows
  template <class V>
  void Visit(V& v) {
    v("mean", mean);
    v("std", std, Check::Min(0));
    v("threshold", threshold, Check::Min(0));
    v("direction", direction, Check::NonEmpty());
    v("since", since);
    v("unit", unit);
  }
};

// A log pattern that matched (detection): "recovered" is no matching line for a while.
struct LogPatternBaseline {
  std::string pattern;
  std::optional<int64_t> since;
  std::optional<std::string> unit;  // "lines"; absent in older rows
  std::optional<double> lines;      // matching lines when raised; absent in older rows
  template <class V>
  void Visit(V& v) {
    v("pattern", pattern);
    v("since", since);
    v("unit", unit);
    v("lines", lines, Check::Min(0));
  }
};

// An alert from Alertmanager or Grafana (sre-ingest): its source says when it ends (resolved_at,
// set by ResolveAlertTrigger). Every string came from outside.
struct AlertBaseline {
  std::string kind = "alert";
  std::string fingerprint;
  std::optional<std::string> source, alertname, expr, generator_url;
  std::optional<int64_t> since;        // startsAt (ms)
  std::optional<Labels> labels;
  std::optional<int64_t> resolved_at;  // event time (ms) of the resolved notification
  template <class V>
  void Visit(V& v) {
    v("kind", kind, Check::NonEmpty());
    v("fingerprint", fingerprint);
    v("source", source);
    v("alertname", alertname);
    v("expr", expr);
    v("generator_url", generator_url);
    v("since", since);
    v("labels", labels);
    v("resolved_at", resolved_at);
  }
};

// One trigger's entry. Which kind is read from the entry itself, as every reader always did:
// `"kind": "alert"` is an alert, an entry with `pattern` a log pattern, anything else a metric.
struct TriggerBaseline {
  std::variant<MetricBaseline, LogPatternBaseline, AlertBaseline> entry;

  const MetricBaseline* metric() const { return std::get_if<MetricBaseline>(&entry); }
  const LogPatternBaseline* pattern() const { return std::get_if<LogPatternBaseline>(&entry); }
  const AlertBaseline* alert() const { return std::get_if<AlertBaseline>(&entry); }
  AlertBaseline* alert() { return std::get_if<AlertBaseline>(&entry); }
  // The unit of the trigger's values, when recorded (metrics and log patterns).
  std::optional<std::string> unit() const;
};

// The `baselines` column: trigger ("error_rate", "log:<pattern>", "alert:<alertname>") → entry.
struct IncidentBaselines {
  std::map<std::string, TriggerBaseline> triggers;
  const TriggerBaseline* Find(const std::string& trigger) const;
};

// The codec of the two (they are not Visit structs: an entry's kind picks its struct). Decoding
// reports the first problem with its path, like FromJson ("field 'error_rate.std': -1 is outside
// [0, inf]"); a direction other than up/down/both and a kind other than "alert" are errors.
// Encoding leaves absent optional fields out (not null), as the writers always did: the SQL of
// ResolveAlertTrigger tests whether `resolved_at` is present.
template <>
Json ToJson<TriggerBaseline>(const TriggerBaseline& b);
template <>
Expected<TriggerBaseline> FromJson<TriggerBaseline>(const Json& j);
template <>
Json ToJson<IncidentBaselines>(const IncidentBaselines& b);
template <>
Expected<IncidentBaselines> FromJson<IncidentBaselines>(const Json& j);

// ---- the row ---------------------------------------------------------------------------------

// Every column of `incidents`; times as Unix ms (event time for *_time, wall clock for *_at).
// Nullable columns are std::optional.
struct IncidentRecord {
  std::string id;
  IncidentStatus status = IncidentStatus::DETECTING;
  AnomalyType anomaly_type = AnomalyType::UNKNOWN;
  Severity severity = Severity::LOW;
  std::string service, trigger_metric;
  std::optional<std::string> description;
  std::vector<std::string> affected_services;
  std::optional<std::string> related_incident_id;
  std::optional<double> observed_value, baseline_mean, baseline_std, deviation_sigma, anomaly_score,
      time_to_failure_s;
  IncidentBaselines baselines;
  std::optional<CorrelationContext> correlation_context;
  std::optional<BlastRadius> blast_radius;
  std::optional<std::vector<RootCauseCandidate>> rca_candidates;
  std::optional<std::string> root_cause_service;
  std::optional<RootCauseCategory> root_cause_category;
  std::optional<std::string> top_root_cause;
  std::optional<double> rca_confidence;
  std::optional<Method> rca_method;
  std::optional<std::vector<SimilarIncident>> similar_incidents;
  std::optional<RemediationPlan> remediation_plan;
  std::optional<std::string> postmortem;
  int64_t detection_time = 0;
  std::optional<int64_t> resolution_time;
  std::optional<double> mttr_seconds;
  int64_t created_at = 0, updated_at = 0;
};

// The row of `incident_id`. UnknownIncident (Invalid) when there is none; Internal when a column
// does not decode, naming the column and the field ("incident <id>: column correlation_context:
// field 'signals[0].strength': 1.7 is outside [0, 1]").
Expected<IncidentRecord> LoadIncident(pqxx::transaction_base& tx, const std::string& incident_id);

// One row of the audit trail (agent_events; RecordAgentEvent in postgres.h writes them).
struct AgentEvent {
  std::string agent_name, event_type;
  Json payload = Json::object();
  int64_t event_time = 0;  // event time (ms)
};

// The incident's audit trail in event-time order (ties in insertion order).
std::vector<AgentEvent> LoadTimeline(pqxx::transaction_base& tx, const std::string& incident_id);

}  // namespace sre
