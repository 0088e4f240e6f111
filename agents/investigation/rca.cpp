#include "agents/investigation/rca.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <regex>

#include "shared/ids.h"
#include "shared/llm/text.h"
#include "shared/text.h"

namespace sre::investigation {
namespace {

using C = RootCauseCategory;

struct Rule {
  const char* pattern;
  C category;
  double weight;
  const char* name;
};

// Ordered from specific to generic; a line can carry several clues.
const std::vector<Rule>& Rules() {
  static const std::vector<Rule> rules = {
      {"slow query|query took|seq scan|lock wait|deadlock|statement timeout|pg_stat|full table scan|missing index",
       C::DATABASE_BOTTLENECK, 1.0, "slow queries"},
      {"connection is not available|pool (is )?exhausted|hikaripool|too many connections|remaining connection slots|"
       "waiting for a connection",
       C::DATABASE_BOTTLENECK, 1.0, "connection pool exhausted"},
      {"outofmemory|out of memory|heap space|gc overhead|oomkilled|memory usage .*(high|above)|heap (usage|used)",
       C::RESOURCE_LEAK, 1.0, "memory pressure"},
      {"gc pause|stop-the-world|thread pool (is )?(exhausted|saturated|full)|cpu throttl|event loop (blocked|lag)|"
       "worker threads busy|run queue",
       C::CPU_EXHAUSTION, 1.0, "CPU/thread starvation"},
      {"rebalanc|max\\.poll\\.interval|poll timeout|consumer (group|lag)|committed offset|partition revoked",
       C::CONSUMER_STALL, 1.0, "consumer stall"},
      {"config(uration)?[ -](validation|error|invalid|property|key)|invalid (config|property|value for)|"
       "missing required (property|setting|key)|@configurationproperties|failed to (bind|load) config|"
       "unknown (property|setting)",
       C::CONFIGURATION_ERROR, 1.2, "configuration errors"},
      {"nullpointerexception|null pointer|indexoutofbounds|classcastexception|typeerror|undefined is not|"
       "illegalstateexception|unhandled exception|assertion failed|panic:",
       C::APPLICATION_BUG, 1.0, "code exceptions"},
      {"connection refused|econnrefused|crashloopbackoff|exited with code|sigkill|segmentation fault|core dumped|"
       "node (not ?ready|down|lost)|notready|ready=unknown|process (crashed|died)|instance (unhealthy|terminated)|"
       "pod .* terminated|no healthy upstream|readiness probe failed",
       C::INFRASTRUCTURE_FAILURE, 1.0, "crashes / refused connections"},
      {"upstream [a-z0-9-]+ returned|timeout calling|circuit (breaker )?open|dependency .* unavailable|"
       "third[- ]party|provider (error|timeout)",
       C::DEPENDENCY_FAILURE, 0.8, "failing dependency calls"},
      {"rate limit|429|too many requests|autoscal|surge|shedding load|queue depth|backpressure",
       C::TRAFFIC_SURGE, 1.0, "load shedding / rate limiting"},
      {"rollout|new version|v[0-9]+\\.[0-9]+\\.[0-9]+|feature flag|regression|canary",
       C::DEPLOYMENT_REGRESSION, 0.5, "new code path"},
  };
  return rules;
}

const std::vector<std::regex>& Compiled() {
  static const std::vector<std::regex> compiled = [] {
    std::vector<std::regex> out;
    for (const auto& r : Rules()) out.emplace_back(r.pattern, std::regex::ECMAScript | std::regex::icase);
    return out;
  }();
  return compiled;
}

// Prior belief from the anomaly type alone (weak).
std::map<C, double> TypePrior(AnomalyType t) {
  switch (t) {
    case AnomalyType::LATENCY_SPIKE: return {{C::DATABASE_BOTTLENECK, 0.4}, {C::DEPENDENCY_FAILURE, 0.2}};
    case AnomalyType::ERROR_RATE_SPIKE: return {{C::APPLICATION_BUG, 0.4}, {C::DEPENDENCY_FAILURE, 0.1}};
    case AnomalyType::CPU_SATURATION: return {{C::CPU_EXHAUSTION, 0.5}, {C::TRAFFIC_SURGE, 0.2}};
    case AnomalyType::MEMORY_LEAK: return {{C::RESOURCE_LEAK, 0.6}};
    case AnomalyType::DB_CONNECTION_EXHAUSTION: return {{C::DATABASE_BOTTLENECK, 0.6}};
    case AnomalyType::KAFKA_CONSUMER_LAG: return {{C::CONSUMER_STALL, 0.6}};
    case AnomalyType::DEPLOYMENT_FAILURE: return {{C::DEPLOYMENT_REGRESSION, 0.6}};
    case AnomalyType::DEPENDENCY_OUTAGE: return {{C::DEPENDENCY_FAILURE, 0.3}, {C::INFRASTRUCTURE_FAILURE, 0.3}};
    case AnomalyType::TRAFFIC_ANOMALY: return {{C::TRAFFIC_SURGE, 0.6}};
    case AnomalyType::UNKNOWN: return {};
  }
  return {};
}

std::string Fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2f", v);
  return buf;
}

std::string Describe(C c, const std::string& service) {
  switch (c) {
    case C::DEPLOYMENT_REGRESSION: return "A recent code deployment of " + service + " introduced a regression";
    case C::CONFIGURATION_ERROR: return "A configuration change on " + service + " is invalid or wrong";
    case C::RESOURCE_LEAK: return service + " is leaking memory (or another resource) until it saturates";
    case C::CPU_EXHAUSTION: return service + " is CPU-starved by its own work (GC, busy threads) at normal traffic";
    case C::DATABASE_BOTTLENECK: return service + "'s database is the bottleneck (slow queries or an exhausted pool)";
    case C::DEPENDENCY_FAILURE: return "A dependency of " + service + " is failing and " + service + " inherits it";
    case C::TRAFFIC_SURGE: return service + " is overloaded by a surge of incoming traffic";
    case C::CONSUMER_STALL: return service + "'s Kafka consumer is stalled or rebalancing";
    case C::APPLICATION_BUG: return "A bug in " + service + "'s code throws on a request path";
    case C::INFRASTRUCTURE_FAILURE: return service + " instances are crashing or unreachable (infrastructure)";
    case C::UNKNOWN: return "The cause on " + service + " could not be determined from the evidence";
  }
  return "unknown";
}

double Mean(const std::vector<double>& v, size_t from, size_t to) {
  if (to <= from) return 0;
  double s = 0;
  for (size_t i = from; i < to; ++i) s += v[i];
  return s / static_cast<double>(to - from);
}

bool Contains(const std::string& haystack, std::initializer_list<const char*> needles) {
  for (const char* n : needles)
    if (haystack.find(n) != std::string::npos) return true;
  return false;
}

std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

std::optional<AlertInfo> ParseAlertInfo(const std::string& trigger_metric, const IncidentBaselines& baselines) {
  if (trigger_metric.rfind("alert:", 0) != 0) return std::nullopt;
  const TriggerBaseline* entry = baselines.Find(trigger_metric);
  const AlertBaseline* b = entry ? entry->alert() : nullptr;
  if (!b) return std::nullopt;
  AlertInfo a;
  a.alertname = b->alertname.value_or("");
  if (a.alertname.empty()) a.alertname = trigger_metric.substr(6);
  a.expr = b->expr.value_or("");
  a.fingerprint = b->fingerprint;
  a.generator_url = b->generator_url.value_or("");
  a.labels = b->labels.value_or(Labels{});
  a.since_ms = b->since.value_or(0);
  a.resolved_at_ms = b->resolved_at;
  return a;
}

std::string MetricForAlert(const AlertInfo& alert) {
  // The name says what the author meant; the expression is the fallback. Errors before requests:
  // an error-ratio expression divides by the request rate.
  for (const std::string& text : {Lower(alert.alertname), Lower(alert.expr)}) {
    if (text.empty()) continue;
    if (Contains(text, {"memory", "heap", "_rss", "oom"})) return "memory_percent";
    if (Contains(text, {"cpu"})) return "cpu_percent";
    if (Contains(text, {"consumer_lag", "consumerlag", "kafka"}) || (Contains(text, {"lag"}) && Contains(text, {"consumer"})))
      return "kafka_consumer_lag";
    if (Contains(text, {"db_connections", "pg_stat_activity", "hikari", "connection_pool", "connectionpool", "dbconnection",
                        "db_pool"}))
      return "db_connections";
    if (Contains(text, {"latency", "duration", "p99", "histogram_quantile", "slow"})) return "latency_p99_ms";
    if (Contains(text, {"error", "5xx", "=~\"5", "status=\"5", "code=~\"5", "fail"})) return "error_rate";
    if (Contains(text, {"request", "rps", "throughput", "traffic", "qps"})) return "request_rate";
  }
  return "";
}

std::vector<LogClue> CluesIn(const std::string& line) {
  std::vector<LogClue> out;
  const auto& rules = Rules();
  const auto& compiled = Compiled();
  for (size_t i = 0; i < rules.size(); ++i)
    if (std::regex_search(line, compiled[i])) out.push_back({rules[i].category, rules[i].weight, rules[i].name});
  return out;
}

double GrowthRatio(const std::vector<double>& values) {
  if (values.size() < 3) return 1;
  size_t third = std::max<size_t>(1, values.size() / 3);
  double first = Mean(values, 0, third);
  double last = Mean(values, values.size() - third, values.size());
  if (std::fabs(first) < 1e-9) return last > 1e-9 ? 10 : 1;
  return last / first;
}

std::string OriginService(const IncidentOpened& o) {
  // The candidate correlation marked as the likely origin (the deepest degraded dependency),
  // else the strongest candidate.
  double best = 0;
  bool best_marked = false;
  std::string origin = o.service;
  for (const auto& s : o.correlation_signals) {
    if (s.signal_type != "CASCADE") continue;
    bool marked = std::find(s.evidence.begin(), s.evidence.end(), "likely_origin") != s.evidence.end();
    for (const auto& e : s.evidence) {
      if (e.rfind("origin_candidate ", 0) != 0 || s.strength < 0.5) continue;
      if ((marked && !best_marked) || (marked == best_marked && s.strength > best)) {
        best = s.strength;
        best_marked = marked;
        origin = e.substr(17);
      }
    }
  }
  return best >= 0.5 ? origin : o.service;
}

std::vector<RootCauseCandidate> RankRootCauses(const RcaEvidence& e) {
  const IncidentOpened& o = e.opened;
  const std::string origin = OriginService(o);
  const bool cascade = origin != o.service;
  std::map<C, double> score = TypePrior(o.anomaly_type);
  std::map<C, std::vector<std::string>> evidence;
  auto add = [&](C c, double w, const std::string& why) {
    score[c] += w;
    if (evidence[c].size() < 6) evidence[c].push_back(why);
  };

  if (cascade) {
    // The alerting service is a victim: judge the cause at the origin, from its own evidence.
    score.clear();
    add(C::DEPENDENCY_FAILURE, 0.6, o.service + " depends on " + origin + ", which is degraded (cascade)");
  }

  // Deployment: only a change to the origin service counts.
  if (o.deployment_context && o.deployment_context->is_object() && !cascade) {
    const Json& d = *o.deployment_context;
    double strength = d.value("confidence", 0.0);
    std::string change = d.value("change_type", "");
    std::string version = d.value("version", "");
    std::string what = change + " deployment " + d.value("previous_version", "") + " -> " + version + ", " +
                       Fmt(d.value("minutes_before_detection", 0.0)) + " min before detection";
    if (change == "CONFIG") {
      add(C::CONFIGURATION_ERROR, 1.6 * strength, what);
    } else if (change == "CODE") {
      add(C::DEPLOYMENT_REGRESSION, 1.6 * strength, what);
    } else {
      add(C::INFRASTRUCTURE_FAILURE, 1.0 * strength, what);
    }
    // Error lines that name the new version tie the symptoms to the release.
    if (!version.empty()) {
      int mentions = 0;
      auto it = e.errors_by_service.find(origin);
      if (it != e.errors_by_service.end())
        for (const auto& line : it->second) mentions += line.find(version) != std::string::npos;
      if (mentions > 0)
        add(change == "CONFIG" ? C::CONFIGURATION_ERROR : C::DEPLOYMENT_REGRESSION, 1.2,
            std::to_string(mentions) + " error line(s) mention version " + version);
    }
  }

  // Logs at the origin: the share of lines pointing to each category.
  if (auto it = e.errors_by_service.find(origin); it != e.errors_by_service.end() && !it->second.empty()) {
    std::map<C, double> hits;
    std::map<C, std::string> example;
    for (const auto& line : it->second)
      for (const auto& clue : CluesIn(line)) {
        hits[clue.category] += clue.weight;
        if (!example.count(clue.category)) example[clue.category] = std::string(clue.name) + ": \"" + TruncateUtf8(line, 160) + "\"";
      }
    double n = static_cast<double>(it->second.size());
    for (const auto& [c, h] : hits) add(c, 2.0 * std::min(1.0, h / n), example[c] + " (" + Fmt(h / n) + " of error lines)");
  }

  // Metric shapes at the origin; the alert's own series stands in for a metric Redis lacks.
  std::map<std::string, std::vector<double>> origin_metrics;
  if (auto it = e.metrics_by_service.find(origin); it != e.metrics_by_service.end()) origin_metrics = it->second;
  if (e.alert && origin == o.service && e.alert_series.size() >= 3) {
    std::string metric = MetricForAlert(*e.alert);
    if (!metric.empty() && origin_metrics[metric].size() < 3) origin_metrics[metric] = e.alert_series;
  }
  if (!origin_metrics.empty()) {
    const auto& m = origin_metrics;
    auto series = [&](const char* name) -> const std::vector<double>* {
      auto s = m.find(name);
      return s == m.end() || s->second.size() < 3 ? nullptr : &s->second;
    };
    if (const auto* rr = series("request_rate")) {
      double g = GrowthRatio(*rr);
      if (g >= 1.6) add(C::TRAFFIC_SURGE, 1.8, "request_rate grew x" + Fmt(g));
      if (const auto* cpu = series("cpu_percent"); cpu && g < 1.2 && GrowthRatio(*cpu) >= 1.5)
        add(C::CPU_EXHAUSTION, 1.2, "cpu_percent x" + Fmt(GrowthRatio(*cpu)) + " with request_rate flat (x" + Fmt(g) + ")");
    }
    if (const auto* mem = series("memory_percent"); mem && GrowthRatio(*mem) >= 1.25)
      add(C::RESOURCE_LEAK, 1.0, "memory_percent climbing x" + Fmt(GrowthRatio(*mem)));
    if (const auto* db = series("db_connections"); db && e.db_pool_size > 0 && db->back() >= 0.9 * static_cast<double>(e.db_pool_size))
      add(C::DATABASE_BOTTLENECK, 1.0, "db_connections at " + Fmt(db->back()) + " of a pool of " + std::to_string(e.db_pool_size));
    if (const auto* lag = series("kafka_consumer_lag"); lag && GrowthRatio(*lag) >= 5)
      add(C::CONSUMER_STALL, 1.0, "kafka_consumer_lag x" + Fmt(GrowthRatio(*lag)));
  }

  // Similar past incidents vote with their categories, weighted by relative similarity.
  double top_similarity = 0;
  for (const auto& s : e.similar) top_similarity = std::max(top_similarity, s.score);
  for (const auto& s : e.similar)
    if (s.root_cause_category && top_similarity > 0)
      add(*s.root_cause_category, 0.5 * s.score / top_similarity, "similar past incident " + s.incident_id + ": " + s.title);

  std::vector<std::pair<C, double>> ranked(score.begin(), score.end());
  ranked.erase(std::remove_if(ranked.begin(), ranked.end(), [](const auto& p) { return p.second <= 0; }), ranked.end());
  std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : static_cast<int>(a.first) < static_cast<int>(b.first);
  });
  if (ranked.empty()) ranked.push_back({C::UNKNOWN, 1});
  double total = 0;
  for (const auto& [c, s] : ranked) total += s;
  std::vector<RootCauseCandidate> out;
  for (size_t i = 0; i < ranked.size() && i < 4; ++i) {
    RootCauseCandidate rc;
    rc.rank = static_cast<int64_t>(i + 1);
    rc.category = ranked[i].first;
    // Infrastructure and dependency causes live at the origin; so does everything judged there.
    rc.service = origin;
    if (cascade && rc.category == C::DEPENDENCY_FAILURE) rc.service = origin;
    rc.hypothesis = Describe(rc.category, rc.service);
    // Agreement: the share of all evidence weight, capped so a single weak clue is not certain.
    rc.confidence = std::min(0.95, ranked[i].second / total) * std::min(1.0, ranked[i].second / 1.5);
    rc.confidence = std::round(rc.confidence * 100) / 100;
    rc.evidence = evidence[ranked[i].first];
    out.push_back(std::move(rc));
  }
  return out;
}

}  // namespace sre::investigation
