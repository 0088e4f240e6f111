// sre-remediation: rca.completed → remediation.plans (ARCHITECTURE §4, remediation).
#include "agents/remediation/service.h"
#include "shared/messages.h"
#include "shared/runtime.h"

int main(int argc, char** argv) {
  using namespace sre;
  ExecutableSpec spec{
      "sre-remediation",
      "Remediation agent: for each rca.completed, retrieves the runbooks for the anomaly type and root cause\n"
      "and publishes a prioritised plan (IMMEDIATE / WITHIN_15MIN / WITHIN_1HOUR) with rollback, owner and\n"
      "expected outcome per step: the reasoning model with validation, or the runbook-driven fallback.",
      9104,
      {"KNOWLEDGE_DIR            where knowledge/architecture/services.json lives (./knowledge)",
       "LLM_PROVIDER, ANTHROPIC_API_KEY, OPENAI_BASE_URL, ... (see README: LLM modes)"}};
  return RunExecutable(argc, argv, spec, [](RunContext& ctx) -> Status {
    auto llm_config = llm::LlmConfig::FromConfig(ctx.config);
    ctx.config.Validate();
    auto catalog = ServiceCatalog::Load(KnowledgeDir() + "/architecture/services.json");
    if (!catalog.ok()) throw ConfigError("KNOWLEDGE_DIR: " + catalog.status().message());
    auto llm = llm::MakeClient(llm_config);
    auto deps = ConnectDependencies(ctx, /*redis=*/false, /*db=*/true);
    if (!deps.ok()) return deps.status();
    remediation::RemediationService service(*deps->db, *deps->producer, *catalog, *llm);
    return RunConsumer(ctx, *deps, "remediation", {topics::kRcaCompleted}, service, 20);
  });
}
