// sre-simulator: six services' telemetry with failure scenarios and ground truth (issue 4).
#include <chrono>
#include <iostream>
#include <random>
#include <string_view>

#include "shared/kafka.h"
#include "shared/log.h"
#include "shared/metrics.h"
#include "shared/runtime.h"
#include "simulator/generate.h"
#include "simulator/service.h"

int main(int argc, char** argv) {
  // Offline generation: no broker, no HTTP (see simulator/generate.h).
  if (argc > 1 && std::string_view(argv[1]) == "generate")
    return sre::sim::GenerateCommand(std::vector<std::string>(argv + 2, argv + argc), std::cout,
                                     std::cerr);
  sre::ExecutableSpec spec;
  spec.name = "sre-simulator";
  spec.summary =
      "Simulates the six services of knowledge/architecture/services.json: metrics, logs and "
      "deployments every 10 simulated seconds on raw.metrics, raw.logs and raw.deployments, "
      "failure scenarios with ground truth on sim.ground_truth, /api/scenarios to list and "
      "inject them, and /api/actions for the remediation agent's actions. `sre-simulator "
      "generate --help`: write simulated days to a JSON-lines file offline.";
  // 0: the simulator starts its own shared HttpServer once its routes are registered.
  spec.default_port = 0;
  spec.env_help = sre::sim::OptionsHelp();
  return sre::RunExecutable(argc, argv, spec, [](sre::RunContext& ctx) -> sre::Status {
    auto wall_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
    std::random_device entropy;
    uint64_t seed = (static_cast<uint64_t>(entropy()) << 32) | entropy();
    sre::sim::ServiceOptions options = sre::sim::ReadOptions(ctx.config, wall_ms, seed);
    ctx.config.Validate();

    auto catalog = sre::ServiceCatalog::Load(options.knowledge_dir + "/architecture/services.json");
    if (!catalog.ok()) return sre::Status::Fatal(catalog.status().message());
    sre::KafkaOptions kafka;
    kafka.bootstrap_servers = ctx.common.kafka_bootstrap;
    auto producer = sre::Producer::Create(kafka, std::chrono::seconds(10));
    if (!producer.ok()) return producer.status();

    sre::sim::SimulatorService service(std::move(catalog).value(), options, **producer,
                                       sre::Metrics());
    sre::HttpServer http(sre::Metrics());
    service.Register(http);
    int port = http.Start("0.0.0.0", options.http_port);
    if (port < 0)
      return sre::Status::Fatal("cannot listen on HTTP_PORT=" + std::to_string(options.http_port));
    sre::log::Get("simulator")
        ->info("serving /healthz, /metrics, /api/scenarios and /api/actions on port {}", port);
    sre::Status status = service.Run(ctx.stop);
    http.Stop();
    return status;
  });
}
