#pragma once
// The online half of the detection core: the series states live in Redis, the scoring runs here
// (Observe(), the same code as the backtest), and one Lua script per sample records the result
// atomically — compare-and-set of the series state, the sample in the series history and, on a
// raise, the service's open-incident lock. States are cached in the process, so a sample costs
// one script call, pipelined across the batch: one round trip per batch, plus one GET per series
// the process has not seen yet. When another consumer wrote the state in between (a rebalance)
// the script refuses the write and returns the current state; the sample is scored again on it.
// A sample whose timestamp is already in the history returns its stored verdict and changes
// nothing, so a redelivered message has no new effect.
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
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
  // Used if this sample raises and the lock is free; empty: CandidateIncidentId(), computed only
  // for a raising sample.
  std::string candidate_incident_id;
};

struct OnlineVerdict {
  bool duplicate = false;  // the sample was seen before; this is the stored verdict
  Verdict verdict;
  // On a raise: "new" (this sample opened the incident) or "attach" (another one was open).
  std::string incident_decision, incident_id;
  std::vector<std::pair<int64_t, double>> recent;  // newest last, on a raise
};

// The id a raise of this sample proposes for a new incident: a name-based UUID of
// "incident/<service>/<metric>/<ts>", so a redelivered raise proposes the same one.
std::string CandidateIncidentId(const SampleCall& call);

// The history member recording a verdict (see keys::SeriesHistory): "<ts>|<value>|<kind>" for
// warm-up and normal samples, else "...|<z>|<mean>|<std>|<n>|<run>|<threshold>|<score>" followed
// by "|<decision>|<incident>" (the script fills those in on a raise, empty otherwise).
std::string HistoryMember(int64_t ts, double value, const Verdict& v);
// A stored member back into a verdict (members of the former 10-field layout too).
Expected<OnlineVerdict> ParseHistoryMember(const std::string& member);

// Scores samples against the series states kept in Redis. Thread-safe.
class SeriesStore {
 public:
  explicit SeriesStore(RedisClient& redis) : redis_(redis) {}

  // Scores and records `calls` in order (several samples of one series may be in the batch).
  // One result per call; Status::Transient when Redis fails.
  std::vector<Expected<OnlineVerdict>> Score(const std::vector<SampleCall>& calls,
                                             const std::vector<const MetricSettings*>& settings);
  // Forgets the cached states (they are reloaded from Redis on the next sample).
  void Forget();

 private:
  struct Cached {
    SeriesState state;
    std::string token;  // the first bytes of the stored blob ("" when there is none)
  };
  RedisClient& redis_;
  std::mutex mu_;
  std::unordered_map<std::string, Cached> cache_;
};

}  // namespace sre::detection
