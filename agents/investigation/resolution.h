#pragma once
// The resolution monitor's decision, as a pure function: an incident is resolved when every
// series that breached has 3 consecutive samples back within its pre-incident baseline (stored
// at detection), and no pattern-matching error line was logged for a while. Hysteresis: the
// recovery band (kRecoverySigma) is tighter than the alert threshold, so a metric hovering at
// the threshold does not flap, and a ramp that is still rising is never "recovered".
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "shared/json_codec.h"

namespace sre::investigation {

inline constexpr int kRecoverySamples = 3;
inline constexpr double kRecoverySigma = 2.0;
inline constexpr int64_t kLogQuietMs = 30000;

struct SeriesBaseline {
  double mean = 0, std = 1, threshold = 2.5;
  std::string direction = "up";  // up, down, both
};

// Parsed incidents.baselines: series triggers (metric name → baseline) and log patterns.
struct IncidentBaselines {
  std::map<std::string, SeriesBaseline> series;
  std::vector<std::string> patterns;
};
IncidentBaselines ParseBaselines(const Json& baselines);

// Whether `value` is back within the baseline (directional, with the recovery band).
bool Recovered(const SeriesBaseline& b, double value);

struct ResolutionInput {
  int64_t detection_time = 0;
  IncidentBaselines baselines;
  // Samples of each breached series after detection (event time ms, value), oldest first.
  std::map<std::string, std::vector<std::pair<int64_t, double>>> samples;
  std::optional<int64_t> last_pattern_error_ts;  // of the service
};

struct ResolutionDecision {
  bool resolved = false;
  int64_t resolution_time = 0;  // event time of the first sample of the recovered run, latest over series
  std::string reason;           // why not (for logs), or a summary when resolved
};

ResolutionDecision Decide(const ResolutionInput& in);

}  // namespace sre::investigation
