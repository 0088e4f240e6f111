#pragma once
// The investigation agent's IO shells.
//   InvestigationService: incidents.opened → evidence from Redis, PostgreSQL and the knowledge
//     base → tool-use RCA with the reasoning model (or the deterministic ranking) → the incident
//     row and rca.completed, once per incident (ProcessOnce: a redelivery never calls the LLM).
//   The resolution monitor, the executable's other half, is in resolution_monitor.h.
#include <atomic>
#include <memory>
#include <string>

#include "agents/investigation/rca.h"
#include "agents/investigation/resolution.h"
#include "shared/kafka.h"
#include "shared/llm/client.h"
#include "shared/postgres.h"
#include "shared/redis.h"
#include "shared/services.h"

namespace sre::investigation {

class InvestigationService : public MessageHandler {
 public:
  InvestigationService(RedisClient& redis, Database& db, Producer& producer, const ServiceCatalog& catalog,
                       llm::Client& llm);
  Status Handle(const InboundMessage& message) override;

 private:
  Status OnOpened(const IncidentOpened& o);

  RedisClient& redis_;
  Database& db_;
  Producer& producer_;
  const ServiceCatalog& catalog_;
  llm::Client& llm_;
};

}  // namespace sre::investigation
