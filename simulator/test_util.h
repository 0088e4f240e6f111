#pragma once
// Helpers shared by the simulator's unit tests: the real service catalogue, a simulator run,
// and the shipped detector (agents/detection with infra/detection/detection.json), so what the
// simulator's tests call "detected" is what the product detects.
#include <gtest/gtest.h>

#include <cmath>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "agents/detection/detector.h"
#include "agents/detection/settings.h"
#include "shared/services.h"
#include "simulator/simulator.h"

namespace sre::sim::testing {

inline const ServiceCatalog& Catalog() {
  static const ServiceCatalog* kCatalog = [] {
    auto c = ServiceCatalog::Load(KnowledgeDir() + "/architecture/services.json");
    if (!c.ok()) {
      ADD_FAILURE() << c.status().message();
      return new ServiceCatalog();
    }
    return new ServiceCatalog(std::move(c).value());
  }();
  return *kCatalog;
}

inline constexpr int64_t kLiveStart = 1767225600000;  // 2026-01-01T00:00:00Z

inline std::unique_ptr<Simulator> MakeSimulator(uint64_t seed, bool random_schedule = false,
                                                int64_t first_injection_ms = 60000) {
  SimulatorOptions o;
  o.seed = seed;
  o.live_start_ms = kLiveStart;
  o.random_schedule = random_schedule;
  o.first_injection_ms = first_injection_ms;
  return std::make_unique<Simulator>(Catalog(), o);
}

inline const detection::DetectionSettings& ShippedDetection() {
  static const detection::DetectionSettings* kSettings = [] {
    auto s = detection::DetectionSettings::Load(detection::DefaultSettingsPath());
    if (!s.ok()) {
      ADD_FAILURE() << s.status().message();
      return new detection::DetectionSettings();
    }
    return new detection::DetectionSettings(std::move(s).value());
  }();
  return *kSettings;
}

// One anomaly: the shipped detector raised on a series.
struct Anomaly {
  std::string service, metric;
  int64_t timestamp_ms;
  double value, z;
};

class ReferenceDetector {
 public:
  // Returns the anomaly this sample raises, if any.
  std::optional<Anomaly> Observe(const RawMetric& m) {
    auto v = detection::Observe(series_[m.source_service + "/" + m.metric_name], m.timestamp, m.metric_value,
                                ShippedDetection().For(m.metric_name));
    if (v.kind != detection::VerdictKind::kRaise) return std::nullopt;
    return Anomaly{m.source_service, m.metric_name, m.timestamp, m.metric_value, v.z};
  }

 private:
  std::map<std::string, detection::SeriesState> series_;
};

// Samples of one series: timestamp -> value.
using Series = std::map<int64_t, double>;

inline Series SeriesOf(const std::vector<TickBatch>& ticks, const std::string& service,
                       const std::string& metric) {
  Series out;
  for (const auto& t : ticks)
    for (const auto& m : t.metrics)
      if (m.source_service == service && m.metric_name == metric) out[m.timestamp] = m.metric_value;
  return out;
}

inline double Baseline(const std::string& service, Metric m) {
  return Catalog().Find(service)->baseline.at(MetricName(m));
}
inline double Sigma(const std::string& service, Metric m) {
  const ServiceInfo* s = Catalog().Find(service);
  return s->baseline.at(MetricName(m)) * s->noise.at(MetricName(m));
}

}  // namespace sre::sim::testing
