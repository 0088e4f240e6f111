// sre-investigation: incidents.opened → rca.completed, and the resolution monitor →
// incidents.resolved (ARCHITECTURE §4, investigation).
#include <thread>

#include "agents/investigation/resolution_monitor.h"
#include "agents/investigation/service.h"
#include "shared/messages.h"
#include "shared/runtime.h"

int main(int argc, char** argv) {
  using namespace sre;
  ExecutableSpec spec{
      "sre-investigation",
      "Investigation agent: for each incidents.opened, runs a tool-use root-cause analysis with the reasoning\n"
      "model (knowledge base, metrics, logs, deployments) or the deterministic ranking, and publishes\n"
      "rca.completed. Its resolution monitor publishes incidents.resolved when every breached series is\n"
      "back within its pre-incident baseline for 3 samples, or when its evidence stopped arriving for\n"
      "RESOLUTION_SIGNAL_LOST_S (resolution_method SIGNAL_LOST), and releases the service's incident lock.",
      9103,
      {"KNOWLEDGE_DIR            where knowledge/architecture/services.json lives (./knowledge)",
       "RESOLUTION_INTERVAL_MS   how often the monitor checks open incidents (1000)",
       "RESOLUTION_SIGNAL_LOST_S seconds without new evidence (in wall time, and in event time while\n"
       "                         the rest of the pipeline moves on) before an incident is resolved\n"
       "                         as SIGNAL_LOST, 10-86400 (900)",
       "LLM_PROVIDER, ANTHROPIC_API_KEY, OPENAI_BASE_URL, ... (see README: LLM modes)"}};
  return RunExecutable(argc, argv, spec, [](RunContext& ctx) -> Status {
    investigation::MonitorOptions monitor_options;
    monitor_options.interval = std::chrono::milliseconds(ctx.config.Int("RESOLUTION_INTERVAL_MS", 1000, 50, 600000));
    monitor_options.signal_lost = std::chrono::seconds(ctx.config.Int("RESOLUTION_SIGNAL_LOST_S", 900, 10, 86400));
    auto llm_config = llm::LlmConfig::FromConfig(ctx.config);
    ctx.config.Validate();
    auto catalog = ServiceCatalog::Load(KnowledgeDir() + "/architecture/services.json");
    if (!catalog.ok()) throw ConfigError("KNOWLEDGE_DIR: " + catalog.status().message());
    auto llm = llm::MakeClient(llm_config);
    auto deps = ConnectDependencies(ctx, /*redis=*/true, /*db=*/true);
    if (!deps.ok()) return deps.status();

    investigation::ResolutionMonitor monitor(*ParseRedisUrl(ctx.common.redis_url), ctx.common.database_url,
                                             *deps->producer, monitor_options);
    // The monitor stops when the consumer does (a signal, or a fatal error).
    std::atomic<bool> consumer_done{false};
    std::thread monitor_thread([&] { monitor.Run(consumer_done); });
    investigation::InvestigationService service(*deps->redis, *deps->db, *deps->producer, *catalog, *llm);
    Status s = RunConsumer(ctx, *deps, "investigation", {topics::kIncidentsOpened}, service, 20);
    consumer_done = true;
    monitor_thread.join();
    return s;
  });
}
