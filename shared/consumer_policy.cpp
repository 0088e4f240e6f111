#include "shared/consumer_policy.h"

#include <algorithm>

namespace sre {

std::chrono::milliseconds Backoff(int attempt, std::chrono::milliseconds initial,
                                  std::chrono::milliseconds max) {
  auto v = initial;
  for (int i = 0; i < attempt && v < max; ++i) v *= 2;
  return std::min(v, max);
}

BatchPlan PlanBatch(std::span<const MessagePosition> batch, std::span<const Status> results,
                    const RetryStates& states, const RetryPolicy& policy,
                    const std::set<size_t>& dead_letter_failed) {
  BatchPlan plan;
  plan.states = states;
  plan.steps.assign(batch.size(), Step::kSkip);
  plan.reasons.assign(batch.size(), "");
  plan.attempts.assign(batch.size(), 0);
  std::set<TopicPartition> rewound;
  for (size_t i = 0; i < batch.size() && !plan.stop; ++i) {
    const MessagePosition& m = batch[i];
    if (rewound.count(m.tp)) continue;
    Status s = i < results.size() ? results[i] : Status::Transient("not handled");

    // Failures of this message so far: the state only counts if the partition was rewound to it.
    RetryState prior;
    if (auto it = plan.states.find(m.tp); it != plan.states.end() && it->second.offset == m.offset)
      prior = it->second;
    auto retry = [&](Status why, bool internal) {
      RetryState next{m.offset, prior.failures + 1, prior.internal_failures + (internal ? 1 : 0)};
      plan.states[m.tp] = next;
      plan.steps[i] = Step::kRetry;
      plan.retries.push_back(
          {m.tp, m.offset, next.failures, Backoff(next.failures - 1, policy.initial, policy.max), std::move(why)});
      rewound.insert(m.tp);
    };
    auto dead_letter = [&](std::string reason, int attempts) {
      if (dead_letter_failed.count(i)) {
        retry(Status::Transient("dead letter not published: " + reason), false);
        return;
      }
      plan.steps[i] = Step::kDeadLetter;
      plan.reasons[i] = std::move(reason);
      plan.attempts[i] = attempts;
      plan.commit[m.tp] = m.offset + 1;
      plan.states.erase(m.tp);
    };

    if (s.ok()) {
      plan.steps[i] = Step::kCommit;
      plan.commit[m.tp] = m.offset + 1;
      plan.states.erase(m.tp);
    } else if (s.invalid()) {
      dead_letter(s.message(), prior.failures + 1);
    } else if (s.internal()) {
      if (prior.internal_failures + 1 >= policy.max_attempts)
        dead_letter("failed " + std::to_string(prior.internal_failures + 1) + " times: " + s.message(),
                    prior.failures + 1);
      else
        retry(s, true);
    } else if (s.transient()) {
      retry(s, false);
    } else {
      plan.steps[i] = Step::kStop;
      plan.stop = s;
    }
  }
  return plan;
}

}  // namespace sre
