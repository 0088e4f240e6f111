#pragma once
// The deterministic root-cause ranking used when no LLM is available or the tool loop failed.
// It reads the evidence, not scenario names: correlation signals (deployment, cascade), the shape
// of the metrics (is the request rate up or flat? is memory climbing?), the words in the error
// logs, and the categories of the most similar past incidents.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "shared/incident.h"
#include "shared/messages.h"

namespace sre::investigation {

// An incident raised by an Alertmanager/Grafana alert (sre-ingest): its `incidents.baselines`
// entry keyed "alert:<alertname>" (kind "alert"). Every string came from outside.
struct AlertInfo {
  std::string alertname;
  std::string expr;  // the alert's PromQL (generatorURL g0.expr); may be empty
  std::string fingerprint;
  std::string generator_url;
  std::map<std::string, std::string> labels;
  int64_t since_ms = 0;
  std::optional<int64_t> resolved_at_ms;
};

// The alert behind `trigger_metric` when it is "alert:<name>" and `baselines` (decoded by
// shared/incident.h) holds its alert entry; fields the entry lacks read as empty. std::nullopt for
// metric and log triggers.
std::optional<AlertInfo> ParseAlertInfo(const std::string& trigger_metric, const IncidentBaselines& baselines);

// The metric (metrics::kAll) an alert watches, guessed from its name and expression
// ("HighMemoryUsage" → memory_percent, "…http_requests_total{status=~\"5..\"}…" → error_rate);
// empty when nothing matches.
std::string MetricForAlert(const AlertInfo& alert);

struct RcaEvidence {
  IncidentOpened opened;
  std::string trigger_metric;  // what raised the incident (metric name, "log:<pattern>" or "alert:<name>")
  // The origin service when correlation points elsewhere (cascade), and its own evidence.
  std::map<std::string, std::vector<std::string>> errors_by_service;
  std::map<std::string, std::map<std::string, std::vector<double>>> metrics_by_service;  // oldest first
  std::vector<SimilarIncident> similar;
  int64_t db_pool_size = 0;  // of the origin service, for the DB-saturation shape
  // An alert-triggered incident: the alert, and its expression re-run over the incident window
  // (oldest first; empty without Prometheus). The series counts as the alerting service's
  // MetricForAlert() metric when Redis has no samples of that metric.
  std::optional<AlertInfo> alert;
  std::vector<double> alert_series;
};

// Which service the cause lives in: the strongest cascade origin (a degraded dependency, or the
// service holding the related open incident), else the incident's own service.
std::string OriginService(const IncidentOpened& opened);

// Ranked candidates (highest confidence first, ranks 1..n, confidences summing to ≤ 1).
std::vector<RootCauseCandidate> RankRootCauses(const RcaEvidence& e);

// Log-line classes: the category a line points to, with a weight; exposed for tests.
struct LogClue {
  RootCauseCategory category;
  double weight;
  const char* name;
};
std::vector<LogClue> CluesIn(const std::string& line);

// Simple shape measures over a series (oldest first): last-third mean / first-third mean.
double GrowthRatio(const std::vector<double>& values);

}  // namespace sre::investigation
