// sre-detection: raw.metrics + raw.logs → anomalies.detected (ARCHITECTURE §4, detection).
// Each sample is scored in one Redis round trip against the rolling baseline of its series; a
// sustained breach opens an incident (one per service at a time) or attaches to the open one.
#include "agents/detection/backtest.h"
#include "agents/detection/classifier.h"
#include "agents/detection/service.h"
#include "shared/messages.h"
#include "shared/runtime.h"

int main(int argc, char** argv) {
  using namespace sre;
  if (argc > 1 && std::string(argv[1]) == "backtest") return detection::BacktestMain(argc - 1, argv + 1);
  ExecutableSpec spec{
      "sre-detection",
      "Detection agent: consumes raw.metrics and raw.logs, keeps a rolling baseline per (service, metric)\n"
      "in Redis, raises anomalies.detected for sustained z-score breaches and matching ERROR/FATAL log\n"
      "lines, and writes the incident row. Offline tuning: sre-detection backtest --help.",
      9101,
      {"DETECTION_CONFIG         per-metric settings and log patterns (infra/detection/detection.json)",
       "KNOWLEDGE_DIR            where knowledge/architecture/services.json lives (./knowledge)",
       "LLM_PROVIDER, ANTHROPIC_API_KEY, OPENAI_BASE_URL, ... (see README: LLM modes)"}};
  return RunExecutable(argc, argv, spec, [](RunContext& ctx) -> Status {
    std::string settings_path = ctx.config.String("DETECTION_CONFIG", detection::DefaultSettingsPath());
    auto llm_config = llm::LlmConfig::FromConfig(ctx.config);
    ctx.config.Validate();
    auto settings = detection::DetectionSettings::Load(settings_path);
    if (!settings.ok()) throw ConfigError("DETECTION_CONFIG=" + settings_path + ": " + settings.status().message());
    auto catalog = ServiceCatalog::Load(KnowledgeDir() + "/architecture/services.json");
    if (!catalog.ok()) throw ConfigError("KNOWLEDGE_DIR: " + catalog.status().message());

    auto deps = ConnectDependencies(ctx, /*redis=*/true, /*db=*/true);
    if (!deps.ok()) return deps.status();
    auto llm = llm::MakeClient(llm_config);
    detection::DetectionService service(*deps->redis, *deps->db, *deps->producer, *catalog, *settings,
                                        detection::MakeLlmClassifier(*llm, std::chrono::seconds(8)));
    return RunConsumer(ctx, *deps, "detection", {topics::kRawMetrics, topics::kRawLogs}, service,
                       detection::kConsumeBatch);
  });
}
