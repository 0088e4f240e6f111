#pragma once
// Scoring a detector against labelled failures (issue 16): which raises fell inside an injected
// failure and which are false alarms, how many failures were raised, and how late. Pure: the
// offline backtest (`sre-detection backtest --labelled`) and `make eval-detection` feed it.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "shared/json_codec.h"
#include "shared/status.h"

namespace sre::detection {

struct Raise {
  std::string service, metric;
  int64_t ts = 0;
  double score = 0;
};

// One injected failure, as `sre-simulator generate` labels it (an "eval.episode" line).
struct LabelledFailure {
  std::string scenario, service;
  bool custom = false;
  std::vector<std::string> affected_services, trigger_metrics;
  int64_t start_ms = 0, end_ms = 0;
  // "<service>/<metric>" → the first sample at least 3σ of normal noise from the normal level
  // (nullopt: it never got there).
  std::map<std::string, std::optional<int64_t>> crossed_3sigma_ms;
};
Expected<LabelledFailure> ParseLabelledFailure(const Json& j);

struct FailureResult {
  LabelledFailure failure;
  std::optional<Raise> first_raise;      // the first raise on an affected service in its window
  std::optional<int64_t> crossed_ms;     // the earliest 3σ crossing of its own service
  std::optional<double> delay_samples;   // (first raise - crossing) / sample interval
};

struct Scorecard {
  double days = 0;
  int series = 0;
  int raises = 0, true_raises = 0, false_raises = 0;
  std::vector<Raise> false_alarms;
  std::vector<FailureResult> failures;
  int detected = 0;
  std::optional<double> median_delay_samples, max_delay_samples;
  double precision() const { return raises ? static_cast<double>(true_raises) / raises : 1.0; }
  double recall() const { return failures.empty() ? 1.0 : static_cast<double>(detected) / failures.size(); }
  double false_per_day() const { return days > 0 ? false_raises / days : 0; }
};

// A raise is true when its service is affected by a failure and it falls within
// [start_ms, end_ms + grace_ms]; every other raise is a false alarm. `days` is the span scored.
Scorecard ScoreRaises(const std::vector<Raise>& raises, const std::vector<LabelledFailure>& failures, double days,
                      int series, int64_t sample_ms = 10000, int64_t grace_ms = 120000);

// A human-readable scorecard: the totals against the targets (≤ 1 false raise per day, every
// failure raised, median delay ≤ 3 samples), every failure, and the false alarms by series.
std::string FormatScorecard(const Scorecard& s, const std::string& title);
Json ScorecardJson(const Scorecard& s);

}  // namespace sre::detection
