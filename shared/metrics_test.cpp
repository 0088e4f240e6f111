#include "shared/metrics.h"

#include <gtest/gtest.h>

namespace sre {
namespace {

TEST(MetricsTest, RendersCountersGaugesAndHistogramsInExpositionFormat) {
  MetricsRegistry r;
  r.GetCounter("sre_messages_consumed_total", "Messages", {{"topic", "raw.metrics"}}).Inc(3);
  r.GetGauge("sre_open_incidents", "Open incidents").Set(2);
  auto& h = r.GetHistogram("sre_handler_duration_seconds", "Latency", {}, {0.1, 1});
  h.Observe(0.05);
  h.Observe(0.5);
  h.Observe(5);
  std::string text = r.Render();
  EXPECT_NE(text.find("# HELP sre_messages_consumed_total Messages\n# TYPE "
                      "sre_messages_consumed_total counter\n"
                      "sre_messages_consumed_total{topic=\"raw.metrics\"} 3\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("# TYPE sre_open_incidents gauge\nsre_open_incidents 2\n"),
            std::string::npos);
  EXPECT_NE(text.find("sre_handler_duration_seconds_bucket{le=\"0.10000000000000001\"} 1\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("sre_handler_duration_seconds_bucket{le=\"1\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("sre_handler_duration_seconds_bucket{le=\"+Inf\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("sre_handler_duration_seconds_count 3\n"), std::string::npos);
}

TEST(MetricsTest, EscapesLabelValuesAndRejectsTypeClash) {
  MetricsRegistry r;
  r.GetCounter("c_total", "c", {{"msg", "a\"b\\c\nd"}}).Inc();
  EXPECT_NE(r.Render().find("c_total{msg=\"a\\\"b\\\\c\\nd\"} 1"), std::string::npos);
  EXPECT_THROW(r.GetGauge("c_total", "c"), std::logic_error);
}

TEST(MetricsTest, SameLabelsReturnSameCounter) {
  MetricsRegistry r;
  r.GetCounter("x_total", "x", {{"a", "1"}}).Inc();
  r.GetCounter("x_total", "x", {{"a", "1"}}).Inc();
  EXPECT_DOUBLE_EQ(r.GetCounter("x_total", "x", {{"a", "1"}}).Value(), 2);
}

TEST(PercentileTest, NearestRank) {
  EXPECT_FALSE(Percentile({}, 90));
  EXPECT_EQ(*Percentile({5}, 90), 5);
  EXPECT_EQ(*Percentile({1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 90), 9);
  EXPECT_EQ(*Percentile({10, 1, 3}, 50), 3);
  EXPECT_EQ(*Percentile({1, 2, 3}, 100), 3);
}

}  // namespace
}  // namespace sre
