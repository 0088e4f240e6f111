#include "simulator/service.h"

#include <httplib.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <thread>

#include "shared/log.h"
#include "shared/messages.h"

namespace sre::sim {
namespace {

using Clock = std::chrono::steady_clock;

std::shared_ptr<spdlog::logger> Logger() { return log::Get("simulator"); }

// Sleeps until `deadline` or until `stop` is set, whichever comes first.
void SleepUntil(Clock::time_point deadline, const std::atomic<bool>& stop) {
  while (!stop.load()) {
    auto now = Clock::now();
    if (now >= deadline) return;
    std::this_thread::sleep_for(
        std::min<Clock::duration>(deadline - now, std::chrono::milliseconds(50)));
  }
}

template <typename T>
OutboundMessage ToOutbound(const T& m) {
  if constexpr (std::is_same_v<T, GroundTruth>)
    return {T::kTopic, m.service, Encode(m)};
  else
    return {T::kTopic, m.source_service, Encode(m)};
}

template <typename T>
void Append(std::vector<OutboundMessage>& out, const std::vector<T>& messages) {
  for (const auto& m : messages) out.push_back(ToOutbound(m));
}

// `body_unread`: the request's body (or part of it) was left unread, so the client is told to
// close the connection rather than send another request after it (httplib 0.11 keeps the
// connection open whatever the reply says, and would read the rest as a request).
void Send(httplib::Response& res, const HttpReply& reply, bool body_unread) {
  res.status = reply.status;
  for (const auto& [name, value] : reply.headers) res.set_header(name, value);
  if (body_unread) res.set_header("Connection", "close");
  res.set_content(reply.body, "application/json");
}

}  // namespace

ServiceOptions ReadOptions(Config& config, int64_t wall_now_ms, uint64_t random_seed) {
  ServiceOptions o;
  o.speed = config.Double("SIM_SPEED", 1.0, 0.001, 1e6);
  o.core.seed = static_cast<uint64_t>(
      config.Int("SIM_SEED", static_cast<int64_t>(random_seed & 0x7FFFFFFFFFFFFFFFULL), 0,
                 std::numeric_limits<int64_t>::max()));
  o.schedule = config.Choice("SIM_SCHEDULE", "random", {"random", "off"});
  o.publish_telemetry = config.Choice("SIM_PUBLISH", "all", {"all", "none"}) == "all";
  o.core.random_schedule = o.schedule == "random";
  o.core.first_injection_ms = config.Int("SIM_FIRST_INJECTION_S", 60, 0, 7 * 86400) * 1000;
  o.core.profile = *ParseProfile(config.Choice("SIM_PROFILE", "realistic", {"realistic", "clean"}));
  o.backfill_ms = config.Int("SIM_BACKFILL_S", 600, 0, 7 * 86400) * 1000;
  // Whole seconds keep timestamps readable; the default is the wall clock at start.
  o.core.live_start_ms =
      config.Int("SIM_START_TIME_MS", wall_now_ms / 1000 * 1000, 0, 253402300799000);
  o.api_token = config.SecretValue("SIM_API_TOKEN");
  o.http_port = config.Port("HTTP_PORT", 8100, /*allow_zero=*/true);
  o.knowledge_dir = KnowledgeDir();
  return o;
}

std::vector<std::string> OptionsHelp() {
  return {
      "HTTP_PORT                /healthz, /metrics, /api/scenarios, /api/actions (8100; 0: a free "
      "one)",
      "SIM_SPEED                simulated seconds per wall second, > 0 (1)",
      "SIM_SEED                 seed for values, logs, schedule and event ids (random; logged)",
      "SIM_SCHEDULE             random: inject scenarios by themselves; off: only on request "
      "(random)",
      "SIM_PROFILE              realistic: seasonality, heavy tails, spikes, benign bursts, "
      "missing and late samples; clean: the light-tailed model around the baselines (realistic)",
      "SIM_PUBLISH              all: raw.metrics, raw.logs and raw.deployments to the broker; none: only\n"
      "                         /metrics (sim_metric_value) and sim.ground_truth, for Prometheus to scrape (all)",
      "SIM_FIRST_INJECTION_S    simulated seconds from the live start to the first injection (60)",
      "SIM_BACKFILL_S           simulated seconds of normal history published at start (600)",
      "SIM_START_TIME_MS        simulated Unix ms where the live clock starts (wall clock at "
      "start)",
      "SIM_API_TOKEN            when set, every POST needs 'Authorization: Bearer <token>' (none)",
      "KNOWLEDGE_DIR            where architecture/services.json lives (./knowledge or the source "
      "tree)",
  };
}

std::vector<OutboundMessage> ToMessages(const TickBatch& batch) {
  std::vector<OutboundMessage> out;
  out.reserve(batch.size());
  Append(out, batch.deployments);
  Append(out, batch.ground_truth);
  Append(out, batch.metrics);
  Append(out, batch.logs);
  return out;
}

void ReleaseQueue::Add(const TickBatch& batch) {
  // A late sample (realistic profile) is dated before its batch: it goes out with the batch,
  // after that tick's own samples, i.e. out of order on the wire.
  auto add = [&](const auto& messages) {
    for (const auto& m : messages)
      held_.push_back({std::max(m.timestamp, batch.timestamp_ms), seq_++, ToOutbound(m)});
  };
  add(batch.deployments);
  add(batch.ground_truth);
  add(batch.metrics);
  add(batch.logs);
  std::stable_sort(held_.begin(), held_.end(),
                   [](const Held& a, const Held& b) { return a.due_ms < b.due_ms; });
}

std::vector<OutboundMessage> ReleaseQueue::TakeDue(int64_t now_ms) {
  auto end = std::find_if(held_.begin(), held_.end(),
                          [&](const Held& h) { return h.due_ms > now_ms; });
  std::vector<OutboundMessage> out;
  out.reserve(static_cast<size_t>(end - held_.begin()));
  for (auto it = held_.begin(); it != end; ++it) out.push_back(std::move(it->message));
  held_.erase(held_.begin(), end);
  return out;
}

SimulatorService::SimulatorService(ServiceCatalog catalog, ServiceOptions options,
                                   Producer& producer, MetricsRegistry& metrics)
    : options_(std::move(options)),
      sim_(std::make_unique<Simulator>(std::move(catalog), options_.core)),
      api_(std::make_unique<ScenarioApi>(
          *sim_, mu_, metrics, RunInfo{options_.speed, options_.schedule}, options_.api_token)),
      producer_(producer),
      metrics_(metrics) {
  metrics_.GetGauge("sim_active_scenarios", "Failure scenarios currently active");
  metrics_.GetCounter("sim_publish_failures_total",
                      "Tick batches the broker did not acknowledge (retried)");
}

void SimulatorService::Register(HttpServer& http) {
  auto& routes = http.Routes();
  routes.set_payload_max_length(kMaxBodyBytes);
  routes.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.body.empty())
      res.set_content(Json{{"error", "HTTP " + std::to_string(res.status)}}.dump(),
                      "application/json");
  });
  routes.Get("/api/scenarios", [this](const httplib::Request&, httplib::Response& res) {
    Send(res, api_->List(), false);
  });
  // Content-reader handlers: the body is read here, only once the headers have passed Screen,
  // and never more than kMaxBodyBytes + 1 bytes of it (httplib's own limit misses chunked
  // bodies).
  auto post = [this](PostRoute route) {
    return [this, route](const httplib::Request& req, httplib::Response& res,
                         const httplib::ContentReader& read) {
      PostHeaders h{req.get_header_value("Origin"),          req.get_header_value("Host"),
                    req.get_header_value("Authorization"),   req.get_header_value("Content-Type"),
                    req.get_header_value("Content-Length"),  req.get_header_value("Transfer-Encoding"),
                    req.get_header_value("Idempotency-Key")};
      if (auto refused = api_->Screen(route, h)) return Send(res, *refused, AnnouncesBody(h));
      std::string body;
      bool complete = !AnnouncesBody(h) || read([&body](const char* data, size_t n) {
        body.append(data, std::min(n, kMaxBodyBytes + 1 - body.size()));
        return body.size() <= kMaxBodyBytes;
      });
      if (!complete && body.size() <= kMaxBodyBytes)
        return Send(res, {400, Json{{"error", "the request body could not be read"}}.dump(), {}},
                    true);
      HttpReply reply;
      switch (route) {
        case PostRoute::kNamed:
          reply = api_->InjectNamed(req.matches[1].str(), h, body);
          break;
        case PostRoute::kCustom:
          reply = api_->InjectCustom(h, body);
          break;
        case PostRoute::kAction:
          reply = api_->Action(h, body);
          break;
      }
      Send(res, reply, !complete);
    };
  };
  routes.Post("/api/actions", post(PostRoute::kAction));
  routes.Post("/api/scenarios", post(PostRoute::kCustom));
  routes.Post(R"(/api/scenarios/([^/]+))", post(PostRoute::kNamed));
  auto not_found = [](const httplib::Request& req, httplib::Response& res,
                      const httplib::ContentReader&) {
    HttpReply reply{404,
                    Json{{"error", "no route " + req.method + " " + req.path}}.dump(
                        -1, ' ', false, Json::error_handler_t::replace),
                    {}};
    Send(res, reply, true);
  };
  routes.Post(".*", not_found);
  routes.Put(".*", not_found);
  routes.Patch(".*", not_found);
  routes.Delete(".*", not_found);
  http.AddHealthCheck("kafka", [this] { return producer_.CheckBroker(std::chrono::seconds(2)); });
}

TickBatch SimulatorService::TickLocked(int64_t now_ms) {
  TickBatch batch;
  size_t active = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    batch = sim_->Tick(now_ms);
    active = sim_->Active().size();
  }
  for (const auto& m : batch.metrics) {
    if (m.timestamp != now_ms) continue;  // a late sample: the gauge keeps the newer value
    metrics_
        .GetGauge("sim_metric_value", "Current simulated value of each metric, per service",
                  {{"metric", m.metric_name}, {"service", m.source_service}})
        .Set(m.metric_value);
  }
  metrics_.GetGauge("sim_active_scenarios", "Failure scenarios currently active")
      .Set(static_cast<double>(active));
  metrics_.GetGauge("sim_simulated_time_seconds", "Simulated clock (Unix seconds) of the last tick")
      .Set(static_cast<double>(now_ms) / 1000.0);
  metrics_.GetCounter("sim_ticks_total", "Ticks simulated (backfill included)").Inc();
  for (const auto& name : batch.scheduled) api_->CountInjection(name);
  for (const auto& g : batch.ground_truth)
    Logger()->info("scenario {} {} on {} (root cause {} {})", g.scenario,
                   g.phase == Phase::START ? "started" : "ended", g.service, g.root_cause_service,
                   ToString(g.root_cause_category));
  for (const auto& d : batch.deployments)
    Logger()->info("deployment of {} {} ({} -> {})", d.source_service, ToString(d.change_type),
                   d.previous_version, d.version);
  return batch;
}

std::vector<OutboundMessage> SimulatorService::Publishable(std::vector<OutboundMessage> messages) const {
  if (options_.publish_telemetry) return messages;
  std::erase_if(messages, [](const OutboundMessage& m) { return m.topic.rfind("raw.", 0) == 0; });
  return messages;
}

Status SimulatorService::PublishWithRetry(const std::vector<OutboundMessage>& messages,
                                          const std::atomic<bool>& stop) {
  for (int attempt = 0;; ++attempt) {
    Status s = producer_.PublishBatch(messages);
    if (s.ok()) {
      if (attempt > 0) Logger()->info("broker acknowledged again after {} retries", attempt);
      std::map<std::string, double> per_topic;
      for (const auto& m : messages) per_topic[m.topic] += 1;
      for (const auto& [topic, n] : per_topic)
        metrics_
            .GetCounter("sim_events_published_total", "Events published, by topic",
                        {{"topic", topic}})
            .Inc(n);
      return s;
    }
    if (!s.transient()) return s;
    metrics_
        .GetCounter("sim_publish_failures_total",
                    "Tick batches the broker did not acknowledge (retried)")
        .Inc();
    if (attempt == 0) Logger()->warn("publishing failed, retrying: {}", s.message());
    SleepUntil(Clock::now() + Backoff(attempt, std::chrono::milliseconds(500),
                                      std::chrono::milliseconds(15000)),
               stop);
    if (stop.load()) return Status::Ok();
  }
}

Status SimulatorService::Run(const std::atomic<bool>& stop) {
  const int64_t live = options_.core.live_start_ms;
  const int64_t ticks_back = options_.backfill_ms / kTickMs;
  Logger()->info(
      "seed={} live start={} speed={} schedule={} profile={} run={}; backfilling {} ticks "
      "(reproduce with SIM_SEED={} SIM_START_TIME_MS={} SIM_PROFILE={})",
      options_.core.seed, live, options_.speed, options_.schedule,
      ProfileName(options_.core.profile), sim_->run_id(), ticks_back, options_.core.seed, live,
      ProfileName(options_.core.profile));

  std::vector<OutboundMessage> pending;
  for (int64_t t = live - ticks_back * kTickMs; t < live && !stop.load(); t += kTickMs) {
    auto messages = Publishable(ToMessages(TickLocked(t)));
    pending.insert(pending.end(), std::make_move_iterator(messages.begin()),
                   std::make_move_iterator(messages.end()));
    if (pending.size() >= 2000 || t + kTickMs >= live) {
      Status s = PublishWithRetry(pending, stop);
      if (!s.ok()) return s;
      pending.clear();
    }
  }
  if (stop.load()) return Status::Ok();
  if (ticks_back > 0) Logger()->info("backfill published; live from {}", live);

  // Live: a tick every 10 simulated seconds, and each message published once the simulated
  // clock reaches its timestamp (at most a simulated second late), checked every simulated
  // second; above 100x, every tick instead (the whole tick at once: under 100 ms of wall time
  // early).
  const int64_t step_ms = options_.speed <= 100 ? 1000 : kTickMs;
  const auto period = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(static_cast<double>(step_ms) / 1000.0 / options_.speed));
  ReleaseQueue queue;
  auto next = Clock::now();
  for (int64_t t = live; !stop.load(); t += step_ms) {
    if ((t - live) % kTickMs == 0) {
      TickBatch batch = TickLocked(t);
      if (!options_.publish_telemetry) {
        batch.metrics.clear();
        batch.logs.clear();
        batch.deployments.clear();
      }
      queue.Add(std::move(batch));
    }
    auto due = queue.TakeDue(step_ms == kTickMs ? t + kTickMs - 1 : t);
    if (!due.empty()) {
      Status s = PublishWithRetry(due, stop);
      if (!s.ok()) return s;
    }
    next += period;
    auto now = Clock::now();
    if (next + period < now) next = now;  // fell behind (slow broker): do not burst to catch up
    SleepUntil(next, stop);
  }
  Logger()->info("stopping");
  return Status::Ok();
}

}  // namespace sre::sim
