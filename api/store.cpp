#include "api/store.h"

#include "shared/redis_keys.h"
#include "shared/remediation_actions.h"

namespace sre::api {
namespace {

constexpr size_t kPoolSize = 4;
const std::vector<std::string> kMetrics = {"request_rate",      "error_rate",     "latency_p99_ms",
                                           "cpu_percent",       "memory_percent", "db_connections",
                                           "kafka_consumer_lag"};

// The list columns, one JSON object per row; times also as Unix ms for the dashboard.
constexpr const char* kListSql = R"SQL(
SELECT json_build_object(
  'id', id, 'status', status, 'anomaly_type', anomaly_type, 'severity', severity, 'service', service,
  'trigger_metric', trigger_metric, 'description', description, 'affected_services', affected_services,
  'related_incident_id', related_incident_id, 'root_cause_service', root_cause_service,
  'root_cause_category', root_cause_category, 'top_root_cause', top_root_cause,
  'rca_confidence', rca_confidence, 'mttr_seconds', mttr_seconds,
  'detection_time_ms', (extract(epoch FROM detection_time) * 1000)::bigint,
  'resolution_time_ms', (extract(epoch FROM resolution_time) * 1000)::bigint,
  'updated_at', updated_at)::text
FROM incidents
WHERE ($1 = '' OR status = $1 OR ($1 = 'OPEN' AND status NOT IN ('RESOLVED', 'CLOSED')))
  AND ($2 = '' OR severity = $2)
  AND ($3 = '' OR service = $3)
  AND ($4 = '' OR (detection_time, id) < (SELECT detection_time, id FROM incidents WHERE id = NULLIF($4, '')::uuid))
  AND ($5::bigint = 0 OR detection_time < to_timestamp($5::bigint / 1000.0))
ORDER BY detection_time DESC, id DESC
LIMIT $6
)SQL";

// One incident of a cascade, as the detail's related_incident and linked_incidents show it.
constexpr const char* kCascadeRowSql =
    "json_build_object('id', id, 'service', service, 'status', status, 'severity', severity,"
    " 'anomaly_type', anomaly_type,"
    " 'detection_time_ms', (extract(epoch FROM detection_time) * 1000)::bigint)::text";

bool IncidentExists(pqxx::work& tx, const std::string& id) {
  return !tx.exec_params("SELECT 1 FROM incidents WHERE id = $1::uuid", id).empty();
}

Json ActionsJson(pqxx::work& tx, const std::string& id) {
  Json out = Json::array();
  for (const auto& a : ListActions(tx, id)) out.push_back(ToJson(a));
  return out;
}

}  // namespace

ApiStore::ApiStore(std::string database_url, RedisOptions redis, ServiceCatalog catalog)
    : catalog_(std::move(catalog)),
      db_([url = std::move(database_url)] { return std::make_unique<Database>(url); }, kPoolSize),
      redis_([redis] { return std::make_unique<RedisClient>(redis); }, kPoolSize) {}

Expected<std::optional<Json>> ApiStore::ListIncidents(const IncidentQuery& q) {
  std::optional<Json> out;
  Status s = db_.With([&](Database& db) {
    return db.Transact([&](pqxx::work& tx) {
      if (!q.before_id.empty() && !IncidentExists(tx, q.before_id)) return Status::Ok();
      Json rows = Json::array();
      for (auto row : tx.exec_params(kListSql, q.status, q.severity, q.service, q.before_id,
                                     q.before_ms, q.limit + 1))
        rows.push_back(Json::parse(row[0].as<std::string>()));
      out = ShapeIncidentList(std::move(rows), q.limit, q.group_cascades);
      return Status::Ok();
    });
  });
  if (!s.ok()) return s;
  return out;
}

Expected<std::optional<Json>> ApiStore::Incident(const std::string& id) {
  std::optional<Json> out;
  Status s = db_.With([&](Database& db) {
    return db.Transact([&](pqxx::work& tx) {
      auto r = tx.exec_params(
          "SELECT (to_jsonb(i) || jsonb_build_object("
          " 'detection_time_ms', (extract(epoch FROM detection_time) * 1000)::bigint,"
          " 'resolution_time_ms', (extract(epoch FROM resolution_time) * 1000)::bigint,"
          " 'created_at_ms', (extract(epoch FROM created_at) * 1000)::bigint))::text "
          "FROM incidents i WHERE id = $1::uuid",
          id);
      if (r.empty()) return Status::Ok();
      auto emails = tx.exec_params1(
          "SELECT COALESCE(json_agg(json_build_object('notification_type', notification_type, "
          "'recipients', recipients, 'rejected_recipients', rejected_recipients,"
          " 'subject', subject, 'status', status, 'attempts', attempts, 'error', error, 'sent_at', "
          "sent_at, 'sent_at_ms', (extract(epoch FROM sent_at) * 1000)::bigint,"
          " 'body_text', body_text) ORDER BY created_at, id), '[]')::text FROM emails WHERE "
          "incident_id = $1::uuid",
          id);
      // The cascade: the origin this incident is linked to, and the incidents linked to it.
      auto related = tx.exec_params(
          "SELECT " + std::string(kCascadeRowSql) +
              " FROM incidents WHERE id = (SELECT related_incident_id FROM incidents WHERE id = "
              "$1::uuid)",
          id);
      auto linked = tx.exec_params1(
          "SELECT COALESCE(json_agg(c ORDER BY (c->>'detection_time_ms')::bigint, c->>'id'), "
          "'[]')::text FROM (SELECT " +
              std::string(kCascadeRowSql) +
              "::jsonb AS c FROM incidents WHERE related_incident_id = $1::uuid AND id <> $1::uuid "
              "ORDER BY detection_time, id LIMIT $2) linked",
          id, kMaxLinkedIncidents);
      out = ShapeIncidentDetail(
          Json::parse(r[0][0].as<std::string>()), Json::parse(emails[0].as<std::string>()),
          related.empty() ? Json() : Json::parse(related[0][0].as<std::string>()),
          Json::parse(linked[0].as<std::string>()), ActionsJson(tx, id));
      // The chat, paging and webhook deliveries, as `emails` shows the emails.
      auto notifications = tx.exec_params1(
          "SELECT COALESCE(json_agg(json_build_object('channel', channel, 'stage', stage, 'status', status, "
          " 'attempts', attempts, 'in_doubt_resends', in_doubt_resends, 'last_error', last_error, "
          " 'external_ref', external_ref, 'group_id', group_id, 'sent_at_ms', "
          " (extract(epoch FROM sent_at) * 1000)::bigint) ORDER BY stage_rank, channel), '[]')::text "
          "FROM notifications WHERE incident_id = $1::uuid",
          id);
      Json sent = Json::parse(notifications[0].as<std::string>(), nullptr, false);
      (*out)["notifications"] = sent.is_array() ? std::move(sent) : Json::array();
      return Status::Ok();
    });
  });
  if (!s.ok()) return s;
  return out;
}

Expected<std::optional<Json>> ApiStore::Timeline(const std::string& id) {
  std::optional<Json> out;
  Status s = db_.With([&](Database& db) {
    return db.Transact([&](pqxx::work& tx) {
      if (!IncidentExists(tx, id)) return Status::Ok();
      auto r = tx.exec_params1(
          "SELECT COALESCE(json_agg(json_build_object('id', id, 'agent', agent_name, 'event_type', "
          "event_type,"
          " 'payload', payload, 'event_time_ms', (extract(epoch FROM event_time) * 1000)::bigint,"
          " 'created_at', created_at, 'created_at_ms', (extract(epoch FROM created_at) * 1000)::bigint)"
          " ORDER BY event_time, id), '[]')::text FROM agent_events WHERE incident_id = $1::uuid",
          id);
      out = ShapeTimeline(id, Json::parse(r[0].as<std::string>()));
      return Status::Ok();
    });
  });
  if (!s.ok()) return s;
  return out;
}

Expected<std::optional<Json>> ApiStore::Actions(const std::string& id) {
  std::optional<Json> out;
  Status s = db_.With([&](Database& db) {
    return db.Transact([&](pqxx::work& tx) {
      if (!IncidentExists(tx, id)) return Status::Ok();
      out = ShapeActions(id, ActionsJson(tx, id));
      return Status::Ok();
    });
  });
  if (!s.ok()) return s;
  return out;
}

Expected<ApiStore::Decided> ApiStore::Decide(const std::string& incident_id,
                                             const std::string& action_id, bool approve,
                                             const DecisionRequest& who) {
  Decided out;
  Status s = db_.With([&](Database& db) {
    return db.Transact([&](pqxx::work& tx) {
      out = Decided{};
      if (!IncidentExists(tx, incident_id)) return Status::Ok();
      Decision d = DecideAction(tx, incident_id, action_id, approve, who.by, who.note);
      switch (d.outcome) {
        case Decision::Outcome::kDecided:
          out.outcome = DecisionOutcome::kDecided;
          break;
        case Decision::Outcome::kNotFound:
          out.outcome = DecisionOutcome::kNotFound;
          break;
        case Decision::Outcome::kConflict:
          out.outcome = DecisionOutcome::kConflict;
          break;
        case Decision::Outcome::kExpired:
          out.outcome = DecisionOutcome::kExpired;
          break;
      }
      if (d.action) out.action = ToJson(*d.action);
      // Committed in every case: a decision, or the escalation of an expired approval.
      return Status::Ok();
    });
  });
  if (!s.ok()) return s;
  return out;
}

Expected<Json> ApiStore::RecentEvents(const EventsQuery& q) {
  Json rows;
  Status s = db_.With([&](Database& db) {
    return db.Transact([&](pqxx::work& tx) {
      // Most recently recorded first: the id is the insertion order (wall clock), whatever the
      // event times of the telemetry.
      auto r = tx.exec_params1(
          "SELECT COALESCE(json_agg(json_build_object('id', id, 'incident_id', incident_id,"
          " 'agent', agent_name, 'event_type', event_type, 'payload', payload,"
          " 'event_time_ms', (extract(epoch FROM event_time) * 1000)::bigint,"
          " 'created_at_ms', (extract(epoch FROM created_at) * 1000)::bigint) ORDER BY id DESC),"
          " '[]')::text FROM (SELECT * FROM agent_events ORDER BY id DESC LIMIT $1) recent",
          q.limit);
      rows = Json::parse(r[0].as<std::string>());
      return Status::Ok();
    });
  });
  if (!s.ok()) return s;
  return ShapeRecentEvents(std::move(rows));
}

Expected<std::optional<std::string>> ApiStore::Postmortem(const std::string& id) {
  std::optional<std::string> out;
  Status s = db_.With([&](Database& db) {
    return db.Transact([&](pqxx::work& tx) {
      auto r =
          tx.exec_params("SELECT COALESCE(postmortem, '') FROM incidents WHERE id = $1::uuid", id);
      if (!r.empty()) out = r[0][0].as<std::string>();
      return Status::Ok();
    });
  });
  if (!s.ok()) return s;
  return out;
}

Expected<Json> ApiStore::Stats() {
  std::vector<StatsRow> rows;
  int64_t now_ms = 0;
  Status s = db_.With([&](Database& db) {
    return db.Transact([&](pqxx::work& tx) {
      rows.clear();
      // now() is the clock created_at was written with (the database's wall clock).
      now_ms = tx.exec1("SELECT (extract(epoch FROM now()) * 1000)::bigint")[0].as<int64_t>();
      for (auto row :
           tx.exec("SELECT status, anomaly_type, severity, mttr_seconds,"
                   " (extract(epoch FROM detection_time) * 1000)::bigint,"
                   " (extract(epoch FROM created_at) * 1000)::bigint "
                   "FROM incidents")) {
        StatsRow r;
        r.status = row[0].as<std::string>();
        r.anomaly_type = row[1].as<std::string>();
        r.severity = row[2].as<std::string>();
        if (!row[3].is_null()) r.mttr_seconds = row[3].as<double>();
        r.detection_ms = row[4].as<int64_t>();
        r.recorded_ms = row[5].as<int64_t>();
        rows.push_back(std::move(r));
      }
      return Status::Ok();
    });
  });
  if (!s.ok()) return s;
  return ComputeStats(rows, now_ms);
}

Expected<Json> ApiStore::Services(int points) {
  // Services seen in telemetry (sre-ingest) that the catalogue does not list: shown with the
  // catalogue's defaults so an operator sees them, and what to add to services.json.
  struct Discovered {
    std::string name, source;
    int64_t first_seen_ms = 0, last_seen_ms = 0;
  };
  std::vector<Discovered> discovered;
  Status ds = db_.With([&](Database& db) {
    return db.Transact([&](pqxx::work& tx) {
      for (const auto& row : tx.exec(
               "SELECT name, source, (extract(epoch FROM first_seen) * 1000)::bigint, "
               " (extract(epoch FROM last_seen) * 1000)::bigint FROM discovered_services ORDER BY name LIMIT 1000")) {
        std::string name = row[0].as<std::string>();
        if (catalog_.Find(name)) continue;
        discovered.push_back({name, row[1].as<std::string>(), row[2].as<int64_t>(), row[3].as<int64_t>()});
      }
      return Status::Ok();
    });
  });
  if (!ds.ok()) return ds;
  std::vector<ServiceInfo> listed(catalog_.services().begin(), catalog_.services().end());
  for (const auto& d : discovered) {
    ServiceInfo info;
    info.name = d.name;
    info.team = "unassigned";
    info.criticality = "P2";  // the default every agent uses for a service it does not know
    listed.push_back(std::move(info));
  }
  std::vector<std::vector<std::string>> commands;
  for (const auto& svc : listed) {
    commands.push_back({"GET", keys::OpenIncidentLock(svc.name)});
    for (const auto& m : kMetrics)
      commands.push_back(
          {"ZRANGE", keys::SeriesHistory(svc.name, m), std::to_string(-points), "-1"});
  }
  auto replies = redis_.With([&](RedisClient& r) { return r.Pipeline(commands); });
  if (!replies.ok()) return replies.status();
  if (replies->size() != commands.size())
    return Status::Transient("redis: " + std::to_string(replies->size()) + " replies to " +
                             std::to_string(commands.size()) + " commands");
  Json out = Json::array();
  size_t k = 0;
  for (size_t si = 0; si < listed.size(); ++si) {
    const ServiceInfo& svc = listed[si];
    const RedisReply& lock = (*replies)[k++];
    std::string incident = lock.type == RedisReply::Type::kString ? lock.str : std::string();
    Json history = Json::object();
    std::map<std::string, double> latest;
    for (const auto& m : kMetrics) {
      const RedisReply& reply = (*replies)[k++];
      Json series = Json::array();
      for (const auto& e : reply.elements)
        if (auto sample = keys::ParseSeriesMember(e.str))
          series.push_back({sample->first, sample->second});
      if (!series.empty()) latest[m] = series.back()[1].get<double>();
      history[m] = std::move(series);
    }
    Json latest_json = Json::object();
    for (const auto& [m, v] : latest) latest_json[m] = v;
    out.push_back(
        {{"name", svc.name},
         {"team", svc.team},
         {"criticality", svc.criticality},
         {"health",
          ServiceHealth(!incident.empty(), latest, svc.sla.latency_p99_ms, svc.sla.error_rate_pct)},
         {"open_incident_id", incident.empty() ? Json() : Json(incident)},
         {"sla",
          {{"latency_p99_ms", svc.sla.latency_p99_ms}, {"error_rate_pct", svc.sla.error_rate_pct}}},
         {"baseline", svc.baseline},
         {"latest", latest_json},
         {"history", history}});
    if (si >= catalog_.services().size()) {
      const Discovered& d = discovered[si - catalog_.services().size()];
      Json& entry = out.back();
      entry["discovered"] = true;
      entry["source"] = d.source;
      entry["first_seen"] = d.first_seen_ms;
      entry["last_seen"] = d.last_seen_ms;
    } else {
      out.back()["discovered"] = false;
    }
  }
  return Json{{"services", out}};
}

}  // namespace sre::api
