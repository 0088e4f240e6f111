#include "shared/remediation_actions.h"

#include <algorithm>
#include <chrono>

#include "shared/postgres.h"

namespace sre {
namespace {

constexpr const char* kColumns =
    "id::text, incident_id::text, ordinal, action, service, params::text, executor, risk, reversible, step_id, "
    "trigger_metric, status, mode, reason, confidence, decided_by, "
    "(extract(epoch FROM decided_at) * 1000)::bigint, (extract(epoch FROM expires_at) * 1000)::bigint, "
    "(extract(epoch FROM proposed_time) * 1000)::bigint, (extract(epoch FROM executed_time) * 1000)::bigint, "
    "(extract(epoch FROM executed_at) * 1000)::bigint, result::text, verification::text";

template <typename T>
std::optional<T> Opt(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return f.as<T>();
}

std::optional<Json> OptJson(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  Json j = Json::parse(f.as<std::string>(), nullptr, false);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

ActionRecord FromRow(const pqxx::row& r) {
  ActionRecord a;
  a.id = r[0].as<std::string>();
  a.incident_id = r[1].as<std::string>();
  a.ordinal = r[2].as<int64_t>();
  // The table is written by this module only: an unknown name is a newer writer's; keep it
  // visible as escalate rather than dropping the row.
  a.action = ParseEnum<RemediationAction>(r[3].as<std::string>()).value_or(RemediationAction::ESCALATE);
  a.service = r[4].as<std::string>();
  a.params = OptJson(r[5]).value_or(Json::object());
  a.executor = r[6].as<std::string>();
  a.risk = ParseEnum<RiskLevel>(r[7].as<std::string>()).value_or(RiskLevel::HIGH);
  a.reversible = r[8].as<bool>();
  a.step_id = Opt<int64_t>(r[9]);
  a.trigger_metric = r[10].as<std::string>();
  a.status = ParseEnum<ActionStatus>(r[11].as<std::string>()).value_or(ActionStatus::ESCALATED);
  a.mode = r[12].as<std::string>();
  a.reason = r[13].as<std::string>();
  a.confidence = Opt<double>(r[14]);
  a.decided_by = Opt<std::string>(r[15]);
  a.decided_at_ms = Opt<int64_t>(r[16]);
  a.expires_at_ms = Opt<int64_t>(r[17]);
  a.proposed_time_ms = r[18].as<int64_t>();
  a.executed_time_ms = Opt<int64_t>(r[19]);
  a.executed_at_ms = Opt<int64_t>(r[20]);
  a.result = OptJson(r[21]);
  a.verification = OptJson(r[22]);
  return a;
}

std::string StatusList(const std::vector<ActionStatus>& statuses) {
  std::string out = "{";
  for (size_t i = 0; i < statuses.size(); ++i) {
    if (i) out += ",";
    out += ToString(statuses[i]);
  }
  return out + "}";
}

std::optional<std::string> OptDump(const std::optional<Json>& j) {
  if (!j) return std::nullopt;
  return Dump(*j);
}

int64_t WallNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

bool InsertAction(pqxx::work& tx, const ActionRecord& a) {
  auto r = tx.exec_params(
      "INSERT INTO remediation_actions (id, incident_id, ordinal, action, service, params, executor, risk, reversible, "
      " step_id, trigger_metric, status, mode, reason, confidence, decided_by, decided_at, expires_at, proposed_time) "
      "VALUES ($1::uuid, $2::uuid, $3, $4, $5, $6::jsonb, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, "
      " CASE WHEN $16::text IS NULL THEN NULL ELSE now() END, "
      " CASE WHEN $17::bigint IS NULL THEN NULL ELSE to_timestamp($17::bigint / 1000.0) END, "
      " to_timestamp($18::bigint / 1000.0)) "
      "ON CONFLICT (id) DO NOTHING RETURNING 1",
      a.id, a.incident_id, a.ordinal, std::string(ToString(a.action)), a.service, Dump(a.params), a.executor,
      std::string(ToString(a.risk)), a.reversible, a.step_id, a.trigger_metric, std::string(ToString(a.status)), a.mode,
      a.reason, a.confidence, a.decided_by, a.expires_at_ms, a.proposed_time_ms);
  return !r.empty();
}

bool MoveAction(pqxx::work& tx, const std::string& action_id, const std::vector<ActionStatus>& from, ActionStatus to,
                const std::string& reason, const ActionUpdate& u) {
  auto r = tx.exec_params(
      "UPDATE remediation_actions SET status = $3, reason = $4, updated_at = now(), "
      " decided_by = COALESCE($5, decided_by), decided_at = CASE WHEN $6 THEN now() ELSE decided_at END, "
      " executed_time = COALESCE(to_timestamp($7::bigint / 1000.0), executed_time), "
      " executed_at = CASE WHEN $8 THEN now() ELSE executed_at END, "
      " result = COALESCE($9::jsonb, result), verification = COALESCE($10::jsonb, verification) "
      "WHERE id = $1::uuid AND status = ANY($2::text[]) RETURNING 1",
      action_id, StatusList(from), std::string(ToString(to)), reason, u.decided_by, u.decided_now, u.executed_time_ms,
      u.executed_now, OptDump(u.result), OptDump(u.verification));
  return !r.empty();
}

std::vector<ActionRecord> ListActions(pqxx::transaction_base& tx, const std::string& incident_id) {
  std::vector<ActionRecord> out;
  for (const auto& row : tx.exec_params(std::string("SELECT ") + kColumns +
                                            " FROM remediation_actions WHERE incident_id = $1::uuid ORDER BY ordinal",
                                        incident_id))
    out.push_back(FromRow(row));
  return out;
}

std::vector<ActionRecord> ActionsInStatus(pqxx::transaction_base& tx, const std::vector<ActionStatus>& statuses,
                                          bool lock, size_t limit) {
  std::vector<ActionRecord> out;
  std::string sql = std::string("SELECT ") + kColumns +
                    " FROM remediation_actions WHERE status = ANY($1::text[]) ORDER BY created_at, id LIMIT $2";
  if (lock) sql += " FOR UPDATE SKIP LOCKED";
  for (const auto& row : tx.exec_params(sql, StatusList(statuses), static_cast<int64_t>(limit)))
    out.push_back(FromRow(row));
  return out;
}

std::optional<ActionRecord> LoadAction(pqxx::transaction_base& tx, const std::string& action_id, bool lock) {
  std::string sql = std::string("SELECT ") + kColumns + " FROM remediation_actions WHERE id = $1::uuid";
  if (lock) sql += " FOR UPDATE";
  auto r = tx.exec_params(sql, action_id);
  if (r.empty()) return std::nullopt;
  return FromRow(r[0]);
}

void RecordActionEvent(pqxx::work& tx, const ActionRecord& a, const std::string& agent, const std::string& event_type,
                       const std::string& reason, int64_t event_time_ms, const Json& extra) {
  Json payload = {{"action_id", a.id},
                  {"action", ToString(a.action)},
                  {"service", a.service},
                  {"executor", a.executor},
                  {"status", ToString(a.status)},
                  {"reason", reason},
                  {"risk", ToString(a.risk)},
                  {"reversible", a.reversible}};
  if (extra.is_object())
    for (const auto& [k, v] : extra.items()) payload[k] = v;
  RecordAgentEvent(tx, a.incident_id, agent, event_type, payload, event_time_ms);
}

int64_t DecisionEventTimeMs(const ActionRecord& a, int64_t now_wall_ms) {
  return std::max(now_wall_ms, a.proposed_time_ms + 1);
}

Decision DecideAction(pqxx::work& tx, const std::string& incident_id, const std::string& action_id, bool approve,
                      const std::string& by, const std::string& note) {
  Decision d;
  auto found = LoadAction(tx, action_id, /*lock=*/true);
  if (!found || found->incident_id != incident_id) return d;
  d.action = found;
  if (found->status != ActionStatus::AWAITING_APPROVAL) {
    d.outcome = Decision::Outcome::kConflict;
    return d;
  }
  const int64_t now = WallNowMs();
  const int64_t event_ms = DecisionEventTimeMs(*found, now);
  if (found->expires_at_ms && *found->expires_at_ms <= now) {
    const std::string reason = "approval expired before " + by + " decided";
    MoveAction(tx, action_id, {ActionStatus::AWAITING_APPROVAL}, ActionStatus::ESCALATED, reason);
    d.action = LoadAction(tx, action_id);
    RecordActionEvent(tx, *d.action, "api", action_events::kEscalated, reason, event_ms);
    d.outcome = Decision::Outcome::kExpired;
    return d;
  }
  const ActionStatus to = approve ? ActionStatus::APPROVED : ActionStatus::REJECTED;
  std::string reason = std::string(approve ? "approved by " : "rejected by ") + by;
  if (!note.empty()) reason += ": " + note;
  ActionUpdate u;
  u.decided_by = by;
  u.decided_now = true;
  MoveAction(tx, action_id, {ActionStatus::AWAITING_APPROVAL}, to, reason, u);
  d.action = LoadAction(tx, action_id);
  RecordActionEvent(tx, *d.action, "api", approve ? action_events::kApproved : action_events::kRejected, reason, event_ms,
                    Json{{"by", by}});
  d.outcome = Decision::Outcome::kDecided;
  return d;
}

}  // namespace sre
