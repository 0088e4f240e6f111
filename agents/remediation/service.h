#pragma once
// The remediation agent's IO shell: rca.completed → runbooks from the knowledge base → a plan
// (the reasoning model with schema validation, or BuildPlan) → the incident row and
// remediation.plans, once per incident.
#include <map>

#include "agents/remediation/actions.h"
#include "agents/remediation/executor.h"
#include "agents/remediation/planner.h"
#include "shared/kafka.h"
#include "shared/llm/client.h"
#include "shared/postgres.h"

namespace sre::remediation {

// How the plan's actions are guarded (issue 18): the mode, the policy file and the executors by
// the policy's names (to know which actions they can carry out). Default: mode off, no actions.
struct ActionSettings {
  Mode mode = Mode::kOff;
  const Policy* policy = nullptr;
  std::map<std::string, Executor*> executors;
};

class RemediationService : public MessageHandler {
 public:
  RemediationService(Database& db, Producer& producer, const ServiceCatalog& catalog, llm::Client& llm,
                     ActionSettings actions = {});
  Status Handle(const InboundMessage& message) override;

 private:
  Status OnRca(const RcaCompleted& rca);
  std::optional<RemediationPlan> AskModel(const PlanInput& in, const RemediationPlan& draft, Json& audit,
                                          std::vector<StepRequest>& requests);
  // Proposes the plan's guarded actions in the plan's transaction: rows, ACTION_* events, and
  // the plan's `actions` summary.
  void ProposeActions(pqxx::work& tx, const PlanInput& in, const std::vector<std::string>& affected,
                      RemediationPlan& plan, const std::vector<StepRequest>& requests);

  Database& db_;
  Producer& producer_;
  const ServiceCatalog& catalog_;
  llm::Client& llm_;
  ActionSettings actions_;
};

}  // namespace sre::remediation
