#include "simulator/simulator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <set>

#include "shared/json_codec.h"
#include "simulator/service.h"
#include "simulator/test_util.h"

namespace sre::sim {
namespace {

using testing::kLiveStart;
using testing::MakeSimulator;

constexpr int64_t kMinute = 60000;

// Every message of `ticks` encoded, in order: two runs are identical iff these are.
std::vector<std::string> Encoded(const std::vector<TickBatch>& ticks) {
  std::vector<std::string> out;
  for (const auto& t : ticks)
    for (const auto& m : ToMessages(t)) out.push_back(m.topic + "|" + m.key + "|" + m.payload);
  return out;
}

std::vector<TickBatch> RunTicks(Simulator& sim, int64_t from_ms, int64_t count) {
  std::vector<TickBatch> out;
  for (int64_t i = 0; i < count; ++i) out.push_back(sim.Tick(from_ms + i * kTickMs));
  return out;
}

TEST(SimulatorTest, SameSeedAndStartGiveIdenticalEventsAndIds) {
  auto a = MakeSimulator(1234, /*random_schedule=*/true, 0);
  auto b = MakeSimulator(1234, /*random_schedule=*/true, 0);
  auto ea = Encoded(RunTicks(*a, kLiveStart - 60 * kTickMs, 200));
  auto eb = Encoded(RunTicks(*b, kLiveStart - 60 * kTickMs, 200));
  ASSERT_GT(ea.size(), 200u * 42u);
  EXPECT_EQ(ea, eb);
  EXPECT_EQ(a->run_id(), b->run_id());
  // The run covered scenarios (ground truth) and their logs, not only normal traffic.
  EXPECT_TRUE(std::any_of(ea.begin(), ea.end(), [](const std::string& s) {
    return s.rfind("sim.ground_truth", 0) == 0;
  }));
}

// Issue 15: the live simulator put a tick's log lines, dated up to 10 s later, on the wire at
// the tick's start, so detection times ran ahead of the wall clock.
TEST(ReleaseQueueTest, PublishesEachMessageOnceItsTimeHasComeOldestFirst) {
  auto sim = MakeSimulator(99, /*random_schedule=*/false, 0);
  TickBatch tick = sim->Tick(kLiveStart);
  ASSERT_FALSE(tick.logs.empty());
  ReleaseQueue q;
  q.Add(tick);
  ASSERT_EQ(q.size(), tick.size());

  int64_t last_due = kLiveStart - 1;
  size_t released = 0;
  for (int64_t now = kLiveStart; now <= kLiveStart + kTickMs; now += 1000) {
    for (const auto& m : q.TakeDue(now)) {
      int64_t t = Json::parse(m.payload)["timestamp"].get<int64_t>();
      EXPECT_LE(t, now) << "published before its time";
      EXPECT_GT(t, now - 1000) << "held longer than a step";
      EXPECT_GE(t, last_due) << "out of order";
      last_due = t;
      ++released;
    }
  }
  EXPECT_EQ(released, tick.size());
  EXPECT_EQ(q.size(), 0u);
  // The metrics are dated at the tick's start: all of them go at once, before any later log.
  ReleaseQueue q2;
  q2.Add(tick);
  auto first = q2.TakeDue(kLiveStart);
  EXPECT_GE(first.size(), tick.metrics.size());
  EXPECT_LT(first.size(), tick.size()) << "log lines spread over the tick were published at its start";
}

TEST(SimulatorTest, DifferentSeedGivesDifferentValuesAndIds) {
  auto a = MakeSimulator(1);
  auto b = MakeSimulator(2);
  TickBatch ta = a->Tick(kLiveStart), tb = b->Tick(kLiveStart);
  ASSERT_EQ(ta.metrics.size(), tb.metrics.size());
  size_t same_values = 0;
  std::set<std::string> ids;
  for (size_t i = 0; i < ta.metrics.size(); ++i) {
    same_values += ta.metrics[i].metric_value == tb.metrics[i].metric_value;
    ids.insert(ta.metrics[i].event_id);
    ids.insert(tb.metrics[i].event_id);
  }
  EXPECT_LT(same_values, 10u);  // a few rounded small counts may coincide
  EXPECT_EQ(ids.size(), 2 * ta.metrics.size());
  EXPECT_NE(a->run_id(), b->run_id());
}

TEST(SimulatorTest, InjectedScenarioDoesNotPerturbTheNoiseOfOtherServices) {
  auto a = MakeSimulator(99);
  auto b = MakeSimulator(99);
  a->Tick(kLiveStart);
  b->Tick(kLiveStart);
  ASSERT_TRUE(b->Inject("MEMORY_LEAK").ok());
  auto ta = RunTicks(*a, kLiveStart + kTickMs, 20), tb = RunTicks(*b, kLiveStart + kTickMs, 20);
  for (const char* svc : {"inventory-service", "user-service"})
    for (size_t m = 0; m < kMetricCount; ++m)
      EXPECT_EQ(testing::SeriesOf(ta, svc, MetricName(m)),
                testing::SeriesOf(tb, svc, MetricName(m)))
          << svc << "/" << MetricName(m);
}

TEST(SimulatorTest, EveryTickCarriesSevenMetricsAndSeveralLogsPerServiceAllValid) {
  auto sim = MakeSimulator(5);
  for (const auto& t : RunTicks(*sim, kLiveStart, 30)) {
    std::map<std::string, int> metrics, logs;
    for (const auto& m : t.metrics) {
      ++metrics[m.source_service];
      EXPECT_EQ(m.timestamp, t.timestamp_ms);
      EXPECT_EQ(m.labels.at("run"), sim->run_id());
      auto round_trip = Decode<RawMetric>(Encode(m));
      EXPECT_TRUE(round_trip.ok()) << round_trip.status().message();
    }
    for (const auto& l : t.logs) {
      ++logs[l.source_service];
      EXPECT_GE(l.timestamp, t.timestamp_ms);
      EXPECT_LT(l.timestamp, t.timestamp_ms + kTickMs);
      EXPECT_TRUE(l.level == LogLevel::INFO || l.level == LogLevel::DEBUG) << l.message;
      EXPECT_EQ(l.trace_id.size(), 16u);
      EXPECT_TRUE(std::all_of(l.trace_id.begin(), l.trace_id.end(),
                              [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); }));
      EXPECT_TRUE(l.labels.count("pod"));
      auto round_trip = Decode<RawLog>(Encode(l));
      EXPECT_TRUE(round_trip.ok()) << round_trip.status().message();
    }
    ASSERT_EQ(metrics.size(), 6u);
    for (const auto& [svc, n] : metrics) EXPECT_EQ(n, 7) << svc;
    for (const auto& [svc, n] : logs) {
      EXPECT_GE(n, 3) << svc;
      EXPECT_LE(n, 5) << svc;
    }
    EXPECT_TRUE(std::is_sorted(t.logs.begin(), t.logs.end(), [](const RawLog& a, const RawLog& b) {
      return a.timestamp < b.timestamp;
    }));
  }
}

// The detector-facing promise: a whole simulated day of normal traffic, every one of the 42
// series, raises nothing in a detector with a 50-sample baseline, 2.5 sigma, 3 consecutive
// breaches and the std floors of infra/detection/detection.json.
TEST(SimulatorTest, TwentyFourHoursOfNormalTrafficRaiseNoAnomaly) {
  auto sim = MakeSimulator(20261123);
  testing::ReferenceDetector detector;
  std::vector<testing::Anomaly> anomalies;
  for (int64_t i = 0; i < 8640; ++i) {
    TickBatch b = sim->Tick(kLiveStart + i * kTickMs);
    for (const auto& m : b.metrics)
      if (auto a = detector.Observe(m)) anomalies.push_back(*a);
  }
  for (const auto& a : anomalies)
    ADD_FAILURE() << a.service << "/" << a.metric << " at " << a.timestamp_ms << " value "
                  << a.value << " z " << a.z;
}

// A measurement rather than a check (run with --gtest_also_run_disabled_tests): the
// false-alarm rate of the reference detector on normal traffic over many simulated days.
TEST(SimulatorTest, DISABLED_MeasureFalseAlarmRateOverManyDays) {
  constexpr int kDays = 20;
  size_t total = 0;
  std::map<std::string, size_t> by_metric;
  for (int day = 0; day < kDays; ++day) {
    auto sim = MakeSimulator(1000 + static_cast<uint64_t>(day));
    testing::ReferenceDetector detector;
    for (int64_t i = 0; i < 8640; ++i)
      for (const auto& m : sim->Tick(kLiveStart + i * kTickMs).metrics)
        if (auto a = detector.Observe(m)) {
          ++total;
          ++by_metric[a->metric];
        }
  }
  std::printf("false alarms: %zu in %d simulated days of 42 series (%.2f per day)\n", total, kDays,
              static_cast<double>(total) / kDays);
  for (const auto& [metric, n] : by_metric) std::printf("  %s: %zu\n", metric.c_str(), n);
}

TEST(SimulatorTest, BenignDeploymentsAboutHourlyChangeNothing) {
  auto sim = MakeSimulator(11);
  std::vector<RawDeployment> deployments;
  std::map<std::string, std::string> current;  // service/type -> version
  for (int64_t i = 0; i < 4320; ++i) {         // 12 hours
    TickBatch b = sim->Tick(kLiveStart + i * kTickMs);
    for (const auto& d : b.deployments) deployments.push_back(d);
    EXPECT_TRUE(b.ground_truth.empty());
    // Metrics stay in their normal band, deployment or not.
    for (const auto& m : b.metrics) {
      Metric metric = *FindMetric(m.metric_name);
      EXPECT_LE(std::fabs(m.metric_value - testing::Baseline(m.source_service, metric)),
                NoiseProcess::Bound() * testing::Sigma(m.source_service, metric) + 1.0)
          << m.source_service << "/" << m.metric_name;
    }
  }
  EXPECT_GE(deployments.size(), 7u);
  EXPECT_LE(deployments.size(), 18u);
  std::set<ChangeType> types;
  for (const auto& d : deployments) {
    types.insert(d.change_type);
    EXPECT_NE(d.change_type, ChangeType::INFRA);
    EXPECT_TRUE(d.known_risks.empty());
    EXPECT_EQ(d.git_sha.size(), 40u);
    EXPECT_NE(d.version, d.previous_version);
    EXPECT_FALSE(d.description.empty());
    // Versions chain: each deployment starts from the one before it.
    std::string key = d.source_service + "/" + std::string(ToString(d.change_type));
    if (current.count(key)) {
      EXPECT_EQ(d.previous_version, current[key]);
    }
    current[key] = d.version;
    auto round_trip = Decode<RawDeployment>(Encode(d));
    EXPECT_TRUE(round_trip.ok()) << round_trip.status().message();
  }
  EXPECT_EQ(types.size(), 2u);  // both CODE and CONFIG
}

struct Interval {
  std::string scenario, service;
  int64_t start, end;
};

std::vector<Interval> Intervals(const std::vector<GroundTruth>& truth) {
  std::vector<Interval> out;
  std::map<std::string, size_t> open;
  for (const auto& g : truth) {
    if (g.phase == Phase::START) {
      EXPECT_FALSE(open.count(g.service)) << "two scenarios on " << g.service;
      open[g.service] = out.size();
      out.push_back({g.scenario, g.service, g.timestamp, -1});
    } else {
      EXPECT_TRUE(open.count(g.service)) << "END without START on " << g.service;
      if (!open.count(g.service)) continue;
      out[open[g.service]].end = g.timestamp;
      EXPECT_EQ(out[open[g.service]].scenario, g.scenario);
      open.erase(g.service);
    }
  }
  return out;
}

TEST(SimulatorTest, RandomScheduleSpacesInjectionsAndNeverOverlapsAService) {
  auto sim = MakeSimulator(77, /*random_schedule=*/true, 60000);
  std::vector<GroundTruth> truth;
  std::vector<std::string> scheduled;
  for (int64_t i = -60; i < 8640; ++i) {  // 10 minutes of backfill, then a day
    TickBatch b = sim->Tick(kLiveStart + i * kTickMs);
    if (i < 0) {
      EXPECT_TRUE(b.ground_truth.empty() && b.scheduled.empty());
    }
    truth.insert(truth.end(), b.ground_truth.begin(), b.ground_truth.end());
    scheduled.insert(scheduled.end(), b.scheduled.begin(), b.scheduled.end());
  }
  auto intervals = Intervals(truth);
  ASSERT_GE(intervals.size(), 120u);
  EXPECT_EQ(intervals.front().start, kLiveStart + 60000);  // SIM_FIRST_INJECTION_S
  EXPECT_EQ(scheduled.size(), intervals.size());
  std::set<std::string> names;
  size_t late = 0;
  for (size_t i = 0; i < intervals.size(); ++i) {
    names.insert(intervals[i].scenario);
    if (i > 0) {
      int64_t gap = intervals[i].start - intervals[i - 1].start;
      EXPECT_GE(gap, 5 * kMinute);
      EXPECT_LE(gap, 15 * kMinute);
      late += gap > 10 * kMinute + kTickMs;  // waited for a free service
    }
  }
  EXPECT_LE(late, intervals.size() / 20);
  EXPECT_EQ(names.size(), 11u);
  // No two scenarios on one service at once, and nothing on a service PAYMENT_OUTAGE cascades to.
  for (size_t i = 0; i < intervals.size(); ++i) {
    for (size_t j = i + 1; j < intervals.size(); ++j) {
      const auto &a = intervals[i], &b = intervals[j];
      if (a.end < 0 || b.end < 0) continue;
      bool overlap = a.start < b.end && b.start < a.end;
      if (!overlap) continue;
      EXPECT_NE(a.service, b.service) << a.scenario << " and " << b.scenario;
      for (const auto* x : {&a, &b}) {
        const auto* y = x == &a ? &b : &a;
        if (x->scenario == "PAYMENT_OUTAGE") {
          EXPECT_TRUE(y->service != "order-service" && y->service != "api-gateway")
              << y->scenario << " during PAYMENT_OUTAGE";
        }
      }
    }
  }
}

TEST(SimulatorTest, ScheduleOffInjectsNothingByItself) {
  auto sim = MakeSimulator(3, /*random_schedule=*/false);
  for (int64_t i = 0; i < 360; ++i)
    EXPECT_TRUE(sim->Tick(kLiveStart + i * kTickMs).ground_truth.empty());
  EXPECT_EQ(sim->next_injection_ms(), -1);
}

TEST(SimulatorTest, InjectRejectsUnknownNamesAndBusyServices) {
  auto sim = MakeSimulator(8);
  sim->Tick(kLiveStart);
  InjectResult unknown = sim->Inject("NOPE");
  EXPECT_EQ(unknown.error, InjectResult::Error::kUnknownScenario);

  InjectResult first = sim->Inject("LATENCY_SPIKE");
  ASSERT_TRUE(first.ok()) << first.message;
  EXPECT_EQ(first.active.started_at_ms, kLiveStart + kTickMs);  // the next tick
  EXPECT_EQ(first.active.ends_at_ms, kLiveStart + kTickMs + 240000);
  EXPECT_EQ(first.active.phase, "starting");

  InjectResult busy = sim->Inject("DB_CONNECTION_EXHAUSTION");  // also payment-service
  EXPECT_EQ(busy.error, InjectResult::Error::kServiceBusy);
  EXPECT_NE(busy.message.find("LATENCY_SPIKE"), std::string::npos) << busy.message;
  EXPECT_TRUE(sim->Inject("CPU_SATURATION").ok());  // another service is fine

  auto active = sim->Active();
  ASSERT_EQ(active.size(), 2u);
  for (int64_t t = kLiveStart + kTickMs; t <= kLiveStart + 121000; t += kTickMs) sim->Tick(t);
  active = sim->Active();
  EXPECT_EQ(active[0].phase, "holding");
  EXPECT_NEAR(active[0].progress, 110.0 / 240.0, 0.001);
  // Once it ended, the service takes a new scenario.
  for (int64_t t = kLiveStart + 130000; t <= kLiveStart + 250000; t += kTickMs) sim->Tick(t);
  EXPECT_TRUE(sim->Inject("DB_CONNECTION_EXHAUSTION").ok());
}

TEST(SimulatorTest, InjectionDuringBackfillWaitsForTheLiveClock) {
  auto sim = MakeSimulator(8);
  sim->Tick(kLiveStart - 30 * kTickMs);
  InjectResult r = sim->Inject("ERROR_RATE_SPIKE");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.active.started_at_ms, kLiveStart);
  for (int64_t t = kLiveStart - 29 * kTickMs; t < kLiveStart; t += kTickMs)
    EXPECT_TRUE(sim->Tick(t).ground_truth.empty());
  auto live = sim->Tick(kLiveStart);
  ASSERT_EQ(live.ground_truth.size(), 1u);
  EXPECT_EQ(live.ground_truth[0].phase, Phase::START);
}

}  // namespace
}  // namespace sre::sim
