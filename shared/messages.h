#pragma once
// The payload of every topic of ARCHITECTURE §3, defined once. Encode/Decode (json_codec.h)
// validate every field: a wrong type, a missing field, an unknown enum value or an out-of-range
// number is a precise Status::Invalid, never a crash.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "shared/enums.h"
#include "shared/json_codec.h"

namespace sre {

namespace topics {
inline constexpr const char* kRawMetrics = "raw.metrics";
inline constexpr const char* kRawLogs = "raw.logs";
inline constexpr const char* kRawDeployments = "raw.deployments";
inline constexpr const char* kAnomaliesDetected = "anomalies.detected";
inline constexpr const char* kIncidentsOpened = "incidents.opened";
inline constexpr const char* kRcaCompleted = "rca.completed";
inline constexpr const char* kRemediationPlans = "remediation.plans";
inline constexpr const char* kIncidentsResolved = "incidents.resolved";
inline constexpr const char* kPostmortemsGenerated = "postmortems.generated";
inline constexpr const char* kDeadLetters = "dead-letters";
inline constexpr const char* kSimGroundTruth = "sim.ground_truth";
// Every topic the pipeline uses; sre-devbroker creates all of them.
inline constexpr const char* kAll[] = {
    kRawMetrics,           kRawLogs,      kRawDeployments,   kAnomaliesDetected,
    kIncidentsOpened,      kRcaCompleted, kRemediationPlans, kIncidentsResolved,
    kPostmortemsGenerated, kDeadLetters,  kSimGroundTruth};
inline constexpr int kPartitions = 6;
}  // namespace topics

inline constexpr int kSchemaVersion = 1;

// The fields every payload carries. `timestamp` is event time in Unix milliseconds.
struct Envelope {
  std::string event_id;
  int64_t schema_version = kSchemaVersion;
  int64_t timestamp = 0;
  template <class V>
  void VisitEnvelope(V& v) {
    v("event_id", event_id, Check::Uuid());
    v("schema_version", schema_version, Check::Range(1, 1));
    v("timestamp", timestamp, Check::EventTime());
  }
};

using Labels = std::map<std::string, std::string>;

struct RawMetric : Envelope {
  static constexpr const char* kTopic = topics::kRawMetrics;
  std::string source_service, metric_name;
  double metric_value = 0;
  Labels labels;
  template <class V>
  void Visit(V& v) {
    VisitEnvelope(v);
    v("source_service", source_service, Check::NonEmpty(128));
    v("metric_name", metric_name, Check::NonEmpty(128));
    v("metric_value", metric_value);
    v("labels", labels);
  }
};

struct RawLog : Envelope {
  static constexpr const char* kTopic = topics::kRawLogs;
  std::string source_service;
  LogLevel level = LogLevel::INFO;
  std::string message, trace_id;
  Labels labels;
  template <class V>
  void Visit(V& v) {
    VisitEnvelope(v);
    v("source_service", source_service, Check::NonEmpty(128));
    v("level", level);
    v("message", message, Check::NonEmpty(16384));
    v("trace_id", trace_id, Check::MaxLen(256));
    v("labels", labels);
  }
};

struct RawDeployment : Envelope {
  static constexpr const char* kTopic = topics::kRawDeployments;
  std::string source_service, version, previous_version;
  ChangeType change_type = ChangeType::CODE;
  std::string git_sha, description;
  std::vector<std::string> known_risks;
  template <class V>
  void Visit(V& v) {
    VisitEnvelope(v);
    v("source_service", source_service, Check::NonEmpty(128));
    v("version", version, Check::NonEmpty(128));
    v("previous_version", previous_version, Check::MaxLen(128));
    v("change_type", change_type);
    v("git_sha", git_sha, Check::MaxLen(256));
    v("description", description, Check::MaxLen(16384));
    v("known_risks", known_risks);
  }
};

struct AnomalyDetected : Envelope {
  static constexpr const char* kTopic = topics::kAnomaliesDetected;
  std::string incident_id;
  AnomalyType anomaly_type = AnomalyType::UNKNOWN;
  Severity severity = Severity::LOW;
  std::string service, trigger_metric;
  double observed_value = 0, baseline_mean = 0, baseline_std = 0, deviation_sigma = 0,
         anomaly_score = 0;
  std::optional<double> time_to_failure_s;
  int64_t detection_time = 0;
  std::string description;
  std::vector<std::string> evidence;
  // The unit of observed_value and the baseline ("%", "ms", "req/s", "lines" for a log pattern,
  // whose observed_value is the number of matching lines); absent from older producers.
  std::optional<std::string> unit;
  template <class V>
  void Visit(V& v) {
    VisitEnvelope(v);
    v("incident_id", incident_id, Check::Uuid());
    v("anomaly_type", anomaly_type);
    v("severity", severity);
    v("service", service, Check::NonEmpty(128));
    v("trigger_metric", trigger_metric, Check::NonEmpty(128));
    v("observed_value", observed_value);
    v("baseline_mean", baseline_mean);
    v("baseline_std", baseline_std, Check::Min(0));
    v("deviation_sigma", deviation_sigma);
    v("anomaly_score", anomaly_score, Check::Range(0, 1));
    v("time_to_failure_s", time_to_failure_s, Check::Min(0));
    v("detection_time", detection_time, Check::EventTime());
    v("description", description);
    v("evidence", evidence);
    v("unit", unit, Check::MaxLen(32));
  }
};

struct BlastRadius {
  std::vector<std::string> services;
  std::string estimated_user_impact, description;
  template <class V>
  void Visit(V& v) {
    v("services", services);
    v("estimated_user_impact", estimated_user_impact);
    v("description", description);
  }
};

struct CorrelationSignal {
  std::string signal_type;  // DEPLOYMENT, CASCADE, UPSTREAM_DEGRADATION, RELATED_INCIDENT, ...
  double strength = 0;
  std::string description;
  std::vector<std::string> evidence;
  template <class V>
  void Visit(V& v) {
    v("signal_type", signal_type, Check::NonEmpty(64));
    v("strength", strength, Check::Range(0, 1));
    v("description", description);
    v("evidence", evidence);
  }
};

struct IncidentOpened : Envelope {
  static constexpr const char* kTopic = topics::kIncidentsOpened;
  std::string incident_id;
  AnomalyType anomaly_type = AnomalyType::UNKNOWN;
  Severity severity = Severity::LOW;
  std::string service;
  std::vector<std::string> affected_services;
  BlastRadius blast_radius;
  std::vector<CorrelationSignal> correlation_signals;
  std::optional<Json> deployment_context;
  std::map<std::string, std::vector<double>> recent_metrics;
  std::vector<std::string> recent_errors;
  std::optional<std::string> related_incident_id;
  int64_t detection_time = 0;
  template <class V>
  void Visit(V& v) {
    VisitEnvelope(v);
    v("incident_id", incident_id, Check::Uuid());
    v("anomaly_type", anomaly_type);
    v("severity", severity);
    v("service", service, Check::NonEmpty(128));
    v("affected_services", affected_services);
    v("blast_radius", blast_radius);
    v("correlation_signals", correlation_signals);
    v("deployment_context", deployment_context);
    v("recent_metrics", recent_metrics);
    v("recent_errors", recent_errors);
    v("related_incident_id", related_incident_id, Check::Uuid());
    v("detection_time", detection_time, Check::EventTime());
  }
};

struct RootCauseCandidate {
  int64_t rank = 1;
  std::string hypothesis;
  RootCauseCategory category = RootCauseCategory::UNKNOWN;
  std::string service;
  double confidence = 0;
  std::vector<std::string> evidence;
  template <class V>
  void Visit(V& v) {
    v("rank", rank, Check::Min(1));
    v("hypothesis", hypothesis, Check::NonEmpty());
    v("category", category);
    v("service", service, Check::NonEmpty(128));
    v("confidence", confidence, Check::Range(0, 1));
    v("evidence", evidence);
  }
};

struct SimilarIncident {
  std::string incident_id, title;
  std::optional<RootCauseCategory> root_cause_category;
  double score = 0;
  template <class V>
  void Visit(V& v) {
    v("incident_id", incident_id, Check::NonEmpty(128));
    v("title", title);
    v("root_cause_category", root_cause_category);
    v("score", score, Check::Min(0));
  }
};

struct ToolCallRecord {
  std::string name;
  Json input = Json::object();
  int64_t duration_ms = 0;
  bool is_error = false;
  template <class V>
  void Visit(V& v) {
    v("name", name, Check::NonEmpty(128));
    v("input", input);
    v("duration_ms", duration_ms, Check::Min(0));
    v("is_error", is_error);
  }
};

struct RcaCompleted : Envelope {
  static constexpr const char* kTopic = topics::kRcaCompleted;
  std::string incident_id, root_cause_service;
  RootCauseCategory root_cause_category = RootCauseCategory::UNKNOWN;
  std::string top_root_cause;
  double top_confidence = 0;
  std::vector<RootCauseCandidate> root_cause_candidates;
  std::vector<SimilarIncident> similar_incidents;
  Method method = Method::FALLBACK;
  std::vector<ToolCallRecord> tool_calls;
  template <class V>
  void Visit(V& v) {
    VisitEnvelope(v);
    v("incident_id", incident_id, Check::Uuid());
    v("root_cause_service", root_cause_service, Check::NonEmpty(128));
    v("root_cause_category", root_cause_category);
    v("top_root_cause", top_root_cause, Check::NonEmpty());
    v("top_confidence", top_confidence, Check::Range(0, 1));
    v("root_cause_candidates", root_cause_candidates, Check::NonEmpty());
    v("similar_incidents", similar_incidents);
    v("method", method);
    v("tool_calls", tool_calls);
  }
};

struct ActionStep {
  int64_t step_id = 1;
  Priority priority = Priority::IMMEDIATE;
  std::string action, rationale;
  RiskLevel risk_level = RiskLevel::LOW;
  std::string rollback, owner, expected_outcome;
  template <class V>
  void Visit(V& v) {
    v("step_id", step_id, Check::Min(1));
    v("priority", priority);
    v("action", action, Check::NonEmpty());
    v("rationale", rationale);
    v("risk_level", risk_level);
    v("rollback", rollback);
    v("owner", owner);
    v("expected_outcome", expected_outcome);
  }
};

// An action the remediation agent proposed for the plan (shared/remediation_actions.h has the
// row and its later moves), as it stood when the plan was published.
struct PlannedAction {
  std::string action_id;
  RemediationAction action = RemediationAction::ESCALATE;
  std::string service, executor;
  RiskLevel risk = RiskLevel::LOW;
  bool reversible = false;
  ActionStatus status = ActionStatus::AWAITING_APPROVAL;
  std::string reason;
  std::optional<int64_t> step_id;
  template <class V>
  void Visit(V& v) {
    v("action_id", action_id, Check::Uuid());
    v("action", action);
    v("service", service, Check::NonEmpty(128));
    v("executor", executor);
    v("risk", risk);
    v("reversible", reversible);
    v("status", status);
    v("reason", reason);
    v("step_id", step_id);
  }
};

struct RemediationPlan : Envelope {
  static constexpr const char* kTopic = topics::kRemediationPlans;
  std::string incident_id, root_cause;
  double confidence = 0;
  std::vector<ActionStep> action_steps;
  std::vector<std::string> escalation_path, runbook_references;
  std::string estimated_resolution_time;
  Method method = Method::FALLBACK;
  // The guarded actions proposed with the plan (issue 18); absent from plans of earlier versions.
  std::optional<std::vector<PlannedAction>> actions;
  template <class V>
  void Visit(V& v) {
    VisitEnvelope(v);
    v("incident_id", incident_id, Check::Uuid());
    v("root_cause", root_cause, Check::NonEmpty());
    v("confidence", confidence, Check::Range(0, 1));
    v("action_steps", action_steps, Check::NonEmpty());
    v("escalation_path", escalation_path);
    v("runbook_references", runbook_references);
    v("estimated_resolution_time", estimated_resolution_time);
    v("method", method);
    v("actions", actions);
  }
};

struct IncidentResolved : Envelope {
  static constexpr const char* kTopic = topics::kIncidentsResolved;
  std::string incident_id;
  int64_t detection_time = 0, resolution_time = 0;
  double mttr_seconds = 0;
  std::string resolution_method;
  template <class V>
  void Visit(V& v) {
    VisitEnvelope(v);
    v("incident_id", incident_id, Check::Uuid());
    v("detection_time", detection_time, Check::EventTime());
    v("resolution_time", resolution_time, Check::EventTime());
    v("mttr_seconds", mttr_seconds, Check::Min(0));
    v("resolution_method", resolution_method, Check::NonEmpty(64));
  }
};

struct ActionItem {
  std::string action, owner, priority, due;
  template <class V>
  void Visit(V& v) {
    v("action", action, Check::NonEmpty());
    v("owner", owner);
    v("priority", priority);
    v("due", due);
  }
};

struct PostmortemGenerated : Envelope {
  static constexpr const char* kTopic = topics::kPostmortemsGenerated;
  std::string incident_id, postmortem_markdown;
  double mttr_seconds = 0;
  std::vector<ActionItem> action_items;
  Method method = Method::FALLBACK;
  template <class V>
  void Visit(V& v) {
    VisitEnvelope(v);
    v("incident_id", incident_id, Check::Uuid());
    v("postmortem_markdown", postmortem_markdown, Check::NonEmpty());
    v("mttr_seconds", mttr_seconds, Check::Min(0));
    v("action_items", action_items);
    v("method", method);
  }
};

// docs/architecture.md, delivery semantics. `payload` is the original message text (ill-formed
// UTF-8 replaced), cut on a character boundary at kDeadLetterPayloadMax bytes (shared/kafka.h);
// `payload_bytes` and `payload_sha256` describe the whole original. The optional fields are
// absent in dead letters written before they existed.
struct DeadLetter : Envelope {
  static constexpr const char* kTopic = topics::kDeadLetters;
  std::string agent, topic;
  int64_t partition = 0, offset = 0;
  std::string error, payload;
  std::optional<int64_t> payload_bytes;
  std::optional<std::string> payload_sha256;
  std::optional<bool> payload_truncated;
  std::optional<int64_t> attempts;  // handler runs before the message was given up
  template <class V>
  void Visit(V& v) {
    VisitEnvelope(v);
    v("agent", agent, Check::NonEmpty(64));
    v("topic", topic, Check::NonEmpty(256));
    v("partition", partition);
    v("offset", offset);
    v("error", error, Check::NonEmpty());
    v("payload", payload);
    v("payload_bytes", payload_bytes, Check::Min(0));
    v("payload_sha256", payload_sha256);
    v("payload_truncated", payload_truncated);
    v("attempts", attempts, Check::Min(0));
  }
};

// Only evaluation tools read this topic (ARCHITECTURE §3).
struct GroundTruth : Envelope {
  static constexpr const char* kTopic = topics::kSimGroundTruth;
  std::string scenario;
  Phase phase = Phase::START;
  std::string service, root_cause_service;
  RootCauseCategory root_cause_category = RootCauseCategory::UNKNOWN;
  std::vector<std::string> trigger_metrics;
  template <class V>
  void Visit(V& v) {
    VisitEnvelope(v);
    v("scenario", scenario, Check::NonEmpty(128));
    v("phase", phase);
    v("service", service, Check::NonEmpty(128));
    v("root_cause_service", root_cause_service, Check::NonEmpty(128));
    v("root_cause_category", root_cause_category);
    v("trigger_metrics", trigger_metrics);
  }
};

// Metric names as emitted (ARCHITECTURE §3).
namespace metrics {
inline constexpr const char* kAll[] = {"request_rate",      "error_rate",     "latency_p99_ms",
                                       "cpu_percent",       "memory_percent", "db_connections",
                                       "kafka_consumer_lag"};
}

// The codec of every payload type is instantiated once, in messages.cpp, rather than in every
// file that encodes or decodes one (with the sanitizers that cost each such file many seconds).
#define SRE_PAYLOAD_TYPES(X)                                                                        \
  X(RawMetric) X(RawLog) X(RawDeployment) X(AnomalyDetected) X(IncidentOpened) X(RcaCompleted)     \
  X(RemediationPlan) X(IncidentResolved) X(PostmortemGenerated) X(DeadLetter) X(GroundTruth)
#define SRE_EXTERN_CODEC(T)                                 \
  extern template Json ToJson<T>(const T&);                 \
  extern template Expected<T> FromJson<T>(const Json&);     \
  extern template Expected<T> Decode<T>(std::string_view);  \
  extern template std::string Encode<T>(const T&);
SRE_PAYLOAD_TYPES(SRE_EXTERN_CODEC)
#undef SRE_EXTERN_CODEC

}  // namespace sre
