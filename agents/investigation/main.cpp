// sre-investigation: incidents.opened → rca.completed, and the resolution monitor →
// incidents.resolved (ARCHITECTURE §4, investigation).
#include <thread>

#include "agents/investigation/resolution_monitor.h"
#include "agents/investigation/service.h"
#include "agents/investigation/telemetry.h"
#include "shared/log.h"
#include "shared/messages.h"
#include "shared/runtime.h"

int main(int argc, char** argv) {
  using namespace sre;
  ExecutableSpec spec{
      "sre-investigation",
      "Investigation agent: for each incidents.opened, runs a tool-use root-cause analysis with the reasoning\n"
      "model (knowledge base, metrics, logs, deployments, and the operator's Prometheus and Loki when they\n"
      "are configured) or the deterministic ranking, and publishes rca.completed. Its resolution monitor\n"
      "publishes incidents.resolved when every breached series is back within its pre-incident baseline\n"
      "for 3 samples, or when its evidence stopped arriving for RESOLUTION_SIGNAL_LOST_S\n"
      "(resolution_method SIGNAL_LOST), and releases the service's incident lock.",
      9103,
      {"KNOWLEDGE_DIR            where knowledge/architecture/services.json lives (./knowledge)",
       "RESOLUTION_INTERVAL_MS   how often the monitor checks open incidents (1000)",
       "RESOLUTION_SIGNAL_LOST_S seconds without new evidence (in wall time, and in event time while\n"
       "                         the rest of the pipeline moves on) before an incident is resolved\n"
       "                         as SIGNAL_LOST, 10-86400 (900)",
       "PROMETHEUS_URL           the operator's Prometheus (http(s)://host:port); when set the RCA gets\n"
       "                         query_prometheus and the fallback re-runs an alert's expression (unset)",
       "PROMETHEUS_TIMEOUT_S     connect and read timeout of each Prometheus and Loki query, 1-120 (20)",
       "LOKI_URL                 the operator's Loki (http(s)://host:port); when set the RCA gets\n"
       "                         query_logs and the fallback reads the services' error lines (unset)",
       "LOKI_SERVICE_LABEL       the Loki stream label that names a service (service)",
       "LLM_PROVIDER, ANTHROPIC_API_KEY, OPENAI_BASE_URL, ... (see README: LLM modes)"}};
  return RunExecutable(argc, argv, spec, [](RunContext& ctx) -> Status {
    investigation::MonitorOptions monitor_options;
    monitor_options.interval = std::chrono::milliseconds(ctx.config.Int("RESOLUTION_INTERVAL_MS", 1000, 50, 600000));
    monitor_options.signal_lost = std::chrono::seconds(ctx.config.Int("RESOLUTION_SIGNAL_LOST_S", 900, 10, 86400));
    auto llm_config = llm::LlmConfig::FromConfig(ctx.config);
    auto telemetry_config = investigation::TelemetryConfig::FromConfig(ctx.config);
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
    std::unique_ptr<investigation::TelemetryQuery> prometheus, loki;
    investigation::TelemetryBackends telemetry;
    telemetry.loki_service_label = telemetry_config.loki_service_label;
    if (telemetry_config.prometheus_url) {
      prometheus = std::make_unique<investigation::PrometheusClient>(*telemetry_config.prometheus_url, telemetry_config.timeout);
      telemetry.prometheus = prometheus.get();
    }
    if (telemetry_config.loki_url) {
      loki = std::make_unique<investigation::LokiClient>(*telemetry_config.loki_url, telemetry_config.timeout);
      telemetry.loki = loki.get();
    }
    log::Get("investigation")
        ->info("telemetry tools: Prometheus {}, Loki {}", prometheus ? "on" : "off", loki ? "on" : "off");
    investigation::InvestigationService service(*deps->redis, *deps->db, *deps->producer, *catalog, *llm, telemetry);
    Status s = RunConsumer(ctx, *deps, "investigation", {topics::kIncidentsOpened}, service, 20);
    consumer_done = true;
    monitor_thread.join();
    return s;
  });
}
