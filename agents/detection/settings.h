#pragma once
// Detection settings (infra/detection/detection.json, or $DETECTION_CONFIG): per-metric scoring
// parameters and the log pattern table. Loaded and validated once at start-up.
#include <map>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "shared/enums.h"
#include "shared/status.h"

namespace sre::detection {

enum class Direction { kUp, kDown, kBoth };

struct MetricSettings {
  Direction direction = Direction::kUp;
  double threshold_sigma = 2.5;
  int min_consecutive = 3;
  int warmup_samples = 20;
  int window = 60;          // samples: how fast the level follows (1/window of a clipped residual)
  int spread_window = 360;  // samples: the spread's memory
  int rearm_samples = 6;    // samples in a row back to normal before an episode ends
  bool seasonal = true;     // add the time-of-day term once two days of history exist
  bool adaptive = true;     // scale the threshold by the series' own tail
  double std_floor_abs = 0;
  double std_floor_rel = 0.02;
  int level_shift_samples = 60;
  // Saturating metrics: the limit for time-to-failure. `pool_limit`: use the service's
  // db_pool_size instead of a number.
  std::optional<double> saturation_limit;
  bool pool_limit = false;
  AnomalyType anomaly_type = AnomalyType::UNKNOWN;
};

struct LogPattern {
  std::string name;
  std::string regex_text;
  std::regex regex;
  AnomalyType anomaly_type = AnomalyType::UNKNOWN;
};

struct DetectionSettings {
  std::map<std::string, MetricSettings> metrics;
  MetricSettings defaults;
  std::vector<LogPattern> log_patterns;

  // The settings of `metric`, or the defaults for a metric not listed.
  const MetricSettings& For(const std::string& metric) const;

  // Status::Invalid naming the field on a bad file.
  static Expected<DetectionSettings> Parse(const std::string& json_text);
  static Expected<DetectionSettings> Load(const std::string& path);
};

std::string DefaultSettingsPath();

}  // namespace sre::detection
