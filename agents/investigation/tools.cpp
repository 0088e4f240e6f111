#include "agents/investigation/tools.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <limits>

#include "knowledge/knowledge_base.h"
#include "shared/llm/schema.h"
#include "shared/llm/text.h"
#include "shared/log.h"
#include "shared/metrics.h"
#include "shared/redis_keys.h"
#include "shared/text.h"

namespace sre::investigation {
namespace {

constexpr const char* kPrometheusTool = "query_prometheus";
constexpr const char* kLokiTool = "query_logs";
constexpr size_t kMaxQuery = 2000;
constexpr int64_t kLogsBeforeMs = 120000, kLogsAfterMs = 60000;

Json Object(Json props, Json required) {
  return Json{{"type", "object"},
              {"properties", std::move(props)},
              {"required", std::move(required)},
              {"additionalProperties", false}};
}

Json Int(int64_t min, int64_t max) {
  return Json{{"type", "integer"}, {"minimum", min}, {"maximum", max}};
}

const ToolSpec* FindSpec(const std::vector<ToolSpec>& specs, const std::string& name) {
  for (const auto& s : specs)
    if (s.name == name) return &s;
  return nullptr;
}

// The shared entry check of every toolbox: a known tool and schema-valid input.
Status CheckInput(const std::vector<ToolSpec>& specs, const std::string& name, const Json& input) {
  const ToolSpec* spec = FindSpec(specs, name);
  if (spec == nullptr) return Status::Invalid("unknown tool `" + TruncateUtf8(name, 128) + "`");
  std::string problem = llm::ValidateAgainstSchema(input, spec->input_schema);
  if (!problem.empty()) return Status::Invalid("invalid arguments for `" + name + "`: " + problem);
  return Status::Ok();
}

// sre_telemetry_queries_total{backend, outcome}; the first failure per backend is logged at warn.
void CountQuery(const std::string& tool, const Status& status) {
  const std::string backend = tool == kPrometheusTool ? "prometheus" : "loki";
  Metrics()
      .GetCounter("sre_telemetry_queries_total",
                  "Prometheus/Loki queries made by the RCA, by outcome",
                  {{"backend", backend},
                   {"outcome", status.ok()        ? "ok"
                               : status.invalid() ? "rejected"
                                                  : "failed"}})
      .Inc();
  static std::atomic<bool> warned_prometheus{false}, warned_loki{false};
  auto& warned = backend == "prometheus" ? warned_prometheus : warned_loki;
  if (!status.ok() && !status.invalid() && !warned.exchange(true))
    log::Get("investigation")
        ->warn(
            "{} query failed, the RCA goes on without it (counted in "
            "sre_telemetry_queries_total): {}",
            backend, status.message());
}

int64_t ElapsedMs(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               since)
      .count();
}

std::string LabelText(const std::map<std::string, std::string>& labels) {
  std::string out = "{";
  for (const auto& [k, v] : labels)
    out += (out.size() > 1 ? ", " : "") + k + "=" + QuotedLabelValue(v);
  return out + "}";
}

// "2026-11-23T14:05:09.123Z".
std::string IsoMs(int64_t ms) {
  std::time_t secs = static_cast<std::time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(((ms % 1000) + 1000) % 1000));
  return buf;
}

// A number for the model: 6 significant digits; the non-finite values as Prometheus spells them.
Json ValueJson(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.6g", v);
  return std::strtod(buf, nullptr);
}

// At most `max` points, evenly spaced, the first and the last always kept.
std::vector<std::pair<int64_t, double>> Downsample(
    const std::vector<std::pair<int64_t, double>>& points, size_t max) {
  if (points.size() <= max || max < 2) return points;
  std::vector<std::pair<int64_t, double>> out;
  for (size_t i = 0; i < max; ++i) out.push_back(points[i * (points.size() - 1) / (max - 1)]);
  return out;
}

Json RenderMatrix(const QueryResult& r, const RangeQuery& q) {
  const size_t total = r.series.size();
  size_t shown = std::min(total, TelemetryTools::kMaxSeries);
  size_t max_points = static_cast<size_t>(kMaxPointsPerSeries);
  if (shown > 0) max_points = std::min(max_points, std::max<size_t>(20, 400 / shown));
  for (;;) {
    bool cut = shown < total;
    Json series = Json::array();
    for (size_t i = 0; i < shown; ++i) {
      const auto& s = r.series[i];
      auto points = Downsample(s.points, max_points);
      cut = cut || points.size() < s.points.size();
      Json pts = Json::array();
      for (const auto& [ts, v] : points) pts.push_back({ts, ValueJson(v)});
      series.push_back(
          {{"labels", llm::DelimitUntrusted("series_labels", LabelText(s.labels), 400)},
           {"points", pts}});
    }
    Json out = {{"result_type", "matrix"}, {"start_ms", q.start_ms},
                {"end_ms", q.end_ms},      {"step_seconds", q.step.count()},
                {"series_total", total},   {"series", series},
                {"truncated", cut}};
    if (!r.warnings.empty()) {
      std::string w;
      for (const auto& x : r.warnings) w += x + "\n";
      out["warnings"] = llm::DelimitUntrusted("backend_warnings", w, 600);
    }
    if (Dump(out).size() <= kMaxResultBytes) return out;
    // Too big for the model: fewer points per series first, then fewer series.
    if (max_points > 10) {
      max_points /= 2;
    } else if (shown > 1) {
      --shown;
    } else {
      out["series"] = Json::array();
      out["truncated"] = true;
      return out;
    }
  }
}

Json RenderStreams(const QueryResult& r, const RangeQuery& q, size_t limit) {
  const size_t shown = std::min(limit, r.lines.size());
  std::vector<size_t> used;  // streams referenced by the shown lines, numbered from 1
  std::string lines;
  for (size_t i = 0; i < shown; ++i) {
    const auto& l = r.lines[i];
    auto it = std::find(used.begin(), used.end(), l.stream);
    size_t number = static_cast<size_t>(it - used.begin()) + 1;
    if (it == used.end()) used.push_back(l.stream);
    std::string text = SanitizeUtf8(l.line);
    for (auto& c : text)
      if (static_cast<unsigned char>(c) < 0x20) c = ' ';
    lines += IsoMs(l.ts_ns / 1000000) + " [" + std::to_string(number) + "] " +
             TruncateUtf8(text, 400) + "\n";
  }
  std::string streams;
  for (size_t i = 0; i < used.size(); ++i)
    streams +=
        "[" + std::to_string(i + 1) + "] " +
        TruncateUtf8(LabelText(used[i] < r.streams.size() ? r.streams[used[i]]
                                                          : std::map<std::string, std::string>{}),
                     300) +
        "\n";
  const std::string text = "streams:\n" + streams + "lines (newest first):\n" + lines;
  for (size_t budget = 9000;; budget /= 2) {
    Json out = {{"result_type", "streams"},
                {"start_ms", q.start_ms},
                {"end_ms", q.end_ms},
                {"lines_total", r.lines.size()},
                {"lines_shown", shown},
                {"truncated", shown < r.lines.size() || text.size() > budget},
                {"log_lines", llm::DelimitUntrusted("log_lines", text, budget)}};
    if (Dump(out).size() <= kMaxResultBytes || budget < 500) return out;
  }
}

}  // namespace

// ---- ToolChain ----

std::vector<ToolSpec> ToolChain::Specs() const {
  std::vector<ToolSpec> out;
  for (const auto* p : parts_)
    for (auto& s : p->Specs()) out.push_back(std::move(s));
  return out;
}

Expected<Json> ToolChain::Call(const std::string& name, const Json& input) {
  for (auto* p : parts_)
    if (FindSpec(p->Specs(), name)) return p->Call(name, input);
  return Status::Invalid("unknown tool `" + TruncateUtf8(name, 128) + "`");
}

std::vector<llm::Tool> ToLlmTools(RcaTools& tools, const ToolSpec& terminal) {
  std::vector<llm::Tool> out;
  for (auto& s : tools.Specs()) {
    std::string name = s.name;
    out.push_back({std::move(s.name), std::move(s.description), std::move(s.input_schema),
                   [&tools, name](const Json& in) { return tools.Call(name, in); }});
  }
  out.push_back({terminal.name, terminal.description, terminal.input_schema, nullptr});
  return out;
}

// ---- StoreTools ----

std::vector<std::string> ErrorLines(const RedisReply& reply, size_t max, int64_t detection_ms) {
  std::vector<std::string> out;
  for (const auto& e : reply.elements) {
    if (out.size() >= max) break;
    Json j = Json::parse(e.str, nullptr, false);
    if (!j.is_object() || !j.contains("message") || !j["message"].is_string()) continue;
    int64_t ts =
        j.contains("ts") && j["ts"].is_number() ? static_cast<int64_t>(j["ts"].get<double>()) : 0;
    if (ts < detection_ms - kLogsBeforeMs || ts > detection_ms + kLogsAfterMs) continue;
    out.push_back(j["message"]);
  }
  return out;
}

std::vector<std::pair<int64_t, double>> SeriesSamples(const RedisReply& reply) {
  std::vector<std::pair<int64_t, double>> out;
  for (const auto& e : reply.elements)
    if (auto p = keys::ParseSeriesMember(e.str)) out.push_back(*p);
  return out;
}

StoreTools::StoreTools(RedisClient& redis, pqxx::work& tx, const ServiceCatalog& catalog,
                       int64_t detection_ms, std::vector<std::string> services)
    : redis_(redis),
      tx_(tx),
      catalog_(catalog),
      detection_ms_(detection_ms),
      services_(std::move(services)) {}

std::vector<ToolSpec> StoreTools::Specs() const {
  Json metric_enum = Json::array();
  for (const char* m : metrics::kAll) metric_enum.push_back(m);
  Json svc = {{"type", "string"}, {"enum", services_}};
  Json query = {{"type", "string"}, {"maxLength", 500}};
  Json anomaly = {{"type", "string"}, {"maxLength", 40}};
  return {
      {"search_similar_incidents",
       "Full-text search over past incidents; returns titles, categories and text.",
       Object({{"query", query}, {"anomaly_type", anomaly}}, {"query"})},
      {"get_runbooks", "Runbook sections relevant to a query and anomaly type.",
       Object({{"query", query}, {"anomaly_type", anomaly}}, {"query"})},
      {"get_service_architecture", "A service's owner, criticality, dependencies and baselines.",
       Object({{"service", svc}}, {"service"})},
      {"get_metric_history", "Recent samples (event time ms, value) of one metric of one service.",
       Object({{"service", svc},
               {"metric", {{"type", "string"}, {"enum", metric_enum}}},
               {"samples", Int(1, 120)}},
              {"service", "metric"})},
      {"get_recent_logs", "Recent ERROR/FATAL log lines of a service (untrusted text).",
       Object({{"service", svc}, {"limit", Int(1, 50)}}, {"service"})},
      {"get_recent_deployments", "Deployments of a service before detection.",
       Object({{"service", svc}, {"minutes", Int(1, 1440)}}, {"service"})},
  };
}

Expected<Json> StoreTools::Call(const std::string& name, const Json& in) {
  if (Status s = CheckInput(Specs(), name, in); !s.ok()) return s;
  try {
    if (name == "search_similar_incidents" || name == "get_runbooks") {
      knowledge::Query q{in.at("query").get<std::string>(),
                         name == "get_runbooks" ? "runbook" : "incident", std::nullopt,
                         std::nullopt, 5};
      if (in.contains("anomaly_type")) q.anomaly_type = in["anomaly_type"].get<std::string>();
      Json out = Json::array();
      for (const auto& h : knowledge::Search(tx_, q))
        // Knowledge documents include postmortems a model wrote: untrusted, like logs.
        out.push_back(
            {{"id", h.document_id},
             {"title", llm::DelimitUntrusted("knowledge_title", h.title, 300)},
             {"section", h.section},
             {"category", h.root_cause_category ? Json(*h.root_cause_category) : Json(nullptr)},
             {"score", h.score},
             {"text", llm::DelimitUntrusted("knowledge", h.snippet, 600)}});
      return Json{{"results", out}};
    }
    const std::string service = in.at("service").get<std::string>();
    if (name == "get_service_architecture") {
      const auto* s = catalog_.Find(service);
      if (!s) return Status::Invalid("unknown service: not in the service catalogue");
      return Json{{"name", s->name},
                  {"team", s->team},
                  {"criticality", s->criticality},
                  {"description", s->description},
                  {"calls", s->downstream},
                  {"called_by", s->upstream},
                  {"datastores", s->datastores},
                  {"db_pool_size", s->db_pool_size},
                  {"common_failure_modes", s->common_failure_modes},
                  {"runbooks", s->runbooks},
                  {"baseline", s->baseline}};
    }
    if (name == "get_metric_history") {
      auto r = redis_.Command({"ZREVRANGE",
                               keys::SeriesHistory(service, in.at("metric").get<std::string>()),
                               "0", std::to_string(in.value("samples", 30) - 1)});
      if (!r.ok()) return r.status();
      Json points = Json::array();
      auto s = SeriesSamples(*r);
      for (auto it = s.rbegin(); it != s.rend(); ++it) points.push_back({it->first, it->second});
      return Json{{"points", points}};
    }
    if (name == "get_recent_logs") {
      auto r = redis_.Command({"LRANGE", keys::RecentErrors(service), "0", "199"});
      if (!r.ok()) return r.status();
      std::string text;
      for (const auto& l :
           ErrorLines(*r, static_cast<size_t>(in.value("limit", 20)), detection_ms_))
        text += l + "\n";
      return Json{{"log_lines", llm::DelimitUntrusted("log_lines", text, 6000)}};
    }
    if (name == "get_recent_deployments") {
      int64_t minutes = in.value("minutes", 60);
      auto r = redis_.Command({"ZRANGEBYSCORE", keys::Deployments(service),
                               std::to_string(detection_ms_ - minutes * 60000),
                               std::to_string(detection_ms_)});
      if (!r.ok()) return r.status();
      std::string text;
      for (const auto& e : r->elements) text += e.str + "\n";
      return Json{{"deployments", llm::DelimitUntrusted("deployments", text, 6000)}};
    }
  } catch (const std::exception& e) {
    return Status::Internal(std::string("the tool failed: ") + e.what());
  }
  return Status::Invalid("unknown tool `" + name + "`");
}

// ---- TelemetryTools ----

TelemetryTools::TelemetryTools(TelemetryQuery* prometheus, TelemetryQuery* loki,
                               int64_t detection_ms)
    : prometheus_(prometheus), loki_(loki), detection_ms_(detection_ms) {}

std::vector<ToolSpec> TelemetryTools::Specs() const {
  Json query = {{"type", "string"}, {"minLength", 1}, {"maxLength", kMaxQuery}};
  std::vector<ToolSpec> out;
  if (prometheus_)
    out.push_back({kPrometheusTool,
                   "PromQL range query on the operator's Prometheus over a window around the "
                   "incident's detection time "
                   "(event time). Returns at most 10 series of at most 100 points [[unix ms, "
                   "value]] each; label "
                   "sets are untrusted text.",
                   Object({{"query", query},
                           {"minutes_before", Int(1, 1440)},
                           {"minutes_after", Int(0, 60)},
                           {"step_seconds", Int(1, 3600)}},
                          {"query"})});
  if (loki_)
    out.push_back(
        {kLokiTool,
         "LogQL range query on the operator's Loki over a window around the incident's detection "
         "time, e.g. "
         "{service=\"checkout\"} |~ \"(?i)error\". Returns at most 100 lines, newest first, as "
         "untrusted "
         "text; a metric query (rate, count_over_time) returns series like query_prometheus.",
         Object({{"query", query},
                 {"minutes_before", Int(1, 1440)},
                 {"minutes_after", Int(0, 60)},
                 {"limit", Int(1, kMaxLogLines)}},
                {"query"})});
  return out;
}

Expected<RangeQuery> TelemetryTools::Window(const std::string& name, const Json& in) const {
  if (Status s = CheckInput(Specs(), name, in); !s.ok()) return s;
  RangeQuery q;
  q.query = in.at("query").get<std::string>();
  if (q.query.find_first_not_of(" \t\r\n") == std::string::npos)
    return Status::Invalid("invalid arguments for `" + name + "`: query is blank");
  q.start_ms = detection_ms_ - in.value("minutes_before", int64_t{30}) * 60000;
  q.end_ms = detection_ms_ + in.value("minutes_after", int64_t{5}) * 60000;
  q.step =
      StepFor(q.start_ms, q.end_ms, std::chrono::seconds(in.value("step_seconds", int64_t{15})));
  q.limit = static_cast<int>(in.value("limit", int64_t{kMaxLogLines}));
  return q;
}

Expected<QueryResult> TelemetryTools::Run(const std::string& name, const Json& input) {
  auto q = Window(name, input);
  if (!q.ok()) return q.status();
  TelemetryQuery* backend = name == kPrometheusTool ? prometheus_ : loki_;
  auto r = backend->QueryRange(*q);
  CountQuery(name, r.status());
  // Never more log lines than asked, whatever the backend sent.
  if (r.ok() && r->type == QueryResult::Type::kStreams &&
      r->lines.size() > static_cast<size_t>(q->limit))
    r->lines.resize(static_cast<size_t>(q->limit));
  return r;
}

Expected<Json> TelemetryTools::Call(const std::string& name, const Json& input) {
  auto q = Window(name, input);
  if (!q.ok()) return q.status();
  TelemetryQuery* backend = name == kPrometheusTool ? prometheus_ : loki_;
  Expected<QueryResult> r = Status::Internal("no backend");
  try {
    r = backend->QueryRange(*q);
  } catch (const std::exception& e) {
    r = Status::Internal(std::string("the query failed: ") + e.what());
  }
  CountQuery(name, r.status());
  if (!r.ok()) {
    // The backend's message quotes the query and its own words: data, not instructions.
    Status s = r.status();
    std::string text =
        name + " failed: " + llm::DelimitUntrusted("backend_error", s.message(), 800);
    return s.invalid() ? Status::Invalid(text) : Status::Transient(text);
  }
  if (r->type == QueryResult::Type::kStreams)
    return RenderStreams(*r, *q, static_cast<size_t>(q->limit));
  return RenderMatrix(*r, *q);
}

// ---- the fallback's queries ----

FallbackTelemetry GatherFallbackTelemetry(TelemetryTools& tools,
                                          const std::optional<AlertInfo>& alert,
                                          const std::vector<std::string>& services,
                                          const std::string& loki_label) {
  FallbackTelemetry out;
  auto run = [&](const char* name, const Json& input) {
    auto started = std::chrono::steady_clock::now();
    Expected<QueryResult> r = Status::Internal("not run");
    try {
      r = tools.Run(name, input);
    } catch (const std::exception& e) {
      r = Status::Internal(std::string("the query failed: ") + e.what());
    }
    ToolCallRecord rec;
    rec.name = name;
    rec.input = input;
    rec.duration_ms = ElapsedMs(started);
    rec.is_error = !r.ok();
    out.calls.push_back(std::move(rec));
    Json audit = {{"tool", name}, {"input", input}, {"ok", r.ok()}};
    if (!r.ok()) audit["error"] = TruncateUtf8(SanitizeUtf8(r.status().message()), 300);
    out.queries.push_back(std::move(audit));
    return r;
  };
  if (tools.has_prometheus() && alert && !alert->expr.empty()) {
    auto r = run(kPrometheusTool, Json{{"query", alert->expr}});
    if (r.ok()) {
      out.queries.back()["series"] = r->series.size();
      // The series that fired hardest stands for the alert.
      double best = -std::numeric_limits<double>::infinity();
      for (const auto& s : r->series) {
        std::vector<double> values;
        double peak = -std::numeric_limits<double>::infinity();
        for (const auto& p : s.points)
          if (std::isfinite(p.second)) {
            values.push_back(p.second);
            peak = std::max(peak, p.second);
          }
        if (!values.empty() && peak > best) {
          best = peak;
          out.alert_series = std::move(values);
        }
      }
    }
  }
  if (tools.has_loki()) {
    for (const auto& svc : services) {
      Json input = {{"query", "{" + loki_label + "=" + QuotedLabelValue(svc) +
                                  "} |~ \"(?i)error|fatal|exception\""},
                    {"minutes_before", kLogsBeforeMs / 60000},
                    {"minutes_after", kLogsAfterMs / 60000},
                    {"limit", 60}};
      auto r = run(kLokiTool, input);
      if (!r.ok()) continue;
      auto& lines = out.error_lines[svc];
      for (const auto& l : r->lines) lines.push_back(TruncateUtf8(SanitizeUtf8(l.line), 2000));
      out.queries.back()["lines"] = lines.size();
    }
  }
  return out;
}

}  // namespace sre::investigation
