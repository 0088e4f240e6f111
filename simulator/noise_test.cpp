#include "simulator/noise.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <vector>

#include "simulator/test_util.h"

namespace sre::sim {
namespace {

struct Stats {
  double mean = 0, sd = 0, ac1 = 0, max_abs_dev = 0;
};

Stats Measure(const std::vector<double>& xs) {
  Stats s;
  for (double x : xs) s.mean += x;
  s.mean /= static_cast<double>(xs.size());
  double var = 0, cov = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    double d = xs[i] - s.mean;
    var += d * d;
    if (i > 0) cov += d * (xs[i - 1] - s.mean);
    s.max_abs_dev = std::max(s.max_abs_dev, std::fabs(d));
  }
  s.sd = std::sqrt(var / static_cast<double>(xs.size()));
  s.ac1 = cov / var;
  return s;
}

TEST(NoiseTest, ProcessIsStationaryUnitVarianceAutocorrelatedAndBounded) {
  for (uint64_t seed : {1u, 2u, 3u, 42u}) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937_64 rng(seed);
    NoiseProcess p;
    p.Reset(rng);
    std::vector<double> xs;
    for (int i = 0; i < 10000; ++i) xs.push_back(p.Next(rng));
    Stats s = Measure(xs);
    EXPECT_NEAR(s.mean, 0.0, 0.05);
    EXPECT_NEAR(s.sd, 1.0, 0.04);
    EXPECT_GT(s.ac1, 0.1);  // not white noise
    EXPECT_LT(s.ac1, 0.3);  // but only lightly correlated
    EXPECT_LE(s.max_abs_dev, NoiseProcess::Bound() + 0.05);
  }
  EXPECT_LT(NoiseProcess::Bound(), 1.7);  // no tails: never beyond ~1.6 sigma
  EXPECT_GT(NoiseProcess::Bound(), 1.4);
}

TEST(NoiseTest, ClampsToPhysicalRanges) {
  struct Case {
    Metric metric;
    double value, pool, expected;
  } cases[] = {
      {kErrorRate, 130, 100, 100},     {kErrorRate, -2, 100, 0},
      {kCpuPercent, 101, 20, 100},     {kMemoryPercent, 99.5, 20, 99.5},
      {kDbConnections, 104, 100, 100}, {kDbConnections, 81, 80, 80},
      {kRequestRate, -5, 20, 0},       {kConsumerLag, -1, 20, 0},
      {kLatencyP99, 420, 20, 420},
  };
  for (const auto& c : cases)
    EXPECT_EQ(ClampMetric(c.metric, c.value, c.pool), c.expected) << MetricName(c.metric);
  EXPECT_EQ(RoundMetric(kDbConnections, 30.6), 31);
  EXPECT_EQ(RoundMetric(kConsumerLag, 99.4), 99);
  EXPECT_DOUBLE_EQ(RoundMetric(kErrorRate, 0.51234), 0.512);
}

TEST(NoiseTest, MetricNamesRoundTrip) {
  for (size_t m = 0; m < kMetricCount; ++m) EXPECT_EQ(FindMetric(MetricName(m)), m);
  EXPECT_FALSE(FindMetric("cpu"));
}

// 10,000 normal ticks of every series: mean within a few % of the catalogue's baseline and
// standard deviation close to baseline x noise. Prints the figures (the report quotes them).
TEST(NoiseTest, EverySeriesStaysInItsBandOverTenThousandTicks) {
  auto sim = testing::MakeSimulator(7);
  std::map<std::string, std::vector<double>> values;
  for (int64_t i = 0; i < 10000; ++i) {
    TickBatch b = sim->Tick(testing::kLiveStart - 20000 * kTickMs + i * kTickMs);
    for (const auto& m : b.metrics)
      values[m.source_service + "/" + m.metric_name].push_back(m.metric_value);
  }
  ASSERT_EQ(values.size(), 42u);
  std::printf("%-22s %-19s %9s %9s %7s %7s %6s %6s\n", "service", "metric", "baseline", "mean",
              "cfg sd", "sd/base", "ratio", "ac1");
  for (const auto& info : testing::Catalog().services()) {
    for (size_t m = 0; m < kMetricCount; ++m) {
      const auto& xs = values[info.name + "/" + MetricName(m)];
      Stats s = Measure(xs);
      double base = info.baseline.at(MetricName(m));
      double rel = info.noise.at(MetricName(m));
      double want_sd = base * rel;
      std::printf("%-22s %-19s %9.3f %9.3f %7.3f %7.4f %6.3f %6.3f\n", info.name.c_str(),
                  MetricName(m), base, s.mean, want_sd, s.sd / base, s.sd / want_sd, s.ac1);
      SCOPED_TRACE(info.name + "/" + MetricName(m));
      EXPECT_NEAR(s.mean, base, 0.03 * base);
      // Whole-number metrics add rounding noise (variance 1/12) to small series.
      bool whole = m == kDbConnections || m == kConsumerLag;
      double want = whole ? std::sqrt(want_sd * want_sd + 1.0 / 12.0) : want_sd;
      // Rounding a small, bounded series to whole numbers widens it a little more than 1/12.
      EXPECT_NEAR(s.sd, want, (whole && want_sd < 1.5 ? 0.15 : 0.08) * want);
      EXPECT_GT(s.ac1, whole && want_sd < 1.5 ? 0.05 : 0.1);
      EXPECT_LE(s.max_abs_dev,
                NoiseProcess::Bound() * want_sd + (whole ? 1.0 : 0.01) + std::fabs(s.mean - base));
    }
  }
}

}  // namespace
}  // namespace sre::sim
