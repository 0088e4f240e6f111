#include "shared/log.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace sre::log {
namespace {

TEST(LogTest, JsonRecordIsOneObjectWithFields) {
  std::string line = FormatRecord(Format::kJson, "2026-11-23T10:00:00.000Z", "info", "detection",
                                  "anomaly \"detected\"", {{"incident_id", "abc"}});
  auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["level"], "info");
  EXPECT_EQ(j["logger"], "detection");
  EXPECT_EQ(j["msg"], "anomaly \"detected\"");
  EXPECT_EQ(j["incident_id"], "abc");
  EXPECT_EQ(line.find('\n'), std::string::npos);
}

TEST(LogTest, TextRecordQuotesValuesWithSpaces) {
  std::string line = FormatRecord(Format::kText, "T", "warn", "kafka", "retrying",
                                  {{"incident_id", "abc"}, {"reason", "broker down"}});
  EXPECT_EQ(line, "T WARN  [kafka] retrying incident_id=abc reason=\"broker down\"");
}

TEST(LogTest, ScopesNestAndUnwind) {
  EXPECT_TRUE(CurrentFields().empty());
  {
    LogScope outer("topic", "raw.metrics");
    {
      LogScope inner("incident_id", "x");
      ASSERT_EQ(CurrentFields().size(), 2u);
      EXPECT_EQ(CurrentFields()[1].second, "x");
    }
    EXPECT_EQ(CurrentFields().size(), 1u);
  }
  EXPECT_TRUE(CurrentFields().empty());
}

TEST(LogTest, InitRejectsUnknownLevel) {
  EXPECT_TRUE(Init(Format::kText, "debug"));
  EXPECT_FALSE(Init(Format::kText, "loud"));
  EXPECT_TRUE(Init(Format::kText, "info"));
}

}  // namespace
}  // namespace sre::log
