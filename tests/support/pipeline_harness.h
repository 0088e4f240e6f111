#pragma once
// The whole pipeline for end-to-end tests: seeds the knowledge base, then runs the six agents, the
// simulator and (optionally) sre-api as real processes on the stack of SRE_STACK_ENV, each with its
// log in `logs_dir`. Everything started is stopped (SIGTERM, then SIGKILL) by Stop() or
// destruction.
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "shared/json_codec.h"
#include "tests/support/process.h"
#include "tests/support/test_stack.h"

namespace sre::testing {

struct PipelineOptions {
  std::string logs_dir;   // created if missing
  double sim_speed = 30;  // SIM_SPEED
  std::string sim_schedule = "off";
  std::string sim_seed = "20261123";
  int sim_backfill_s = 900;
  bool with_api = false;                         // also start sre-api on a free port
  bool with_ingest = false;                      // also start sre-ingest on a free port
  std::map<std::string, std::string> extra_env;  // added to every process's environment
  // Added to one process's environment ("detection", ..., "simulator", "api"), after extra_env.
  std::map<std::string, std::map<std::string, std::string>> process_env;
  // The stack to run on; default: the ctest fixture's (SRE_STACK_ENV).
  std::optional<StackEnv> stack;
};

class PipelineHarness {
 public:
  explicit PipelineHarness(PipelineOptions options);
  ~PipelineHarness();
  PipelineHarness(const PipelineHarness&) = delete;
  PipelineHarness& operator=(const PipelineHarness&) = delete;

  // Seeds the knowledge base and starts every process; false (with `error`) when seeding fails.
  bool Start(std::string* error);
  void Stop();

  int sim_port() const { return sim_port_; }
  int api_port() const { return api_port_; }
  int ingest_port() const { return ingest_port_; }
  const std::map<std::string, std::string>& env() const { return env_; }
  Process& process(const std::string& name) { return *processes_.at(name); }
  const std::map<std::string, std::unique_ptr<Process>>& processes() const { return processes_; }
  // A crash and a restart: SIGKILL, then the same executable with the same environment.
  void Restart(const std::string& name);

  // The simulator's HTTP API (GET or POST with an empty body); null JSON when unreachable.
  Json SimApi(const std::string& method, const std::string& path, int* status = nullptr) const;
  // The simulator's simulated clock (Unix ms); 0 until it answers.
  int64_t SimNow() const;

  // Every process serves /healthz and /metrics on a port of its own (HTTP_PORT), known here.
  int http_port(const std::string& name) const { return http_ports_.at(name); }
  // GET /healthz of a process: the HTTP status, 0 when it does not answer within `timeout`.
  int HealthStatus(const std::string& name, std::chrono::milliseconds timeout = std::chrono::seconds(5)) const;
  // GET /metrics of a process; empty when it does not answer.
  std::string MetricsText(const std::string& name) const;
  const StackEnv& stack() const { return stack_; }

  static const std::vector<std::string>& Agents();

 private:
  void StartProcess(const std::string& name, const std::string& exe,
                    std::map<std::string, std::string> env);

  PipelineOptions options_;
  StackEnv stack_;
  std::map<std::string, int> http_ports_;
  std::string bin_, source_;
  int sim_port_ = 0, api_port_ = 0, ingest_port_ = 0;
  std::map<std::string, std::string> env_;
  std::vector<std::string> order_;
  std::map<std::string, std::unique_ptr<Process>> processes_;
  std::map<std::string, std::pair<std::string, std::map<std::string, std::string>>> launch_;  // exe, env
};

}  // namespace sre::testing
