#include "shared/consumer_policy.h"

#include <gtest/gtest.h>

namespace sre {
namespace {

using namespace std::chrono_literals;

const TopicPartition kA{"raw.logs", 0}, kB{"raw.logs", 1}, kC{"raw.metrics", 0};

struct Row {
  const char* name;
  std::vector<MessagePosition> batch;
  std::vector<Status> results;
  std::set<size_t> dead_letter_failed;
  std::vector<Step> steps;
  std::map<TopicPartition, int64_t> commit;
  std::vector<std::pair<TopicPartition, int64_t>> rewinds;
  bool stop = false;
};

TEST(ConsumerPolicyTest, BatchDecisionTable) {
  const Status ok = Status::Ok(), bad = Status::Invalid("bad json"), down = Status::Transient("redis down"),
               oops = Status::Internal("23505 duplicate key"), fatal = Status::Fatal("credentials rejected");
  using S = Step;
  const std::vector<Row> rows = {
      {"all ok over interleaved partitions",
       {{kA, 10}, {kB, 20}, {kA, 11}, {kB, 21}},
       {ok, ok, ok, ok},
       {},
       {S::kCommit, S::kCommit, S::kCommit, S::kCommit},
       {{kA, 12}, {kB, 22}},
       {}},
      {"invalid is dead-lettered and committed, the partition goes on",
       {{kA, 10}, {kA, 11}, {kA, 12}},
       {ok, bad, ok},
       {},
       {S::kCommit, S::kDeadLetter, S::kCommit},
       {{kA, 13}},
       {}},
      {"invalid after transient in the same partition is not dead-lettered",
       {{kA, 10}, {kA, 11}, {kB, 5}},
       {down, bad, bad},
       {},
       {S::kRetry, S::kSkip, S::kDeadLetter},
       {{kB, 6}},
       {{kA, 10}}},
      {"failure mid-batch rewinds its partition only; earlier messages are committed",
       {{kA, 10}, {kB, 20}, {kA, 11}, {kB, 21}, {kA, 12}},
       {ok, ok, down, ok, ok},
       {},
       {S::kCommit, S::kCommit, S::kRetry, S::kCommit, S::kSkip},
       {{kA, 11}, {kB, 22}},
       {{kA, 11}}},
      {"a first internal failure is retried",
       {{kC, 7}, {kC, 8}},
       {oops, ok},
       {},
       {S::kRetry, S::kSkip},
       {},
       {{kC, 7}}},
      {"a dead letter that cannot be published keeps the message and stops its partition",
       {{kA, 10}, {kA, 11}, {kA, 12}, {kB, 1}},
       {ok, bad, bad, bad},
       {1},
       {S::kCommit, S::kRetry, S::kSkip, S::kDeadLetter},
       {{kA, 11}, {kB, 2}},
       {{kA, 11}}},
      {"fatal stops after committing what came before",
       {{kA, 10}, {kB, 20}, {kA, 11}},
       {ok, fatal, ok},
       {},
       {S::kCommit, S::kStop, S::kSkip},
       {{kA, 11}},
       {},
       true},
      {"missing results count as transient",
       {{kA, 10}, {kA, 11}},
       {ok},
       {},
       {S::kCommit, S::kRetry},
       {{kA, 11}},
       {{kA, 11}}},
  };
  for (const auto& row : rows) {
    SCOPED_TRACE(row.name);
    BatchPlan plan = PlanBatch(row.batch, row.results, {}, RetryPolicy{}, row.dead_letter_failed);
    EXPECT_EQ(plan.steps, row.steps);
    EXPECT_EQ(plan.commit, row.commit);
    std::vector<std::pair<TopicPartition, int64_t>> rewinds;
    for (const auto& r : plan.retries) rewinds.emplace_back(r.tp, r.offset);
    EXPECT_EQ(rewinds, row.rewinds);
    EXPECT_EQ(plan.stop.has_value(), row.stop);
  }
}

// An Internal failure is retried with growing backoff and dead-lettered at the max_attempts-th
// failure, with the count and the reason; the state is dropped once the partition moves on.
TEST(ConsumerPolicyTest, InternalFailureIsDeadLetteredAfterMaxAttempts) {
  RetryPolicy policy{3, 100ms, 10s};
  std::vector<MessagePosition> batch = {{kA, 40}, {kA, 41}};
  std::vector<Status> results = {Status::Internal("handler exception: boom"), Status::Ok()};
  RetryStates states;
  std::vector<std::chrono::milliseconds> delays;
  for (int run = 1; run <= 2; ++run) {
    BatchPlan plan = PlanBatch(batch, results, states, policy);
    ASSERT_EQ(plan.steps[0], Step::kRetry) << run;
    ASSERT_EQ(plan.retries.size(), 1u);
    EXPECT_EQ(plan.retries[0].attempt, run);
    delays.push_back(plan.retries[0].delay);
    EXPECT_TRUE(plan.commit.empty());
    states = plan.states;
  }
  EXPECT_EQ(delays, (std::vector<std::chrono::milliseconds>{100ms, 200ms}));
  BatchPlan plan = PlanBatch(batch, results, states, policy);
  EXPECT_EQ(plan.steps, (std::vector<Step>{Step::kDeadLetter, Step::kCommit}));
  EXPECT_EQ(plan.reasons[0], "failed 3 times: handler exception: boom");
  EXPECT_EQ(plan.attempts[0], 3);
  EXPECT_EQ(plan.commit.at(kA), 42);
  EXPECT_TRUE(plan.states.empty());
}

// Transient failures never lead to a dead letter, and they do not use up the Internal budget:
// a store outage followed by one unexpected error still gets max_attempts tries.
TEST(ConsumerPolicyTest, TransientFailuresAreRetriedForeverWithCappedBackoff) {
  RetryPolicy policy{2, 100ms, 1s};
  std::vector<MessagePosition> batch = {{kB, 3}};
  RetryStates states;
  for (int run = 1; run <= 30; ++run) {
    BatchPlan plan = PlanBatch(batch, std::vector<Status>{Status::Transient("postgres down")}, states, policy);
    ASSERT_EQ(plan.steps[0], Step::kRetry);
    EXPECT_LE(plan.retries[0].delay, 1s);
    states = plan.states;
  }
  EXPECT_EQ(PlanBatch(batch, std::vector<Status>{Status::Transient("postgres down")}, states, policy).retries[0].delay, 1s);
  BatchPlan plan = PlanBatch(batch, std::vector<Status>{Status::Internal("x")}, states, policy);
  EXPECT_EQ(plan.steps[0], Step::kRetry);
  plan = PlanBatch(batch, std::vector<Status>{Status::Internal("x")}, plan.states, policy);
  EXPECT_EQ(plan.steps[0], Step::kDeadLetter);
  EXPECT_EQ(plan.attempts[0], 32);
}

// Retry state belongs to one offset: a different head message starts from zero.
TEST(ConsumerPolicyTest, RetryStateIsPerOffset) {
  RetryStates states{{kA, RetryState{5, 2, 2}}};
  BatchPlan plan = PlanBatch(std::vector<MessagePosition>{{kA, 6}}, std::vector<Status>{Status::Internal("x")}, states,
                             RetryPolicy{3, 100ms, 1s});
  EXPECT_EQ(plan.steps[0], Step::kRetry);
  EXPECT_EQ(plan.states.at(kA).offset, 6);
  EXPECT_EQ(plan.states.at(kA).internal_failures, 1);
}

}  // namespace
}  // namespace sre
