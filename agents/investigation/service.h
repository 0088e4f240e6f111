#pragma once
// The investigation agent's IO shells.
//   InvestigationService: incidents.opened → evidence from Redis, PostgreSQL and the knowledge
//     base → tool-use RCA with the reasoning model (or the deterministic ranking) → the incident
//     row and rca.completed, once per incident (ProcessOnce: a redelivery never calls the LLM).
//     With a Prometheus and/or Loki configured (issue 17) the model has query_prometheus /
//     query_logs, and the fallback re-runs an alert's expression and reads the services' error
//     lines from Loki; its queries are recorded in tool_calls like the model's. A backend that
//     is down or slow never fails the RCA.
//   The resolution monitor, the executable's other half, is in resolution_monitor.h.
#include <atomic>
#include <memory>
#include <string>

#include "agents/investigation/rca.h"
#include "agents/investigation/resolution.h"
#include "agents/investigation/telemetry.h"
#include "shared/kafka.h"
#include "shared/llm/client.h"
#include "shared/postgres.h"
#include "shared/redis.h"
#include "shared/services.h"

namespace sre::investigation {

// The operator's telemetry backends; null when not configured. Not owned; they must outlive the
// service and be thread-safe.
struct TelemetryBackends {
  TelemetryQuery* prometheus = nullptr;
  TelemetryQuery* loki = nullptr;
  std::string loki_service_label = "service";  // the stream label naming a service
};

class InvestigationService : public MessageHandler {
 public:
  InvestigationService(RedisClient& redis, Database& db, Producer& producer, const ServiceCatalog& catalog,
                       llm::Client& llm, TelemetryBackends telemetry = {});
  Status Handle(const InboundMessage& message) override;

 private:
  Status OnOpened(const IncidentOpened& o);

  RedisClient& redis_;
  Database& db_;
  Producer& producer_;
  const ServiceCatalog& catalog_;
  llm::Client& llm_;
  TelemetryBackends telemetry_;
};

}  // namespace sre::investigation
