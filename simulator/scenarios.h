#pragma once
// Failure scenarios: what a scenario changes (metric effects with ramp shapes), what it logs,
// whether it begins with a deployment and cascades to callers, and its ground truth. The eleven
// built-in scenarios of issue 4 live here; custom ones come from custom_scenario.h.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "shared/enums.h"
#include "shared/json_codec.h"
#include "shared/services.h"
#include "simulator/log_text.h"
#include "simulator/noise.h"
#include "simulator/ramp.h"

namespace sre::sim {

// One metric moving from the service's baseline to `peak` (an absolute value).
struct MetricEffect {
  Metric metric = kErrorRate;
  double peak = 0;
  Shape shape = Shape::kLinear;
  int64_t delay_ms = 0;  // after the symptoms start
  int64_t ramp_ms = 0;   // time to reach the peak
  bool trigger = false;  // listed in the ground truth's trigger_metrics
};

// A deployment that precedes the symptoms (the scenario's cause).
struct DeploymentSpec {
  ChangeType change_type = ChangeType::CODE;
  std::string version;  // empty: the service's next version (a minor bump, or the next config rev)
  std::string description;
  int64_t lead_min_ms = 60000;   // the symptoms start this long after the deployment:
  int64_t lead_max_ms = 120000;  // drawn uniformly from [min, max]
};

struct ScenarioDef {
  std::string name, description, service;
  int64_t duration_ms = 0;  // the symptom window: ramp, hold, then recovery
  int64_t recovery_ms = 0;  // the last part of the window, back to normal
  std::vector<MetricEffect> effects;
  // Lines while the ramp is young (intensity < 0.3): one per tick with probability 0.7.
  std::vector<LogRule> early_logs;
  // Cause-specific ERROR/FATAL lines: 1–3 per tick (more when intense) while symptoms last;
  // a custom scenario writes every one of its lines every tick instead.
  std::vector<LogRule> error_logs;
  std::optional<DeploymentSpec> deployment;
  bool cascade = false;  // callers see proportional errors and latency (else barely anything)
  std::string root_cause_service;
  RootCauseCategory root_cause_category = RootCauseCategory::UNKNOWN;
  bool custom = false;

  std::vector<std::string> TriggerMetrics() const;
  // The scenario's overall intensity at t: the largest effect intensity.
  double Intensity(int64_t t_ms, int64_t symptom_start_ms) const;
  // When every effect has reached its peak (relative to the symptom start).
  int64_t RampEndMs() const;
};

// The eleven scenarios of issue 4 for the services in `catalog` (peaks and pool sizes come from
// it). A scenario whose service is missing from the catalogue is left out.
std::vector<ScenarioDef> BuiltInScenarios(const ServiceCatalog& catalog);

// The catalogue entry as served by GET /api/scenarios.
Json ScenarioJson(const ScenarioDef& def);

// Whether remediation `action` addresses the cause of `def` (POST /api/actions; the table in
// docs/simulator.md), from its root-cause category and its deployment alone:
//   rollback           a CODE or CONFIG deployment (the version is checked by the caller)
//   revert_config      a CONFIG deployment
//   restart            RESOURCE_LEAK or INFRASTRUCTURE_FAILURE (pods rescheduled off the bad node)
//   scale_out          CPU_EXHAUSTION or TRAFFIC_SURGE, without a deployment
//   failover_db, kill_long_queries   DATABASE_BOTTLENECK
//   reset_consumer, pause_consumer   CONSUMER_STALL
//   disable_flag       APPLICATION_BUG
//   escalate           never
bool ActionFixes(RemediationAction action, const ScenarioDef& def);

// The fraction of a scenario's duration spent recovering.
inline constexpr double kRecoveryFraction = 0.15;

}  // namespace sre::sim
