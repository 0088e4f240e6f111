#include "shared/runtime.h"

#include <iostream>
#include <mutex>
#include <thread>

#include "shared/kafka.h"
#include "shared/log.h"
#include "shared/messages.h"
#include "shared/metrics.h"

namespace sre {
namespace {

void PrintHelp(const ExecutableSpec& spec) {
  std::cout << "Usage: " << spec.name << " [--help]\n\n"
            << spec.summary << "\n\n"
            << "Environment (a .env file in the working directory is read too):\n"
            << "  KAFKA_BOOTSTRAP_SERVERS  broker list (localhost:9092)\n"
            << "  KAFKA_FETCH_WAIT_MAX_MS  longest a consumer's fetch waits at the broker for data (50; the\n"
            << "                           native stack sets 10: sre-devbroker always waits it out)\n"
            << "  REDIS_URL                redis://localhost:6379/0\n"
            << "  DATABASE_URL             postgresql://sre:sre@localhost:5432/sre\n"
            << "  LOG_LEVEL                trace|debug|info|warn|error (info)\n"
            << "  LOG_FORMAT               text|json (text)\n";
  if (spec.default_port)
    std::cout << "  HTTP_PORT                /healthz and /metrics (" << spec.default_port << ")\n";
  for (const auto& line : spec.env_help) std::cout << "  " << line << "\n";
}

}  // namespace

int RunExecutable(int argc, char** argv, const ExecutableSpec& spec,
                  const std::function<Status(RunContext&)>& body) {
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      PrintHelp(spec);
      return 0;
    }
    args.push_back(a);
  }
  try {
    Config config = Config::FromEnvironment();
    std::string level =
        config.Choice("LOG_LEVEL", "info", {"trace", "debug", "info", "warn", "error"});
    std::string format = config.Choice("LOG_FORMAT", "text", {"text", "json"});
    CommonConfig common;
    common.kafka_bootstrap = config.String("KAFKA_BOOTSTRAP_SERVERS", "localhost:9092");
    common.kafka_fetch_wait_max_ms = static_cast<int>(config.Int("KAFKA_FETCH_WAIT_MAX_MS", 50, 1, 10000));
    common.redis_url = config.Url("REDIS_URL", "redis://localhost:6379/0", {"redis"});
    common.database_url = config.Url("DATABASE_URL", "postgresql://sre:sre@localhost:5432/sre",
                                     {"postgresql", "postgres"});
    if (spec.default_port) common.http_port = config.Port("HTTP_PORT", spec.default_port, true);
    log::Init(format == "json" ? log::Format::kJson : log::Format::kText, level);
    auto logger = log::Get(spec.name);
    const auto& stop = InstallStopSignals();

    std::unique_ptr<HttpServer> http;
    if (spec.default_port) {
      http = std::make_unique<HttpServer>(Metrics());
    }
    RunContext ctx{config, common, http.get(), stop, args};
    // The body validates its own variables before it starts the server or any work; start the
    // HTTP server lazily from here once the common settings are known to be valid.
    config.Validate();
    if (http) {
      int port = http->Start("0.0.0.0", common.http_port);
      if (port < 0) {
        std::cerr << spec.name << ": cannot listen on HTTP_PORT=" << common.http_port
                  << " (in use?)\n";
        return 2;
      }
      logger->info("serving /healthz and /metrics on port {}", port);
    }
    Status s = body(ctx);
    if (http) http->Stop();
    if (!s.ok()) {
      logger->error("{}", s.ToString());
      return 1;
    }
    return 0;
  } catch (const ConfigError& e) {
    std::cerr << spec.name << ": " << e.what() << "\n";
    return 2;
  }
}

namespace {

// A client used from the HTTP thread only, one check at a time.
template <typename Client>
struct Guarded {
  template <typename Arg>
  explicit Guarded(Arg arg) : client(std::move(arg)) {}
  std::mutex mu;
  Client client;
};

// Retries `attempt` with capped backoff until it succeeds or a stop is requested.
Status WaitFor(const std::string& what, RunContext& ctx, const std::function<Status()>& attempt) {
  auto logger = log::Get("runtime");
  for (int i = 0;; ++i) {
    Status s = attempt();
    if (s.ok() || !s.transient()) return s;
    if (ctx.stop.load()) return Status::Fatal("stopped while waiting for " + what);
    auto delay = Backoff(i, std::chrono::milliseconds(250), std::chrono::seconds(5));
    logger->warn("waiting for {}: {} (retry in {} ms)", what, s.message(), delay.count());
    for (auto waited = std::chrono::milliseconds(0); waited < delay && !ctx.stop.load();
         waited += std::chrono::milliseconds(50))
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace

Expected<AgentDeps> ConnectDependencies(RunContext& ctx, bool redis, bool db) {
  AgentDeps deps;
  KafkaOptions kafka;
  kafka.bootstrap_servers = ctx.common.kafka_bootstrap;
  auto producer = Producer::Create(kafka);
  if (!producer.ok()) return producer.status();
  deps.producer = std::move(producer).value();
  if (ctx.http) {
    Producer* p = deps.producer.get();
    ctx.http->AddHealthCheck("kafka", [p] { return p->CheckBroker(std::chrono::seconds(2)); });
  }
  if (redis) {
    auto options = ParseRedisUrl(ctx.common.redis_url);
    if (!options.ok()) return Status::Fatal("REDIS_URL: " + options.status().message());
    deps.redis = std::make_unique<RedisClient>(*options);
    if (Status s = WaitFor("redis", ctx, [&] {
          std::string problem = deps.redis->Ping();
          return problem.empty() ? Status::Ok() : Status::Transient(problem);
        });
        !s.ok())
      return s;
    if (ctx.http) {
      auto health = std::make_shared<Guarded<RedisClient>>(*options);
      ctx.http->AddHealthCheck("redis", [health] {
        std::lock_guard<std::mutex> lock(health->mu);
        return health->client.Ping();
      });
    }
  }
  if (db) {
    deps.db = std::make_unique<Database>(ctx.common.database_url);
    if (Status s = WaitFor("postgres", ctx, [&] { return deps.db->Migrate().status(); }); !s.ok()) return s;
    if (ctx.http) {
      auto health = std::make_shared<Guarded<Database>>(ctx.common.database_url);
      ctx.http->AddHealthCheck("postgres", [health] {
        std::lock_guard<std::mutex> lock(health->mu);
        return health->client.Ping();
      });
    }
  }
  return deps;
}

Status RunConsumer(RunContext& ctx, AgentDeps& deps, const std::string& agent, const std::vector<std::string>& topics,
                   MessageHandler& handler, size_t max_batch) {
  ConsumerOptions options;
  options.agent = agent;
  options.topics = topics;
  options.kafka.bootstrap_servers = ctx.common.kafka_bootstrap;
  options.max_batch = max_batch;
  options.kafka.properties["fetch.wait.max.ms"] = std::to_string(ctx.common.kafka_fetch_wait_max_ms);
  // Learn every pipeline topic's leaders now, not at the first publish (which would wait ~1 s).
  std::vector<std::string> all(std::begin(topics::kAll), std::end(topics::kAll));
  if (Status s = deps.producer->Prepare(all, std::chrono::seconds(5)); !s.ok())
    log::Get(agent)->warn("topic metadata not ready ({}); the first publish to each topic may be slow",
                          s.message());
  auto runner = ConsumerRunner::Create(options, *deps.producer);
  if (!runner.ok()) return runner.status();
  return (*runner)->Run(handler, ctx.stop);
}

}  // namespace sre
