#include "shared/incident.h"

#include <iterator>
#include <utility>

#include "shared/postgres.h"

namespace sre {

// ---- status ----------------------------------------------------------------------------------

std::string StatusOrderSql() {
  std::string s = "ARRAY[";
  for (size_t i = 0; i < EnumCount<IncidentStatus>(); ++i) {
    if (i > 0) s += ",";
    s += "'";
    s += EnumNames<IncidentStatus>::kList[i];
    s += "'";
  }
  return s + "]::text[]";
}

std::string StatusAdvancesSql(const std::string& column, const std::string& to_param) {
  const std::string order = StatusOrderSql();
  return "array_position(" + order + ", " + column + ") < array_position(" + order + ", " + to_param + ")";
}

Expected<StatusMove> AdvanceStatus(pqxx::work& tx, const std::string& incident_id, IncidentStatus to) {
  // `prev` is locked (FOR UPDATE), so it is the version the update sees, even when another
  // transaction changed the row meanwhile.
  static const std::string sql = [] {
    const std::string advances = StatusAdvancesSql("i.status", "$2::text");
    return "UPDATE incidents AS i SET status = CASE WHEN " + advances + " THEN $2::text ELSE i.status END, "
           " updated_at = CASE WHEN " + advances + " THEN now() ELSE i.updated_at END "
           "FROM (SELECT id, status FROM incidents WHERE id = $1::uuid FOR UPDATE) AS prev "
           "WHERE i.id = prev.id RETURNING prev.status, i.status";
  }();
  pqxx::result rows = tx.exec_params(sql, incident_id, std::string(ToString(to)));
  if (rows.empty()) return UnknownIncident(incident_id);
  StatusMove move;
  for (int i = 0; i < 2; ++i) {
    const std::string name = rows[0][i].as<std::string>();
    auto s = ParseEnum<IncidentStatus>(name);
    if (!s)
      return Status::Internal("incident " + incident_id + ": column status: unknown value '" + TruncateUtf8(name, 64) +
                              "' (expected one of " + EnumChoices<IncidentStatus>() + ")");
    (i == 0 ? move.before : move.after) = *s;
  }
  return move;
}

// ---- baselines -------------------------------------------------------------------------------

namespace {

std::string FieldPath(const std::string& path, const char* name) { return path.empty() ? name : path + "." + name; }

// One entry at `path`; throws DecodeError like the codec.
TriggerBaseline ReadEntry(const Json& j, const std::string& path) {
  if (!j.is_object()) codec::Fail(path, "expected an object, got " + codec::TypeName(j));
  TriggerBaseline out;
  if (auto kind = j.find("kind"); kind != j.end() && !kind->is_null()) {
    if (kind->is_string() && *kind != "alert")
      codec::Fail(FieldPath(path, "kind"),
                  "unknown value '" + TruncateUtf8(kind->get<std::string>(), 64) + "' (expected alert)");
    AlertBaseline a;
    codec::Read(j, a, path);  // a kind that is not a string fails here
    out.entry = std::move(a);
  } else if (j.contains("pattern")) {
    LogPatternBaseline p;
    codec::Read(j, p, path);
    out.entry = std::move(p);
  } else {
    MetricBaseline m;
    codec::Read(j, m, path);
    if (m.direction != "up" && m.direction != "down" && m.direction != "both")
      codec::Fail(FieldPath(path, "direction"),
                  "unknown value '" + TruncateUtf8(m.direction, 64) + "' (expected one of up, down, both)");
    out.entry = std::move(m);
  }
  return out;
}

// The writers never wrote null for an absent field; ResolveAlertTrigger tests for presence.
Json WithoutNulls(Json j) {
  for (auto it = j.begin(); it != j.end();) it = it->is_null() ? j.erase(it) : std::next(it);
  return j;
}

}  // namespace

std::optional<std::string> TriggerBaseline::unit() const {
  if (const auto* m = metric()) return m->unit;
  if (const auto* p = pattern()) return p->unit;
  return std::nullopt;
}

const TriggerBaseline* IncidentBaselines::Find(const std::string& trigger) const {
  auto it = triggers.find(trigger);
  return it == triggers.end() ? nullptr : &it->second;
}

template <>
Json ToJson<TriggerBaseline>(const TriggerBaseline& b) {
  return WithoutNulls(std::visit([](const auto& e) { return codec::Write(e); }, b.entry));
}

template <>
Expected<TriggerBaseline> FromJson<TriggerBaseline>(const Json& j) {
  try {
    return ReadEntry(j, "");
  } catch (const DecodeError& e) {
    return Status::Invalid(e.what());
  } catch (const Json::exception& e) {
    return Status::Invalid(e.what());
  }
}

template <>
Json ToJson<IncidentBaselines>(const IncidentBaselines& b) {
  Json out = Json::object();
  for (const auto& [trigger, entry] : b.triggers) out[trigger] = ToJson(entry);
  return out;
}

template <>
Expected<IncidentBaselines> FromJson<IncidentBaselines>(const Json& j) {
  try {
    if (!j.is_object()) codec::Fail("", "expected an object, got " + codec::TypeName(j));
    IncidentBaselines out;
    for (auto it = j.begin(); it != j.end(); ++it) {
      std::string trigger = it.key();
      codec::CleanString(trigger);
      TriggerBaseline entry = ReadEntry(it.value(), trigger);
      out.triggers.emplace(std::move(trigger), std::move(entry));
    }
    return out;
  } catch (const DecodeError& e) {
    return Status::Invalid(e.what());
  } catch (const Json::exception& e) {
    return Status::Invalid(e.what());
  }
}

// ---- the row ---------------------------------------------------------------------------------

namespace {

constexpr const char* kSelectIncident =
    "SELECT id::text, status, anomaly_type, severity, service, trigger_metric, description, "
    " affected_services::text, related_incident_id::text, observed_value, baseline_mean, baseline_std, "
    " deviation_sigma, anomaly_score, time_to_failure_s, baselines::text, correlation_context::text, "
    " blast_radius::text, rca_candidates::text, root_cause_service, root_cause_category, top_root_cause, "
    " rca_confidence, rca_method, similar_incidents::text, remediation_plan::text, postmortem, "
    " (extract(epoch from detection_time) * 1000)::bigint, (extract(epoch from resolution_time) * 1000)::bigint, "
    " mttr_seconds, (extract(epoch from created_at) * 1000)::bigint, (extract(epoch from updated_at) * 1000)::bigint "
    "FROM incidents WHERE id = $1::uuid";

// Reads the columns of one row in order; the first problem is kept in `error`, naming the column.
class RowReader {
 public:
  RowReader(pqxx::row row, std::string id) : row_(std::move(row)), id_(std::move(id)) {}

  template <typename T>
  void Text(const char* column, T& out) {
    const pqxx::field f = row_[next_++];
    if constexpr (IsOptional<T>::value) {
      if (f.is_null()) {
        out.reset();
        return;
      }
      typename T::value_type v{};
      ReadValue(column, f, v);
      out = std::move(v);
    } else {
      if (f.is_null()) return Fail(column, "is null");
      ReadValue(column, f, out);
    }
  }

  // A JSON column; SQL NULL or JSON null is absent.
  template <typename T>
  void Document(const char* column, std::optional<T>& out) {
    const pqxx::field f = row_[next_++];
    out.reset();
    if (f.is_null()) return;
    Json j = Json::parse(f.as<std::string>(), nullptr, false);
    if (j.is_discarded()) return Fail(column, "not valid JSON");
    if (j.is_null()) return;
    auto v = FromJson<T>(j);
    if (!v.ok()) return Fail(column, v.status().message());
    out = std::move(*v);
  }

  const Status& error() const { return error_; }

 private:
  template <typename T>
  struct IsOptional : std::false_type {};
  template <typename T>
  struct IsOptional<std::optional<T>> : std::true_type {};

  template <typename T>
  void ReadValue(const char* column, const pqxx::field& f, T& out) {
    if constexpr (codec::IsEnum<T>::value) {
      const std::string s = f.as<std::string>();
      auto e = ParseEnum<T>(s);
      if (!e) return Fail(column, "unknown value '" + TruncateUtf8(s, 64) + "' (expected one of " + EnumChoices<T>() + ")");
      out = *e;
    } else {
      out = f.as<T>();
    }
  }

  void Fail(const char* column, const std::string& what) {
    if (error_.ok()) error_ = Status::Internal("incident " + id_ + ": column " + column + ": " + what);
  }

  pqxx::row row_;
  std::string id_;
  pqxx::row::size_type next_ = 0;
  Status error_ = Status::Ok();
};

}  // namespace

Expected<IncidentRecord> LoadIncident(pqxx::transaction_base& tx, const std::string& incident_id) {
  pqxx::result rows = tx.exec_params(kSelectIncident, incident_id);
  if (rows.empty()) return UnknownIncident(incident_id);
  IncidentRecord r;
  RowReader c(rows[0], incident_id);
  std::optional<std::vector<std::string>> affected;
  std::optional<IncidentBaselines> baselines;
  c.Text("id", r.id);
  c.Text("status", r.status);
  c.Text("anomaly_type", r.anomaly_type);
  c.Text("severity", r.severity);
  c.Text("service", r.service);
  c.Text("trigger_metric", r.trigger_metric);
  c.Text("description", r.description);
  c.Document("affected_services", affected);
  c.Text("related_incident_id", r.related_incident_id);
  c.Text("observed_value", r.observed_value);
  c.Text("baseline_mean", r.baseline_mean);
  c.Text("baseline_std", r.baseline_std);
  c.Text("deviation_sigma", r.deviation_sigma);
  c.Text("anomaly_score", r.anomaly_score);
  c.Text("time_to_failure_s", r.time_to_failure_s);
  c.Document("baselines", baselines);
  c.Document("correlation_context", r.correlation_context);
  c.Document("blast_radius", r.blast_radius);
  c.Document("rca_candidates", r.rca_candidates);
  c.Text("root_cause_service", r.root_cause_service);
  c.Text("root_cause_category", r.root_cause_category);
  c.Text("top_root_cause", r.top_root_cause);
  c.Text("rca_confidence", r.rca_confidence);
  c.Text("rca_method", r.rca_method);
  c.Document("similar_incidents", r.similar_incidents);
  c.Document("remediation_plan", r.remediation_plan);
  c.Text("postmortem", r.postmortem);
  c.Text("detection_time", r.detection_time);
  c.Text("resolution_time", r.resolution_time);
  c.Text("mttr_seconds", r.mttr_seconds);
  c.Text("created_at", r.created_at);
  c.Text("updated_at", r.updated_at);
  if (!c.error().ok()) return c.error();
  if (affected) r.affected_services = std::move(*affected);
  if (baselines) r.baselines = std::move(*baselines);
  return r;
}

std::vector<AgentEvent> LoadTimeline(pqxx::transaction_base& tx, const std::string& incident_id) {
  std::vector<AgentEvent> out;
  for (auto row : tx.exec_params(
           "SELECT agent_name, event_type, payload::text, (extract(epoch from event_time) * 1000)::bigint "
           "FROM agent_events WHERE incident_id = $1::uuid ORDER BY event_time, id",
           incident_id)) {
    AgentEvent e;
    e.agent_name = row[0].as<std::string>();
    e.event_type = row[1].as<std::string>();
    e.payload = Json::parse(row[2].as<std::string>(), nullptr, false);
    e.event_time = row[3].as<int64_t>();
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace sre
