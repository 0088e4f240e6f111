#pragma once
// The scenario API (GET /api/scenarios, POST /api/scenarios/{name}, POST /api/scenarios) as
// plain functions from request to reply, so it is tested without sockets; service.cpp binds
// them to the HTTP server.
// Thread-safe: every call takes `mu`, the same mutex the tick loop holds around the Simulator.
#include <mutex>
#include <string>

#include "shared/metrics.h"
#include "simulator/simulator.h"

namespace sre::sim {

struct HttpReply {
  int status = 200;
  std::string body;  // JSON
};

// Shown by GET /api/scenarios next to the catalogue.
struct RunInfo {
  double speed = 1;
  std::string schedule = "random";
};

class ScenarioApi {
 public:
  ScenarioApi(Simulator& sim, std::mutex& mu, MetricsRegistry& metrics, RunInfo info);

  // 200: {simulated_time_ms, live_start_ms, seed, run_id, speed, schedule, next_injection_ms,
  // active: [...], scenarios: [...]}.
  HttpReply List() const;
  // 201 with the active scenario; 404 unknown name; 409 the service is busy.
  HttpReply InjectNamed(const std::string& name);
  // 201; 400 {"error", "field"} for an invalid definition; 409 the service is busy.
  HttpReply InjectCustom(const std::string& body);

  // Counts an injection in failure_injections_total{scenario} (the random schedule's too).
  void CountInjection(const std::string& scenario);

 private:
  HttpReply Injected(const InjectResult& r);

  Simulator& sim_;
  std::mutex& mu_;
  MetricsRegistry& metrics_;
  RunInfo info_;
};

// JSON of an active scenario, as listed by GET /api/scenarios.
Json ActiveJson(const ActiveScenarioInfo& a);

}  // namespace sre::sim
