#pragma once
// The action runner: a thread of sre-remediation that carries out approved actions and watches
// what they did (docs/architecture.md "Remediation actions"). Every pass, from the actions table:
//   1. EXECUTING for longer than the executors' longest timeout: in doubt (a crash between the
//      call and its record) → ESCALATED, never repeated;
//   2. AWAITING_APPROVAL past expires_at (wall clock) → ESCALATED;
//   3. APPROVED → the guards (cooldown, circuit breaker, concurrency caps, hourly cap; decided
//      under one advisory lock so two replicas cannot both pass a cap) → BLOCKED + escalated, or
//      EXECUTING (committed before the call) → the executor → EXECUTED / DRY_RUN / FAILED;
//   4. EXECUTED → Verify() on the trigger series read from Redis → VERIFIED, or FAILED: undone
//      where reversible, and escalated.
// Event time (the guards' windows, verification) is the service's newest telemetry time from
// detection's clock (keys::kServiceClock); only the approval TTL and the in-doubt timeout use
// the wall clock.
#include <atomic>
#include <chrono>
#include <map>
#include <string>

#include "agents/remediation/actions.h"
#include "agents/remediation/executor.h"
#include "shared/postgres.h"
#include "shared/redis.h"
#include "shared/remediation_actions.h"

namespace sre::remediation {

struct RunnerOptions {
  std::chrono::milliseconds interval{1000};         // REMEDIATION_INTERVAL_MS
  std::chrono::milliseconds in_doubt_after{120000};  // EXECUTING longer than this is in doubt
};

class ActionRunner {
 public:
  // `executors` by the policy's executor names; borrowed. Own connections (one thread).
  ActionRunner(RedisOptions redis, std::string database_url, const Policy& policy,
               std::map<std::string, Executor*> executors, RunnerOptions options);
  // One pass; the number of actions that changed status, or the store error that stopped it.
  Expected<int> RunOnce();
  void Run(const std::atomic<bool>& stop);

 private:
  Expected<int> EscalateInDoubt();
  Expected<int> ExpireApprovals();
  Expected<bool> ExecuteOne();
  Expected<int> VerifyExecuted();
  Status Finish(const ActionRecord& a, const ExecResult& r, int64_t event_ms);
  Expected<int64_t> EventNow(const std::string& service, int64_t floor_ms);
  Expected<int64_t> SeriesNow(const std::string& service, const std::string& metric, int64_t floor_ms);
  Executor* ExecutorFor(const ActionRecord& a);

  RedisClient redis_;
  Database db_;
  const Policy& policy_;
  std::map<std::string, Executor*> executors_;
  RunnerOptions options_;
};

// The agent name of the runner's audit rows.
inline constexpr const char* kRemediationAgent = "remediation";

}  // namespace sre::remediation
