// The detection core against the simulator's own telemetry: every scenario is flagged early,
// and a simulated day of normal traffic raises nothing. Pure: no sockets, the simulator core and
// the detector core are plain objects.
#include <gtest/gtest.h>

#include <map>

#include "agents/detection/detector.h"
#include "agents/detection/settings.h"
#include "simulator/simulator.h"

namespace sre::detection {
namespace {

const DetectionSettings& Shipped() {
  static DetectionSettings s = *DetectionSettings::Load(std::string(SRE_TEST_SOURCE_DIR) + "/infra/detection/detection.json");
  return s;
}

ServiceCatalog Catalog() {
  return *ServiceCatalog::Load(std::string(SRE_TEST_SOURCE_DIR) + "/knowledge/architecture/services.json");
}

constexpr int64_t kStart = 1767225600000;  // 2026-01-01T00:00:00Z

TEST(ScenarioDetectionTest, ADayOfNormalTrafficOnAllFortyTwoSeriesRaisesNothing) {
  sim::SimulatorOptions o;
  o.seed = 7;
  o.live_start_ms = kStart;
  o.random_schedule = false;
  sim::Simulator simulator(Catalog(), o);
  std::map<std::string, SeriesState> state;
  int raises = 0, samples = 0;
  std::string first;
  for (int64_t t = kStart; t < kStart + 24LL * 3600 * 1000; t += sim::kTickMs) {
    auto batch = simulator.Tick(t);
    for (const auto& m : batch.metrics) {
      Verdict v = Observe(state[m.source_service + "/" + m.metric_name], m.timestamp, m.metric_value,
                          Shipped().For(m.metric_name));
      ++samples;
      if (v.kind == VerdictKind::kRaise && raises++ == 0)
        first = m.source_service + "/" + m.metric_name + " z=" + std::to_string(v.z);
    }
  }
  EXPECT_EQ(samples, 42 * 8640);
  EXPECT_EQ(raises, 0) << "first: " << first;
}

TEST(ScenarioDetectionTest, EveryScenarioIsFlaggedBeforeHalfItsPeakAndBaselinesStayClean) {
  sim::SimulatorOptions o;
  o.seed = 11;
  o.live_start_ms = kStart;
  o.random_schedule = false;
  sim::Simulator probe(Catalog(), o);
  for (const auto& def : probe.catalogue()) {
    SCOPED_TRACE(def.name);
    sim::Simulator simulator(Catalog(), o);
    std::map<std::string, SeriesState> state;
    int64_t t = kStart;
    for (int i = 0; i < 60; ++i, t += sim::kTickMs) {
      for (const auto& m : simulator.Tick(t).metrics)
        Observe(state[m.source_service + "/" + m.metric_name], m.timestamp, m.metric_value, Shipped().For(m.metric_name));
    }
    ASSERT_TRUE(simulator.Inject(def.name).ok());
    std::vector<std::string> triggers;
    bool ended = false;
    std::map<std::string, double> baseline, peak, raised_at;
    for (int i = 0; i < 200 && !ended; ++i, t += sim::kTickMs) {
      auto batch = simulator.Tick(t);
      for (const auto& g : batch.ground_truth) {
        if (g.phase == Phase::START) triggers = g.trigger_metrics;
        if (g.phase == Phase::END) ended = true;
      }
      for (const auto& m : batch.metrics) {
        if (m.source_service != def.service) continue;
        auto& s = state[m.source_service + "/" + m.metric_name];
        if (!baseline.count(m.metric_name)) baseline[m.metric_name] = s.level;
        Verdict v = Observe(s, m.timestamp, m.metric_value, Shipped().For(m.metric_name));
        double excursion = std::fabs(m.metric_value - baseline[m.metric_name]);
        peak[m.metric_name] = std::max(peak[m.metric_name], excursion);
        if (v.kind == VerdictKind::kRaise && !raised_at.count(m.metric_name)) raised_at[m.metric_name] = excursion;
      }
    }
    ASSERT_TRUE(ended);
    ASSERT_FALSE(triggers.empty());
    bool flagged_early = false;
    for (const auto& metric : triggers) {
      if (raised_at.count(metric) && raised_at[metric] < 0.5 * peak[metric]) flagged_early = true;
    }
    EXPECT_TRUE(flagged_early) << "no trigger metric raised before half of its peak excursion";
    // The breaching samples stayed out of the baseline: its level is still the pre-incident one.
    for (const auto& metric : triggers)
      EXPECT_NEAR(state[def.service + "/" + metric].level, baseline[metric], 0.1 * std::fabs(baseline[metric]) + 1.0)
          << metric;
  }
}

}  // namespace
}  // namespace sre::detection
