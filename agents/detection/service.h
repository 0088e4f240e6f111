#pragma once
// The detection agent's IO shell: decode → score every sample (SeriesStore: one script call per
// sample, pipelined across the batch) → on a raise, classify and write the incident (PostgreSQL, idempotent) → publish
// anomalies.detected. ERROR/FATAL log lines are kept for investigation and matched against the
// pattern table. See ARCHITECTURE §4 (detection).
#include <functional>
#include <memory>
#include <string>

#include "agents/detection/baseline_script.h"
#include "agents/detection/detector.h"
#include "agents/detection/settings.h"
#include "shared/incident.h"
#include "shared/kafka.h"
#include "shared/postgres.h"
#include "shared/redis.h"
#include "shared/services.h"

namespace sre::detection {

// Classification hook: the LLM-backed classifier, or nullptr for the rule-based fallback only.
// Returns nullopt when the model is unavailable or its answer invalid (the fallback then runs).
using Classifier = std::function<std::optional<Classification>(const AnomalyFacts&, Json& audit)>;

// Messages handed to HandleBatch at most at once: one Redis pipeline of this many script calls.
inline constexpr size_t kConsumeBatch = 2000;

class DetectionService : public MessageHandler {
 public:
  DetectionService(RedisClient& redis, Database& db, Producer& producer, const ServiceCatalog& catalog,
                   const DetectionSettings& settings, Classifier classifier = nullptr);

  Status Handle(const InboundMessage& message) override;
  std::vector<Status> HandleBatch(std::span<const InboundMessage> batch) override;

 private:
  struct Raised;
  Status OnRaise(const Raised& r);
  Status OnAttach(const Raised& r);
  static TriggerBaseline BaselineEntry(const Raised& r);
  Classification Classify(const AnomalyFacts& facts, Json& audit, std::string& method);

  RedisClient& redis_;
  Database& db_;
  Producer& producer_;
  SeriesStore series_;
  const ServiceCatalog& catalog_;
  const DetectionSettings& settings_;
  Classifier classifier_;
};

}  // namespace sre::detection
