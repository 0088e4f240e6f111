#include "shared/runtime.h"

#include <iostream>

#include "shared/kafka.h"
#include "shared/log.h"
#include "shared/metrics.h"

namespace sre {
namespace {

void PrintHelp(const ExecutableSpec& spec) {
  std::cout << "Usage: " << spec.name << " [--help]\n\n"
            << spec.summary << "\n\n"
            << "Environment (a .env file in the working directory is read too):\n"
            << "  KAFKA_BOOTSTRAP_SERVERS  broker list (localhost:9092)\n"
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

}  // namespace sre
