#pragma once
// The correlation agent's IO shell: raw.deployments → the shared deployment cache in Redis;
// anomalies.detected → read the neighbourhood from Redis → Correlate() → update the incident
// (PostgreSQL, idempotent) → publish incidents.opened.
#include "agents/correlation/correlator.h"
#include "shared/kafka.h"
#include "shared/postgres.h"
#include "shared/redis.h"

namespace sre::correlation {

class CorrelationService : public MessageHandler {
 public:
  CorrelationService(RedisClient& redis, Database& db, Producer& producer, const ServiceCatalog& catalog);
  Status Handle(const InboundMessage& message) override;

 private:
  Status OnDeployment(const RawDeployment& d);
  Status OnAnomaly(const AnomalyDetected& a);
  Expected<CorrelationInput> Gather(const AnomalyDetected& a);

  RedisClient& redis_;
  Database& db_;
  Producer& producer_;
  const ServiceCatalog& catalog_;
};

}  // namespace sre::correlation
