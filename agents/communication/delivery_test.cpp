#include "agents/communication/delivery.h"

#include <gtest/gtest.h>

namespace sre::communication {
namespace {

using namespace std::chrono_literals;

llm::HttpResult Answer(long status, std::string body = "", std::string retry_after = "") {
  llm::HttpResult r;
  r.status = status;
  r.body = std::move(body);
  r.retry_after = std::move(retry_after);
  return r;
}

constexpr int64_t kNow = 1'790'000'000;

TEST(BackoffTest, DoublesUpToTheCapWithJitterBetweenHalfAndWhole) {
  BackoffPolicy p{1000ms, 60000ms};
  EXPECT_EQ(BackoffDelay(1, 1.0, p), 1000ms);
  EXPECT_EQ(BackoffDelay(2, 1.0, p), 2000ms);
  EXPECT_EQ(BackoffDelay(4, 1.0, p), 8000ms);
  EXPECT_EQ(BackoffDelay(30, 1.0, p), 60000ms);
  EXPECT_EQ(BackoffDelay(1000, 1.0, p), 60000ms);
  EXPECT_EQ(BackoffDelay(4, 0.0, p), 4000ms);
  EXPECT_EQ(BackoffDelay(0, 1.0, p), 1000ms);
}

TEST(RetryAfterTest, SecondsOrAnHttpDate) {
  EXPECT_EQ(ParseRetryAfter("30", kNow), 30000ms);
  EXPECT_EQ(ParseRetryAfter(" 0 ", kNow), 0ms);
  EXPECT_EQ(ParseRetryAfter("999999999999", kNow), 3600000ms);  // at most an hour
  // 1790000000 is Sat, 21 Sep 2026 ... : a date 120 s later.
  std::time_t t = kNow + 120;
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", std::gmtime(&t));
  EXPECT_EQ(ParseRetryAfter(buf, kNow), 120000ms) << buf;
  EXPECT_FALSE(ParseRetryAfter("", kNow).has_value());
  EXPECT_FALSE(ParseRetryAfter("soon", kNow).has_value());
  EXPECT_FALSE(ParseRetryAfter("-5", kNow).has_value());
}

TEST(ClassifyTest, WhatEachAnswerMeans) {
  BackoffPolicy p{1000ms, 60000ms};
  struct Case {
    Channel channel;
    bool api;
    llm::HttpResult answer;
    Verdict verdict;
    const char* reason;
  } cases[] = {
      {Channel::kSlack, false, Answer(200, "ok"), Verdict::kDelivered, "HTTP 200"},
      {Channel::kTeams, false, Answer(202), Verdict::kDelivered, "HTTP 202"},
      {Channel::kPagerDuty, false, Answer(202, R"({"status":"success","dedup_key":"k"})"), Verdict::kDelivered, ""},
      {Channel::kSlack, false, Answer(400, "invalid_blocks"), Verdict::kFailed, "HTTP 400: invalid_blocks"},
      {Channel::kSlack, false, Answer(404, "no_service"), Verdict::kFailed, "no_service"},
      {Channel::kTeams, false, Answer(401, R"({"error":{"code":"DirectApiAuthorizationRequired"}})"), Verdict::kFailed,
       "DirectApiAuthorizationRequired"},
      {Channel::kPagerDuty, false, Answer(400, R"({"status":"invalid event"})"), Verdict::kFailed, "invalid event"},
      {Channel::kWebhook, false, Answer(500, "boom"), Verdict::kRetry, "HTTP 500: boom"},
      {Channel::kWebhook, false, Answer(502), Verdict::kRetry, "HTTP 502"},
      {Channel::kWebhook, false, Answer(429, "", "7"), Verdict::kRetry, "Retry-After 7 s"},
      {Channel::kSlack, true, Answer(200, R"({"ok":true,"ts":"1.000100","channel":"C1"})"), Verdict::kDelivered, ""},
      {Channel::kSlack, true, Answer(200, R"({"ok":false,"error":"channel_not_found"})"), Verdict::kFailed,
       "slack: channel_not_found"},
      {Channel::kSlack, true, Answer(200, R"({"ok":false,"error":"ratelimited"})", "3"), Verdict::kRetry,
       "slack: ratelimited"},
      {Channel::kSlack, true, Answer(200, "<html>"), Verdict::kFailed, "not JSON"},
  };
  for (const auto& c : cases) {
    DeliveryOutcome o = Classify(c.channel, c.api, c.answer, 1, 1.0, p, kNow);
    EXPECT_EQ(o.verdict, c.verdict) << c.answer.status << " " << c.answer.body;
    EXPECT_NE(o.reason.find(c.reason), std::string::npos) << o.reason;
  }
  // References: Slack's ts, PagerDuty's dedup_key.
  EXPECT_EQ(Classify(Channel::kSlack, true, Answer(200, R"({"ok":true,"ts":"1.000100"})"), 1, 1, p, kNow).reference,
            "1.000100");
  EXPECT_EQ(Classify(Channel::kPagerDuty, false, Answer(202, R"({"dedup_key":"sre-pipeline/x"})"), 1, 1, p, kNow)
                .reference,
            "sre-pipeline/x");
}

TEST(ClassifyTest, RetryAfterIsHonouredButNeverSoonerThanTheBackoff) {
  BackoffPolicy p{1000ms, 60000ms};
  EXPECT_EQ(Classify(Channel::kSlack, false, Answer(429, "", "30"), 1, 1.0, p, kNow).retry_in, 30000ms);
  EXPECT_EQ(Classify(Channel::kSlack, false, Answer(429, "", "1"), 4, 1.0, p, kNow).retry_in, 8000ms);
  EXPECT_EQ(Classify(Channel::kSlack, false, Answer(503, "", "12"), 1, 1.0, p, kNow).retry_in, 12000ms);
  EXPECT_EQ(Classify(Channel::kSlack, false, Answer(500), 3, 1.0, p, kNow).retry_in, 4000ms);
  llm::HttpResult timeout;
  timeout.error = llm::HttpResult::Error::kTimeout;
  auto o = Classify(Channel::kPagerDuty, false, timeout, 2, 1.0, p, kNow);
  EXPECT_EQ(o.verdict, Verdict::kRetry);
  EXPECT_EQ(o.retry_in, 2000ms);
  EXPECT_NE(o.reason.find("timeout"), std::string::npos);
  llm::HttpResult refused;
  refused.error = llm::HttpResult::Error::kConnect;
  EXPECT_EQ(Classify(Channel::kTeams, false, refused, 1, 1.0, p, kNow).verdict, Verdict::kRetry);
}

TEST(RateLimiterTest, SpacesSendsAndUnlimitedDoesNot) {
  using Clock = RateLimiter::Clock;
  const Clock::time_point t0 = Clock::now();
  RateLimiter one(1.0);
  EXPECT_EQ(one.Next(t0), t0);
  EXPECT_EQ(one.Next(t0), t0 + 1s);
  EXPECT_EQ(one.Next(t0 + 100ms), t0 + 2s);
  EXPECT_EQ(one.Next(t0 + 10s), t0 + 10s);  // idle time is not saved up
  RateLimiter none(0);
  EXPECT_EQ(none.Next(t0), t0);
  EXPECT_EQ(none.Next(t0), t0);
  RateLimiter two(2.0);
  two.Next(t0);
  EXPECT_EQ(two.Next(t0), t0 + 500ms);
}

TEST(NoticeTest, FromEachStagesEmailAndBackThroughJson) {
  AnomalyDetected a;
  a.incident_id = "8161d517-6ef2-44fb-ab06-fc39732509bb";
  a.service = "payment-service";
  a.severity = Severity::HIGH;
  a.anomaly_type = AnomalyType::LATENCY_SPIKE;
  a.trigger_metric = "latency_p99_ms";
  a.observed_value = 1800;
  a.baseline_mean = 200;
  a.baseline_std = 20;
  a.deviation_sigma = 80;
  a.description = "p99 latency 9x its baseline";
  a.detection_time = 1'790'000'000'000;
  Email e = AlertEmail(a, "http://dash");
  Notice n = NoticeFromEmail(e, a.detection_time, "payments", "alice", "OPEN");
  EXPECT_EQ(n.incident_number, "INC-8161D517");
  EXPECT_EQ(n.service, "payment-service");
  EXPECT_EQ(n.team, "payments");
  EXPECT_EQ(n.summary, "p99 latency 9x its baseline");
  EXPECT_EQ(n.title, e.subject);
  EXPECT_NE(n.link.find("http://dash"), std::string::npos);
  ASSERT_FALSE(n.facts.empty());
  EXPECT_EQ(n.facts[0].first, "Trigger metric");
  auto back = NoticeFromJson(NoticeToJson(n));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(NoticeToJson(*back), NoticeToJson(n));
  EXPECT_FALSE(NoticeFromJson(Json{{"stage", "SOMETHING"}}).ok());
}

}  // namespace
}  // namespace sre::communication
