#pragma once
// The detection core: pure functions, no IO, no clock. The same algorithm runs online in Redis
// (baseline_script.cpp, one round trip per sample) and offline here (backtest, unit tests); a
// conformance test feeds both the same series and compares every verdict.
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "agents/detection/settings.h"
#include "shared/enums.h"

namespace sre::detection {

// Rolling state of one (service, metric) series.
struct SeriesState {
  std::deque<double> baseline;  // the last `window` accepted samples
  int consecutive = 0;          // breaching samples in a row
  std::vector<double> shift;    // the breaching run, for a level shift
};

enum class VerdictKind {
  kWarmup,      // baseline not full enough to judge; the sample was accepted
  kNormal,      // within threshold; accepted into the baseline
  kBreach,      // beyond threshold; kept out of the baseline
  kRaise,       // the breach that reached min_consecutive: raise an anomaly
  kLevelShift,  // a breach that lasted level_shift_samples: its level is the new normal
};
std::string_view ToString(VerdictKind k);
std::optional<VerdictKind> ParseVerdictKind(std::string_view s);

struct Verdict {
  VerdictKind kind = VerdictKind::kWarmup;
  double z = 0, mean = 0, std = 0;  // std: the effective (floored) standard deviation
  int baseline_size = 0;            // accepted samples before this one
  int consecutive = 0;
};

// Scores are finite whatever the input (issue 14): z is clamped to ±kMaxSigma and values enter
// the baseline clamped to ±kMaxBaselineValue (so sums of squares cannot overflow). The Lua script
// applies the same bounds.
inline constexpr double kMaxSigma = 1e12;
inline constexpr double kMaxBaselineValue = 1e150;
// `v` clamped to [-bound, bound]; NaN becomes 0.
double FiniteScore(double v, double bound);

// Scores `value` against `state` and updates it (ARCHITECTURE §4 detection).
Verdict Observe(SeriesState& state, double value, const MetricSettings& settings);

// In [0, 1), growing with |z|: 0.5 at the threshold, → 1 far beyond it.
double AnomalyScore(double z, double threshold_sigma);

// Seconds until a linear fit of `samples` (event time ms, value) reaches `limit`; nullopt when
// the trend is flat or falling, or there are fewer than 3 samples.
std::optional<double> TimeToFailure(const std::vector<std::pair<int64_t, double>>& samples, double limit);

// The first pattern matching an ERROR/FATAL line; nullptr for other levels or no match.
const LogPattern* MatchLogPattern(const std::vector<LogPattern>& patterns, LogLevel level, const std::string& message);

struct Classification {
  AnomalyType type = AnomalyType::UNKNOWN;
  Severity severity = Severity::LOW;
  std::string description;
};

struct AnomalyFacts {
  std::string service, criticality;  // criticality P0..P2
  std::string trigger;               // metric name, or "log:<pattern>"
  AnomalyType trigger_type = AnomalyType::UNKNOWN;
  // A metric: its value, unit and baseline. A log pattern: `observed` is the number of matching
  // ERROR/FATAL lines from the service in the batch, unit "lines", no baseline (0).
  double observed = 0, mean = 0, std = 0, z = 0;
  std::string unit;
  std::optional<double> time_to_failure_s;
  int64_t ts = 0;                                    // event time of the triggering sample
  double threshold_sigma = 0;                        // metrics
  std::vector<std::pair<int64_t, double>> recent;    // metrics: the newest samples, newest last
  std::string log_line;                              // log patterns: the first matching line
  std::vector<std::string> more_lines;               // further distinct matching lines
  std::string pattern_regex;                         // log patterns
  std::string source_event_id;
  bool is_log() const { return trigger.rfind("log:", 0) == 0; }
};

// The rule-based classification used without an LLM: type from the trigger, severity from |z|,
// the service's criticality and an imminent time to failure.
Classification ClassifyFallback(const AnomalyFacts& facts);

// What the alert shows as evidence, most telling first. A metric: the value against its
// baseline with units and the threshold, then the last samples. A log pattern: the pattern and
// how many lines matched, then the lines. Last, the id of the triggering event.
std::vector<std::string> AnomalyEvidence(const AnomalyFacts& facts);

struct BacktestRow {
  int64_t timestamp = 0;
  double value = 0;
  Verdict verdict;
  double score = 0;
  bool anomaly = false;  // a raise
};
// Runs the core over a whole series (offline tuning).
std::vector<BacktestRow> Backtest(const std::vector<std::pair<int64_t, double>>& samples,
                                  const MetricSettings& settings);

}  // namespace sre::detection
