#pragma once
// The simulator's IO shell: reads its settings, drives the core's clock (a backfill of past
// ticks as fast as the broker takes them, then one tick per 10 simulated seconds, i.e. every
// 10 s / SIM_SPEED of wall time), publishes each tick's batch keyed by service, keeps the
// Prometheus gauges current and serves the scenario API.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "shared/config.h"
#include "shared/http_server.h"
#include "shared/kafka.h"
#include "shared/metrics.h"
#include "shared/services.h"
#include "shared/status.h"
#include "simulator/api.h"
#include "simulator/simulator.h"

namespace sre::sim {

struct ServiceOptions {
  SimulatorOptions core;
  double speed = 1;
  int64_t backfill_ms = 600000;
  std::string schedule = "random";
  int http_port = 8100;
  std::string knowledge_dir;
  Secret api_token;  // SIM_API_TOKEN: when set, every POST needs "Authorization: Bearer <token>"
  // SIM_PUBLISH=none: raw.* stay off the broker (only /metrics and sim.ground_truth), for a
  // Prometheus that scrapes /metrics and remote-writes through sre-ingest.
  bool publish_telemetry = true;
};

// Reads SIM_SPEED, SIM_SEED, SIM_SCHEDULE, SIM_PROFILE, SIM_PUBLISH, SIM_FIRST_INJECTION_S, SIM_BACKFILL_S,
// SIM_START_TIME_MS, SIM_API_TOKEN, HTTP_PORT and KNOWLEDGE_DIR. `wall_now_ms` and `random_seed`
// are the defaults for the start time and the seed. Problems are recorded in `config`; call
// config.Validate().
ServiceOptions ReadOptions(Config& config, int64_t wall_now_ms, uint64_t random_seed);

// The --help lines for the variables above.
std::vector<std::string> OptionsHelp();

// Encodes a tick's messages for the broker: raw.* and sim.ground_truth, keyed by service.
std::vector<OutboundMessage> ToMessages(const TickBatch& batch);

// A tick's messages waiting for their own time: a tick covers 10 simulated seconds and its log
// lines are spread over them, so publishing the whole tick at its start would put telemetry
// dated up to 10 s in the future on the wire (and every time derived from it ahead of the
// wall clock). Not thread-safe.
class ReleaseQueue {
 public:
  // Adds the batch's messages, each due at its own timestamp (a late sample, dated before the
  // batch, at the batch's).
  void Add(const TickBatch& batch);
  // Removes and returns, oldest first (ties in the order added), every message due at or
  // before `now_ms`.
  std::vector<OutboundMessage> TakeDue(int64_t now_ms);
  size_t size() const { return held_.size(); }

 private:
  struct Held {
    int64_t due_ms;
    uint64_t seq;
    OutboundMessage message;
  };
  std::vector<Held> held_;  // sorted by (due_ms, seq)
  uint64_t seq_ = 0;
};

class SimulatorService {
 public:
  // `producer` and `metrics` must outlive the service.
  SimulatorService(ServiceCatalog catalog, ServiceOptions options, Producer& producer,
                   MetricsRegistry& metrics);

  // Adds GET/POST /api/scenarios and the broker health check. Call before http.Start(). Also
  // sets server-wide behaviour of `http`, which the simulator owns: a body limit of
  // kMaxBodyBytes, a JSON body on every error reply, and a 404 that reads no body for any
  // other POST, PUT, PATCH or DELETE.
  void Register(HttpServer& http);

  // Publishes the backfill, then ticks live until `stop`. A transient publish failure is
  // retried with backoff (the same batch, so the same event ids); simulated time waits
  // meanwhile. Returns Ok on stop, or the producer's non-transient error.
  Status Run(const std::atomic<bool>& stop);

  ScenarioApi& api() { return *api_; }

 private:
  // The messages SIM_PUBLISH lets onto the broker.
  std::vector<OutboundMessage> Publishable(std::vector<OutboundMessage> messages) const;
  Status PublishWithRetry(const std::vector<OutboundMessage>& messages,
                          const std::atomic<bool>& stop);
  // Ticks the core under the lock and updates the gauges.
  TickBatch TickLocked(int64_t now_ms);

  ServiceOptions options_;
  std::mutex mu_;  // guards sim_
  std::unique_ptr<Simulator> sim_;
  std::unique_ptr<ScenarioApi> api_;
  Producer& producer_;
  MetricsRegistry& metrics_;
};

}  // namespace sre::sim
