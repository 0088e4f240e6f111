#include "agents/investigation/resolution.h"

#include <algorithm>
#include <cmath>

namespace sre::investigation {

IncidentBaselines ParseBaselines(const Json& baselines) {
  IncidentBaselines out;
  if (!baselines.is_object()) return out;
  for (auto it = baselines.begin(); it != baselines.end(); ++it) {
    const Json& b = it.value();
    if (!b.is_object()) continue;
    if (b.contains("pattern")) {
      out.patterns.push_back(b.value("pattern", ""));
      continue;
    }
    SeriesBaseline s;
    s.mean = b.value("mean", 0.0);
    s.std = std::max(b.value("std", 1.0), 1e-9);
    s.threshold = b.value("threshold", 2.5);
    s.direction = b.value("direction", "up");
    out.series[it.key()] = s;
  }
  return out;
}

bool Recovered(const SeriesBaseline& b, double value) {
  double band = std::min(kRecoverySigma, b.threshold);
  double z = (value - b.mean) / b.std;
  if (b.direction == "up") return z <= band;
  if (b.direction == "down") return z >= -band;
  return std::fabs(z) <= band;
}

ResolutionDecision Decide(const ResolutionInput& in) {
  ResolutionDecision d;
  if (in.baselines.series.empty() && in.baselines.patterns.empty()) {
    d.reason = "no breached series recorded";
    return d;
  }
  int64_t resolved_at = in.detection_time;
  int64_t latest_sample = in.detection_time;
  for (const auto& [metric, baseline] : in.baselines.series) {
    auto it = in.samples.find(metric);
    if (it == in.samples.end() || it->second.size() < static_cast<size_t>(kRecoverySamples)) {
      d.reason = metric + ": not enough samples since detection";
      return d;
    }
    const auto& s = it->second;
    for (size_t i = s.size() - kRecoverySamples; i < s.size(); ++i) {
      if (!Recovered(baseline, s[i].second)) {
        d.reason = metric + " still outside its baseline";
        return d;
      }
    }
    // The recovered run started at the earliest sample of the trailing in-band streak.
    size_t start = s.size() - kRecoverySamples;
    while (start > 0 && Recovered(baseline, s[start - 1].second)) --start;
    resolved_at = std::max(resolved_at, s[start].first);
    latest_sample = std::max(latest_sample, s.back().first);
  }
  if (!in.baselines.patterns.empty()) {
    if (in.baselines.series.empty()) {
      // A log-only incident: the samples of any series tell how far event time has advanced.
      for (const auto& [metric, s] : in.samples)
        if (!s.empty()) latest_sample = std::max(latest_sample, s.back().first);
    }
    int64_t last_error = in.last_pattern_error_ts.value_or(in.detection_time);
    if (latest_sample - last_error < kLogQuietMs) {
      d.reason = "matching error lines logged in the last 30 s";
      return d;
    }
    resolved_at = std::max(resolved_at, last_error);
  }
  d.resolved = true;
  d.resolution_time = resolved_at;
  d.reason = "every breached series back within its pre-incident baseline for " + std::to_string(kRecoverySamples) +
             " samples";
  return d;
}

}  // namespace sre::investigation
