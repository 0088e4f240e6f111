// sre-remediation: rca.completed → remediation.plans, and the guarded actions of each plan
// (ARCHITECTURE §4, remediation; docs/architecture.md "Remediation actions").
#include <thread>

#include "agents/remediation/runner.h"
#include "agents/remediation/service.h"
#include "shared/log.h"
#include "shared/messages.h"
#include "shared/runtime.h"

int main(int argc, char** argv) {
  using namespace sre;
  ExecutableSpec spec{
      "sre-remediation",
      "Remediation agent: for each rca.completed, retrieves the runbooks for the anomaly type and root cause\n"
      "and publishes a prioritised plan (IMMEDIATE / WITHIN_15MIN / WITHIN_1HOUR) with rollback, owner and\n"
      "expected outcome per step: the reasoning model with validation, or the runbook-driven fallback.\n"
      "It proposes the action that fits the root cause and, within the mode and the policy's guards\n"
      "(confidence, corroboration, approval, cooldown, circuit breaker, caps), executes it, verifies that\n"
      "the trigger metric went back toward its baseline, and undoes and escalates when it did not.",
      9104,
      {"KNOWLEDGE_DIR            where knowledge/architecture/services.json lives (./knowledge)",
       "REMEDIATION_MODE         off, dry-run, approve or auto (approve)",
       "REMEDIATION_POLICY       the policy file: actions, executors, guards (infra/remediation/policy.json)",
       "SIMULATOR_URL            the simulator executor's sre-simulator (http://localhost:8100)",
       "SIM_API_TOKEN            the simulator's bearer token, when it has one (none)",
       "REMEDIATION_INTERVAL_MS  how often the action runner looks for work, 50-60000 (1000)",
       "LLM_PROVIDER, ANTHROPIC_API_KEY, OPENAI_BASE_URL, ... (see README: LLM modes)"}};
  return RunExecutable(argc, argv, spec, [](RunContext& ctx) -> Status {
    auto llm_config = llm::LlmConfig::FromConfig(ctx.config);
    const std::string mode_name = ctx.config.Choice("REMEDIATION_MODE", "approve", {"off", "dry-run", "approve", "auto"});
    const std::string policy_path = ctx.config.String("REMEDIATION_POLICY", remediation::DefaultPolicyPath());
    remediation::SimulatorExecutorConfig sim;
    sim.url = ctx.config.Url("SIMULATOR_URL", "http://localhost:8100", {"http", "https"});
    sim.token = ctx.config.SecretValue("SIM_API_TOKEN").reveal();
    remediation::RunnerOptions runner_options;
    runner_options.interval = std::chrono::milliseconds(ctx.config.Int("REMEDIATION_INTERVAL_MS", 1000, 50, 60000));
    ctx.config.Validate();
    auto catalog = ServiceCatalog::Load(KnowledgeDir() + "/architecture/services.json");
    if (!catalog.ok()) throw ConfigError("KNOWLEDGE_DIR: " + catalog.status().message());
    auto policy = remediation::LoadPolicy(policy_path);
    if (!policy.ok()) throw ConfigError("REMEDIATION_POLICY: " + policy.status().message());
    // The executors the policy names, built (and their configuration checked) at start-up.
    std::map<std::string, std::unique_ptr<remediation::Executor>> owned;
    std::map<std::string, remediation::Executor*> executors;
    for (const auto& [name, ep] : policy->executors) {
      const std::string path = "policy.executors." + name;
      if (ep.type == "simulator") {
        owned[name] = remediation::MakeSimulatorExecutor(sim);
      } else if (ep.type == "webhook") {
        auto c = remediation::ParseWebhookConfig(ep.config, path);
        if (!c.ok()) throw ConfigError("REMEDIATION_POLICY: " + c.status().message());
        owned[name] = remediation::MakeWebhookExecutor(*c);
      } else {
        auto c = remediation::ParseCommandConfig(ep.config, path);
        if (!c.ok()) throw ConfigError("REMEDIATION_POLICY: " + c.status().message());
        owned[name] = remediation::MakeCommandExecutor(*c);
      }
      executors[name] = owned[name].get();
    }
    const remediation::Mode mode = *remediation::ParseMode(mode_name);
    log::Get("remediation")
        ->info("remediation mode {}, policy {} ({} executors)", mode_name, policy_path, executors.size());
    auto llm = llm::MakeClient(llm_config);
    auto deps = ConnectDependencies(ctx, /*redis=*/true, /*db=*/true);
    if (!deps.ok()) return deps.status();
    remediation::RemediationService service(*deps->db, *deps->producer, *catalog, *llm,
                                            remediation::ActionSettings{mode, &*policy, executors});
    // The runner works even in mode off: approvals given before a switch to off still expire,
    // and actions in doubt are still escalated.
    remediation::ActionRunner runner(*ParseRedisUrl(ctx.common.redis_url), ctx.common.database_url, *policy, executors,
                                     runner_options);
    std::atomic<bool> consumer_done{false};
    std::thread runner_thread([&] { runner.Run(consumer_done); });
    Status s = RunConsumer(ctx, *deps, "remediation", {topics::kRcaCompleted}, service, 20);
    consumer_done = true;
    runner_thread.join();
    return s;
  });
}
