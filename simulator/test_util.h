#pragma once
// Helpers shared by the simulator's unit tests: the real service catalogue, a simulator run,
// and a reference detector with the semantics of ARCHITECTURE §4 (rolling baseline of the last
// 50 accepted samples, warm-up 20, z threshold 2.5, 3 consecutive breaches, std floors) and the
// per-metric floors of infra/detection/detection.json at the time of writing.
#include <gtest/gtest.h>

#include <cmath>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

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

struct DetectorSettings {
  bool both_directions = false;
  double floor_abs = 0, floor_rel = 0.02;
};

inline DetectorSettings SettingsFor(const std::string& metric) {
  if (metric == "request_rate") return {true, 0.0, 0.03};
  if (metric == "error_rate") return {false, 0.1, 0.02};
  if (metric == "latency_p99_ms") return {false, 0.0, 0.03};
  if (metric == "cpu_percent") return {false, 1.0, 0.02};
  if (metric == "memory_percent") return {false, 0.5, 0.02};
  if (metric == "db_connections") return {false, 1.0, 0.02};
  return {false, 5.0, 0.05};  // kafka_consumer_lag
}

// One anomaly: a series breached `kMinConsecutive` samples in a row.
struct Anomaly {
  std::string service, metric;
  int64_t timestamp_ms;
  double value, z;
};

class ReferenceDetector {
 public:
  static constexpr size_t kWindow = 50, kWarmup = 20;
  static constexpr double kThreshold = 2.5;
  static constexpr int kMinConsecutive = 3;

  // Returns the anomaly this sample raises, if any.
  std::optional<Anomaly> Observe(const RawMetric& m) {
    Series& s = series_[m.source_service + "/" + m.metric_name];
    DetectorSettings cfg = SettingsFor(m.metric_name);
    bool breach = false;
    double z = 0;
    if (s.window.size() >= kWarmup) {
      double mean = 0, var = 0;
      for (double v : s.window) mean += v;
      mean /= static_cast<double>(s.window.size());
      for (double v : s.window) var += (v - mean) * (v - mean);
      double sd = std::sqrt(var / static_cast<double>(s.window.size() - 1));
      sd = std::max({sd, cfg.floor_abs, cfg.floor_rel * std::fabs(mean), 1e-9});
      z = (m.metric_value - mean) / sd;
      breach = cfg.both_directions ? std::fabs(z) > kThreshold : z > kThreshold;
    }
    if (!breach) {
      s.consecutive = 0;
      s.window.push_back(m.metric_value);
      if (s.window.size() > kWindow) s.window.pop_front();
      return std::nullopt;
    }
    if (++s.consecutive == kMinConsecutive)
      return Anomaly{m.source_service, m.metric_name, m.timestamp, m.metric_value, z};
    return std::nullopt;
  }

 private:
  struct Series {
    std::deque<double> window;
    int consecutive = 0;
  };
  std::map<std::string, Series> series_;
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
