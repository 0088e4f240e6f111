#include "api/server.h"

#include <httplib.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "shared/config.h"
#include "shared/log.h"
#include "shared/metrics.h"
#include "shared/text.h"

namespace sre::api {
namespace {

void SendJson(httplib::Response& res, int status, const Json& body) {
  res.status = status;
  res.set_header("Cache-Control", "no-store");
  // Strings from Redis or a request may hold ill-formed UTF-8: replaced, never a throw.
  res.set_content(body.dump(-1, ' ', false, Json::error_handler_t::replace), "application/json");
}

void SendError(httplib::Response& res, int status, const std::string& message) {
  SendJson(res, status, {{"error", message}});
}

void SendApiError(httplib::Response& res, const ApiError& e) {
  Json body = {{"error", e.message}};
  if (!e.field.empty() || e.status == 400) body["field"] = e.field;
  if (e.status == 401) res.set_header("WWW-Authenticate", "Bearer");
  SendJson(res, e.status, body);
}

void SendFailure(httplib::Response& res, const Status& s) {
  log::Get("api")->warn("request failed: {}", s.message());
  SendError(res, 503, s.transient() ? "store unavailable, retry" : "internal error");
}

std::multimap<std::string, std::string> Params(const httplib::Request& req) {
  return {req.params.begin(), req.params.end()};
}

// Validates the {id} path segment: 400 when it is not a UUID.
bool ValidId(const std::string& id, httplib::Response& res) {
  if (IsUuid(id)) return true;
  SendError(res, 400, "incident id must be a UUID");
  return false;
}

std::string ReadFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Counter& RequestCounter(const std::string& route, int status) {
  return Metrics().GetCounter("sre_api_requests_total",
                              "HTTP requests served by sre-api, by route and status",
                              {{"route", route}, {"status", std::to_string(status)}});
}

Gauge& OpenStreamsGauge() {
  return Metrics().GetGauge("sre_api_open_streams",
                            "Open /api/stream connections (at most API_MAX_STREAMS)");
}

}  // namespace

uint64_t EventHub::Publish(StreamEvent e) {
  uint64_t id = ring_.Push(std::move(e));
  // Taking mu_ once orders the push before any waiter's predicate check: no lost wake-up.
  { std::lock_guard<std::mutex> lock(mu_); }
  cv_.notify_all();
  return id;
}

bool EventHub::WaitNewer(uint64_t after, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, timeout, [&] { return shutdown_.load() || ring_.last_id() > after; });
  return ring_.last_id() > after;
}

void EventHub::Shutdown() {
  shutdown_ = true;
  { std::lock_guard<std::mutex> lock(mu_); }
  cv_.notify_all();
}

Status StreamHandler::Handle(const InboundMessage& message) {
  auto made = MakeStreamEvent(message.topic, message.payload);
  if (auto* err = std::get_if<ApiError>(&made)) return Status::Invalid(err->message);
  auto& made_event = std::get<LifecycleEvent>(made);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (std::find(recent_ids_.begin(), recent_ids_.end(), made_event.event_id) != recent_ids_.end())
      return Status::Ok();
    recent_ids_.push_back(made_event.event_id);
    while (recent_ids_.size() > kStreamRingCapacity) recent_ids_.pop_front();
  }
  hub_.Publish(std::move(made_event.event));
  Metrics()
      .GetCounter("sre_api_stream_events_total",
                  "Lifecycle events added to the live stream, by topic", {{"topic", message.topic}})
      .Inc();
  return Status::Ok();
}

void PublishStatsGauges(const Json& stats, MetricsRegistry& registry) {
  const char* kMttrHelp =
      "Time to resolve incidents (event time), over every incident in the database";
  // A missing or non-numeric figure reads as 0 (this runs on the refresher's thread, where a
  // throw would end the process).
  auto number = [&stats](const char* object, const char* key) {
    if (!stats.is_object() || !stats.contains(object)) return 0.0;
    const Json& o = stats[object];
    return o.is_object() && o.contains(key) && o[key].is_number() ? o[key].get<double>() : 0.0;
  };
  for (const char* stat : {"mean", "p90"})
    registry.GetGauge("sre_api_mttr_seconds", kMttrHelp, {{"stat", stat}})
        .Set(number("mttr_seconds", stat));
  const char* kIncidentsHelp =
      "Incidents in the database by status (open: neither RESOLVED nor CLOSED)";
  for (const char* status : {"DETECTING", "CORRELATING", "INVESTIGATING", "RCA_COMPLETE",
                             "REMEDIATING", "RESOLVED", "CLOSED"})
    registry.GetGauge("sre_api_incidents", kIncidentsHelp, {{"status", status}})
        .Set(number("by_status", status));
  registry.GetGauge("sre_api_incidents", kIncidentsHelp, {{"status", "open"}})
      .Set(stats.is_object() && stats.contains("open") && stats["open"].is_number()
               ? stats["open"].get<double>()
               : 0.0);
}

StatsRefresher::StatsRefresher(ApiStore& store, std::chrono::milliseconds every)
    : thread_([this, &store, every] {
        std::unique_lock<std::mutex> lock(mu_);
        while (!stop_) {
          lock.unlock();
          auto stats = store.Stats();
          if (stats.ok()) PublishStatsGauges(*stats, Metrics());
          lock.lock();
          cv_.wait_for(lock, every, [this] { return stop_; });
        }
      }) {}

StatsRefresher::~StatsRefresher() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

ApiOptions ReadApiOptions(Config& config) {
  ApiOptions options;
  options.token = config.SecretValue("API_TOKEN").reveal();
  options.max_streams =
      static_cast<size_t>(config.Int("API_MAX_STREAMS", kDefaultMaxStreams, 1, kMaxMaxStreams));
  options.static_dir = StaticDir();
  return options;
}

std::string StaticDir() {
  if (const char* env = std::getenv("API_STATIC_DIR"); env && *env) return env;
  if (std::filesystem::is_directory("api/static")) return "api/static";
  return std::string(SRE_SOURCE_DIR) + "/api/static";
}

void RegisterRoutes(httplib::Server& server, ApiStore& store, EventHub& hub,
                    const ApiOptions& options) {
  // A stream holds its worker for as long as it is open: streams are capped below the pool size,
  // so kReservedWorkers are always left for everything else.
  const size_t workers = options.max_streams + kReservedWorkers;
  server.new_task_queue = [workers] { return new httplib::ThreadPool(workers); };
  // Without it a keep-alive response's body waits for the ACK of its headers (Nagle against the
  // client's delayed ACK): ~40 ms per request.
  server.set_tcp_nodelay(true);
  server.set_keep_alive_timeout(kKeepAliveTimeoutS);
  server.set_keep_alive_max_count(kKeepAliveMaxCount);
  server.set_payload_max_length(kMaxPayloadBytes);

  const std::string token = options.token;
  server.set_pre_routing_handler([token](const httplib::Request& req, httplib::Response& res) {
    bool protected_path = req.path.rfind("/api/", 0) == 0 || req.path == "/metrics";
    if (!protected_path || Authorized(token, req.get_header_value("Authorization"),
                                      req.get_param_value("access_token"))) {
      auto bad = CheckQueryParameters(Params(req));
      if (!bad) return httplib::Server::HandlerResponse::Unhandled;
      SendError(res, bad->status, bad->message);
      return httplib::Server::HandlerResponse::Handled;
    }
    res.set_header("WWW-Authenticate", "Bearer");
    SendError(res, 401, "missing or wrong bearer token");
    return httplib::Server::HandlerResponse::Handled;
  });
  server.set_post_routing_handler([](const httplib::Request& req, httplib::Response& res) {
    RequestCounter(RouteTemplate(req.path), res.status).Inc();
  });

  server.Get("/api/incidents", [&store](const httplib::Request& req, httplib::Response& res) {
    auto parsed = ParseIncidentQuery(Params(req));
    if (auto* err = std::get_if<ApiError>(&parsed))
      return SendError(res, err->status, err->message);
    auto list = store.ListIncidents(std::get<IncidentQuery>(parsed));
    if (!list.ok()) return SendFailure(res, list.status());
    if (!*list) return SendError(res, 400, "before names no incident");
    SendJson(res, 200, **list);
  });
  server.Get(R"(/api/incidents/([^/]+))",
             [&store](const httplib::Request& req, httplib::Response& res) {
               std::string id = req.matches[1];
               if (!ValidId(id, res)) return;
               auto incident = store.Incident(id);
               if (!incident.ok()) return SendFailure(res, incident.status());
               if (!*incident) return SendError(res, 404, "no incident " + id);
               SendJson(res, 200, **incident);
             });
  server.Get(R"(/api/incidents/([^/]+)/timeline)",
             [&store](const httplib::Request& req, httplib::Response& res) {
               std::string id = req.matches[1];
               if (!ValidId(id, res)) return;
               auto timeline = store.Timeline(id);
               if (!timeline.ok()) return SendFailure(res, timeline.status());
               if (!*timeline) return SendError(res, 404, "no incident " + id);
               SendJson(res, 200, **timeline);
             });
  server.Get(R"(/api/incidents/([^/]+)/postmortem)",
             [&store](const httplib::Request& req, httplib::Response& res) {
               std::string id = req.matches[1];
               if (!ValidId(id, res)) return;
               auto pm = store.Postmortem(id);
               if (!pm.ok()) return SendFailure(res, pm.status());
               if (!*pm) return SendError(res, 404, "no incident " + id);
               if ((*pm)->empty())
                 return SendError(res, 404, "incident " + id + " has no postmortem yet");
               res.set_content(**pm, "text/markdown; charset=utf-8");
             });
  server.Get(R"(/api/incidents/([^/]+)/actions)",
             [&store](const httplib::Request& req, httplib::Response& res) {
               std::string id = req.matches[1];
               if (!ValidId(id, res)) return;
               auto actions = store.Actions(id);
               if (!actions.ok()) return SendFailure(res, actions.status());
               if (!*actions) return SendError(res, 404, "no incident " + id);
               SendJson(res, 200, **actions);
             });
  // A person's decision on a remediation action (issue 18): the API's only write. Refused from
  // another site's page (Origin), without the bearer header when a token is set, and with a body
  // that is not JSON; `by` is recorded as who decided.
  server.Post(
      R"(/api/incidents/([^/]+)/actions/([^/]+)/(approve|reject))",
      [&store, token](const httplib::Request& req, httplib::Response& res) {
        PostHeaders h{req.get_header_value("Origin"), req.get_header_value("Host"),
                      req.get_header_value("Authorization"), req.get_header_value("Content-Type")};
        if (auto refused = ScreenPost(h, req.body.size(), token))
          return SendApiError(res, *refused);
        const std::string id = req.matches[1], action_id = req.matches[2];
        const bool approve = req.matches[3] == "approve";
        if (!ValidId(id, res)) return;
        if (!IsUuid(action_id)) return SendError(res, 400, "action id must be a UUID");
        auto parsed = ParseDecisionBody(req.body);
        if (auto* err = std::get_if<ApiError>(&parsed)) return SendApiError(res, *err);
        const auto& who = std::get<DecisionRequest>(parsed);
        auto decided = store.Decide(id, action_id, approve, who);
        if (!decided.ok()) return SendFailure(res, decided.status());
        DecisionAnswer answer = AnswerDecision(decided->outcome, decided->action, id, action_id);
        if (answer.status == 200 || answer.status == 410)
          log::Get("api")->info("action {} of incident {} {} by {}: {}", action_id, id,
                                approve ? "approved" : "rejected", who.by,
                                answer.status == 200 ? "decided" : "expired, escalated");
        SendJson(res, answer.status, answer.body);
      });
  server.Get("/api/stats", [&store](const httplib::Request&, httplib::Response& res) {
    auto stats = store.Stats();
    if (!stats.ok()) return SendFailure(res, stats.status());
    SendJson(res, 200, *stats);
  });
  server.Get("/api/events", [&store](const httplib::Request& req, httplib::Response& res) {
    auto parsed = ParseEventsQuery(Params(req));
    if (auto* err = std::get_if<ApiError>(&parsed))
      return SendError(res, err->status, err->message);
    auto events = store.RecentEvents(std::get<EventsQuery>(parsed));
    if (!events.ok()) return SendFailure(res, events.status());
    SendJson(res, 200, *events);
  });
  server.Get("/api/services", [&store](const httplib::Request&, httplib::Response& res) {
    auto services = store.Services();
    if (!services.ok()) return SendFailure(res, services.status());
    SendJson(res, 200, *services);
  });

  auto slots = std::make_shared<StreamSlots>(options.max_streams);
  OpenStreamsGauge().Set(0);
  server.Get("/api/stream", [&hub, slots, keepalive = options.keepalive](
                                const httplib::Request& req, httplib::Response& res) {
    auto resume = ResumePoint(req.get_header_value("Last-Event-ID"), req.get_param_value("since"));
    if (auto* err = std::get_if<ApiError>(&resume))
      return SendError(res, err->status, err->message);
    auto since = std::get<std::optional<uint64_t>>(resume);
    auto acquired = slots->TryAcquire();
    if (!acquired) {
      res.set_header("Retry-After", std::to_string(kStreamRetryAfterS));
      // httplib keeps the connection (and its worker) otherwise; the client closes on this.
      res.set_header("Connection", "close");
      return SendError(res, 503,
                       "too many open streams (" + std::to_string(slots->max()) + "); retry in " +
                           std::to_string(kStreamRetryAfterS) + " s");
    }
    // Released when httplib is done with the response: the client went away, the server stops,
    // or the provider gave up. The releaser holds `slots` too, so the count outlives every slot.
    auto slot = std::make_shared<StreamSlots::Slot>(std::move(*acquired));
    OpenStreamsGauge().Add(1);
    // A fresh client starts after the newest event; a resuming one after the id it last saw.
    auto cursor = std::make_shared<uint64_t>(since ? *since : hub.ring().last_id());
    auto first = std::make_shared<bool>(true);
    auto last_write =
        std::make_shared<std::chrono::steady_clock::time_point>(std::chrono::steady_clock::now());
    res.set_header("Cache-Control", "no-store");
    res.set_header("X-Accel-Buffering", "no");
    auto provider = [&hub, cursor, first, last_write, keepalive](size_t, httplib::DataSink& sink) {
      if (hub.shut_down()) return false;
      std::string out;
      if (*first) {
        *first = false;
        out = "retry: 2000\n" + SseComment("sre-api stream");
      } else if (!hub.WaitNewer(*cursor, std::min(keepalive, std::chrono::milliseconds(1000)))) {
        // Wake every second to notice a shutdown or a client gone (is_writable peeks at the
        // socket), so its stream slot is given back promptly; a comment only every `keepalive`.
        if (hub.shut_down()) return false;
        if (std::chrono::steady_clock::now() - *last_write < keepalive) return sink.is_writable();
        *last_write = std::chrono::steady_clock::now();
        out = SseComment("keep-alive");
        return sink.write(out.data(), out.size());
      }
      auto replay = hub.ring().Since(*cursor);
      if (replay.gap) {
        out +=
            "event: resync\ndata: {\"reason\":\"events were dropped from the replay buffer\"}\n\n";
      }
      for (const auto& e : replay.events) {
        out += SseFrame(e);
        *cursor = e.id;
      }
      if (out.empty()) return true;
      *last_write = std::chrono::steady_clock::now();
      return sink.write(out.data(), out.size());
    };
    res.set_chunked_content_provider("text/event-stream", std::move(provider), [slots, slot](bool) {
      slot->Release();
      OpenStreamsGauge().Add(-1);
    });
  });

  server.Get("/api/.*", [](const httplib::Request& req, httplib::Response& res) {
    SendError(res, 404, "no such endpoint " + SanitizeUtf8(TruncateUtf8(req.path, 128)));
  });
  server.Post("/api/.*", [](const httplib::Request& req, httplib::Response& res) {
    SendError(res, 404, "no such endpoint POST " + SanitizeUtf8(TruncateUtf8(req.path, 128)));
  });

  std::filesystem::path root = options.static_dir;
  server.Get(R"(/(.*))", [root](const httplib::Request& req, httplib::Response& res) {
    auto rel = StaticRelativePath(req.path);
    if (!rel) return SendError(res, 400, "bad path");
    std::filesystem::path p = root / *rel;
    std::error_code ec;
    if (!std::filesystem::is_regular_file(p, ec)) return SendError(res, 404, "not found");
    res.set_header("Cache-Control", "no-cache");
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_header("Content-Security-Policy",
                   "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                   "connect-src 'self'");
    res.set_content(ReadFile(p), ContentTypeFor(*rel));
  });
}

}  // namespace sre::api
