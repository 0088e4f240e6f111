#include "shared/llm/resilience.h"

#include <gtest/gtest.h>

namespace sre::llm {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class FakeClock {
 public:
  std::chrono::steady_clock::time_point now{std::chrono::hours(1)};
  TokenBucket::Clock fn() {
    return [this] { return now; };
  }
};

TEST(TokenBucketTest, BurstThenPacedAtTheRate) {
  FakeClock clock;
  TokenBucket bucket(60, 3, clock.fn());  // one a second, three at once
  for (int i = 0; i < 3; ++i) EXPECT_EQ(bucket.Reserve(seconds(10)), milliseconds(0)) << i;
  // Booked ahead: the 4th waits one interval, the 5th two.
  EXPECT_EQ(bucket.Reserve(seconds(10)), milliseconds(1000));
  EXPECT_EQ(bucket.Reserve(seconds(10)), milliseconds(2000));
  clock.now += seconds(2);
  EXPECT_EQ(bucket.Reserve(seconds(10)), milliseconds(1000));
  clock.now += seconds(60);
  // Refills to the burst, no further.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(bucket.Reserve(seconds(10)), milliseconds(0)) << i;
  EXPECT_EQ(bucket.Reserve(seconds(10)), milliseconds(1000));
}

TEST(TokenBucketTest, RefusesAWaitBeyondMaxWaitWithoutBooking) {
  FakeClock clock;
  TokenBucket bucket(6, 1, clock.fn());  // one every 10 s
  EXPECT_EQ(bucket.Reserve(milliseconds(0)), milliseconds(0));
  EXPECT_EQ(bucket.Reserve(seconds(5)), std::nullopt);
  EXPECT_EQ(bucket.Reserve(seconds(5)), std::nullopt);  // nothing was booked by the refusals
  EXPECT_EQ(bucket.Reserve(seconds(10)), milliseconds(10000));
}

TEST(TokenBucketTest, FractionalRefill) {
  FakeClock clock;
  TokenBucket bucket(120, 1, clock.fn());  // one every 500 ms
  EXPECT_EQ(bucket.Reserve(seconds(1)), milliseconds(0));
  clock.now += milliseconds(200);
  EXPECT_EQ(bucket.Reserve(seconds(1)), milliseconds(300));
}

TEST(TokenBucketTest, SetRateKeepsTokensUpToTheNewBurst) {
  FakeClock clock;
  TokenBucket bucket(60, 10, clock.fn());
  bucket.SetRate(600, 2);
  EXPECT_EQ(bucket.Reserve(seconds(1)), milliseconds(0));
  EXPECT_EQ(bucket.Reserve(seconds(1)), milliseconds(0));
  EXPECT_EQ(bucket.Reserve(seconds(1)), milliseconds(100));
}

TEST(RetryTest, ClassifiesStatuses) {
  struct Case {
    long status;
    StatusClass want;
  };
  const Case cases[] = {
      {200, StatusClass::kSuccess},     {201, StatusClass::kSuccess},
      {429, StatusClass::kRateLimited}, {500, StatusClass::kRetryable},
      {502, StatusClass::kRetryable},   {503, StatusClass::kRetryable},
      {529, StatusClass::kRetryable},   {408, StatusClass::kRetryable},
      {409, StatusClass::kRetryable},   {401, StatusClass::kAuth},
      {403, StatusClass::kAuth},        {400, StatusClass::kFatal},
      {404, StatusClass::kFatal},       {413, StatusClass::kFatal},
  };
  for (const auto& c : cases) EXPECT_EQ(ClassifyStatus(c.status), c.want) << c.status;
}

TEST(RetryTest, ParsesRetryAfter) {
  auto now = std::chrono::system_clock::from_time_t(1445412480);  // 2015-10-21 07:28:00 UTC
  struct Case {
    std::string retry_after, retry_after_ms;
    std::optional<milliseconds> want;
  };
  const Case cases[] = {
      {"", "", std::nullopt},
      {"3", "", milliseconds(3000)},
      {"1.5", "", milliseconds(1500)},
      {"0", "", milliseconds(0)},
      {"-4", "", milliseconds(0)},
      {"soon", "", std::nullopt},
      {"3", "250", milliseconds(250)},  // the precise header wins
      {"", "1200", milliseconds(1200)},
      {"Wed, 21 Oct 2015 07:28:07 GMT", "", milliseconds(7000)},
      {"Wed, 21 Oct 2015 07:27:00 GMT", "", milliseconds(0)},
      {"Wed, 21 Oct 2015", "", std::nullopt},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.retry_after + " / " + c.retry_after_ms);
    EXPECT_EQ(ParseRetryAfter(c.retry_after, c.retry_after_ms, now), c.want);
  }
}

TEST(RetryTest, BackoffDoublesWithJitterAndCap) {
  RetryPolicy p;
  p.base_backoff = milliseconds(1000);
  p.max_backoff = milliseconds(8000);
  EXPECT_EQ(BackoffDelay(p, 1, 1.0), milliseconds(1000));
  EXPECT_EQ(BackoffDelay(p, 1, 0.0), milliseconds(500));
  EXPECT_EQ(BackoffDelay(p, 2, 1.0), milliseconds(2000));
  EXPECT_EQ(BackoffDelay(p, 3, 0.5), milliseconds(3000));
  EXPECT_EQ(BackoffDelay(p, 10, 1.0), milliseconds(8000));
  EXPECT_EQ(BackoffDelay(p, 100, 1.0), milliseconds(8000));
  EXPECT_EQ(BackoffDelay(p, 1, 7.0), milliseconds(1000));  // jitter clamped to [0, 1]
}

TEST(RetryTest, RetryAfterIsHonouredUpToTheCap) {
  RetryPolicy p;
  p.max_retry_after = milliseconds(20000);
  EXPECT_EQ(RetryDelay(p, 1, 1.0, milliseconds(3000)), milliseconds(3000));
  EXPECT_EQ(RetryDelay(p, 1, 1.0, milliseconds(120000)), milliseconds(20000));
  EXPECT_EQ(RetryDelay(p, 2, 1.0, std::nullopt), BackoffDelay(p, 2, 1.0));
}

TEST(RetryTest, ProcessBucketIsShared) {
  TokenBucket& a = ProcessTokenBucket(50);
  TokenBucket& b = ProcessTokenBucket(100);
  EXPECT_EQ(&a, &b);
}

}  // namespace
}  // namespace sre::llm
