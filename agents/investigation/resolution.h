#pragma once
// The resolution monitor's decision, as a pure function: an incident is resolved when every
// series that breached has 3 consecutive samples back within its pre-incident baseline (stored
// at detection), and no pattern-matching error line was logged for a while. Hysteresis: the
// recovery band (kRecoverySigma) is tighter than the alert threshold, so a metric hovering at
// the threshold does not flap, and a ramp that is still rising is never "recovered".
#include <cstdint>
#include <map>
#include <set>
#include <optional>
#include <string>
#include <vector>

#include "shared/incident.h"
#include "shared/json_codec.h"

namespace sre::investigation {

inline constexpr int kRecoverySamples = 3;
inline constexpr double kRecoverySigma = 2.0;
inline constexpr int64_t kLogQuietMs = 30000;

struct SeriesBaseline {
  double mean = 0, std = 1, threshold = 2.5;
  std::string direction = "up";  // up, down, both
};

// An alert trigger (sre-ingest): its source says when it ends; sre-ingest records that as
// resolved_at (event time) when the resolved notification arrives.
struct AlertTrigger {
  std::optional<int64_t> resolved_at;
};

// What recovery means for an incident, from incidents.baselines (sre::IncidentBaselines,
// shared/incident.h): series triggers (metric name → baseline), log patterns, and alerts
// ("alert:<alertname>" → its state).
struct RecoveryBaselines {
  std::map<std::string, SeriesBaseline> series;
  std::vector<std::string> patterns;
  std::map<std::string, AlertTrigger> alerts;
};
RecoveryBaselines ParseBaselines(const IncidentBaselines& stored);
// The column's JSON, decoded by shared/incident.h: an entry that does not decode is an error
// naming the trigger and the field, never a default.
Expected<RecoveryBaselines> ParseBaselines(const Json& baselines);

// Which open-incident locks to delete (issue 14: locks are cleaned when their incident is over).
// `lock_incident` maps a service's lock to the incident id it holds; `status` has the status of
// each of those incidents found in PostgreSQL (absent: no row). A lock goes when its incident is
// RESOLVED or CLOSED, when its value is not an incident id, or when its incident has had no row
// for `grace_ms` of wall time (`missing_since`: when each id was first seen without a row) —
// detection takes the lock just before it writes the row, and retries that write while
// PostgreSQL is down, so a lock without a row is normal for a while.
// The locks to put back (service → incident id): every service with an open incident but no
// lock gets the lock of its newest open incident. A Redis restarted empty (or flushed) loses the
// locks, which have no TTL; without them the next breach on that service would open a second
// incident. `open` is (service, incident id) in detection order; `locked` holds the services that
// have a lock now.
std::map<std::string, std::string> LocksToRestore(const std::vector<std::pair<std::string, std::string>>& open,
                                                  const std::set<std::string>& locked);

struct LockSweep {
  std::vector<std::string> release;              // services whose lock to delete (compare-and-delete)
  std::map<std::string, int64_t> missing_since;  // ids without a row, kept for the next sweep
};
LockSweep SweepLocks(const std::map<std::string, std::string>& lock_incident,
                     const std::map<std::string, std::string>& status,
                     const std::map<std::string, int64_t>& missing_since, int64_t now_wall_ms, int64_t grace_ms);

// Whether `value` is back within the baseline (directional, with the recovery band).
bool Recovered(const SeriesBaseline& b, double value);

struct ResolutionInput {
  int64_t detection_time = 0;
  RecoveryBaselines baselines;
  // Samples of each breached series after detection (event time ms, value), oldest first.
  std::map<std::string, std::vector<std::pair<int64_t, double>>> samples;
  std::optional<int64_t> last_pattern_error_ts;  // of the service
};

inline constexpr const char* kMetricsRecovered = "METRICS_RECOVERED";
inline constexpr const char* kSignalLost = "SIGNAL_LOST";
inline constexpr const char* kAlertsResolved = "ALERTS_RESOLVED";  // every trigger was an alert

struct ResolutionDecision {
  bool resolved = false;
  int64_t resolution_time = 0;  // event time of the first sample of the recovered run, latest over series
  std::string method = kMetricsRecovered;  // incidents.resolved resolution_method
  std::string reason;           // why not (for logs), or a summary when resolved
};

ResolutionDecision Decide(const ResolutionInput& in);

// The newest event time among the incident's evidence: samples of its breached series (or, for a
// log-only incident, of its clock series), its last pattern-matching error line, and detection.
int64_t NewestEvidence(const ResolutionInput& in);

// Signal loss (issue 14): an incident whose evidence has stopped advancing cannot recover by the
// rule above: its series went silent, or a log-only incident's service has no metrics at all.
// The monitor remembers, per incident, the newest evidence time and the wall time it last changed.
// The incident is resolved as SIGNAL_LOST, at its newest evidence time (which releases the
// service's lock), when both hold for `timeout_ms`:
//   - in event time: the pipeline's clock (the upper quartile over services of the newest
//     telemetry detection has seen, keys::kServiceClock) is at least `timeout_ms` past the newest evidence,
//     so the rest of the system moved on: a lagging or stopped detection, a broker outage, a
//     replay paused, all stop the clock and resolve nothing;
//   - in wall time: the evidence has not advanced for `timeout_ms`, so a burst of telemetry from
//     other services (a replay, absurd timestamps) cannot resolve an incident at once either.
// No clock (no telemetry at all) resolves nothing: without any signal nothing is known. An alert
// still firing is a signal: its source (Alertmanager, Grafana) says when it ends, so an incident
// with an unresolved alert trigger is never resolved as SIGNAL_LOST.
struct SignalWatch {
  int64_t newest_event_ms = -1;
  int64_t changed_at_wall_ms = 0;
};
// The watch after seeing `newest_event_ms` at `now_wall_ms`.
SignalWatch Observe(SignalWatch prev, int64_t newest_event_ms, int64_t now_wall_ms);
// A SIGNAL_LOST decision when both timeouts above have passed, else not resolved.
ResolutionDecision DecideSignalLost(const ResolutionInput& in, const SignalWatch& watch, int64_t now_wall_ms,
                                    std::optional<int64_t> pipeline_clock_ms, int64_t timeout_ms);

}  // namespace sre::investigation
