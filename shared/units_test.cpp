#include "shared/units.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "shared/time_format.h"

namespace sre {
namespace {

TEST(UnitsTest, StandardMetricsAndSuffixesHaveUnits) {
  EXPECT_EQ(DefaultUnit("error_rate"), "%");
  EXPECT_EQ(DefaultUnit("request_rate"), "req/s");
  EXPECT_EQ(DefaultUnit("latency_p99_ms"), "ms");
  EXPECT_EQ(DefaultUnit("db_connections"), "connections");
  EXPECT_EQ(DefaultUnit("kafka_consumer_lag"), "messages");
  EXPECT_EQ(DefaultUnit("checkout_duration_seconds"), "s");
  EXPECT_EQ(DefaultUnit("disk_used_percent"), "%");
  EXPECT_EQ(DefaultUnit("heap_bytes"), "bytes");
  EXPECT_EQ(DefaultUnit("log:connection_refused"), "lines");
  EXPECT_EQ(DefaultUnit("queue_depth"), "");
}

TEST(UnitsTest, UnitsFromLabelsAreNormalisedAndJunkIsDropped) {
  EXPECT_EQ(NormalizeUnit("percent"), "%");
  EXPECT_EQ(NormalizeUnit(" RPS "), "req/s");
  EXPECT_EQ(NormalizeUnit("seconds"), "s");
  EXPECT_EQ(NormalizeUnit("connections"), "connections");
  EXPECT_EQ(NormalizeUnit("ms\n<script>"), "");
  EXPECT_EQ(NormalizeUnit(std::string(40, 'x')), "");
}

TEST(UnitsTest, ValuesReadLikeAPersonWouldWriteThem) {
  EXPECT_EQ(WithUnit(16.4, "percent"), "16.4%");
  EXPECT_EQ(WithUnit(0.514, "%"), "0.514%");
  EXPECT_EQ(WithUnit(1250.4, "ms"), "1250 ms");
  EXPECT_EQ(WithUnit(2.0, "s"), "2 s");
  EXPECT_EQ(WithUnit(3, "lines"), "3 lines");
  EXPECT_EQ(WithUnit(1, "lines"), "1 line");
  EXPECT_EQ(WithUnit(7.25, ""), "7.25");
  EXPECT_EQ(WithUnit(45.06, "%"), "45.1%");
  EXPECT_EQ(WithUnit(-0.25, ""), "-0.25");
}

// The API's event summaries use it on payloads from the database: any number gives a sane text.
TEST(DurationTest, ReadsLikeAPersonWouldWriteItForAnyNumber) {
  EXPECT_EQ(FormatDuration(45), "45 s");
  EXPECT_EQ(FormatDuration(245), "4 min 5 s");
  EXPECT_EQ(FormatDuration(7380), "2 h 3 min");
  EXPECT_EQ(FormatDuration(-5), "0 s");
  EXPECT_EQ(FormatDuration(std::nan("")), "0 s");
  EXPECT_EQ(FormatDuration(std::numeric_limits<double>::infinity()), "277777777 h 46 min");
}

}  // namespace
}  // namespace sre
