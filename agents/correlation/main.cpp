// sre-correlation: anomalies.detected + raw.deployments → incidents.opened (ARCHITECTURE §4,
// correlation). Deployments go to a cache in Redis shared by replicas; each anomaly is scored
// against recent deployments, the dependency graph and open incidents on related services.
#include "agents/correlation/service.h"
#include "shared/messages.h"
#include "shared/runtime.h"

int main(int argc, char** argv) {
  using namespace sre;
  ExecutableSpec spec{
      "sre-correlation",
      "Correlation agent: consumes anomalies.detected and raw.deployments; correlates each anomaly with\n"
      "deployments of the last 60 minutes, degraded neighbours in the dependency graph and open incidents\n"
      "on related services; publishes incidents.opened.",
      9102,
      {"KNOWLEDGE_DIR            where knowledge/architecture/services.json lives (./knowledge)"}};
  return RunExecutable(argc, argv, spec, [](RunContext& ctx) -> Status {
    ctx.config.Validate();
    auto catalog = ServiceCatalog::Load(KnowledgeDir() + "/architecture/services.json");
    if (!catalog.ok()) throw ConfigError("KNOWLEDGE_DIR: " + catalog.status().message());
    auto deps = ConnectDependencies(ctx, /*redis=*/true, /*db=*/true);
    if (!deps.ok()) return deps.status();
    correlation::CorrelationService service(*deps->redis, *deps->db, *deps->producer, *catalog);
    return RunConsumer(ctx, *deps, "correlation", {topics::kAnomaliesDetected, topics::kRawDeployments}, service);
  });
}
