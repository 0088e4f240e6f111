#pragma once
// What the consumer runner does with each message of a handled batch, as a pure function
// (issue 14: no single input stops the pipeline). Per partition, in offset order:
//   Ok                      commit it.
//   Invalid                 dead-letter it with the handler's reason, then commit it.
//   Internal                retry it (pause, rewind, backoff) until it has failed
//                           `max_attempts` times in a row, then dead-letter it with the reason.
//   Transient               retry it with capped backoff for as long as it takes (a dependency is
//                           down; the message is kept).
//   Fatal                   stop the process (a process-level condition), after committing what
//                           was done before it.
// Once a partition is rewound, its later messages of the batch are skipped (they come again
// after the rewind), whatever their results — an Invalid after a Transient is not dead-lettered.
// A dead letter that could not be published is retried like a transient failure: the message is
// not committed until its dead letter is acknowledged.
#include <chrono>
#include <compare>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "shared/status.h"

namespace sre {

struct TopicPartition {
  std::string topic;
  int32_t partition = 0;
  auto operator<=>(const TopicPartition&) const = default;
};

struct MessagePosition {
  TopicPartition tp;
  int64_t offset = 0;
};

struct RetryPolicy {
  int max_attempts = 3;  // handler runs of a message failing with Internal before its dead letter
  std::chrono::milliseconds initial{200}, max{15000};  // backoff between retries
};

// Consecutive failures of the message a partition was rewound to.
struct RetryState {
  int64_t offset = -1;
  int failures = 0;           // of any kind (drives the backoff)
  int internal_failures = 0;  // of kind Internal (bounded by max_attempts)
};
using RetryStates = std::map<TopicPartition, RetryState>;

enum class Step { kCommit, kDeadLetter, kRetry, kSkip, kStop };

struct PartitionRetry {
  TopicPartition tp;
  int64_t offset = 0;
  int attempt = 0;  // failures so far, this one included
  std::chrono::milliseconds delay{0};
  Status why;
};

struct BatchPlan {
  std::vector<Step> steps;                    // one per message of the batch
  std::vector<std::string> reasons;           // per message: the dead letter's error (kDeadLetter)
  std::vector<int> attempts;                  // per message: handler runs so far (kDeadLetter)
  std::map<TopicPartition, int64_t> commit;   // next offset to commit, per partition
  std::vector<PartitionRetry> retries;        // partitions to pause and rewind
  std::optional<Status> stop;                 // process-level failure
  RetryStates states;                         // the retry state to carry into the next batch
};

// Capped exponential backoff: initial * 2^attempt, at most `max` (attempt counts from 0).
std::chrono::milliseconds Backoff(int attempt, std::chrono::milliseconds initial,
                                  std::chrono::milliseconds max);

// `results[i]` is the handler's result for `batch[i]`; a missing result counts as Transient.
// `dead_letter_failed` holds indices of messages whose dead letter could not be published: plan
// once, publish the plan's dead letters, and if that failed plan again with the index of the
// first dead letter of each partition concerned.
BatchPlan PlanBatch(std::span<const MessagePosition> batch, std::span<const Status> results,
                    const RetryStates& states, const RetryPolicy& policy,
                    const std::set<size_t>& dead_letter_failed = {});

}  // namespace sre
