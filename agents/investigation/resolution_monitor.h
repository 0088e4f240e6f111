#pragma once
// The resolution monitor: a thread of sre-investigation that re-reads every unresolved incident
// from PostgreSQL (so a restart loses nothing), checks its breached series in Redis, publishes
// incidents.resolved and releases the service's open-incident lock when they recovered
// (resolution.h: Decide) or when the incident's evidence stopped arriving (DecideSignalLost).
// Every pass visits each open incident on its own: one incident's failure is logged, counted and
// retried next pass, and never keeps another from resolving; the starting point rotates so no
// incident is always last. Every pass it puts back the lock of an open incident that lost it (a
// Redis restarted empty), and about once a minute it deletes locks whose incident is over.
#include <atomic>
#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "agents/investigation/resolution.h"
#include "shared/kafka.h"
#include "shared/postgres.h"
#include "shared/redis.h"

namespace sre::investigation {

struct MonitorOptions {
  std::chrono::milliseconds interval{1000};         // RESOLUTION_INTERVAL_MS
  std::chrono::milliseconds signal_lost{900000};    // RESOLUTION_SIGNAL_LOST_S
  std::chrono::milliseconds lock_sweep{60000};      // between sweeps of stale locks
  std::chrono::milliseconds missing_row_grace{120000};  // a lock whose incident has no row, kept this long
};

class ResolutionMonitor {
 public:
  // Uses its own Redis and PostgreSQL connections; `producer` is thread-safe and shared.
  ResolutionMonitor(RedisOptions redis, std::string database_url, Producer& producer, MonitorOptions options);
  // One pass over every unresolved incident. Returns how many were resolved; an error only when
  // the open incidents could not be listed, or every incident failed for a transient reason.
  Expected<int> CheckOnce();
  // Runs CheckOnce every interval until `stop`.
  void Run(const std::atomic<bool>& stop);

 private:
  struct Open {
    std::string id, service;
    int64_t detection_time = 0;
    RecoveryBaselines baselines;
    Status decoded = Status::Ok();  // not Ok: its baselines did not decode (the check fails, naming the field)
  };
  Expected<bool> CheckIncident(const Open& inc, int64_t now_wall_ms);
  Status Resolve(const Open& inc, const ResolutionDecision& d);
  Status SweepStaleLocks();
  Status RestoreLocks(const std::vector<Open>& open);

  RedisClient redis_;
  Database db_;
  Producer& producer_;
  MonitorOptions options_;
  uint64_t pass_ = 0;
  std::optional<int64_t> clock_ms_;                    // the pipeline's clock, read each pass
  std::map<std::string, SignalWatch> watches_;         // by incident id
  std::map<std::string, int64_t> failure_logged_ms_;   // by incident id: last failure log line
  std::map<std::string, int64_t> missing_since_;       // lock sweep state: incident id -> wall ms
  std::chrono::steady_clock::time_point next_sweep_{};
};

}  // namespace sre::investigation
