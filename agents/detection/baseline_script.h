#pragma once
// The online half of the detection core: a Redis Lua script that, in one round trip per sample,
// appends the sample to the series history, scores it against the rolling baseline exactly as
// Observe() does, admits it to the baseline only when normal, and — on a raise — takes the
// service's open-incident lock (or reports the incident already holding it). A sample whose
// timestamp is already in the history returns its stored verdict and changes nothing, so a
// redelivered message has no new effect.
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "agents/detection/detector.h"
#include "shared/redis.h"

namespace sre::detection {

const RedisScript& BaselineScript();

struct SampleCall {
  std::string service, metric;
  int64_t ts = 0;
  double value = 0;
  std::string candidate_incident_id;  // used if this sample raises and the lock is free
};

// The KEYS and ARGV of one EVALSHA.
std::pair<std::vector<std::string>, std::vector<std::string>> BaselineScriptArgs(const SampleCall& call,
                                                                                 const MetricSettings& m);

struct OnlineVerdict {
  bool duplicate = false;  // the sample was seen before; this is the stored verdict
  Verdict verdict;
  // On a raise: "new" (this sample opened the incident) or "attach" (another one was open).
  std::string incident_decision, incident_id;
  std::vector<std::pair<int64_t, double>> recent;  // newest last, on a raise
};

// Parses the script's reply. Status::Transient for a Redis error reply.
Expected<OnlineVerdict> ParseBaselineReply(const RedisReply& reply);

}  // namespace sre::detection
