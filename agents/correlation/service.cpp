#include "agents/correlation/service.h"

#include <cmath>

#include "shared/text.h"
#include "shared/ids.h"
#include "shared/incident.h"
#include "shared/log.h"
#include "shared/metrics.h"
#include "shared/redis_keys.h"

namespace sre::correlation {
namespace {

// A caller's incident detected more than this before the origin's is not part of its cascade.
constexpr int64_t kAdoptWindowMs = 5 * 60000;

constexpr const char* kAgent = "correlation";
constexpr int64_t kDeployWindowMs = 60 * 60 * 1000;
constexpr int kRecentSamples = 30;

// "ts|value|..." members of a series history, oldest first.
std::vector<double> Values(const RedisReply& reply) {
  std::vector<double> out;
  for (auto it = reply.elements.rbegin(); it != reply.elements.rend(); ++it)
    if (auto p = keys::ParseSeriesMember(it->str)) out.push_back(p->second);
  return out;
}

// The neighbour's baseline (mean, std) from its series window; zeros when it has none yet.
void MeanStd(const RedisReply& window, double& mean, double& std) {
  mean = std = 0;
  if (window.type != RedisReply::Type::kString) return;
  if (auto s = keys::ParseSeriesWindow(window.str)) {
    mean = s->mean;
    std = s->std;
  }
}

}  // namespace

CorrelationService::CorrelationService(RedisClient& redis, Database& db, Producer& producer,
                                       const ServiceCatalog& catalog)
    : redis_(redis), db_(db), producer_(producer), catalog_(catalog) {}

Status CorrelationService::Handle(const InboundMessage& m) {
  if (m.topic == topics::kRawDeployments) {
    auto d = Decode<RawDeployment>(m.payload);
    return d.ok() ? OnDeployment(*d) : d.status();
  }
  if (m.topic == topics::kAnomaliesDetected) {
    auto a = Decode<AnomalyDetected>(m.payload);
    return a.ok() ? OnAnomaly(*a) : a.status();
  }
  return Status::Invalid("correlation does not consume topic " + m.topic);
}

Status CorrelationService::OnDeployment(const RawDeployment& d) {
  std::string key = keys::Deployments(d.source_service);
  // The member is the canonical encoding, so a redelivered deployment is the same member.
  auto r = redis_.Pipeline({{"ZADD", key, std::to_string(d.timestamp), Encode(d)},
                            {"ZREMRANGEBYSCORE", key, "-inf", std::to_string(d.timestamp - 24 * kDeployWindowMs)},
                            {"EXPIRE", key, std::to_string(7 * 86400)}});
  if (!r.ok()) return r.status();
  Metrics().GetCounter("sre_deployments_cached_total", "Deployments added to the shared cache").Inc();
  return Status::Ok();
}

Expected<CorrelationInput> CorrelationService::Gather(const AnomalyDetected& a) {
  CorrelationInput in;
  in.anomaly = a;
  std::vector<std::string> neighbours = Reachable(catalog_, a.service, true, 2);
  for (const auto& up : Reachable(catalog_, a.service, false, 2)) neighbours.push_back(up);
  const std::string around = std::to_string(a.detection_time + 30000);
  std::vector<std::vector<std::string>> cmds;
  cmds.push_back({"ZRANGEBYSCORE", keys::Deployments(a.service), std::to_string(a.detection_time - kDeployWindowMs),
                  std::to_string(a.detection_time)});
  cmds.push_back({"LRANGE", keys::RecentErrors(a.service), "0", "199"});
  for (const char* metric : metrics::kAll)
    cmds.push_back({"ZREVRANGEBYSCORE", keys::SeriesHistory(a.service, metric), std::to_string(a.detection_time),
                    "-inf", "LIMIT", "0", std::to_string(kRecentSamples)});
  for (const auto& n : neighbours) {
    cmds.push_back({"GET", keys::OpenIncidentLock(n)});
    for (const char* metric : {"error_rate", "latency_p99_ms"}) {
      cmds.push_back({"GET", keys::SeriesWindow(n, metric)});
      cmds.push_back({"ZREVRANGEBYSCORE", keys::SeriesHistory(n, metric), around, "-inf", "LIMIT", "0", "3"});
    }
  }
  auto replies = redis_.Pipeline(cmds);
  if (!replies.ok()) return replies.status();
  size_t i = 0;
  for (const auto& e : (*replies)[i++].elements) {
    auto d = Decode<RawDeployment>(e.str);
    if (d.ok()) in.deployments.push_back(*d);
  }
  // Only lines from around the incident (event time); older ones belong to earlier trouble.
  for (const auto& e : (*replies)[i++].elements) {
    auto j = Json::parse(e.str, nullptr, false);
    if (!j.is_object() || !j.contains("message") || !j["message"].is_string()) continue;
    int64_t ts = j.value("ts", int64_t{0});
    if (ts < a.detection_time - 120000 || ts > a.detection_time + 30000 || in.recent_errors.size() >= 20) continue;
    in.recent_errors.push_back(TruncateUtf8(j["message"].get<std::string>(), 500));
  }
  for (const char* metric : metrics::kAll) {
    auto values = Values((*replies)[i++]);
    if (!values.empty()) in.recent_metrics[metric] = values;
  }
  for (const auto& n : neighbours) {
    const auto& lock = (*replies)[i++];
    if (lock.type == RedisReply::Type::kString && !lock.str.empty() && lock.str != a.incident_id)
      in.open_incidents[n] = lock.str;
    for (const char* metric : {"error_rate", "latency_p99_ms"}) {
      SeriesSnapshot s;
      MeanStd((*replies)[i++], s.mean, s.std);
      s.recent = Values((*replies)[i++]);
      if (!s.recent.empty()) in.neighbours[n][metric] = s;
    }
  }
  return in;
}

Status CorrelationService::OnAnomaly(const AnomalyDetected& a) {
  log::LogScope scope("incident_id", a.incident_id);
  auto in = Gather(a);
  if (!in.ok()) return in.status();
  CorrelationResult r = Correlate(*in, catalog_);
  std::string event_id = UuidFromName("opened/" + a.incident_id);
  IncidentOpened opened = BuildOpened(*in, r, event_id);
  auto processed = ProcessOnce(db_, "sre-correlation", a.event_id, [&](pqxx::work& tx) -> Expected<std::vector<OutboundMessage>> {
    CorrelationContext context;
    context.signals = r.signals;
    context.deployment = r.deployment_context;
    context.summary = r.summary;
    context.recent_errors = in->recent_errors;
    auto updated = tx.exec_params(
        "UPDATE incidents SET correlation_context = $2::jsonb, blast_radius = $3::jsonb, affected_services = $4::jsonb, "
        " related_incident_id = (SELECT id FROM incidents WHERE id = NULLIF($5, '')::uuid AND id <> $1::uuid), "
        " updated_at = now() WHERE id = $1::uuid",
        a.incident_id, Dump(ToJson(context)), Dump(ToJson(r.blast_radius)), Dump(Json(r.affected_services)),
        r.related_incident_id.value_or(""));
    if (updated.affected_rows() == 0) return UnknownIncident(a.incident_id);
    // DETECTING (or CORRELATING) moves to INVESTIGATING; a later status stays.
    if (auto moved = AdvanceStatus(tx, a.incident_id, IncidentStatus::INVESTIGATING); !moved.ok()) return moved.status();
    // A caller already linked to another adopted caller (api-gateway → order, before payment's
    // incident existed) is re-pointed at the origin too.
    std::string adopted = "{";
    for (const auto& caller : r.adopted_incident_ids) adopted += (adopted.size() > 1 ? "," : "") + caller;
    adopted += "}";
    for (const auto& caller : r.adopted_incident_ids) {
      // Not a caller's incident whose own RCA already placed the cause in that caller, nor one
      // detected long before this origin (kAdoptWindowMs): those are incidents of their own.
      auto linked = tx.exec_params(
          "UPDATE incidents SET related_incident_id = $1::uuid, updated_at = now() "
          "WHERE id = $2::uuid AND id <> $1::uuid "
          "AND (related_incident_id IS NULL OR related_incident_id = ANY($3::uuid[])) "
          "AND (root_cause_service IS NULL OR root_cause_service <> service) "
          "AND detection_time >= to_timestamp($4::double precision / 1000.0)",
          a.incident_id, caller, adopted, a.detection_time - kAdoptWindowMs);
      if (linked.affected_rows() == 0) continue;
      RecordAgentEvent(tx, caller, kAgent, "LINKED_TO_ORIGIN",
                       Json{{"related_incident_id", a.incident_id}, {"origin_service", a.service}}, a.detection_time);
    }
    RecordAgentEvent(tx, a.incident_id, kAgent, "CORRELATION_COMPLETE",
                     Json{{"summary", r.summary}, {"signals", ToJson(r.signals)},
                          {"related_incident_id", r.related_incident_id ? Json(*r.related_incident_id) : Json(nullptr)},
                          {"adopted_incident_ids", r.adopted_incident_ids},
                          {"affected_services", r.affected_services}},
                     a.detection_time);
    return std::vector<OutboundMessage>{{topics::kIncidentsOpened, a.incident_id, Encode(opened)}};
  });
  if (!processed.ok()) return processed.status();
  if (Status s = producer_.PublishBatch(processed->outputs); !s.ok()) return s;
  if (processed->fresh) {
    Metrics().GetCounter("sre_incidents_opened_total", "Incidents correlated and opened", {{"service", a.service}}).Inc();
    log::Get(kAgent)->info("incident correlated: {}", r.summary);
  }
  return Status::Ok();
}

}  // namespace sre::correlation
