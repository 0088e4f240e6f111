#include "agents/ingest/service.h"

#include <httplib.h>

#include <atomic>
#include <chrono>

#include "agents/ingest/otlp.h"
#include "agents/ingest/remote_write.h"
#include "shared/ids.h"
#include "shared/incident_store.h"
#include "shared/log.h"
#include "shared/messages.h"
#include "shared/metrics.h"
#include "shared/redis_keys.h"
#include "shared/text.h"

namespace sre::ingest {
namespace {

constexpr const char* kAgent = "ingest";
constexpr const char* kConsumer = "sre-ingest";

// Takes the service's open-incident lock for the alert's candidate incident, or names the
// incident already holding it. KEYS: 1 lock. ARGV: 1 candidate id.
constexpr const char* kAlertLockScript = R"lua(
if redis.call('SET', KEYS[1], ARGV[1], 'NX') then return {'new', ARGV[1]} end
local id = redis.call('GET', KEYS[1])
if id == ARGV[1] then return {'new', id} end
return {'attach', id}
)lua";

const RedisScript& AlertLockScript() {
  static const RedisScript s(kAlertLockScript);
  return s;
}

// Marks an alert (fingerprint, startsAt) handled, per status, for the dedup TTL. The marker is
// written after the broker acknowledged, so a failed attempt is retried in full.
std::string AlertMarker(const std::string& dedup_key, const std::string& status) {
  return "sre:ingest:alert:{" + dedup_key + "}:" + status;
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Counter& RequestCounter(const std::string& endpoint, int code) {
  return Metrics().GetCounter("sre_ingest_requests_total", "HTTP requests to sre-ingest, by endpoint and status code",
                              {{"endpoint", endpoint}, {"code", std::to_string(code)}});
}

Counter& AlertCounter(AlertSource source, const std::string& outcome) {
  return Metrics().GetCounter(
      "sre_ingest_alerts_total",
      "Alerts received: new (opened an incident), attached, duplicate, resolved, unmatched (resolved, no open "
      "incident), rejected",
      {{"source", ToString(source)}, {"outcome", outcome}});
}

Counter& SampleCounter(const std::string& endpoint, const std::string& outcome) {
  return Metrics().GetCounter(
      "sre_ingest_samples_total",
      "Samples and log records received: forwarded, or the reason they were dropped (see infra/ingest/mapping.json)",
      {{"endpoint", endpoint}, {"outcome", outcome}});
}

Reply JsonReply(int status, const Json& body) {
  return Reply{status, body.dump(-1, ' ', false, Json::error_handler_t::replace), {}};
}

Reply ErrorReply(int status, const std::string& error) { return JsonReply(status, Json{{"error", error}}); }

// The answer for a Status from the stores or the broker: nothing is known to be in the pipeline.
Reply Unavailable(const Status& s) {
  Reply r = ErrorReply(s.transient() ? 503 : 500, s.message());
  if (s.transient()) r.headers.emplace_back("Retry-After", "5");
  return r;
}

std::string MediaType(const std::string& content_type) {
  std::string v = content_type.substr(0, content_type.find(';'));
  while (!v.empty() && v.back() == ' ') v.pop_back();
  while (!v.empty() && v.front() == ' ') v.erase(v.begin());
  for (auto& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return v;
}

std::string Endpoint(const std::string& path) {
  if (path.find("alertmanager") != std::string::npos) return "alertmanager";
  if (path.find("grafana") != std::string::npos) return "grafana";
  if (path == "/api/v1/write") return "remote_write";
  if (path == "/v1/logs") return "otlp_logs";
  if (path == "/v1/metrics") return "otlp_metrics";
  return "other";
}

bool InEventRange(int64_t ts) { return ts >= kMinEventTimeMs && ts <= kMaxEventTimeMs; }

}  // namespace

IngestService::IngestService(RedisClient& redis, Database& db, Producer& producer, const ServiceCatalog& catalog,
                             IngestMapping mapping, IngestOptions options)
    : redis_(redis),
      db_(db),
      producer_(producer),
      catalog_(catalog),
      mapper_(std::make_unique<SeriesMapper>(std::move(mapping))),
      options_(std::move(options)) {
  Metrics().GetGauge("sre_ingest_discovered_services",
                     "Services seen by this process that knowledge/architecture/services.json does not list");
}

IngestService::~IngestService() = default;

std::optional<Reply> IngestService::Screen(const Request& r, const char* want_type) {
  if (!options_.token.empty() && !BearerMatches(options_.token, r.authorization)) {
    Reply reply = ErrorReply(401, "missing or wrong bearer token (INGEST_TOKEN is set)");
    reply.headers.emplace_back("WWW-Authenticate", "Bearer");
    return reply;
  }
  if (r.too_large)
    return ErrorReply(413, "the body is larger than INGEST_MAX_BODY_BYTES (" +
                               std::to_string(options_.max_body_bytes) + " bytes)");
  std::string type = MediaType(r.content_type);
  if (!type.empty() && type != want_type)
    return ErrorReply(415, "Content-Type " + TruncateUtf8(type, 64) + " is not supported here; send " + want_type);
  std::string encoding = MediaType(r.content_encoding);
  bool snappy = std::string(want_type) == "application/x-protobuf";
  if (snappy ? encoding != "snappy" : !(encoding.empty() || encoding == "identity"))
    return ErrorReply(415, snappy ? "remote write bodies are snappy-compressed (Content-Encoding: snappy)"
                                  : "Content-Encoding " + TruncateUtf8(encoding, 32) +
                                        " is not supported; send the body uncompressed");
  return std::nullopt;
}

Reply IngestService::DeadLetter(const Request& r, const std::string& error) {
  InboundMessage m{"http:" + r.path, -1, 0, "", r.body};
  Status s = producer_.Publish(DeadLetterFor(kAgent, m, error, 1));
  if (!s.ok()) log::Get(kAgent)->warn("dead letter for a rejected {} body not published: {}", r.path, s.message());
  return ErrorReply(400, error);
}

bool IngestService::KnowService(const std::string& service, const std::string& source, int64_t ts) {
  if (catalog_.Find(service)) return true;
  std::lock_guard<std::mutex> lock(store_mu_);
  if (discovered_.count(service)) return true;
  if (discovered_.size() >= options_.max_discovered_services) return false;
  Status s = db_.Transact([&](pqxx::work& tx) {
    RecordDiscoveredService(tx, service, source, ts);
    return Status::Ok();
  });
  // Not recorded now: the next sample tries again; the telemetry itself is not held back.
  if (!s.ok()) return true;
  discovered_.insert(service);
  Metrics().GetGauge("sre_ingest_discovered_services", "").Set(static_cast<double>(discovered_.size()));
  log::Get(kAgent)->info("service {} is not in the catalogue: it runs with default settings (seen in {})", service,
                         source);
  return true;
}

Status IngestService::PublishForwarded(const std::vector<OutboundMessage>& out) {
  if (out.empty()) return Status::Ok();
  return producer_.PublishBatch(out);
}

// ---- alerts -------------------------------------------------------------------------------

Reply IngestService::Alerts(AlertSource source, const Request& r) {
  if (auto refused = Screen(r, "application/json")) return *refused;
  auto parsed = ParseJsonObject(r.body);
  if (!parsed.ok()) return DeadLetter(r, "body: " + parsed.status().message());
  const Json& body = *parsed;
  auto n = ParseAlertNotification(body, source);
  if (!n.ok()) return DeadLetter(r, n.status().message());
  std::map<std::string, int> counts;
  Json rejected = Json::array();
  for (size_t i = 0; i < n->alerts.size(); ++i) {
    const Alert& alert = n->alerts[i];
    std::string outcome;
    Status s;
    if (alert.status == "firing") {
      auto aa = ToAnomaly(alert, *n, options_.service_labels);
      if (!aa.ok()) {
        std::string error = "alerts[" + std::to_string(i) + "]." + aa.status().message();
        InboundMessage m{"http:" + r.path, -1, 0, "", body["alerts"][i].dump()};
        if (Status d = producer_.Publish(DeadLetterFor(kAgent, m, error, 1)); !d.ok()) return Unavailable(d);
        rejected.push_back({{"index", i}, {"error", error}});
        AlertCounter(source, "rejected").Inc();
        ++counts["rejected"];
        continue;
      }
      s = OnFiring(*aa, alert, source, outcome);
    } else {
      s = OnResolved(alert, *n, outcome);
    }
    // Alerts before this one are done (and deduplicated when the sender retries the batch).
    if (!s.ok()) {
      log::Get(kAgent)->warn("{} alert not taken: {}", ToString(source), s.message());
      return Unavailable(s);
    }
    AlertCounter(source, outcome).Inc();
    ++counts[outcome];
  }
  Json out = Json{{"alerts", n->alerts.size()}, {"rejected", rejected}};
  for (const char* k : {"new", "attached", "duplicate", "resolved", "unmatched"}) out[k] = counts[k];
  return JsonReply(200, out);
}

Status IngestService::OnFiring(const AlertAnomaly& aa, const Alert& alert, AlertSource source, std::string& outcome) {
  KnowService(aa.service, std::string("alert:") + ToString(source), aa.anomaly.detection_time);
  std::lock_guard<std::mutex> lock(store_mu_);
  std::string marker = AlertMarker(aa.dedup_key, "firing");
  auto seen = redis_.Command({"EXISTS", marker});
  if (!seen.ok()) return seen.status();
  if (seen->integer > 0) {
    outcome = "duplicate";
    return Status::Ok();
  }
  auto taken = redis_.Eval(AlertLockScript(), {keys::OpenIncidentLock(aa.service)}, {aa.candidate_id});
  if (!taken.ok()) return taken.status();
  if (taken->elements.size() != 2) return Status::Transient("redis alert lock script: unexpected reply");
  const std::string& decision = taken->elements[0].str;
  const std::string& incident_id = taken->elements[1].str;
  log::LogScope scope("incident_id", incident_id);
  Json alert_json = {{"source", ToString(source)},      {"fingerprint", aa.baseline.fingerprint},
                     {"labels", alert.labels},          {"annotations", alert.annotations},
                     {"generator_url", alert.generator_url}, {"expr", aa.expr},
                     {"starts_at", alert.starts_at_ms}};
  if (decision == "new") {
    const AnomalyDetected& a = aa.anomaly;
    auto processed =
        ProcessOnce(db_, kConsumer, a.event_id, [&](pqxx::work& tx) -> Expected<std::vector<OutboundMessage>> {
          InsertDetectedIncident(tx, a, aa.trigger, TriggerBaseline{aa.baseline});
          RecordAgentEvent(tx, a.incident_id, kAgent, "ANOMALY_DETECTED",
                           Json{{"anomaly", ToJson(a)}, {"classification_method", "ALERT_RULE"}, {"alert", alert_json}},
                           a.detection_time);
          return std::vector<OutboundMessage>{{topics::kAnomaliesDetected, a.incident_id, Encode(a)}};
        });
    if (!processed.ok()) return processed.status();
    if (Status s = producer_.PublishBatch(processed->outputs); !s.ok()) return s;
    outcome = processed->fresh ? "new" : "duplicate";
    if (processed->fresh)
      log::Get(kAgent)->info("incident opened on {} by {} ({})", aa.service, aa.trigger, ToString(source));
  } else {
    std::string event_id = UuidFromName("alert-attach/" + incident_id + "/" + aa.dedup_key);
    auto processed =
        ProcessOnce(db_, kConsumer, event_id, [&](pqxx::work& tx) -> Expected<std::vector<OutboundMessage>> {
          AttachTrigger(tx, incident_id, aa.trigger, TriggerBaseline{aa.baseline});
          RecordAgentEvent(tx, incident_id, kAgent, "ALERT_ATTACHED",
                           Json{{"service", aa.service}, {"trigger", aa.trigger}, {"alert", alert_json}},
                           aa.anomaly.detection_time);
          return std::vector<OutboundMessage>{};
        });
    if (!processed.ok()) return processed.status();
    outcome = processed->fresh ? "attached" : "duplicate";
  }
  auto set = redis_.Command({"SET", marker, "1", "EX", std::to_string(options_.dedup_ttl_s)});
  return set.ok() ? Status::Ok() : set.status();
}

Status IngestService::OnResolved(const Alert& alert, const AlertNotification& n, std::string& outcome) {
  auto name = alert.labels.find("alertname");
  std::string trigger =
      TruncateUtf8("alert:" + (name != alert.labels.end() && !name->second.empty() ? name->second : "alert"), 128, false);
  std::string fingerprint = AlertFingerprint(alert);
  std::string dedup_key = fingerprint + "/" + std::to_string(alert.starts_at_ms);
  // Alertmanager sets endsAt to when it saw the alert resolve; a sender without one: now.
  int64_t ends = alert.ends_at_ms.value_or(NowMs());
  std::lock_guard<std::mutex> lock(store_mu_);
  std::string marker = AlertMarker(dedup_key, "resolved");
  auto seen = redis_.Command({"EXISTS", marker});
  if (!seen.ok()) return seen.status();
  if (seen->integer > 0) {
    outcome = "duplicate";
    return Status::Ok();
  }
  size_t changed = 0;
  auto processed = ProcessOnce(db_, kConsumer, UuidFromName("alert-resolved/" + dedup_key),
                               [&](pqxx::work& tx) -> Expected<std::vector<OutboundMessage>> {
                                 auto ids = ResolveAlertTrigger(tx, trigger, fingerprint, ends);
                                 for (const auto& id : ids)
                                   RecordAgentEvent(tx, id, kAgent, "ALERT_RESOLVED",
                                                    Json{{"trigger", trigger},
                                                         {"fingerprint", fingerprint},
                                                         {"source", ToString(n.source)},
                                                         {"ends_at", ends}},
                                                    ends);
                                 changed = ids.size();
                                 return std::vector<OutboundMessage>{};
                               });
  if (!processed.ok()) return processed.status();
  outcome = !processed->fresh ? "duplicate" : changed > 0 ? "resolved" : "unmatched";
  auto set = redis_.Command({"SET", marker, "1", "EX", std::to_string(options_.dedup_ttl_s)});
  return set.ok() ? Status::Ok() : set.status();
}

// ---- telemetry ----------------------------------------------------------------------------

bool IngestService::Admit(Forwarding& f, const std::string& service, int64_t ts, const char* source) {
  if (!InEventRange(ts)) {
    ++f.dropped["bad_timestamp"];
    return false;
  }
  if (!KnowService(service, source, ts)) {
    ++f.dropped["service_limit"];
    return false;
  }
  return true;
}

Reply IngestService::Forward(const std::string& endpoint, const Forwarding& f, const char* rejected_field) {
  if (Status s = PublishForwarded(f.out); !s.ok()) return Unavailable(s);
  SampleCounter(endpoint, "forwarded").Inc(static_cast<double>(f.out.size()));
  size_t rejected = 0;
  std::string why;
  for (const auto& [reason, count] : f.dropped) {
    SampleCounter(endpoint, reason).Inc(static_cast<double>(count));
    rejected += count;
    why += (why.empty() ? "" : ", ") + reason + ": " + std::to_string(count);
  }
  // Remote write: 204, drops are ours to count. OTLP/HTTP: a partial success names how many
  // records were rejected and why.
  if (!rejected_field) return Reply{204, "", {}};
  Json reply = Json::object();
  if (rejected > 0) reply["partialSuccess"] = {{rejected_field, std::to_string(rejected)}, {"errorMessage", why}};
  return JsonReply(200, reply);
}

Reply IngestService::RemoteWrite(const Request& r) {
  if (auto refused = Screen(r, "application/x-protobuf")) return *refused;
  // Prometheus sends batches of a few thousand samples; a decompressed body is bounded too.
  auto req = DecodeRemoteWrite(r.body, options_.max_body_bytes * 8);
  if (!req.ok()) return DeadLetter(r, req.status().message());
  Forwarding f;
  for (const auto& series : req->series) {
    for (const auto& [ts, value] : series.samples) {
      auto mapped = mapper_->Map(series.labels, ts, value, "remote_write");
      if (auto* reason = std::get_if<DropReason>(&mapped)) {
        ++f.dropped[ToString(*reason)];
        continue;
      }
      auto& m = std::get<Mapped>(mapped);
      if (Admit(f, m.service, m.ts_ms, "remote_write"))
        f.out.push_back({topics::kRawMetrics, m.service, Encode(ToRawMetric(m))});
    }
  }
  return Forward("remote_write", f, nullptr);
}

Reply IngestService::OtlpLogs(const Request& r) {
  if (auto refused = Screen(r, "application/json")) return *refused;
  auto body = ParseJsonObject(r.body);
  if (!body.ok()) return DeadLetter(r, "body: " + body.status().message() + " (OTLP/HTTP with JSON encoding)");
  auto logs = DecodeOtlpLogs(*body);
  if (!logs.ok()) return DeadLetter(r, logs.status().message());
  Forwarding f;
  f.dropped = logs->dropped;
  for (const auto& l : logs->logs)
    if (Admit(f, l.source_service, l.timestamp, "otlp")) f.out.push_back({topics::kRawLogs, l.source_service, Encode(l)});
  return Forward("otlp_logs", f, "rejectedLogRecords");
}

Reply IngestService::OtlpMetrics(const Request& r) {
  if (auto refused = Screen(r, "application/json")) return *refused;
  auto body = ParseJsonObject(r.body);
  if (!body.ok()) return DeadLetter(r, "body: " + body.status().message() + " (OTLP/HTTP with JSON encoding)");
  auto metrics = DecodeOtlpMetrics(*body, *mapper_);
  if (!metrics.ok()) return DeadLetter(r, metrics.status().message());
  Forwarding f;
  f.dropped = metrics->dropped;
  for (const auto& m : metrics->samples)
    if (Admit(f, m.service, m.ts_ms, "otlp")) f.out.push_back({topics::kRawMetrics, m.service, Encode(ToRawMetric(m))});
  return Forward("otlp_metrics", f, "rejectedDataPoints");
}

// ---- HTTP ---------------------------------------------------------------------------------

void RegisterRoutes(HttpServer& http, const IngestOptions& options, const std::atomic<IngestService*>& service) {
  auto& routes = http.Routes();
  routes.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.body.empty())
      res.set_content(Json{{"error", "HTTP " + std::to_string(res.status)}}.dump(), "application/json");
  });
  using Handler = Reply (*)(IngestService&, const Request&);
  size_t limit = options.max_body_bytes;
  auto post = [&service, limit](Handler handler) {
    return [&service, limit, handler](const httplib::Request& req, httplib::Response& res,
                                      const httplib::ContentReader& read) {
      Request r;
      r.path = req.path;
      r.authorization = req.get_header_value("Authorization");
      r.content_type = req.get_header_value("Content-Type");
      r.content_encoding = req.get_header_value("Content-Encoding");
      // An announced length over the limit is refused unread; otherwise the body is read only up
      // to one byte over the limit (a chunked body announces nothing).
      std::string length = req.get_header_value("Content-Length");
      char* end = nullptr;
      unsigned long long announced = length.empty() ? 0 : std::strtoull(length.c_str(), &end, 10);
      r.too_large = announced > limit;
      if (!r.too_large)
        read([&](const char* data, size_t n) {
          r.body.append(data, std::min(n, limit + 1 - r.body.size()));
          return r.body.size() <= limit;
        });
      r.too_large = r.too_large || r.body.size() > limit;
      if (r.too_large) r.body.clear();
      IngestService* s = service.load();
      Reply reply = s ? handler(*s, r) : ErrorReply(503, "starting: connecting to the broker and the stores");
      if (!s) reply.headers.emplace_back("Retry-After", "5");
      RequestCounter(Endpoint(r.path), reply.status).Inc();
      res.status = reply.status;
      for (const auto& [k, v] : reply.headers) res.set_header(k, v);
      if (reply.status == 413) res.set_header("Connection", "close");
      if (!reply.body.empty()) res.set_content(reply.body, "application/json");
    };
  };
  routes.Post("/api/v1/alerts/alertmanager",
              post([](IngestService& s, const Request& r) { return s.Alerts(AlertSource::kAlertmanager, r); }));
  routes.Post("/api/v1/alerts/grafana",
              post([](IngestService& s, const Request& r) { return s.Alerts(AlertSource::kGrafana, r); }));
  routes.Post("/api/v1/write", post([](IngestService& s, const Request& r) { return s.RemoteWrite(r); }));
  routes.Post("/v1/logs", post([](IngestService& s, const Request& r) { return s.OtlpLogs(r); }));
  routes.Post("/v1/metrics", post([](IngestService& s, const Request& r) { return s.OtlpMetrics(r); }));
  auto not_found = [](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader&) {
    res.status = 404;
    res.set_content(Json{{"error", "no route " + req.method + " " + req.path}}.dump(-1, ' ', false,
                                                                                  Json::error_handler_t::replace),
                    "application/json");
  };
  routes.Post(".*", not_found);
  routes.Put(".*", not_found);
  routes.Delete(".*", not_found);
}

}  // namespace sre::ingest
