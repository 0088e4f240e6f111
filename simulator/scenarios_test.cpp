#include "simulator/scenarios.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

#include "simulator/custom_scenario.h"
#include "simulator/test_util.h"

namespace sre::sim {
namespace {

using testing::Baseline;
using testing::kLiveStart;
using testing::Sigma;

// The scenario table of issue 4.
struct Expected {
  const char* name;
  const char* service;
  RootCauseCategory category;
  int64_t duration_s;
  std::set<std::string> triggers;
  Metric primary;     // the metric the table quotes
  double peak;        // its peak from the table (0: relative, see peak_ratio)
  double peak_ratio;  // peak / baseline when the table gives no number
  std::optional<ChangeType> deployment;
  std::set<std::string> breaching;    // services a detector may flag (the rest must stay quiet)
  std::vector<std::string> must_log;  // substrings some ERROR/FATAL line contains
  std::vector<std::string> must_not_log;
  std::set<std::string> quiet_metrics;  // metrics of the scenario's service that must not breach
};

const std::vector<Expected>& Table() {
  static const auto* kTable = new std::vector<Expected>{
      {"LATENCY_SPIKE",
       "payment-service",
       RootCauseCategory::DATABASE_BOTTLENECK,
       240,
       {"latency_p99_ms"},
       kLatencyP99,
       7400,
       0,
       std::nullopt,
       {"payment-service"},
       {"slow query"},
       {"Connection is not available", "PaymentRouter"},
       {"error_rate"}},
      {"ERROR_RATE_SPIKE",
       "order-service",
       RootCauseCategory::APPLICATION_BUG,
       180,
       {"error_rate"},
       kErrorRate,
       45,
       0,
       std::nullopt,
       {"order-service"},
       {"NullPointerException"},
       {},
       {"latency_p99_ms", "request_rate"}},
      {"CPU_SATURATION",
       "api-gateway",
       RootCauseCategory::CPU_EXHAUSTION,
       300,
       {"cpu_percent"},
       kCpuPercent,
       97,
       0,
       std::nullopt,
       {"api-gateway"},
       {"GC assist", "worker pool saturated"},
       {},
       {"request_rate", "error_rate"}},
      {"MEMORY_LEAK",
       "notification-service",
       RootCauseCategory::RESOURCE_LEAK,
       360,
       {"memory_percent"},
       kMemoryPercent,
       98,
       0,
       std::nullopt,
       {"notification-service"},
       {"heap out of memory"},
       {},
       {"error_rate", "request_rate"}},
      {"DB_CONNECTION_EXHAUSTION",
       "payment-service",
       RootCauseCategory::DATABASE_BOTTLENECK,
       200,
       {"db_connections", "error_rate"},
       kDbConnections,
       100,
       0,
       std::nullopt,
       {"payment-service"},
       {"Connection is not available"},
       {"PaymentRouter"},
       {}},
      {"KAFKA_CONSUMER_LAG",
       "order-service",
       RootCauseCategory::CONSUMER_STALL,
       300,
       {"kafka_consumer_lag"},
       kConsumerLag,
       50000,
       0,
       std::nullopt,
       {"order-service"},
       {"max.poll.interval.ms"},
       {},
       {"error_rate", "latency_p99_ms"}},
      {"DEPLOYMENT_FAILURE",
       "user-service",
       RootCauseCategory::DEPLOYMENT_REGRESSION,
       240,
       {"error_rate", "latency_p99_ms"},
       kErrorRate,
       40,
       0,
       ChangeType::CODE,
       {"user-service"},
       {"jwkProvider"},
       {},
       {}},
      {"BAD_DEPLOY_LATENCY",
       "payment-service",
       RootCauseCategory::DEPLOYMENT_REGRESSION,
       240,
       {"latency_p99_ms"},
       kLatencyP99,
       0,
       8.5,
       ChangeType::CODE,
       {"payment-service"},
       {"PaymentRouter v", "fraud-check"},
       {"slow query", "Connection is not available", "HikariPool"},
       {"error_rate", "db_connections"}},
      {"PAYMENT_OUTAGE",
       "payment-service",
       RootCauseCategory::INFRASTRUCTURE_FAILURE,
       240,
       {"error_rate"},
       kErrorRate,
       60,
       0,
       std::nullopt,
       {"payment-service", "order-service", "api-gateway"},
       {"connection refused"},
       {},
       {}},
      {"TRAFFIC_SURGE",
       "api-gateway",
       RootCauseCategory::TRAFFIC_SURGE,
       300,
       {"request_rate"},
       kRequestRate,
       0,
       3.0,
       std::nullopt,
       {"api-gateway"},
       {"rate limiter rejected"},
       {},
       {"error_rate"}},
      {"CONFIG_PUSH",
       "order-service",
       RootCauseCategory::CONFIGURATION_ERROR,
       180,
       {"error_rate"},
       kErrorRate,
       28,
       0,
       ChangeType::CONFIG,
       {"order-service"},
       {"max-discount-pct"},
       {"NullPointerException"},
       {"latency_p99_ms"}},
  };
  return *kTable;
}

TEST(ScenarioCatalogueTest, HoldsExactlyTheElevenScenariosOfTheIssue) {
  auto defs = BuiltInScenarios(testing::Catalog());
  ASSERT_EQ(defs.size(), Table().size());
  for (const auto& want : Table()) {
    SCOPED_TRACE(want.name);
    auto it = std::find_if(defs.begin(), defs.end(),
                           [&](const ScenarioDef& d) { return d.name == want.name; });
    ASSERT_NE(it, defs.end());
    EXPECT_EQ(it->service, want.service);
    EXPECT_EQ(it->root_cause_service, want.service);
    EXPECT_EQ(it->root_cause_category, want.category);
    EXPECT_EQ(it->duration_ms, want.duration_s * 1000);
    auto triggers = it->TriggerMetrics();
    EXPECT_EQ(std::set<std::string>(triggers.begin(), triggers.end()), want.triggers);
    EXPECT_EQ(it->deployment.has_value(), want.deployment.has_value());
    if (it->deployment) {
      EXPECT_EQ(it->deployment->change_type, *want.deployment);
      EXPECT_EQ(it->deployment->lead_min_ms, 60000);
      EXPECT_EQ(it->deployment->lead_max_ms, 120000);
    }
    EXPECT_EQ(it->cascade, std::string(want.name) == "PAYMENT_OUTAGE");
    EXPECT_FALSE(it->description.empty());
    EXPECT_FALSE(it->error_logs.empty());
    for (const auto& e : it->effects) {
      SCOPED_TRACE(MetricName(e.metric));
      // Ramps are gradual (not steps) and every effect reaches its peak before recovery.
      EXPECT_NE(e.shape, Shape::kStep);
      EXPECT_GT(e.ramp_ms, 0);
      EXPECT_LE(e.delay_ms + e.ramp_ms, it->duration_ms - it->recovery_ms);
      // The table's ramps take 35–60 % of the duration.
      if (e.trigger) {
        EXPECT_LE(e.delay_ms + e.ramp_ms, it->duration_ms * 6 / 10);
      }
    }
    auto primary = std::find_if(it->effects.begin(), it->effects.end(),
                                [&](const MetricEffect& e) { return e.metric == want.primary; });
    ASSERT_NE(primary, it->effects.end());
    double peak =
        want.peak > 0 ? want.peak : want.peak_ratio * Baseline(want.service, want.primary);
    EXPECT_NEAR(primary->peak, peak, 1e-9);
    EXPECT_EQ(ScenarioJson(*it)["ground_truth"]["root_cause_category"],
              std::string(ToString(want.category)));
  }
}

// One scenario injected into a simulator with a warm detector; everything observed.
struct ScenarioRun {
  InjectResult injected;
  std::vector<TickBatch> ticks;  // live ticks from the injection on
  std::vector<GroundTruth> truth;
  std::vector<RawDeployment> deployments;
  std::vector<testing::Anomaly> anomalies;
};

ScenarioRun RunScenario(const std::string& name, uint64_t seed) {
  ScenarioRun run;
  auto sim = testing::MakeSimulator(seed);
  testing::ReferenceDetector detector;
  auto tick = [&](int64_t t, bool keep) {
    TickBatch b = sim->Tick(t);
    for (const auto& m : b.metrics)
      if (auto a = detector.Observe(m)) run.anomalies.push_back(*a);
    run.truth.insert(run.truth.end(), b.ground_truth.begin(), b.ground_truth.end());
    run.deployments.insert(run.deployments.end(), b.deployments.begin(), b.deployments.end());
    if (keep) run.ticks.push_back(std::move(b));
  };
  int64_t t = kLiveStart - 60 * kTickMs;  // the 10-minute backfill warms the baselines
  for (; t < kLiveStart + 6 * kTickMs; t += kTickMs) tick(t, false);
  run.injected = sim->Inject(name);
  for (; t < run.injected.active.ends_at_ms + 4 * 60000; t += kTickMs) tick(t, true);
  return run;
}

class ScenarioTest : public ::testing::TestWithParam<Expected> {};

TEST_P(ScenarioTest, RampsRecoversAndTellsTheTruth) {
  const Expected& want = GetParam();
  ScenarioRun run = RunScenario(want.name, 4242);
  ASSERT_TRUE(run.injected.ok()) << run.injected.message;
  const ActiveScenarioInfo& a = run.injected.active;

  // Ground truth: START at the deployment (or first symptom), END once recovery completes.
  ASSERT_EQ(run.truth.size(), 2u);
  const GroundTruth &start = run.truth[0], &end = run.truth[1];
  EXPECT_EQ(start.phase, Phase::START);
  EXPECT_EQ(end.phase, Phase::END);
  for (const auto* g : {&start, &end}) {
    EXPECT_EQ(g->scenario, want.name);
    EXPECT_EQ(g->service, want.service);
    EXPECT_EQ(g->root_cause_service, want.service);
    EXPECT_EQ(g->root_cause_category, want.category);
    EXPECT_EQ(std::set<std::string>(g->trigger_metrics.begin(), g->trigger_metrics.end()),
              want.triggers);
  }
  EXPECT_EQ(start.timestamp, a.started_at_ms);
  EXPECT_EQ(a.ends_at_ms, a.symptoms_start_ms + want.duration_s * 1000);
  EXPECT_GE(end.timestamp, a.ends_at_ms);
  EXPECT_LT(end.timestamp, a.ends_at_ms + kTickMs);

  // Deploy scenarios: the deployment comes first, 1–2 minutes before the symptoms.
  std::vector<RawDeployment> own_deploys;
  for (const auto& d : run.deployments)
    if (d.source_service == want.service && d.timestamp >= a.started_at_ms)
      own_deploys.push_back(d);
  if (want.deployment) {
    ASSERT_EQ(own_deploys.size(), 1u);
    EXPECT_EQ(own_deploys[0].timestamp, start.timestamp);
    EXPECT_EQ(own_deploys[0].change_type, *want.deployment);
    EXPECT_EQ(own_deploys[0].version, *a.deployment_version);
    EXPECT_GE(a.symptoms_start_ms - own_deploys[0].timestamp, 60000);
    EXPECT_LE(a.symptoms_start_ms - own_deploys[0].timestamp, 120000);
  } else {
    EXPECT_TRUE(own_deploys.empty());
    EXPECT_EQ(a.symptoms_start_ms, a.started_at_ms);
  }

  // Every trigger metric: still normal before the symptoms, crosses 3 sigma of normal noise well
  // before half of its peak, gets near its peak, and is back in the normal band after END.
  auto defs = BuiltInScenarios(testing::Catalog());
  const ScenarioDef& def = *std::find_if(defs.begin(), defs.end(),
                                         [&](const ScenarioDef& d) { return d.name == want.name; });
  const double bound = NoiseProcess::Bound();
  std::map<std::string, int64_t> half_peak_at;
  for (const auto& e : def.effects) {
    if (!e.trigger) continue;
    SCOPED_TRACE(MetricName(e.metric));
    double base = Baseline(want.service, e.metric);
    const auto& settings = testing::ShippedDetection().For(MetricName(e.metric));
    double sd = std::max(
        {Sigma(want.service, e.metric), settings.std_floor_abs, settings.std_floor_rel * base});
    auto series = testing::SeriesOf(run.ticks, want.service, MetricName(e.metric));
    int64_t t3 = -1, thalf = -1;
    double top = 0;
    for (const auto& [t, v] : series) {
      if (t < a.symptoms_start_ms) {
        EXPECT_LE(v, base + bound * Sigma(want.service, e.metric) + 1.0)
            << "before symptoms at " << t;
        continue;
      }
      if (t >= end.timestamp) {
        EXPECT_LE(std::fabs(v - base), bound * Sigma(want.service, e.metric) + 1.0)
            << "after END at " << t;
        continue;
      }
      if (t3 < 0 && v > base + 3 * sd) t3 = t;
      if (thalf < 0 && v >= base + 0.5 * (e.peak - base)) thalf = t;
      top = std::max(top, v);
    }
    ASSERT_GE(t3, 0);
    ASSERT_GE(thalf, 0);
    std::printf("%-24s %-18s 3 sigma at +%3lld s, half of the peak at +%3lld s, top %.1f\n",
                want.name, MetricName(e.metric),
                static_cast<long long>((t3 - a.symptoms_start_ms) / 1000),
                static_cast<long long>((thalf - a.symptoms_start_ms) / 1000), top);
    half_peak_at[MetricName(e.metric)] = thalf;
    // Three breaching samples in a row fit before the half-peak sample.
    EXPECT_LT(t3 + 2 * kTickMs, thalf)
        << "3 sigma at +" << (t3 - a.symptoms_start_ms) / 1000 << " s, half peak at +"
        << (thalf - a.symptoms_start_ms) / 1000 << " s";
    EXPECT_GE(top, base + 0.9 * (e.peak - base));
    EXPECT_LE(top, MetricMax(e.metric, 100000));
  }

  // Only the expected services look anomalous to a detector, and the scenario's own service is
  // flagged first on a trigger metric (so the anomaly type matches the scenario).
  std::set<std::string> flagged;
  const testing::Anomaly* first_own = nullptr;
  for (const auto& an : run.anomalies) {
    flagged.insert(an.service);
    EXPECT_TRUE(want.breaching.count(an.service))
        << an.service << "/" << an.metric << " breached at +"
        << (an.timestamp_ms - a.started_at_ms) / 1000 << " s (z " << an.z << ")";
    if (an.service == want.service) {
      if (!first_own) first_own = &an;
      EXPECT_FALSE(want.quiet_metrics.count(an.metric)) << an.metric << " should stay quiet";
    }
    EXPECT_GE(an.timestamp_ms, a.symptoms_start_ms);
    EXPECT_LT(an.timestamp_ms, end.timestamp);
  }
  EXPECT_EQ(flagged, want.breaching);
  ASSERT_NE(first_own, nullptr);
  std::printf("%-24s first detector anomaly: %s/%s at +%lld s after the symptoms start\n",
              want.name, first_own->service.c_str(), first_own->metric.c_str(),
              static_cast<long long>((first_own->timestamp_ms - a.symptoms_start_ms) / 1000));
  EXPECT_TRUE(want.triggers.count(first_own->metric)) << "first breach: " << first_own->metric;
  if (half_peak_at.count(first_own->metric)) {
    EXPECT_LT(first_own->timestamp_ms, half_peak_at[first_own->metric]);
  }

  // Logs: cause-specific ERROR/FATAL lines on every symptomatic tick; none elsewhere unless the
  // failure cascades.
  std::set<std::string> wanted_seen;
  for (const auto& t : run.ticks) {
    bool symptomatic = t.timestamp_ms >= a.symptoms_start_ms && t.timestamp_ms < a.ends_at_ms;
    int severe_own = 0;
    for (const auto& l : t.logs) {
      if (l.level < LogLevel::ERROR) continue;
      if (l.source_service == want.service) {
        ++severe_own;
        EXPECT_TRUE(symptomatic) << l.message;
        for (const auto& s : want.must_log)
          if (l.message.find(s) != std::string::npos) wanted_seen.insert(s);
        for (const auto& s : want.must_not_log)
          EXPECT_EQ(l.message.find(s), std::string::npos) << l.message;
        if (l.level == LogLevel::FATAL) {
          EXPECT_TRUE(std::string(want.name) == "MEMORY_LEAK" ||
                      std::string(want.name) == "PAYMENT_OUTAGE");
        }
      } else {
        EXPECT_TRUE(want.breaching.count(l.source_service))
            << l.source_service << ": " << l.message;
      }
    }
    if (symptomatic) {
      EXPECT_GE(severe_own, 1) << "tick +" << (t.timestamp_ms - a.symptoms_start_ms) / 1000;
    }
  }
  EXPECT_EQ(wanted_seen, std::set<std::string>(want.must_log.begin(), want.must_log.end()));
}

INSTANTIATE_TEST_SUITE_P(Catalogue, ScenarioTest, ::testing::ValuesIn(Table()),
                         [](const ::testing::TestParamInfo<Expected>& param) {
                           return std::string(param.param.name);
                         });

TEST(ScenarioLogTest, BadDeployLogsNameTheDeployedVersion) {
  ScenarioRun run = RunScenario("BAD_DEPLOY_LATENCY", 17);
  ASSERT_TRUE(run.injected.ok());
  std::string version = *run.injected.active.deployment_version;
  size_t with_version = 0, severe = 0;
  for (const auto& t : run.ticks)
    for (const auto& l : t.logs)
      if (l.source_service == "payment-service" && l.level >= LogLevel::ERROR) {
        ++severe;
        with_version += l.message.find("PaymentRouter v" + version + ":") != std::string::npos;
      }
  EXPECT_GT(severe, 0u);
  EXPECT_EQ(with_version, severe);
}

// Cascade factors, measured over a long hold so noise averages out.
struct CascadeCase {
  bool cascade;
  double order_err, gateway_err, order_lat, gateway_lat, tolerance;
};

TEST(CascadeTest, CallersFollowTheirCalleeProportionallyOnlyWhenCascading) {
  const double err_peak = 40.5, lat_peak = 3800;  // payment: +40 pp, p99 x10
  const double pay_err = Baseline("payment-service", kErrorRate);
  const double pay_lat = Baseline("payment-service", kLatencyP99);
  const double k_err = Simulator::kCascadeErrorShare, k_lat = Simulator::kCascadeLatencyShare;
  const double err_excess = err_peak - pay_err, lat_ratio = lat_peak / pay_lat - 1;
  const double order_err0 = Baseline("order-service", kErrorRate);
  const double gw_err0 = Baseline("api-gateway", kErrorRate);
  const double order_lat0 = Baseline("order-service", kLatencyP99);
  const double gw_lat0 = Baseline("api-gateway", kLatencyP99);
  const double mild = Simulator::kMildCouplingSigma;
  CascadeCase cases[] = {
      // api-gateway calls payment directly (one hop) and through order (two hops): the larger wins.
      {true, order_err0 + k_err * err_excess, gw_err0 + k_err * err_excess,
       order_lat0 * (1 + k_lat * lat_ratio), gw_lat0 * (1 + k_lat * lat_ratio), 0.04},
      {false, order_err0 + mild * Sigma("order-service", kErrorRate),
       gw_err0 + mild * Sigma("api-gateway", kErrorRate),
       order_lat0 + mild * Sigma("order-service", kLatencyP99),
       gw_lat0 + mild * Sigma("api-gateway", kLatencyP99), 0.03},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.cascade ? "cascade on" : "cascade off");
    auto sim = testing::MakeSimulator(5150);
    sim->Tick(kLiveStart);
    std::string body = std::string(R"({"name": "PAYMENT_DOWN", "service": "payment-service",
        "duration_s": 3000, "cascade": )") +
                       (c.cascade ? "true" : "false") + R"(,
        "metrics": [{"metric": "error_rate", "peak": 40.5, "shape": "step"},
                    {"metric": "latency_p99_ms", "peak": 3800, "shape": "step"}],
        "ground_truth": {"root_cause_service": "payment-service",
                         "root_cause_category": "INFRASTRUCTURE_FAILURE"}})";
    auto parsed = ParseCustomScenario(body, testing::Catalog(), {});
    ASSERT_TRUE(parsed.ok()) << parsed.error;
    ASSERT_TRUE(sim->InjectCustom(*parsed.scenario).ok());
    std::vector<TickBatch> ticks;
    for (int64_t i = 1; i <= 240; ++i) ticks.push_back(sim->Tick(kLiveStart + i * kTickMs));
    auto mean = [&](const char* svc, Metric m) {
      auto s = testing::SeriesOf(ticks, svc, MetricName(m));
      double sum = 0;
      for (const auto& [t, v] : s) sum += v;
      return sum / static_cast<double>(s.size());
    };
    EXPECT_NEAR(mean("order-service", kErrorRate), c.order_err, c.tolerance * c.order_err);
    EXPECT_NEAR(mean("api-gateway", kErrorRate), c.gateway_err, c.tolerance * c.gateway_err);
    EXPECT_NEAR(mean("order-service", kLatencyP99), c.order_lat, c.tolerance * c.order_lat);
    EXPECT_NEAR(mean("api-gateway", kLatencyP99), c.gateway_lat, c.tolerance * c.gateway_lat);
    // Services that do not call payment are untouched either way.
    EXPECT_NEAR(mean("inventory-service", kErrorRate), Baseline("inventory-service", kErrorRate),
                0.02 * Baseline("inventory-service", kErrorRate));
    size_t caller_errors = 0;
    for (const auto& t : ticks)
      for (const auto& l : t.logs)
        if (l.source_service == "order-service" && l.level == LogLevel::ERROR &&
            (l.message.find("upstream payment-service returned 503") != std::string::npos ||
             l.message.find("timeout calling payment-service") != std::string::npos))
          ++caller_errors;
    if (c.cascade) {
      EXPECT_GE(caller_errors, ticks.size());
    } else {
      EXPECT_EQ(caller_errors, 0u);
    }
  }
}

}  // namespace
}  // namespace sre::sim
