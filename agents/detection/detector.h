#pragma once
// The detection core: pure functions, no IO, no clock. The same algorithm runs online in Redis
// (baseline_script.cpp, one round trip per sample) and offline here (backtest, unit tests); a
// conformance test feeds both the same series and compares every verdict.
#include <array>
#include <cstdint>
#include <string_view>
#include <deque>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "agents/detection/settings.h"
#include "shared/enums.h"

namespace sre::detection {

// The rolling state of one (service, metric) series: a fixed-size summary, whatever the
// history (ARCHITECTURE §4 detection, "the scoring core").
//
//  * A robust local level and spread. Each accepted sample moves the level by its residual
//    clipped to ±kClip spreads, weighted 1/window (1/n during the first `window` samples), so
//    an outlier moves it at most a fixed small step; the spread is the same kind of average of
//    the clipped absolute residual (× √(π/2), a σ for normal noise) over `spread_window`.
//  * A seasonal term once enough history exists: the day is cut into kSeasonBins bins of 5
//    minutes; for each bin the mean offset of the samples from the level is kept for today and
//    the kSeasonDays - 1 days before. Per bin the earlier days' offsets are combined (two days:
//    the smaller, three: the median), so a recurring bump (a nightly batch job) is learned in two
//    days while a one-off failure on one day teaches nothing; the expectation adds, of the
//    sample's bin and its two neighbours, the combined offset closest to the sample's (a job
//    that starts a few minutes off its bin boundary is still expected).
//  * A threshold adapted to the series: the 99th percentile of the accepted samples' z in the
//    metric's direction (|z| for both) is tracked (stochastic quantile), and the effective
//    threshold is threshold_sigma scaled by how much heavier than Gaussian that tail is, never
//    lower than threshold_sigma.
//  * Hysteresis: min_consecutive breaching samples among the last min_consecutive + 1 raise
//    once, the series is then in an episode (no learning, no further raise) until
//    rearm_samples samples in a row are below
//    kExitFraction of the threshold; an episode whose samples stay elevated for
//    level_shift_samples makes their level the new normal (adopted, never absorbed).
inline constexpr int kSeasonBins = 288;  // 5-minute bins
inline constexpr int kSeasonDays = 4;   // today and the three days before
inline constexpr int kEvidenceRing = 16;
inline constexpr double kClip = 2.0;           // residuals count at most ±2 spreads
inline constexpr double kExitFraction = 0.6;   // an episode ends below 0.6 × threshold
inline constexpr double kTailQuantile = 0.99;
inline constexpr double kGaussianTail = 2.5758;  // the 99th percentile of |z| for normal noise
inline constexpr double kGaussianTailOneSided = 2.3263;  // ... of z

struct SeriesState {
  double version = 0;  // bumped on every sample: the compare-and-set token of the stored copy
  double last_ts = 0, first_ts = 0;
  double level = 0, spread = 0;
  double tail = 0;              // tracked 99th percentile of the directional z (0: not yet)
  double accepted = 0;          // samples accepted into the level
  double run = 0;               // breaching samples since the last accepted one (before a raise)
  double episode = 0;           // 1 while in an anomalous episode
  double calm = 0;              // samples in a row below the exit threshold, in an episode
  double elevated = 0;          // samples in a row above the exit threshold, in an episode
  double shift_level = 0;       // the episode's recent level (a candidate new normal)
  double season_day = -1;       // day number (UTC) of days[0], -1 before the first sample
  double bin = -1, bin_count = 0, bin_mean = 0;  // today's bin being averaged: samples, mean offset
  std::array<float, kEvidenceRing> evidence{};  // directional z / threshold, newest at [0]
  // days[0] is today; days[d] the d-th day before (NaN: no sample in that bin that day).
  // Today's current bin is in bin_mean until the bin changes.
  std::vector<std::array<float, kSeasonBins>> days;
  bool season_dirty = false;  // days changed since the last PackSeason (not stored)
};

// The packed form of a SeriesState, as stored in Redis: the state (keys::SeriesWindow, rewritten
// every sample, 200 bytes: 17 little-endian doubles — `version` first — then the evidence ring as
// little-endian floats) and the seasonal days (keys::SeriesSeason, 288 little-endian floats per
// day, rewritten only when a bin is complete).
std::string PackState(const SeriesState& s);
std::string PackSeason(const SeriesState& s);
// nullopt for a state that is not a packed state (wrong size, a former layout). A season that
// does not match the state's day count is dropped (the seasonal history starts over).
std::optional<SeriesState> UnpackState(std::string_view state, std::string_view season = {});

enum class VerdictKind {
  kWarmup,      // too few samples to judge; the sample was accepted
  kNormal,      // within threshold; accepted (or, in an episode, below the threshold)
  kBreach,      // beyond threshold; kept out of the baseline
  kRaise,       // the breach that reached min_consecutive while armed: raise an anomaly
  kLevelShift,  // an episode that lasted level_shift_samples: its level is the new normal
};
std::string_view ToString(VerdictKind k);
std::optional<VerdictKind> ParseVerdictKind(std::string_view s);

struct Verdict {
  VerdictKind kind = VerdictKind::kWarmup;
  double z = 0;          // (value - expectation) / spread
  double mean = 0;       // the expectation: level, plus the seasonal term when active
  double std = 0;        // the effective (floored) spread
  double threshold = 0;  // the effective threshold in sigmas (adapted to the series)
  double score = 0;      // in [0, 1]: 0.5 exactly at the raise threshold, see AnomalyScore
  int baseline_size = 0; // samples accepted before this one
  int consecutive = 0;   // breaching samples among the last min_consecutive + 1 (before a raise)
  bool seasonal = false; // the expectation includes the seasonal term
  bool episode = false;  // the series is in an anomalous episode after this sample
};

// Scores are finite whatever the input (issue 14): z is clamped to ±kMaxSigma and values enter
// the state clamped to ±kMaxBaselineValue.
inline constexpr double kMaxSigma = 1e12;
inline constexpr double kMaxBaselineValue = 1e150;
// `v` clamped to [-bound, bound]; NaN becomes 0.
double FiniteScore(double v, double bound);

// Scores the sample (event time `ts_ms`, `value`) against `state` and updates it.
Verdict Observe(SeriesState& state, int64_t ts_ms, double value, const MetricSettings& settings);

// The score of normalised evidence u = (directional z) / (effective threshold), where u is the
// min_consecutive-th strongest of the last min_consecutive + 1 samples: 1 - 2^(-u²) for u > 0,
// else 0. Continuous and
// monotonic, 0.5 exactly where a raise happens (u = 1), ~0.94 at twice the threshold, 0.03 for
// ordinary noise, so one threshold on the score can be chosen after the fact.
double AnomalyScore(double u);

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
  bool anomaly = false;  // a raise
};
// Runs the core over a whole series (offline tuning).
std::vector<BacktestRow> Backtest(const std::vector<std::pair<int64_t, double>>& samples,
                                  const MetricSettings& settings);

}  // namespace sre::detection
