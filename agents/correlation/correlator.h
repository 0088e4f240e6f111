#pragma once
// The correlation core: pure functions over what the IO shell read from Redis. No IO, no clock:
// every time is event time (Unix ms) passed in.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "shared/incident.h"
#include "shared/messages.h"
#include "shared/services.h"

namespace sre::correlation {

// max(0.1, 1 − Δmin/60) for a deployment Δ minutes before detection; nullopt outside
// [0, 60] minutes (a deployment after detection cannot have caused it).
std::optional<double> DeploymentConfidence(int64_t deployed_ms, int64_t detection_ms);

// The newest deployment of `deploys` within 60 minutes before detection, with its confidence.
struct DeploymentMatch {
  RawDeployment deployment;
  double confidence = 0;
  double minutes_before = 0;
};
std::optional<DeploymentMatch> MatchDeployment(const std::vector<RawDeployment>& deploys, int64_t detection_ms);

// What a neighbour's error rate and latency look like around detection time.
struct SeriesSnapshot {
  double mean = 0, std = 0;      // its baseline (accepted samples)
  std::vector<double> recent;    // its latest samples at detection time, newest last
};
// Mean of the recent samples in baseline standard deviations (std floored at 5 % of the mean).
double Elevation(const SeriesSnapshot& s);
inline constexpr double kElevated = 3.0;

struct CorrelationInput {
  AnomalyDetected anomaly;
  std::vector<RawDeployment> deployments;  // of anomaly.service (others are ignored)
  // service -> metric ("error_rate", "latency_p99_ms") -> snapshot, for neighbours in the graph.
  std::map<std::string, std::map<std::string, SeriesSnapshot>> neighbours;
  std::map<std::string, std::string> open_incidents;  // service -> open incident id (other services)
  std::map<std::string, std::vector<double>> recent_metrics;  // of anomaly.service
  std::vector<std::string> recent_errors;                      // of anomaly.service
};

struct CorrelationResult {
  std::vector<std::string> affected_services;
  BlastRadius blast_radius;
  std::vector<CorrelationSignal> signals;
  std::optional<DeploymentContext> deployment_context;  // also stored in correlation_context.deployment
  std::optional<std::string> related_incident_id;  // an open incident on a dependency (the origin)
  // Open incidents of callers that this incident explains (set only when it has no origin of its
  // own): they are re-linked to it, so a cascade reads as one story whichever service alerted first.
  std::vector<std::string> adopted_incident_ids;
  std::string summary;  // one paragraph for people
};

// Deployment correlation, cascade (downstream services elevated against their own baselines:
// the likely origin), upstream degradation (callers elevated: the blast radius), linking to an
// open incident on a dependency (nearest first) or else adopting the callers' open incidents, and
// the blast radius estimate.
CorrelationResult Correlate(const CorrelationInput& in, const ServiceCatalog& catalog);

// Services within `depth` hops along downstream (or upstream) edges, nearest first.
std::vector<std::string> Reachable(const ServiceCatalog& catalog, const std::string& from, bool downstream, int depth);

// IncidentOpened built from the anomaly and the correlation.
IncidentOpened BuildOpened(const CorrelationInput& in, const CorrelationResult& r, const std::string& event_id);

}  // namespace sre::correlation
