#pragma once
// The deterministic root-cause ranking used when no LLM is available or the tool loop failed.
// It reads the evidence, not scenario names: correlation signals (deployment, cascade), the shape
// of the metrics (is the request rate up or flat? is memory climbing?), the words in the error
// logs, and the categories of the most similar past incidents.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "shared/messages.h"

namespace sre::investigation {

struct RcaEvidence {
  IncidentOpened opened;
  std::string trigger_metric;  // what raised the incident (metric name or "log:<pattern>")
  // The origin service when correlation points elsewhere (cascade), and its own evidence.
  std::map<std::string, std::vector<std::string>> errors_by_service;
  std::map<std::string, std::map<std::string, std::vector<double>>> metrics_by_service;  // oldest first
  std::vector<SimilarIncident> similar;
  int64_t db_pool_size = 0;  // of the origin service, for the DB-saturation shape
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

// The RCA loop's first user prompt: outside text (names from telemetry, correlation evidence,
// the deployment, log lines) only inside untrusted delimiters.
std::string RcaPrompt(const IncidentOpened& o, const std::string& trigger_metric);

}  // namespace sre::investigation
