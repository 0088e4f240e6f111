// The telemetry profiles (issue 16): clean is the original model bit for bit; realistic has
// seasonality, heavy tails, benign bursts, drifts and data-quality problems, none of it ground
// truth.
#include "simulator/profile.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <map>

#include "shared/config.h"
#include "simulator/service.h"
#include "simulator/simulator.h"
#include "simulator/test_util.h"

namespace sre::sim {
namespace {

using testing::kLiveStart;
using namespace realistic;

uint64_t Fnv(uint64_t h, const std::string& s) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

// Captured from the code before issue 16 (seed 4242, random schedule from the live start, 400
// ticks from 30 before it): metric values and ids, log lines, ground truth and deployments.
TEST(CleanProfileTest, IsBitIdenticalToTheOriginalModel) {
  EXPECT_EQ(SimulatorOptions{}.profile, Profile::kClean);
  EXPECT_TRUE(SimulatorOptions{}.emit_logs);
  auto sim = testing::MakeSimulator(4242, /*random_schedule=*/true, 0);
  uint64_t hm = 1469598103934665603ULL, hl = hm, hg = hm, hd = hm;
  size_t logs = 0;
  std::map<std::string, double> at_100;
  for (int i = 0; i < 400; ++i) {
    TickBatch b = sim->Tick(kLiveStart + (i - 30) * kTickMs);
    char buf[128];
    for (const auto& m : b.metrics) {
      std::snprintf(buf, sizeof buf, "%lld|%.17g|", static_cast<long long>(m.timestamp),
                    m.metric_value);
      hm = Fnv(hm, buf + m.source_service + m.metric_name + m.event_id);
      if (i == 100 && m.source_service == "payment-service") at_100[m.metric_name] = m.metric_value;
    }
    for (const auto& l : b.logs) {
      ++logs;
      hl = Fnv(hl, std::to_string(l.timestamp) + l.message + l.event_id + l.trace_id);
    }
    for (const auto& g : b.ground_truth)
      hg = Fnv(hg, std::to_string(g.timestamp) + g.scenario + g.event_id);
    for (const auto& d : b.deployments)
      hd = Fnv(hd, std::to_string(d.timestamp) + d.version + d.event_id);
  }
  EXPECT_EQ(at_100["request_rate"], 914.17999999999995);
  EXPECT_EQ(at_100["error_rate"], 0.41899999999999998);
  EXPECT_EQ(at_100["latency_p99_ms"], 400.88);
  EXPECT_EQ(at_100["cpu_percent"], 35.219999999999999);
  EXPECT_EQ(at_100["memory_percent"], 54.039999999999999);
  EXPECT_EQ(at_100["db_connections"], 27);
  EXPECT_EQ(at_100["kafka_consumer_lag"], 15);
  EXPECT_EQ(hm, 11572882427294117202ULL) << "metric values or ids changed";
  EXPECT_EQ(hl, 9765357432446808378ULL) << "log lines changed";
  EXPECT_EQ(hg, 16031345393619062064ULL) << "ground truth changed";
  EXPECT_EQ(hd, 18063900380550922869ULL) << "deployments changed";
  EXPECT_EQ(logs, 10187u);
}

TEST(CleanProfileTest, NormalLevelIsTheBaselineAndNoiseNeverBeyondTheLimiter) {
  auto sim = testing::MakeSimulator(11);
  const auto& services = testing::Catalog().services();
  ASSERT_EQ(sim->ServiceIndex("payment-service"), 1u);
  EXPECT_FALSE(sim->ServiceIndex("no-such-service"));
  EXPECT_EQ(sim->service_count(), services.size());
  EXPECT_EQ(sim->realistic(), nullptr);
  double worst = 0;
  for (int64_t i = 0; i < 1000; ++i) {
    TickBatch b = sim->Tick(kLiveStart + i * kTickMs);
    ASSERT_EQ(b.metrics.size(), 42u);
    for (const auto& m : b.metrics) {
      size_t svc = *sim->ServiceIndex(m.source_service);
      size_t metric = *FindMetric(m.metric_name);
      double base = services[svc].baseline.at(m.metric_name);
      ASSERT_EQ(sim->NormalLevel(svc, metric), base);
      ASSERT_DOUBLE_EQ(sim->NoiseSigma(svc, metric), base * services[svc].noise.at(m.metric_name));
      double rounding = metric == kDbConnections || metric == kConsumerLag ? 0.5 : 0.005;
      double z = (std::fabs(m.metric_value - base) - rounding) / sim->NoiseSigma(svc, metric);
      worst = std::max(worst, z);
    }
  }
  EXPECT_LE(worst, NoiseProcess::Bound() + 1e-9);
  EXPECT_LT(NoiseProcess::Bound(), 1.7);
}

TEST(ProfileShapeTest, DailyCurveWeekendAndDays) {
  EXPECT_EQ(DayOfWeek(kLiveStart), 4);               // 2026-01-01, a Thursday
  EXPECT_EQ(DayOfWeek(kLiveStart + 2 * kDayMs), 6);  // Saturday
  EXPECT_EQ(DayOfWeek(kLiveStart + 3 * kDayMs), 0);  // Sunday
  EXPECT_EQ(DayOfWeek(kLiveStart - 1), 3);
  double trough = 10, trough_h = 0, peak = 0, peak_h = 0;
  for (double h = 0; h < 24; h += 0.05) {
    double d = DailyShape(h);
    if (d < trough) trough = d, trough_h = h;
    if (d > peak) peak = d, peak_h = h;
  }
  EXPECT_GE(trough, 0.4);
  EXPECT_LE(trough, 0.5);
  EXPECT_GE(trough_h, 3.0);
  EXPECT_LE(trough_h, 5.0);
  EXPECT_GE(peak, 1.2);
  EXPECT_LE(peak, 1.3);
  EXPECT_GE(peak_h, 14.0);
  EXPECT_LE(peak_h, 18.0);
  // The lunch bump: above the late morning and the early afternoon around it.
  EXPECT_GT(DailyShape(12.75), DailyShape(11.25) + 0.05);
  EXPECT_GT(DailyShape(12.75), DailyShape(14.25));
  EXPECT_NEAR(DailyShape(0), DailyShape(23.999), 0.01);  // periodic, smooth at midnight

  EXPECT_DOUBLE_EQ(WeekFactor(kLiveStart + 12 * kHourMs), 1.0);               // Thursday
  EXPECT_DOUBLE_EQ(WeekFactor(kLiveStart + 2 * kDayMs + 12 * kHourMs), 0.7);  // Saturday
  EXPECT_DOUBLE_EQ(WeekFactor(kLiveStart + 3 * kDayMs + 12 * kHourMs), 0.7);  // Sunday
  EXPECT_DOUBLE_EQ(WeekFactor(kLiveStart + 4 * kDayMs + 12 * kHourMs), 1.0);  // Monday
  double worst_step = 0;
  for (int64_t t = kLiveStart + kDayMs; t < kLiveStart + 5 * kDayMs; t += kTickMs)
    worst_step = std::max(worst_step, std::fabs(WeekFactor(t + kTickMs) - WeekFactor(t)));
  EXPECT_LT(worst_step, 0.002) << "the weekend must not begin with a step";
}

TEST(ProfileShapeTest, HeavyTailedNoiseHasUnitVarianceAndTails) {
  std::mt19937_64 rng(5);
  HeavyTailedNoise n;
  n.Reset(rng);
  const int kN = 200000;
  double sum = 0, sq = 0, lag = 0, prev = 0;
  int beyond4 = 0;
  for (int i = 0; i < kN; ++i) {
    double x = n.Next(rng);
    sum += x;
    sq += x * x;
    lag += x * prev;
    prev = x;
    beyond4 += std::fabs(x) > 4;
  }
  EXPECT_NEAR(sum / kN, 0, 0.02);
  EXPECT_NEAR(sq / kN, 1, 0.1);
  EXPECT_NEAR(lag / sq, HeavyTailedNoise::kPhi, 0.03);
  // A Gaussian puts 0.006 % beyond 4 sigma; a unit-variance t4 about 0.5 %.
  EXPECT_GT(beyond4, kN * 0.002);
  EXPECT_LT(beyond4, kN * 0.01);
}

TEST(ProfileShapeTest, BinomialSamplingIsExactInTheTailsAndApproximateInTheMiddle) {
  std::mt19937_64 rng(9);
  for (auto [n, p] :
       {std::pair<int64_t, double>{300, 0.008}, {2400, 0.003}, {5000, 0.4}, {40, 0.9}, {1, 0.5}}) {
    double sum = 0, sq = 0;
    const int kN = 20000;
    for (int i = 0; i < kN; ++i) {
      int64_t k = SampleBinomial(n, p, Uniform(rng, 0, 1), Uniform(rng, 0, 1));
      ASSERT_GE(k, 0);
      ASSERT_LE(k, n);
      sum += static_cast<double>(k);
      sq += static_cast<double>(k) * static_cast<double>(k);
    }
    double mean = sum / kN, var = sq / kN - mean * mean;
    double want_var = static_cast<double>(n) * p * (1 - p);
    EXPECT_NEAR(mean, static_cast<double>(n) * p, 0.05 * static_cast<double>(n) * p + 0.02)
        << n << " " << p;
    EXPECT_NEAR(var, want_var, 0.1 * want_var + 0.02) << n << " " << p;
  }
  EXPECT_EQ(SampleBinomial(0, 0.5, 0.3, 0.3), 0);
  EXPECT_EQ(SampleBinomial(10, 0, 0.99, 0.3), 0);
  EXPECT_EQ(SampleBinomial(10, 1, 0.01, 0.3), 10);
}

// --- Two simulated days of the realistic profile (Friday and Saturday), recorded once.

struct Recorded {
  int64_t ts;
  size_t svc, metric;
  double value;
  bool late;
};
struct TickRecord {
  int64_t t = 0;
  std::vector<Recorded> samples;
  std::vector<MetricValues> normal, sigma;
  std::vector<bool> scaled_out;
  std::vector<double> latency_shift;
  size_t ground_truth = 0, logs = 0;
  std::vector<size_t> deployed;
};
constexpr int64_t kFriday = kLiveStart + kDayMs;  // 2026-01-02T00:00Z

const std::vector<TickRecord>& RealisticRun() {
  static const std::vector<TickRecord>* kRun = [] {
    SimulatorOptions o;
    o.seed = 16;
    o.live_start_ms = kFriday;
    o.random_schedule = false;
    o.profile = Profile::kRealistic;
    o.emit_logs = false;
    Simulator sim(testing::Catalog(), o);
    auto* run = new std::vector<TickRecord>();
    run->reserve(2 * kDayMs / kTickMs);
    for (int64_t t = kFriday; t < kFriday + 2 * kDayMs; t += kTickMs) {
      TickBatch b = sim.Tick(t);
      TickRecord r;
      r.t = t;
      for (const auto& m : b.metrics)
        r.samples.push_back({m.timestamp, *sim.ServiceIndex(m.source_service),
                             *FindMetric(m.metric_name), m.metric_value, m.timestamp != t});
      for (size_t i = 0; i < sim.service_count(); ++i) {
        MetricValues n{}, s{};
        for (size_t m = 0; m < kMetricCount; ++m) {
          n[m] = sim.NormalLevel(i, m);
          s[m] = sim.NoiseSigma(i, m);
        }
        r.normal.push_back(n);
        r.sigma.push_back(s);
        r.scaled_out.push_back(sim.realistic()->scaled_out(i));
        r.latency_shift.push_back(sim.realistic()->level_shift(i, kLatencyP99));
      }
      r.ground_truth = b.ground_truth.size();
      r.logs = b.logs.size();
      for (const auto& d : b.deployments) r.deployed.push_back(*sim.ServiceIndex(d.source_service));
      run->push_back(std::move(r));
    }
    return run;
  }();
  return *kRun;
}

// Mean of a series' on-time values over [from, to) hours after `day_start`.
double MeanValue(size_t svc, size_t metric, int64_t day_start, double from_h, double to_h) {
  double sum = 0;
  int n = 0;
  for (const auto& r : RealisticRun()) {
    if (r.t < day_start + static_cast<int64_t>(from_h * kHourMs) ||
        r.t >= day_start + static_cast<int64_t>(to_h * kHourMs))
      continue;
    for (const auto& s : r.samples)
      if (s.svc == svc && s.metric == metric && !s.late && s.value > 0) sum += s.value, ++n;
  }
  return n ? sum / n : 0;
}

TEST(RealisticProfileTest, TrafficHasANightTroughAndAnAfternoonPeak) {
  const auto& services = testing::Catalog().services();
  for (size_t i = 0; i < services.size(); ++i) {
    SCOPED_TRACE(services[i].name);
    double base = services[i].baseline.at("request_rate");
    double night = MeanValue(i, kRequestRate, kFriday, 3, 5);
    double afternoon = MeanValue(i, kRequestRate, kFriday, 14, 17);
    EXPECT_LT(night, 0.65 * afternoon);
    EXPECT_GT(night, 0.3 * base);
    EXPECT_LT(night, 0.7 * base);
    EXPECT_GT(afternoon, 1.05 * base);
    EXPECT_LT(afternoon, 1.4 * base);
    // Traffic-driven metrics follow (db_connections less steeply).
    double lag_night = MeanValue(i, kConsumerLag, kFriday, 3, 5);
    EXPECT_LT(lag_night, 0.7 * MeanValue(i, kConsumerLag, kFriday, 14, 17));
    double db_ratio =
        MeanValue(i, kDbConnections, kFriday, 3, 5) / MeanValue(i, kDbConnections, kFriday, 14, 17);
    EXPECT_LT(db_ratio, 0.9);
    EXPECT_GT(db_ratio, 0.5);
  }
}

TEST(RealisticProfileTest, WeekendTrafficIsLowerThanWeekday) {
  for (size_t i = 0; i < testing::Catalog().services().size(); ++i) {
    double friday = MeanValue(i, kRequestRate, kFriday, 8, 20);
    double saturday = MeanValue(i, kRequestRate, kFriday + kDayMs, 8, 20);
    EXPECT_NEAR(saturday / friday, 0.7, 0.06) << testing::Catalog().services()[i].name;
  }
}

TEST(RealisticProfileTest, NoiseIsHeavyTailedAndScalesWithTheLevel) {
  size_t total = 0, beyond4 = 0, beyond8 = 0;
  for (const auto& r : RealisticRun())
    for (const auto& s : r.samples) {
      if (s.late || s.metric == kErrorRate || s.metric == kDbConnections ||
          s.metric == kConsumerLag || (s.metric == kRequestRate && s.value == 0))
        continue;
      double z = (s.value - r.normal[s.svc][s.metric]) / r.sigma[s.svc][s.metric];
      ++total;
      beyond4 += std::fabs(z) > 4;
      beyond8 += std::fabs(z) > 8;
    }
  std::printf("realistic: %zu of %zu standardised samples beyond 4 sigma, %zu beyond 8\n", beyond4,
              total, beyond8);
  EXPECT_GT(beyond4, total / 1000);  // heavy tails: >0.1 % (a Gaussian: 0.006 %)
  EXPECT_LT(beyond4, total / 50);
  EXPECT_GT(beyond8, 5u);  // spikes of 4-10 sigma and t4 tails
  // Noise proportional to the level: at the night trough request_rate's sigma is smaller.
  const auto& run = RealisticRun();
  const auto& night = run[static_cast<size_t>(4 * kHourMs / kTickMs)];
  const auto& day = run[static_cast<size_t>(15 * kHourMs / kTickMs)];
  for (size_t i = 0; i < night.normal.size(); ++i)
    EXPECT_NEAR(night.sigma[i][kRequestRate] / day.sigma[i][kRequestRate],
                night.normal[i][kRequestRate] / day.normal[i][kRequestRate], 1e-9);
}

TEST(RealisticProfileTest, SamplesGoMissingOrLateAtTheDocumentedRates) {
  const auto& run = RealisticRun();
  size_t slots = 0, on_time = 0, late = 0;
  std::array<bool, 42> previous_on_time{};
  for (size_t k = 0; k < run.size(); ++k) {
    const auto& r = run[k];
    slots += 42;
    bool late_seen = false;
    std::array<bool, 42> now_on_time{}, now_late{};
    for (const auto& s : r.samples) {
      const size_t series = s.svc * kMetricCount + s.metric;
      if (s.late) {
        late_seen = true;
        ++late;
        // Its own, original timestamp (the previous tick's), once, where that tick had none.
        EXPECT_EQ(s.ts, r.t - kTickMs);
        EXPECT_FALSE(previous_on_time[series]) << "delivered twice";
        EXPECT_FALSE(now_late[series]);
        now_late[series] = true;
      } else {
        ++on_time;
        EXPECT_EQ(s.ts, r.t);
        EXPECT_FALSE(late_seen) << "a late sample must follow the tick's own samples";
        EXPECT_FALSE(now_on_time[series]) << "delivered twice";
        now_on_time[series] = true;
      }
    }
    previous_on_time = now_on_time;
  }
  const size_t missing = slots - on_time - late;
  std::printf("realistic: %zu slots, %zu late (%.3f %%), about %zu missing (%.3f %%)\n", slots,
              late, 100.0 * late / slots, missing, 100.0 * missing / slots);
  EXPECT_NEAR(static_cast<double>(late) / slots, kLateProbability, 0.0012);
  // The last tick's late samples are still held, hence "about".
  EXPECT_NEAR(static_cast<double>(missing) / slots, kMissingProbability, 0.0012);
}

TEST(RealisticProfileTest, LowTrafficErrorRateIsQuantisedByTheRequestCount) {
  const size_t svc = *testing::MakeSimulator(1)->ServiceIndex("notification-service");
  size_t total = 0, on_grid = 0, zeros = 0, few = 0;
  double smallest = 100;
  for (const auto& r : RealisticRun())
    for (const auto& s : r.samples) {
      if (s.svc != svc || s.metric != kErrorRate || s.late) continue;
      double n = std::max(1.0, std::round(r.normal[svc][kRequestRate]));
      double k = s.value * n / 100.0;
      ++total;
      on_grid += std::fabs(k - std::round(k)) <= n * 0.0005 / 100.0 + 1e-9;
      zeros += s.value == 0;
      few += k < 2.5;
      if (s.value > 0) smallest = std::min(smallest, s.value);
    }
  std::printf(
      "notification-service error_rate: %zu samples, %zu zero, %zu of 1-2 errors, "
      "smallest non-zero %.3f %%\n",
      total, zeros, few - zeros, smallest);
  EXPECT_GE(on_grid, total * 99 / 100) << "error_rate = 100 k / n";
  EXPECT_GT(zeros, total / 20) << "a low-traffic service often sees no error in a second";
  EXPECT_GT(few, total / 2);
  // At most ~360 requests per second: one error is at least 0.27 points.
  EXPECT_GT(smallest, 0.25);
}

TEST(RealisticProfileTest, MemoryCreepsAndDropsBack) {
  const auto& run = RealisticRun();
  for (size_t i = 0; i < testing::Catalog().services().size(); ++i) {
    SCOPED_TRACE(testing::Catalog().services()[i].name);
    int drops = 0;
    double lo = 100, hi = 0;
    for (size_t k = 1; k < run.size(); ++k) {
      double prev = run[k - 1].normal[i][kMemoryPercent], now = run[k].normal[i][kMemoryPercent];
      lo = std::min(lo, now);
      hi = std::max(hi, now);
      if (now < prev - 1.0)
        ++drops;
      else
        EXPECT_GE(now, prev - 1e-9) << "memory only creeps up between drops";
    }
    EXPECT_GE(drops, 2);  // period 6-18 h over two days
    EXPECT_LE(drops, 8);
    EXPECT_GE(hi - lo, kSawMinPoints - 0.1);
    EXPECT_LE(hi - lo, kSawMaxPoints + 0.1);
  }
}

TEST(RealisticProfileTest, BenignBurstsShiftsAndResetsAreNeverGroundTruth) {
  const auto& run = RealisticRun();
  const size_t n = testing::Catalog().services().size();
  size_t truth = 0, deployments = 0, logs = 0, warmups = 0, resets = 0, scale_events = 0;
  std::vector<int> batch_jumps(n, 0);
  for (size_t k = 1; k < run.size(); ++k) {
    const auto& r = run[k];
    truth += r.ground_truth;
    logs += r.logs;
    deployments += r.deployed.size();
    for (size_t svc : r.deployed) {
      // The cache warm-up: p99 +15-25 % at the deployment's tick, decaying within minutes
      // (a level shift of the same deployment divided out).
      auto unshifted = [&](size_t at) {
        return run[at].normal[svc][kLatencyP99] / run[at].latency_shift[svc];
      };
      warmups += unshifted(k) > 1.14 * unshifted(k - 1);
      if (k + 30 < run.size()) {
        EXPECT_LT(unshifted(k + 30), 1.06 * unshifted(k - 1));
      }
    }
    for (const auto& s : r.samples) resets += s.metric == kRequestRate && s.value == 0;
    for (size_t i = 0; i < n; ++i) {
      scale_events += r.scaled_out[i] != run[k - 1].scaled_out[i];
      // A batch job: cpu up by 15-25 points within 2 minutes.
      if (k >= 12 && r.normal[i][kCpuPercent] > run[k - 12].normal[i][kCpuPercent] + 12) {
        ++batch_jumps[i];
      }
    }
  }
  std::printf(
      "realistic, 2 days: %zu deployments (%zu warm-ups), %zu counter resets, %zu scale events\n",
      deployments, warmups, resets, scale_events);
  EXPECT_EQ(truth, 0u) << "benign effects must never be ground truth";
  EXPECT_EQ(logs, 0u) << "emit_logs = false";
  EXPECT_GE(deployments, 30u);
  EXPECT_EQ(warmups, deployments);
  EXPECT_GE(resets, 4u);  // ~1 per service per day, plus 30 % of deployments
  EXPECT_LE(resets, 60u);
  EXPECT_GE(scale_events, 4u);
  EXPECT_LE(scale_events, 40u);  // a few a day, not every tick
  SimulatorOptions o;
  o.seed = 16;  // the traits are drawn from the seed alone
  o.profile = Profile::kRealistic;
  Simulator same(testing::Catalog(), o);
  int with_batch = 0;
  for (size_t i = 0; i < n; ++i) {
    with_batch += same.realistic()->traits(i).batch;
    // Daily: once on each of the two days.
    EXPECT_EQ(batch_jumps[i] > 0, same.realistic()->traits(i).batch) << i;
  }
  EXPECT_EQ(with_batch, kBatchServices);
}

// Every per-tick draw of the realistic stream is made whatever the scenarios do: an injection
// does not change the benign behaviour elsewhere.
TEST(RealisticProfileTest, AnInjectionDoesNotReshuffleOtherSeries) {
  auto make = [] {
    SimulatorOptions o;
    o.seed = 77;
    o.live_start_ms = kLiveStart;
    o.random_schedule = false;
    o.profile = Profile::kRealistic;
    o.emit_logs = false;
    return std::make_unique<Simulator>(testing::Catalog(), o);
  };
  auto a = make(), b = make();
  const size_t pay = *a->ServiceIndex("payment-service");
  size_t compared = 0, moved = 0;
  for (int64_t k = 0; k < 240; ++k) {
    int64_t t = kLiveStart + k * kTickMs;
    if (k == 20) {
      ASSERT_TRUE(b->Inject("LATENCY_SPIKE").ok());
    }
    TickBatch ta = a->Tick(t), tb = b->Tick(t);
    ASSERT_EQ(ta.metrics.size(), tb.metrics.size());
    for (size_t j = 0; j < ta.metrics.size(); ++j) {
      const auto& x = ta.metrics[j];
      const auto& y = tb.metrics[j];
      ASSERT_EQ(x.source_service + x.metric_name, y.source_service + y.metric_name);
      if (x.source_service == "payment-service") {
        moved += x.metric_name == "latency_p99_ms" && y.metric_value > 3 * x.metric_value;
        continue;
      }
      // Not latency and errors (mild coupling to callers), nor what benign deployments touch
      // (their timing may change with the scenario's cooldown).
      if (x.metric_name != "memory_percent" && x.metric_name != "db_connections" &&
          x.metric_name != "kafka_consumer_lag")
        continue;
      ++compared;
      EXPECT_EQ(x.metric_value, y.metric_value) << x.source_service << "/" << x.metric_name;
    }
    ASSERT_EQ(a->NormalLevel(pay, kLatencyP99), b->NormalLevel(pay, kLatencyP99));
  }
  EXPECT_GT(compared, 3000u);
  EXPECT_GT(moved, 5u);
}

// A scenario adds the same excess on top of whatever the normal level is: at the night trough
// and at the afternoon peak.
TEST(RealisticProfileTest, ScenariosMoveTheMetricFromItsCurrentNormalLevel) {
  const auto& cat = testing::Catalog();
  double excess_at[2] = {0, 0}, normal_at[2] = {0, 0};
  const int hour_of[2] = {4, 15};
  for (int run = 0; run < 2; ++run) {
    SimulatorOptions o;
    o.seed = 5;
    o.live_start_ms = kLiveStart + hour_of[run] * kHourMs;
    o.random_schedule = false;
    o.profile = Profile::kRealistic;
    o.emit_logs = false;
    Simulator sim(cat, o);
    const size_t svc = *sim.ServiceIndex("api-gateway");
    ASSERT_TRUE(sim.Inject("TRAFFIC_SURGE").ok());
    const int64_t end = sim.Active().front().ends_at_ms;
    double sum = 0;
    int n = 0, truth = 0;
    for (int64_t t = o.live_start_ms; t <= end; t += kTickMs) {
      TickBatch b = sim.Tick(t);
      truth += static_cast<int>(b.ground_truth.size());
      if (sim.Active().empty() || sim.Active().front().phase != "holding") continue;
      for (const auto& m : b.metrics)
        if (m.source_service == "api-gateway" && m.metric_name == "request_rate" &&
            m.timestamp == t && m.metric_value > 0) {
          sum += m.metric_value - sim.NormalLevel(svc, kRequestRate);
          normal_at[run] = sim.NormalLevel(svc, kRequestRate);
          ++n;
        }
    }
    EXPECT_EQ(truth, 2) << "START and END of the injected scenario only";
    ASSERT_GT(n, 5);
    excess_at[run] = sum / n;
  }
  // TRAFFIC_SURGE: three times the catalogue baseline, i.e. an excess of twice the baseline.
  const double want = 2 * cat.Find("api-gateway")->baseline.at("request_rate");
  EXPECT_LT(normal_at[0], 0.6 * normal_at[1]);
  EXPECT_NEAR(excess_at[0], want, 0.1 * want) << "at 04:00";
  EXPECT_NEAR(excess_at[1], want, 0.1 * want) << "at 15:00";
}

TEST(RealisticProfileTest, WithoutLogsNothingIsLoggedAndValuesAreTheSame) {
  auto make = [](bool logs) {
    SimulatorOptions o;
    o.seed = 21;
    o.live_start_ms = kLiveStart;
    o.random_schedule = true;
    o.first_injection_ms = 0;
    o.profile = Profile::kRealistic;
    o.emit_logs = logs;
    return std::make_unique<Simulator>(testing::Catalog(), o);
  };
  auto with = make(true), without = make(false);
  size_t logs = 0, truth = 0, deployments = 0;
  for (int64_t k = 0; k < 300; ++k) {
    TickBatch a = with->Tick(kLiveStart + k * kTickMs);
    TickBatch b = without->Tick(kLiveStart + k * kTickMs);
    logs += a.logs.size();
    EXPECT_TRUE(b.logs.empty());
    truth += b.ground_truth.size();
    deployments += b.deployments.size();
    ASSERT_EQ(a.metrics.size(), b.metrics.size());
    for (size_t j = 0; j < a.metrics.size(); ++j)
      ASSERT_EQ(a.metrics[j].metric_value, b.metrics[j].metric_value);
    ASSERT_EQ(a.ground_truth.size(), b.ground_truth.size());
    ASSERT_EQ(a.deployments.size(), b.deployments.size());
  }
  EXPECT_GT(logs, 300u * 18);
  EXPECT_GT(truth, 2u);
  EXPECT_GT(deployments, 0u);
}

TEST(ProfileOptionsTest, SimProfileDefaultsToRealisticForTheExecutable) {
  {
    Config c = Config::FromMap({});
    EXPECT_EQ(ReadOptions(c, kLiveStart, 1).core.profile, Profile::kRealistic);
    c.Validate();
  }
  {
    Config c = Config::FromMap({{"SIM_PROFILE", "clean"}});
    EXPECT_EQ(ReadOptions(c, kLiveStart, 1).core.profile, Profile::kClean);
    c.Validate();
  }
  {
    Config c = Config::FromMap({{"SIM_PROFILE", "noisy"}});
    (void)ReadOptions(c, kLiveStart, 1);
    EXPECT_THROW(c.Validate(), ConfigError);
  }
  bool listed = false;
  for (const auto& line : OptionsHelp()) listed = listed || line.rfind("SIM_PROFILE", 0) == 0;
  EXPECT_TRUE(listed);
  EXPECT_EQ(ParseProfile("clean"), Profile::kClean);
  EXPECT_EQ(ParseProfile("realistic"), Profile::kRealistic);
  EXPECT_FALSE(ParseProfile("Realistic"));
  EXPECT_STREQ(ProfileName(Profile::kRealistic), "realistic");
}

}  // namespace
}  // namespace sre::sim
