#pragma once
// What every executable does at start-up, in one place: --help, configuration (with a clear
// error naming the variable), logging, the /healthz + /metrics server, and exit codes
// (0 clean stop, 1 runtime failure, 2 bad configuration or arguments).
#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "shared/config.h"
#include "shared/http_server.h"
#include "shared/kafka.h"
#include "shared/postgres.h"
#include "shared/redis.h"
#include "shared/status.h"

namespace sre {

struct CommonConfig {
  std::string kafka_bootstrap;
  int kafka_fetch_wait_max_ms = 50;  // KAFKA_FETCH_WAIT_MAX_MS
  std::string redis_url;
  std::string database_url;
  int http_port = 0;
};

struct ExecutableSpec {
  std::string name;      // "sre-detection"
  std::string summary;   // one paragraph for --help
  int default_port = 0;  // HTTP_PORT default; 0: no HTTP server
  // Extra lines for --help: "VARIABLE  meaning (default)".
  std::vector<std::string> env_help;
};

struct RunContext {
  Config& config;
  CommonConfig common;
  HttpServer* http = nullptr;  // null when default_port == 0
  const std::atomic<bool>& stop;
  std::vector<std::string> args;  // positional arguments after the program name
};

// Parses --help, reads the common variables (KAFKA_BOOTSTRAP_SERVERS, REDIS_URL, DATABASE_URL,
// LOG_LEVEL, LOG_FORMAT, HTTP_PORT), sets up logging and signals, starts the HTTP server, then
// calls `body`. `body` reads its own variables and must call ctx.config.Validate() before doing
// work. Returns the process exit code.
int RunExecutable(int argc, char** argv, const ExecutableSpec& spec,
                  const std::function<Status(RunContext&)>& body);

// The stores and the producer an agent works with. Owned here; handlers borrow them.
struct AgentDeps {
  std::unique_ptr<RedisClient> redis;  // null unless requested
  std::unique_ptr<Database> db;        // null unless requested; migrations applied
  std::unique_ptr<Producer> producer;
};

// Connects what the agent needs (waiting with capped backoff while a store is down, until a stop
// is requested), applies the database migrations, and registers /healthz checks that use their
// own connections (the HTTP thread never shares the agent's).
Expected<AgentDeps> ConnectDependencies(RunContext& ctx, bool redis, bool db);

// The agent's consumer loop: group sre-<agent> on `topics`, until SIGTERM/SIGINT.
Status RunConsumer(RunContext& ctx, AgentDeps& deps, const std::string& agent,
                   const std::vector<std::string>& topics, MessageHandler& handler, size_t max_batch = 200);

}  // namespace sre
