// sre-postmortem: incidents.resolved → postmortems.generated (ARCHITECTURE §4, postmortem).
#include "agents/postmortem/service.h"
#include "shared/messages.h"
#include "shared/runtime.h"

int main(int argc, char** argv) {
  using namespace sre;
  ExecutableSpec spec{
      "sre-postmortem",
      "Postmortem agent: for each incidents.resolved, waits (bounded) for the incident's RCA and plan, builds\n"
      "the timeline from agent_events and writes a blameless Markdown postmortem with action items; the\n"
      "incident is CLOSED and the postmortem joins the knowledge base for future investigations.",
      9106,
      {"KNOWLEDGE_DIR            where knowledge/architecture/services.json lives (./knowledge)",
       "POSTMORTEM_MAX_WAIT_S    how long to wait for a missing RCA or plan (120)",
       "LLM_PROVIDER, ANTHROPIC_API_KEY, OPENAI_BASE_URL, ... (see README: LLM modes)"}};
  return RunExecutable(argc, argv, spec, [](RunContext& ctx) -> Status {
    auto max_wait = std::chrono::seconds(ctx.config.Int("POSTMORTEM_MAX_WAIT_S", 120, 0, 86400));
    auto llm_config = llm::LlmConfig::FromConfig(ctx.config);
    ctx.config.Validate();
    auto catalog = ServiceCatalog::Load(KnowledgeDir() + "/architecture/services.json");
    if (!catalog.ok()) throw ConfigError("KNOWLEDGE_DIR: " + catalog.status().message());
    auto llm = llm::MakeClient(llm_config);
    auto deps = ConnectDependencies(ctx, /*redis=*/false, /*db=*/true);
    if (!deps.ok()) return deps.status();
    postmortem::PostmortemService service(*deps->db, *deps->producer, *catalog, *llm, max_wait);
    return RunConsumer(ctx, *deps, "postmortem", {topics::kIncidentsResolved}, service, 20);
  });
}
