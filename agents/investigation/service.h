#pragma once
// The investigation agent's IO shells.
//   InvestigationService: incidents.opened → evidence from Redis, PostgreSQL and the knowledge
//     base → tool-use RCA with the reasoning model (or the deterministic ranking) → the incident
//     row and rca.completed, once per incident (ProcessOnce: a redelivery never calls the LLM).
//   ResolutionMonitor: a thread that re-reads every unresolved incident from PostgreSQL (so a
//     restart loses nothing), checks its breached series in Redis, and publishes
//     incidents.resolved and releases the open-incident lock when they recovered.
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

class ResolutionMonitor {
 public:
  // Uses its own Redis and PostgreSQL connections; `producer` is thread-safe and shared.
  ResolutionMonitor(RedisOptions redis, std::string database_url, Producer& producer,
                    std::chrono::milliseconds interval);
  // One pass over every unresolved incident. Returns how many were resolved.
  Expected<int> CheckOnce();
  // Runs CheckOnce every interval until `stop`.
  void Run(const std::atomic<bool>& stop);

 private:
  Status Resolve(const std::string& incident_id, const std::string& service, int64_t detection_time,
                 const ResolutionDecision& d);
  RedisClient redis_;
  Database db_;
  Producer& producer_;
  std::chrono::milliseconds interval_;
};

}  // namespace sre::investigation
