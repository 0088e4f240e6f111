#include "agents/investigation/resolution_monitor.h"

#include <charconv>
#include <thread>

#include "shared/ids.h"
#include "shared/incident.h"
#include "shared/log.h"
#include "shared/messages.h"
#include "shared/metrics.h"
#include "shared/redis_keys.h"

namespace sre::investigation {
namespace {

constexpr const char* kAgent = "investigation";
constexpr int64_t kFailureLogEveryMs = 300000;

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::vector<std::pair<int64_t, double>> Samples(const RedisReply& reply) {
  std::vector<std::pair<int64_t, double>> out;
  for (const auto& e : reply.elements)
    if (auto p = keys::ParseSeriesMember(e.str)) out.push_back(*p);
  return out;
}

// Releases a service's lock only if `incident_id` still holds it, and drops its pattern set.
const RedisScript& ReleaseScript() {
  static const RedisScript s(
      "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end "
      "redis.call('DEL', KEYS[2]) return 1");
  return s;
}

// The pipeline's clock: the upper quartile of the scores of keys::kServiceClock (rank
// floor((n - 1) * 3 / 4) from the oldest), nil when it is empty. Services that went quiet
// (decommissioned, or an incident's own) sit at the bottom and do not hold it back unless they are
// three quarters of all; absurd future timestamps need a quarter of all services to move it. Also
// keeps the set bounded: its oldest members beyond kServiceClockMax, and services silent for over
// a week of event time behind the clock, are dropped. KEYS: 1 clock. ARGV: 1 max members.
const RedisScript& ClockScript() {
  static const RedisScript s(R"lua(
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(tonumber(ARGV[1]) + 1))
local n = redis.call('ZCARD', KEYS[1])
if n == 0 then return false end
local mid = math.floor((n - 1) * 3 / 4)
local m = redis.call('ZRANGE', KEYS[1], mid, mid, 'WITHSCORES')
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. (tonumber(m[2]) - 604800000))
return m[2]
)lua");
  return s;
}

}  // namespace

ResolutionMonitor::ResolutionMonitor(RedisOptions redis, std::string database_url, Producer& producer,
                                     MonitorOptions options)
    : redis_(std::move(redis)), db_(std::move(database_url)), producer_(producer), options_(options) {}

Expected<int> ResolutionMonitor::CheckOnce() {
  std::vector<Open> open;
  Status s = db_.Transact([&](pqxx::work& tx) {
    open.clear();
    for (auto row : tx.exec("SELECT id::text, service, (extract(epoch from detection_time) * 1000)::bigint, "
                            "baselines::text FROM incidents WHERE status NOT IN ('RESOLVED', 'CLOSED') "
                            "ORDER BY detection_time")) {
      Open inc{row[0].as<std::string>(), row[1].as<std::string>(), row[2].as<int64_t>(), {}, Status::Ok()};
      auto baselines = ParseBaselines(Json::parse(row[3].as<std::string>(), nullptr, false));
      if (baselines.ok())
        inc.baselines = std::move(*baselines);
      else
        inc.decoded = Status::Internal("incident " + inc.id + ": column baselines: " + baselines.status().message());
      open.push_back(std::move(inc));
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;

  const int64_t now = WallMs();
  std::set<std::string> open_ids;
  for (const auto& inc : open) open_ids.insert(inc.id);
  std::erase_if(watches_, [&](const auto& w) { return !open_ids.count(w.first); });
  std::erase_if(failure_logged_ms_, [&](const auto& f) { return !open_ids.count(f.first); });

  // Read once per pass; unknown (Redis down) resolves nothing by signal loss this pass.
  clock_ms_.reset();
  if (!open.empty()) {
    auto clock = redis_.Eval(ClockScript(), {keys::kServiceClock}, {std::to_string(keys::kServiceClockMax)});
    int64_t v = 0;
    if (clock.ok() && clock->type == RedisReply::Type::kString &&
        std::from_chars(clock->str.data(), clock->str.data() + clock->str.size(), v).ec == std::errc())
      clock_ms_ = v;
  }

  if (Status restored = RestoreLocks(open); !restored.ok())
    log::Get("resolution")->warn("could not check the open incidents' locks (retried next pass): {}", restored.message());

  int resolved = 0, failed = 0;
  Status first_failure = Status::Ok();
  const size_t start = open.empty() ? 0 : pass_++ % open.size();
  for (size_t k = 0; k < open.size(); ++k) {
    const Open& inc = open[(start + k) % open.size()];
    Expected<bool> r = [&]() -> Expected<bool> {
      try {
        return CheckIncident(inc, now);
      } catch (const std::exception& e) {
        return Status::Internal(std::string("resolution check exception: ") + e.what());
      }
    }();
    if (r.ok()) {
      resolved += *r ? 1 : 0;
      failure_logged_ms_.erase(inc.id);
      continue;
    }
    ++failed;
    if (first_failure.ok()) first_failure = r.status();
    Metrics()
        .GetCounter("sre_resolution_failures_total", "Resolution checks of one incident that failed (retried next pass)")
        .Inc();
    auto& logged = failure_logged_ms_[inc.id];
    if (now - logged >= kFailureLogEveryMs) {
      logged = now;
      log::LogScope scope("incident_id", inc.id);
      log::Get("resolution")->warn("resolution check failed (retried every pass; other incidents go on): {}",
                                   r.status().message());
    }
  }
  Metrics().GetGauge("sre_open_incidents", "Incidents not yet resolved").Set(static_cast<double>(open.size() - resolved));

  if (std::chrono::steady_clock::now() >= next_sweep_) {
    if (Status sweep = SweepStaleLocks(); sweep.ok())
      next_sweep_ = std::chrono::steady_clock::now() + options_.lock_sweep;
    else
      log::Get("resolution")->warn("stale lock sweep failed (retried next pass): {}", sweep.message());
  }
  // Back off only when nothing could be checked because a store is down.
  if (failed > 0 && failed == static_cast<int>(open.size()) && first_failure.transient()) return first_failure;
  return resolved;
}

Expected<bool> ResolutionMonitor::CheckIncident(const Open& inc, int64_t now_wall_ms) {
  if (!inc.decoded.ok()) return inc.decoded;  // logged, counted and retried like any failed check
  std::vector<std::vector<std::string>> cmds;
  std::vector<std::string> series;
  for (const auto& [metric, b] : inc.baselines.series) series.push_back(metric);
  if (series.empty()) series.push_back("request_rate");  // a clock for log-only incidents
  for (const auto& metric : series)
    cmds.push_back({"ZRANGEBYSCORE", keys::SeriesHistory(inc.service, metric), "(" + std::to_string(inc.detection_time),
                    "+inf"});
  cmds.push_back({"GET", keys::LastPatternError(inc.service)});
  auto replies = redis_.Pipeline(cmds);
  if (!replies.ok()) return replies.status();
  ResolutionInput in;
  in.detection_time = inc.detection_time;
  in.baselines = inc.baselines;
  for (size_t i = 0; i < series.size(); ++i) in.samples[series[i]] = Samples((*replies)[i]);
  const auto& last = replies->back();
  int64_t last_error = 0;
  if (last.type == RedisReply::Type::kString &&
      std::from_chars(last.str.data(), last.str.data() + last.str.size(), last_error).ec == std::errc())
    in.last_pattern_error_ts = last_error;

  SignalWatch& watch = watches_[inc.id];
  watch = Observe(watch, NewestEvidence(in), now_wall_ms);
  ResolutionDecision d = Decide(in);
  if (!d.resolved) d = DecideSignalLost(in, watch, now_wall_ms, clock_ms_, options_.signal_lost.count());
  if (!d.resolved) return false;
  if (Status r = Resolve(inc, d); !r.ok()) return r;
  return true;
}

Status ResolutionMonitor::Resolve(const Open& inc, const ResolutionDecision& d) {
  const std::string& id = inc.id;
  log::LogScope scope("incident_id", id);
  auto processed = ProcessOnce(db_, "sre-investigation-resolution", "resolved/" + id,
                               [&](pqxx::work& tx) -> Expected<std::vector<OutboundMessage>> {
    IncidentResolved r;
    r.event_id = UuidFromName("resolved/" + id);
    r.timestamp = d.resolution_time;
    r.incident_id = id;
    r.detection_time = inc.detection_time;
    r.resolution_time = d.resolution_time;
    r.mttr_seconds = static_cast<double>(d.resolution_time - inc.detection_time) / 1000.0;
    r.resolution_method = d.method;
    tx.exec_params(
        "UPDATE incidents SET resolution_time = to_timestamp($2::double precision / 1000.0), mttr_seconds = $3, "
        " updated_at = now() WHERE id = $1::uuid",
        id, d.resolution_time, r.mttr_seconds);
    // RESOLVED from anything but CLOSED.
    if (auto moved = AdvanceStatus(tx, id, IncidentStatus::RESOLVED); !moved.ok()) return moved.status();
    RecordAgentEvent(tx, id, kAgent, "INCIDENT_RESOLVED",
                     Json{{"mttr_seconds", r.mttr_seconds}, {"method", d.method}, {"reason", d.reason}},
                     d.resolution_time);
    return std::vector<OutboundMessage>{{topics::kIncidentsResolved, id, Encode(r)}};
  });
  if (!processed.ok()) return processed.status();
  if (Status s = producer_.PublishBatch(processed->outputs); !s.ok()) return s;
  auto r = redis_.Eval(ReleaseScript(), {keys::OpenIncidentLock(inc.service), keys::IncidentPatterns(id)}, {id});
  if (!r.ok()) return r.status();
  if (processed->fresh) {
    Metrics()
        .GetCounter("sre_incidents_resolved_total", "Incidents resolved by the monitor, by method",
                    {{"method", d.method}})
        .Inc();
    if (d.method == kSignalLost)
      log::Get(kAgent)->warn("incident resolved without observed recovery: {}", d.reason);
    else
      log::Get(kAgent)->info("incident resolved: {}", d.reason);
  }
  return Status::Ok();
}

Status ResolutionMonitor::RestoreLocks(const std::vector<Open>& open) {
  if (open.empty()) return Status::Ok();
  std::vector<std::pair<std::string, std::string>> services;
  std::vector<std::string> mget = {"MGET"};
  for (const auto& inc : open) {
    services.emplace_back(inc.service, inc.id);
    mget.push_back(keys::OpenIncidentLock(inc.service));
  }
  auto values = redis_.Command(mget);
  if (!values.ok()) return values.status();
  if (values->type != RedisReply::Type::kArray || values->elements.size() != open.size())
    return Status::Internal("redis MGET: unexpected reply");
  std::set<std::string> locked;
  for (size_t i = 0; i < open.size(); ++i)
    if (values->elements[i].type == RedisReply::Type::kString) locked.insert(open[i].service);
  for (const auto& [service, id] : LocksToRestore(services, locked)) {
    auto r = redis_.Command({"SET", keys::OpenIncidentLock(service), id, "NX"});
    if (!r.ok()) return r.status();
    if (r->is_nil()) continue;  // taken meanwhile
    Metrics().GetCounter("sre_locks_restored_total", "Open-incident locks put back after Redis lost them").Inc();
    log::LogScope scope("incident_id", id);
    log::Get("resolution")->warn("restored the lost incident lock of {} (Redis restarted empty?)", TruncateUtf8(service, 128));
  }
  return Status::Ok();
}

Status ResolutionMonitor::SweepStaleLocks() {
  std::map<std::string, std::string> lock_incident;  // service -> incident id
  std::string cursor = "0";
  const std::string prefix = "sre:lock:incident:{";
  do {
    auto r = redis_.Command({"SCAN", cursor, "MATCH", prefix + "*", "COUNT", "500"});
    if (!r.ok()) return r.status();
    if (r->type != RedisReply::Type::kArray || r->elements.size() != 2) return Status::Internal("redis SCAN: unexpected reply");
    cursor = r->elements[0].str;
    std::vector<std::string> keys;
    for (const auto& k : r->elements[1].elements)
      if (k.str.size() > prefix.size() + 1 && k.str.back() == '}') keys.push_back(k.str);
    if (keys.empty()) continue;
    std::vector<std::string> mget = {"MGET"};
    mget.insert(mget.end(), keys.begin(), keys.end());
    auto values = redis_.Command(mget);
    if (!values.ok()) return values.status();
    for (size_t i = 0; i < keys.size() && i < values->elements.size(); ++i)
      if (values->elements[i].type == RedisReply::Type::kString)
        lock_incident[keys[i].substr(prefix.size(), keys[i].size() - prefix.size() - 1)] = values->elements[i].str;
  } while (cursor != "0");
  if (lock_incident.empty()) {
    missing_since_.clear();
    return Status::Ok();
  }

  std::map<std::string, std::string> status;
  Status s = db_.Transact([&](pqxx::work& tx) {
    std::string ids = "{";
    for (const auto& [service, id] : lock_incident)
      if (IsUuid(id)) ids += (ids.size() > 1 ? "," : "") + id;
    ids += "}";
    status.clear();
    for (auto row : tx.exec_params("SELECT id::text, status FROM incidents WHERE id = ANY($1::uuid[])", ids))
      status[row[0].as<std::string>()] = row[1].as<std::string>();
    return Status::Ok();
  });
  if (!s.ok()) return s;
  LockSweep sweep = SweepLocks(lock_incident, status, missing_since_, WallMs(), options_.missing_row_grace.count());
  missing_since_ = sweep.missing_since;
  for (const auto& service : sweep.release) {
    const std::string& id = lock_incident[service];
    auto r = redis_.Eval(ReleaseScript(), {keys::OpenIncidentLock(service), keys::IncidentPatterns(id)}, {id});
    if (!r.ok()) return r.status();
    Metrics().GetCounter("sre_stale_locks_released_total", "Open-incident locks deleted because their incident was over").Inc();
    log::LogScope scope("incident_id", TruncateUtf8(id, 64));
    log::Get("resolution")
        ->warn("released the stale incident lock of {} (incident {})", TruncateUtf8(service, 128),
               status.count(id) ? status[id] : "without a row");
  }
  return Status::Ok();
}

void ResolutionMonitor::Run(const std::atomic<bool>& stop) {
  auto logger = log::Get("resolution");
  int failures = 0;
  while (!stop.load()) {
    Expected<int> r = [&]() -> Expected<int> {
      try {
        return CheckOnce();
      } catch (const std::exception& e) {
        return Status::Internal(std::string("resolution pass exception: ") + e.what());
      }
    }();
    if (!r.ok()) {
      if (failures++ == 0) logger->warn("resolution check failed (will retry): {}", r.status().message());
    } else {
      if (failures > 0) logger->info("resolution checks work again");
      failures = 0;
    }
    auto delay = r.ok() ? options_.interval : Backoff(failures, options_.interval, std::chrono::seconds(10));
    for (auto waited = std::chrono::milliseconds(0); waited < delay && !stop.load(); waited += std::chrono::milliseconds(50))
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace sre::investigation
