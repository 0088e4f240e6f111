#include "agents/detection/service.h"

#include <algorithm>
#include <map>

#include "agents/detection/baseline_script.h"
#include "shared/text.h"
#include "shared/ids.h"
#include "shared/incident_store.h"
#include "shared/llm/client.h"
#include "shared/log.h"
#include "shared/messages.h"
#include "shared/metrics.h"
#include "shared/redis_keys.h"
#include "shared/units.h"

namespace sre::detection {
namespace {

constexpr const char* kAgent = "detection";
constexpr const char* kConsumer = "sre-detection";
constexpr int kRecentErrorsKept = 200;

// Log-pattern counterpart of the baseline script: take the service's open-incident lock for a
// new incident, or report the incident already holding it (once per pattern).
// KEYS: 1 lock, 2 last-pattern-ts. ARGV: 1 candidate id, 2 pattern, 3 event ts.
constexpr const char* kLogScript = R"lua(
local prev = tonumber(redis.call('GET', KEYS[2]) or '0')
if tonumber(ARGV[3]) > prev then redis.call('SET', KEYS[2], ARGV[3], 'EX', 86400) end
if redis.call('SET', KEYS[1], ARGV[1], 'NX') then
  redis.call('SADD', 'sre:incident:' .. ARGV[1] .. ':patterns', ARGV[2])
  return {'new', ARGV[1]}
end
local id = redis.call('GET', KEYS[1])
if id == ARGV[1] then return {'new', id} end
if redis.call('SADD', 'sre:incident:' .. id .. ':patterns', ARGV[2]) == 1 then
  return {'attach', id}
end
return {'repeat', id}
)lua";

const RedisScript& LogScript() {
  static const RedisScript s(kLogScript);
  return s;
}

Counter& AnomalyCounter(const std::string& decision) {
  return Metrics().GetCounter("sre_anomalies_total", "Anomalies raised: new incidents and attachments to open ones",
                              {{"decision", decision}});
}

}  // namespace

struct DetectionService::Raised {
  std::string service, trigger, incident_id;
  bool fresh = false;  // opened a new incident
  int64_t ts = 0;
  double observed = 0;
  Verdict verdict;
  AnomalyType type = AnomalyType::UNKNOWN;
  std::optional<double> ttf;
  std::string log_line, source_event_id;
  double threshold = 2.5;
  std::string direction = "up";
  std::string unit;
  std::vector<std::pair<int64_t, double>> recent;  // metrics
  std::string pattern_regex;                       // log patterns
  std::vector<std::string> more_lines;             // log patterns: other matching lines of the batch
};

DetectionService::DetectionService(RedisClient& redis, Database& db, Producer& producer, const ServiceCatalog& catalog,
                                   const DetectionSettings& settings, Classifier classifier)
    : redis_(redis),
      db_(db),
      producer_(producer),
      series_(redis),
      catalog_(catalog),
      settings_(settings),
      classifier_(std::move(classifier)) {}

Status DetectionService::Handle(const InboundMessage& message) {
  return HandleBatch(std::span<const InboundMessage>(&message, 1)).front();
}

std::vector<Status> DetectionService::HandleBatch(std::span<const InboundMessage> batch) {
  std::vector<Status> results(batch.size());
  std::vector<size_t> metric_index, pattern_index;
  std::vector<RawMetric> metrics_in;
  std::vector<RawLog> logs_in(batch.size());
  std::vector<const LogPattern*> log_patterns(batch.size(), nullptr);
  std::vector<ScriptCall> log_calls;
  std::vector<SampleCall> metric_calls;
  std::vector<const MetricSettings*> metric_settings;
  std::vector<std::vector<std::string>> error_cmds;
  std::map<std::string, int64_t> newest;  // per service, for the pipeline's clock (keys::kServiceClock)
  auto saw = [&](const std::string& service, int64_t ts) {
    auto [it, fresh] = newest.emplace(service, ts);
    if (!fresh) it->second = std::max(it->second, ts);
  };

  for (size_t i = 0; i < batch.size(); ++i) {
    const auto& m = batch[i];
    if (m.topic == topics::kRawMetrics) {
      auto metric = Decode<RawMetric>(m.payload);
      if (!metric.ok()) {
        results[i] = metric.status();
        continue;
      }
      // The candidate incident id is derived by the store, only for a sample that raises.
      SampleCall call{metric->source_service, metric->metric_name, metric->timestamp, metric->metric_value, {}};
      metric_calls.push_back(std::move(call));
      metric_settings.push_back(&settings_.For(metric->metric_name));
      metric_index.push_back(i);
      saw(metric->source_service, metric->timestamp);
      metrics_in.push_back(std::move(*metric));
    } else if (m.topic == topics::kRawLogs) {
      auto log_line = Decode<RawLog>(m.payload);
      if (!log_line.ok()) {
        results[i] = log_line.status();
        continue;
      }
      saw(log_line->source_service, log_line->timestamp);
      if (log_line->level == LogLevel::ERROR || log_line->level == LogLevel::FATAL) {
        Json entry = {{"ts", log_line->timestamp}, {"level", ToString(log_line->level)},
                      {"message", log_line->message}, {"trace_id", log_line->trace_id}};
        std::string key = keys::RecentErrors(log_line->source_service);
        error_cmds.push_back({"LPUSH", key, Dump(entry)});
        error_cmds.push_back({"LTRIM", key, "0", std::to_string(kRecentErrorsKept - 1)});
        error_cmds.push_back({"EXPIRE", key, "86400"});
        if (const auto* p = MatchLogPattern(settings_.log_patterns, log_line->level, log_line->message)) {
          log_patterns[i] = p;
          log_calls.push_back({{keys::OpenIncidentLock(log_line->source_service),
                                keys::LastPatternError(log_line->source_service)},
                               {UuidFromName("incident/" + log_line->source_service + "/log/" + log_line->event_id),
                                p->name, std::to_string(log_line->timestamp)}});
          pattern_index.push_back(i);
        }
      }
      logs_in[i] = std::move(*log_line);
    } else {
      results[i] = Status::Invalid("detection does not consume topic " + m.topic);
    }
  }

  auto fail_all = [&](const Status& s) {
    for (auto& r : results)
      if (r.ok()) r = s;
    return results;
  };

  // One round trip for every sample of the batch (plus one for series new to this process),
  // one for the log lines.
  std::vector<Expected<OnlineVerdict>> metric_verdicts;
  std::vector<RedisReply> log_replies;
  if (!metric_calls.empty()) metric_verdicts = series_.Score(metric_calls, metric_settings);
  if (!newest.empty()) {
    std::vector<std::string> zadd = {"ZADD", keys::kServiceClock, "GT"};
    for (const auto& [service, ts] : newest) {
      zadd.push_back(std::to_string(ts));
      zadd.push_back(service);
    }
    error_cmds.push_back(std::move(zadd));
  }
  if (!error_cmds.empty()) {
    auto r = redis_.Pipeline(error_cmds);
    if (!r.ok()) return fail_all(r.status());
  }
  if (!log_calls.empty()) {
    auto r = redis_.EvalPipeline(LogScript(), log_calls);
    if (!r.ok()) return fail_all(r.status());
    log_replies = std::move(r).value();
  }

  for (size_t k = 0; k < metric_index.size(); ++k) {
    size_t i = metric_index[k];
    const auto& v = metric_verdicts[k];
    if (!v.ok()) {
      results[i] = v.status();
      continue;
    }
    if (v->verdict.kind != VerdictKind::kRaise) continue;
    const RawMetric& m = metrics_in[k];
    const MetricSettings& ms = settings_.For(m.metric_name);
    Raised r;
    r.service = m.source_service;
    r.trigger = m.metric_name;
    r.incident_id = v->incident_id;
    r.fresh = v->incident_decision == "new";
    r.ts = m.timestamp;
    r.observed = m.metric_value;
    r.verdict = v->verdict;
    r.type = ms.anomaly_type;
    r.source_event_id = m.event_id;
    r.threshold = v->verdict.threshold > 0 ? v->verdict.threshold : ms.threshold_sigma;
    auto unit = m.labels.find("unit");
    r.unit = unit != m.labels.end() ? NormalizeUnit(unit->second) : "";
    if (r.unit.empty()) r.unit = DefaultUnit(m.metric_name);
    r.recent = v->recent;
    r.direction = ms.direction == Direction::kUp ? "up" : ms.direction == Direction::kDown ? "down" : "both";
    std::optional<double> limit = ms.saturation_limit;
    if (ms.pool_limit)
      if (const auto* svc = catalog_.Find(m.source_service)) limit = static_cast<double>(svc->db_pool_size);
    if (limit) r.ttf = TimeToFailure(v->recent, *limit);
    if (r.incident_id.empty()) continue;
    results[i] = r.fresh ? OnRaise(r) : OnAttach(r);
  }
  // How many lines of the batch matched each service's pattern, and a few distinct ones.
  struct Matches {
    int count = 0;
    std::vector<std::string> lines;
  };
  std::map<std::pair<std::string, std::string>, Matches> matches;
  for (size_t i : pattern_index) {
    Matches& mm = matches[{logs_in[i].source_service, log_patterns[i]->name}];
    ++mm.count;
    if (mm.lines.size() < 3 && std::find(mm.lines.begin(), mm.lines.end(), logs_in[i].message) == mm.lines.end())
      mm.lines.push_back(logs_in[i].message);
  }
  for (size_t k = 0; k < pattern_index.size(); ++k) {
    size_t i = pattern_index[k];
    const auto& reply = log_replies[k];
    if (reply.is_error()) {
      results[i] = Status::Transient("redis log script: " + reply.str);
      continue;
    }
    if (reply.elements.size() != 2 || reply.elements[0].str == "repeat") continue;
    const RawLog& l = logs_in[i];
    Raised r;
    r.service = l.source_service;
    r.trigger = "log:" + log_patterns[i]->name;
    r.incident_id = reply.elements[1].str;
    r.fresh = reply.elements[0].str == "new";
    r.ts = l.timestamp;
    const Matches& mm = matches[{l.source_service, log_patterns[i]->name}];
    r.observed = mm.count;
    r.unit = "lines";
    r.type = log_patterns[i]->anomaly_type;
    r.log_line = l.message;
    for (const auto& line : mm.lines)
      if (line != l.message) r.more_lines.push_back(line);
    r.pattern_regex = log_patterns[i]->regex_text;
    r.source_event_id = l.event_id;
    results[i] = r.fresh ? OnRaise(r) : OnAttach(r);
  }
  return results;
}

// The trigger's entry in incidents.baselines: what "recovered" means for it.
TriggerBaseline DetectionService::BaselineEntry(const Raised& r) {
  if (!r.log_line.empty()) {
    LogPatternBaseline p;
    p.pattern = r.trigger.substr(4);
    p.since = r.ts;
    p.unit = "lines";
    p.lines = r.observed;
    return TriggerBaseline{p};
  }
  MetricBaseline m;
  m.mean = r.verdict.mean;
  m.std = r.verdict.std;
  m.threshold = r.threshold;
  m.direction = r.direction;
  m.since = r.ts;
  m.unit = r.unit;
  return TriggerBaseline{m};
}

Classification DetectionService::Classify(const AnomalyFacts& facts, Json& audit, std::string& method) {
  if (classifier_) {
    if (auto c = classifier_(facts, audit)) {
      method = "LLM";
      return *c;
    }
  }
  llm::CountFallback(kAgent, "classification");
  method = "FALLBACK";
  return ClassifyFallback(facts);
}

Status DetectionService::OnRaise(const Raised& r) {
  log::LogScope scope("incident_id", r.incident_id);
  const ServiceInfo* svc = catalog_.Find(r.service);
  AnomalyFacts facts;
  facts.service = r.service;
  facts.criticality = svc ? svc->criticality : "P2";
  facts.trigger = r.trigger;
  facts.trigger_type = r.type;
  facts.observed = r.observed;
  facts.mean = r.verdict.mean;
  facts.std = r.verdict.std;
  facts.z = r.verdict.z;
  facts.time_to_failure_s = r.ttf;
  facts.log_line = r.log_line;
  facts.unit = r.unit;
  facts.ts = r.ts;
  facts.threshold_sigma = r.log_line.empty() ? r.threshold : 0;
  facts.recent = r.recent;
  facts.more_lines = r.more_lines;
  facts.pattern_regex = r.pattern_regex;
  facts.source_event_id = r.source_event_id;

  std::string event_id = UuidFromName("anomaly/" + r.incident_id);
  auto processed = ProcessOnce(db_, kConsumer, event_id, [&](pqxx::work& tx) -> Expected<std::vector<OutboundMessage>> {
    Json audit = Json::object();
    std::string method;
    Classification c = Classify(facts, audit, method);
    AnomalyDetected a;
    a.event_id = event_id;
    a.timestamp = r.ts;
    a.incident_id = r.incident_id;
    a.anomaly_type = c.type;
    a.severity = c.severity;
    a.service = r.service;
    a.trigger_metric = r.trigger;
    a.observed_value = r.observed;
    a.baseline_mean = r.verdict.mean;
    a.baseline_std = r.verdict.std;
    a.deviation_sigma = r.verdict.z;
    a.anomaly_score = r.log_line.empty() ? r.verdict.score : 0.9;
    a.time_to_failure_s = r.ttf;
    a.detection_time = r.ts;
    a.description = c.description;
    a.evidence = AnomalyEvidence(facts);
    a.unit = r.unit;
    InsertDetectedIncident(tx, a, r.trigger, BaselineEntry(r));
    RecordAgentEvent(tx, r.incident_id, kAgent, "ANOMALY_DETECTED",
                     Json{{"anomaly", ToJson(a)}, {"classification_method", method}, {"llm", audit}}, r.ts);
    return std::vector<OutboundMessage>{{topics::kAnomaliesDetected, r.incident_id, Encode(a)}};
  });
  if (!processed.ok()) return processed.status();
  if (Status s = producer_.PublishBatch(processed->outputs); !s.ok()) return s;
  if (processed->fresh) {
    AnomalyCounter("new").Inc();
    if (r.log_line.empty())
      log::Get(kAgent)->info("incident opened on {} by {} = {} (z={:.1f})", r.service, r.trigger,
                             WithUnit(r.observed, r.unit), r.verdict.z);
    else
      log::Get(kAgent)->info("incident opened on {} by {} ({} matched)", r.service, r.trigger,
                             WithUnit(r.observed, "lines"));
  }
  return Status::Ok();
}

Status DetectionService::OnAttach(const Raised& r) {
  log::LogScope scope("incident_id", r.incident_id);
  std::string event_id = UuidFromName("attach/" + r.incident_id + "/" + r.trigger + "/" + std::to_string(r.ts));
  auto processed = ProcessOnce(db_, kConsumer, event_id, [&](pqxx::work& tx) -> Expected<std::vector<OutboundMessage>> {
    AttachTrigger(tx, r.incident_id, r.trigger, BaselineEntry(r));
    RecordAgentEvent(tx, r.incident_id, kAgent, r.log_line.empty() ? "METRIC_ATTACHED" : "LOG_PATTERN_ATTACHED",
                     Json{{"service", r.service}, {"trigger", r.trigger}, {"observed_value", r.observed},
                          {"deviation_sigma", r.verdict.z}, {"log_line", TruncateUtf8(r.log_line, 2000)}},
                     r.ts);
    return std::vector<OutboundMessage>{};
  });
  if (!processed.ok()) return processed.status();
  if (processed->fresh) AnomalyCounter("attach").Inc();
  return Status::Ok();
}

}  // namespace sre::detection
