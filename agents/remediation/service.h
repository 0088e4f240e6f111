#pragma once
// The remediation agent's IO shell: rca.completed → runbooks from the knowledge base → a plan
// (the reasoning model with schema validation, or BuildPlan) → the incident row and
// remediation.plans, once per incident.
#include "agents/remediation/planner.h"
#include "shared/kafka.h"
#include "shared/llm/client.h"
#include "shared/postgres.h"

namespace sre::remediation {

class RemediationService : public MessageHandler {
 public:
  RemediationService(Database& db, Producer& producer, const ServiceCatalog& catalog, llm::Client& llm);
  Status Handle(const InboundMessage& message) override;

 private:
  Status OnRca(const RcaCompleted& rca);
  std::optional<RemediationPlan> AskModel(const PlanInput& in, const RemediationPlan& draft, Json& audit);

  Database& db_;
  Producer& producer_;
  const ServiceCatalog& catalog_;
  llm::Client& llm_;
};

}  // namespace sre::remediation
