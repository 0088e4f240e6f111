#include "agents/remediation/runner.h"

#include <charconv>
#include <thread>

#include "shared/incident.h"
#include "shared/log.h"
#include "shared/metrics.h"
#include "shared/redis_keys.h"

namespace sre::remediation {
namespace {

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::shared_ptr<spdlog::logger> Log() { return log::Get("remediation"); }

void CountAction(const ActionRecord& a, const std::string& outcome) {
  Metrics()
      .GetCounter("sre_remediation_actions_total", "Remediation action outcomes by action and outcome",
                  {{"action", std::string(ToString(a.action))}, {"outcome", outcome}})
      .Inc();
}

std::optional<int64_t> ParseInt(const std::string& s) {
  int64_t v = 0;
  // Scores may come back as "1.7e12"-style or with a fraction: go through double.
  try {
    size_t used = 0;
    double d = std::stod(s, &used);
    if (used == 0) return std::nullopt;
    v = static_cast<int64_t>(d);
  } catch (...) {
    return std::nullopt;
  }
  return v;
}

ActionRequest RequestFor(const ActionRecord& a) {
  ActionRequest r;
  r.action_id = a.id;
  r.incident_id = a.incident_id;
  r.action = a.action;
  r.service = a.service;
  if (a.params.is_object())
    for (const auto& [k, v] : a.params.items())
      if (v.is_string()) r.params[k] = v.get<std::string>();
  r.dry_run = a.mode == ModeName(Mode::kDryRun);
  return r;
}

Json ResultJson(const ExecResult& r) {
  Json j = {{"detail", r.detail}, {"response", r.response}};
  if (!r.argv.empty()) j["argv"] = r.argv;
  return j;
}

}  // namespace

ActionRunner::ActionRunner(RedisOptions redis, std::string database_url, const Policy& policy,
                           std::map<std::string, Executor*> executors, RunnerOptions options)
    : redis_(std::move(redis)), db_(std::move(database_url)), policy_(policy), executors_(std::move(executors)),
      options_(options) {}

Executor* ActionRunner::ExecutorFor(const ActionRecord& a) {
  auto it = executors_.find(a.executor);
  return it == executors_.end() ? nullptr : it->second;
}

Expected<int64_t> ActionRunner::EventNow(const std::string& service, int64_t floor_ms) {
  auto r = redis_.Command({"ZSCORE", keys::kServiceClock, service});
  if (!r.ok()) return r.status();
  int64_t now = floor_ms;
  if (r->type == RedisReply::Type::kString)
    if (auto v = ParseInt(r->str)) now = std::max(now, *v);
  return now;
}

Expected<int64_t> ActionRunner::SeriesNow(const std::string& service, const std::string& metric, int64_t floor_ms) {
  // The trigger series' own newest sample: one service's clock can be pushed ahead by absurd
  // timestamps elsewhere, the incident's own evidence cannot.
  auto r = redis_.Command({"ZREVRANGEBYSCORE", keys::SeriesHistory(service, metric), "+inf", "-inf", "LIMIT", "0", "1"});
  if (!r.ok()) return r.status();
  for (const auto& e : r->elements)
    if (auto p = keys::ParseSeriesMember(e.str)) return std::max(floor_ms, p->first);
  return EventNow(service, floor_ms);
}

Expected<int> ActionRunner::EscalateInDoubt() {
  int moved = 0;
  Status s = db_.Transact([&](pqxx::work& tx) {
    moved = 0;
    auto rows = tx.exec_params(
        "SELECT id::text FROM remediation_actions WHERE status = 'EXECUTING' "
        " AND updated_at < now() - make_interval(secs => $1::double precision) ORDER BY created_at LIMIT 100 "
        " FOR UPDATE SKIP LOCKED",
        static_cast<double>(options_.in_doubt_after.count()) / 1000.0);
    for (const auto& row : rows) {
      auto a = LoadAction(tx, row[0].as<std::string>());
      if (!a) continue;
      const std::string reason =
          "in doubt: handed to the " + a->executor +
          " executor but no outcome was recorded (a crash or a restart in between); it may have run, so it is "
          "never repeated automatically: a person must check";
      if (!MoveAction(tx, a->id, {ActionStatus::EXECUTING}, ActionStatus::ESCALATED, reason)) continue;
      a->status = ActionStatus::ESCALATED;
      RecordActionEvent(tx, *a, kRemediationAgent, action_events::kEscalated, reason,
                        a->executed_time_ms.value_or(a->proposed_time_ms) + 1, Json{{"rule", "in_doubt"}});
      CountAction(*a, "in_doubt");
      log::LogScope scope("incident_id", a->incident_id);
      Log()->warn("action {} {} on {} is in doubt: escalated, not repeated", a->id, ToString(a->action), a->service);
      ++moved;
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return moved;
}

Expected<int> ActionRunner::ExpireApprovals() {
  int moved = 0;
  Status s = db_.Transact([&](pqxx::work& tx) {
    moved = 0;
    auto rows = tx.exec(
        "SELECT id::text FROM remediation_actions WHERE status = 'AWAITING_APPROVAL' AND expires_at <= now() "
        "ORDER BY expires_at LIMIT 100 FOR UPDATE SKIP LOCKED");
    for (const auto& row : rows) {
      auto a = LoadAction(tx, row[0].as<std::string>());
      if (!a) continue;
      const std::string reason = "approval expired after " + std::to_string(policy_.approval_ttl_ms / 60000) +
                                 " min without a decision: escalated to a person";
      if (!MoveAction(tx, a->id, {ActionStatus::AWAITING_APPROVAL}, ActionStatus::ESCALATED, reason)) continue;
      a->status = ActionStatus::ESCALATED;
      RecordActionEvent(tx, *a, kRemediationAgent, action_events::kEscalated, reason,
                        DecisionEventTimeMs(*a, WallMs()), Json{{"rule", "approval_expired"}});
      CountAction(*a, "expired");
      log::LogScope scope("incident_id", a->incident_id);
      Log()->warn("approval of {} on {} expired: escalated", ToString(a->action), a->service);
      ++moved;
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return moved;
}

Expected<bool> ActionRunner::ExecuteOne() {
  std::optional<ActionRecord> claimed;
  bool changed = false;
  Status s = db_.Transact([&](pqxx::work& tx) -> Status {
    claimed.reset();
    changed = false;
    // One decision at a time across replicas: the caps count what the others are doing.
    tx.exec("SELECT pg_advisory_xact_lock(hashtext('sre-remediation-guards'))");
    auto rows = ActionsInStatus(tx, {ActionStatus::APPROVED}, /*lock=*/true, 1);
    if (rows.empty()) return Status::Ok();
    ActionRecord a = rows.front();
    changed = true;
    log::LogScope scope("incident_id", a.incident_id);
    auto now = SeriesNow(a.service, a.trigger_metric, a.proposed_time_ms);
    if (!now.ok()) return now.status();
    Executor* ex = ExecutorFor(a);
    if (!ex || !ex->Supports(a.action)) {
      const std::string reason = "no executor can carry out " + std::string(ToString(a.action)) + " (policy names '" +
                                 a.executor + "'): escalated";
      MoveAction(tx, a.id, {ActionStatus::APPROVED}, ActionStatus::BLOCKED, reason);
      a.status = ActionStatus::BLOCKED;
      RecordActionEvent(tx, a, kRemediationAgent, action_events::kBlocked, reason, *now + 1, Json{{"rule", "not_allowlisted"}});
      RecordActionEvent(tx, a, kRemediationAgent, action_events::kEscalated, reason, *now + 1);
      CountAction(a, "blocked");
      return Status::Ok();
    }
    const bool dry_run = a.mode == ModeName(Mode::kDryRun);
    if (!dry_run) {
      auto g = tx.exec_params(
          "SELECT "
          " (SELECT (extract(epoch FROM max(executed_time)) * 1000)::bigint FROM remediation_actions "
          "   WHERE service = $1 AND action = $2 AND executed_time IS NOT NULL AND status <> 'DRY_RUN'), "
          " (SELECT count(*) FROM remediation_actions WHERE service = $1 AND status = 'FAILED' AND executed_time > "
          "   COALESCE((SELECT max(executed_time) FROM remediation_actions WHERE service = $1 AND status = 'VERIFIED'), "
          "   '-infinity'::timestamptz)), "
          " (SELECT (extract(epoch FROM max(executed_time)) * 1000)::bigint FROM remediation_actions "
          "   WHERE service = $1 AND status = 'FAILED'), "
          " (SELECT count(*) FROM remediation_actions WHERE service = $1 AND status IN ('EXECUTING', 'EXECUTED')), "
          " (SELECT count(*) FROM remediation_actions WHERE status IN ('EXECUTING', 'EXECUTED')), "
          " (SELECT count(*) FROM remediation_actions WHERE executed_time > to_timestamp(($3::bigint - 3600000) / 1000.0) "
          "   AND status <> 'DRY_RUN')",
          a.service, std::string(ToString(a.action)), *now);
      GuardState gs;
      if (!g[0][0].is_null()) gs.last_same_target_ms = g[0][0].as<int64_t>();
      gs.failures_in_row = g[0][1].as<int>();
      if (!g[0][2].is_null()) gs.last_failure_ms = g[0][2].as<int64_t>();
      gs.in_flight_service = g[0][3].as<int>();
      gs.in_flight_total = g[0][4].as<int>();
      gs.executed_last_hour = g[0][5].as<int>();
      if (auto block = CheckGuards(gs, policy_, *now)) {
        MoveAction(tx, a.id, {ActionStatus::APPROVED}, ActionStatus::BLOCKED, block->reason);
        a.status = ActionStatus::BLOCKED;
        RecordActionEvent(tx, a, kRemediationAgent, action_events::kBlocked, block->reason, *now + 1,
                          Json{{"rule", block->rule}});
        RecordActionEvent(tx, a, kRemediationAgent, action_events::kEscalated,
                          "blocked by " + block->rule + ": a person must act", *now + 1, Json{{"rule", block->rule}});
        CountAction(a, "blocked");
        Log()->warn("{} on {} blocked by {}: {}", ToString(a.action), a.service, block->rule, block->reason);
        return Status::Ok();
      }
    }
    ActionUpdate u;
    u.executed_time_ms = *now;
    u.executed_now = true;
    if (!MoveAction(tx, a.id, {ActionStatus::APPROVED}, ActionStatus::EXECUTING,
                    dry_run ? "dry run handed to the " + a.executor + " executor"
                            : "handed to the " + a.executor + " executor",
                    u))
      return Status::Ok();
    a.status = ActionStatus::EXECUTING;
    a.executed_time_ms = *now;
    claimed = a;
    return Status::Ok();
  });
  if (!s.ok()) return s;
  if (!claimed) return changed;

  // The row says EXECUTING (committed): a crash from here on leaves it in doubt, never repeated.
  log::LogScope scope("incident_id", claimed->incident_id);
  ActionRequest req = RequestFor(*claimed);
  Log()->info("{}{} on {} via {}", req.dry_run ? "dry run: " : "executing ", ToString(claimed->action), claimed->service,
              claimed->executor);
  ExecResult r = ExecutorFor(*claimed)->Execute(req);
  if (Status f = Finish(*claimed, r, *claimed->executed_time_ms + 1); !f.ok()) return f;
  return true;
}

Status ActionRunner::Finish(const ActionRecord& claimed, const ExecResult& r, int64_t event_ms) {
  return db_.Transact([&](pqxx::work& tx) {
    ActionRecord a = claimed;
    Json result = ResultJson(r);
    ActionUpdate u;
    u.result = result;
    Json extra = {{"detail", r.detail}};
    if (!r.argv.empty()) extra["argv"] = r.argv;
    if (a.mode == ModeName(Mode::kDryRun)) {
      const std::string reason = (r.ok() ? "dry run: " : "dry run failed: ") + r.detail;
      if (!MoveAction(tx, a.id, {ActionStatus::EXECUTING}, ActionStatus::DRY_RUN, reason, u)) return Status::Ok();
      a.status = ActionStatus::DRY_RUN;
      RecordActionEvent(tx, a, kRemediationAgent, action_events::kDryRun, reason, event_ms, extra);
      CountAction(a, "dry_run");
      return Status::Ok();
    }
    switch (r.outcome) {
      case ExecResult::Outcome::kSucceeded: {
        const std::string reason = "executed: " + r.detail;
        if (!MoveAction(tx, a.id, {ActionStatus::EXECUTING}, ActionStatus::EXECUTED, reason, u)) return Status::Ok();
        a.status = ActionStatus::EXECUTED;
        RecordActionEvent(tx, a, kRemediationAgent, action_events::kExecuted, reason, event_ms, extra);
        CountAction(a, "executed");
        break;
      }
      case ExecResult::Outcome::kFailed: {
        const std::string reason = "the executor reported failure: " + r.detail;
        if (!MoveAction(tx, a.id, {ActionStatus::EXECUTING}, ActionStatus::FAILED, reason, u)) return Status::Ok();
        a.status = ActionStatus::FAILED;
        RecordActionEvent(tx, a, kRemediationAgent, action_events::kFailed, reason, event_ms, extra);
        RecordActionEvent(tx, a, kRemediationAgent, action_events::kEscalated, "the action failed: a person must act",
                          event_ms);
        CountAction(a, "failed");
        Log()->warn("{} on {} failed: {}", ToString(a.action), a.service, r.detail);
        break;
      }
      case ExecResult::Outcome::kUnknown: {
        const std::string reason = "no answer from the executor (" + r.detail +
                                   "): it may have run, so it is not repeated: a person must check";
        if (!MoveAction(tx, a.id, {ActionStatus::EXECUTING}, ActionStatus::ESCALATED, reason, u)) return Status::Ok();
        a.status = ActionStatus::ESCALATED;
        RecordActionEvent(tx, a, kRemediationAgent, action_events::kEscalated, reason, event_ms,
                          Json{{"detail", r.detail}, {"rule", "in_doubt"}});
        CountAction(a, "in_doubt");
        Log()->warn("{} on {} in doubt: {}", ToString(a.action), a.service, r.detail);
        break;
      }
    }
    return Status::Ok();
  });
}

Expected<int> ActionRunner::VerifyExecuted() {
  struct Check {
    ActionRecord action;
    VerifyVerdict verdict;
    int64_t now = 0;
  };
  std::vector<Check> checks;
  Status s = db_.Transact([&](pqxx::work& tx) {
    checks.clear();
    for (auto& a : ActionsInStatus(tx, {ActionStatus::EXECUTED}, /*lock=*/false, 100)) {
      auto inc = tx.exec_params(
          "SELECT i.service, i.trigger_metric, i.baselines::text, i.status IN ('RESOLVED', 'CLOSED'), "
          " COALESCE((extract(epoch from now() - a.executed_at) * 1000)::bigint, 0) "
          "FROM incidents i JOIN remediation_actions a ON a.incident_id = i.id WHERE a.id = $1::uuid",
          a.id);
      if (inc.empty()) continue;
      const std::string service = inc[0][0].as<std::string>();
      const std::string trigger = inc[0][1].as<std::string>();
      auto baselines = FromJson<IncidentBaselines>(Json::parse(inc[0][2].as<std::string>(), nullptr, false));
      if (!baselines.ok()) {
        // A row that does not decode cannot be verified: say so once, as a failed verification.
        checks.push_back({a, {VerifyState::kFailed, "the incident's baselines do not decode: " + baselines.status().message()},
                          a.executed_time_ms.value_or(a.proposed_time_ms)});
        continue;
      }
      const int64_t executed = a.executed_time_ms.value_or(a.proposed_time_ms);
      VerifyInput in;
      in.executed_ms = executed;
      in.incident_resolved = inc[0][3].as<bool>();
      in.wall_elapsed_ms = inc[0][4].as<int64_t>();
      const TriggerBaseline* tb = baselines->Find(trigger);
      if (const MetricBaseline* b = tb ? tb->metric() : nullptr) {
        in.baseline = SeriesBaselineFact{b->mean, b->std, b->threshold, b->direction};
        const std::string key = keys::SeriesHistory(service, trigger);
        auto replies = redis_.Pipeline({{"ZRANGEBYSCORE", key, "(" + std::to_string(executed), "+inf"},
                                        {"ZREVRANGEBYSCORE", key, std::to_string(executed), "-inf", "LIMIT", "0", "1"}});
        if (!replies.ok()) return replies.status();
        for (const auto& e : (*replies)[0].elements)
          if (auto p = keys::ParseSeriesMember(e.str)) in.after.push_back(*p);
        for (const auto& e : (*replies)[1].elements)
          if (auto p = keys::ParseSeriesMember(e.str)) in.value_at_action = p->second;
      }
      auto now = in.baseline ? SeriesNow(service, trigger, executed) : EventNow(service, executed);
      if (!now.ok()) return now.status();
      in.now_ms = in.after.empty() ? *now : std::max(*now, in.after.back().first);
      VerifyVerdict v = Verify(in, policy_);
      if (v.state != VerifyState::kPending) checks.push_back({std::move(a), std::move(v), in.now_ms});
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;

  int moved = 0;
  for (auto& c : checks) {
    log::LogScope scope("incident_id", c.action.incident_id);
    ActionRecord& a = c.action;
    std::optional<ExecResult> undo;
    const bool can_undo = a.reversible && a.action != RemediationAction::RESTART;
    if (c.verdict.state == VerifyState::kFailed && can_undo) {
      if (Executor* ex = ExecutorFor(a)) {
        ActionRequest req = RequestFor(a);
        req.undo = true;
        req.action_id = a.id + ":undo";  // a key of its own: a receiver must not take it for a replay
        undo = ex->Execute(req);
      }
    }
    Status st = db_.Transact([&](pqxx::work& tx) {
      ActionUpdate u;
      Json verification = {{"state", c.verdict.state == VerifyState::kVerified ? "verified" : "failed"},
                           {"reason", c.verdict.reason}};
      verification["undone"] = undo.has_value() && undo->ok();
      if (undo) verification["undo"] = ResultJson(*undo);
      u.verification = verification;
      if (c.verdict.state == VerifyState::kVerified) {
        if (!MoveAction(tx, a.id, {ActionStatus::EXECUTED}, ActionStatus::VERIFIED, "verified: " + c.verdict.reason, u))
          return Status::Ok();
        a.status = ActionStatus::VERIFIED;
        RecordActionEvent(tx, a, kRemediationAgent, action_events::kVerified, c.verdict.reason, c.now + 1);
        CountAction(a, "verified");
        Log()->info("{} on {} verified: {}", ToString(a.action), a.service, c.verdict.reason);
        ++moved;
        return Status::Ok();
      }
      std::string reason = "did not work: " + c.verdict.reason;
      if (undo)
        reason += undo->ok() ? "; undone (" + UndoDescription(a.action) + ": " + undo->detail + ")"
                             : "; the undo failed too (" + undo->detail + ")";
      else
        reason += can_undo ? "; no executor to undo it" : "; not reversible, left as it is";
      if (!MoveAction(tx, a.id, {ActionStatus::EXECUTED}, ActionStatus::FAILED, reason, u)) return Status::Ok();
      a.status = ActionStatus::FAILED;
      RecordActionEvent(tx, a, kRemediationAgent, action_events::kFailed, reason, c.now + 1,
                        Json{{"undone", undo && undo->ok()}});
      RecordActionEvent(tx, a, kRemediationAgent, action_events::kEscalated,
                        "the automated " + std::string(ToString(a.action)) + " did not help: a person must act", c.now + 1);
      CountAction(a, "verification_failed");
      Log()->warn("{} on {} did not help: {}", ToString(a.action), a.service, reason);
      ++moved;
      return Status::Ok();
    });
    if (!st.ok()) return st;
  }
  return moved;
}

Expected<int> ActionRunner::RunOnce() {
  int changed = 0;
  auto doubt = EscalateInDoubt();
  if (!doubt.ok()) return doubt.status();
  changed += *doubt;
  auto expired = ExpireApprovals();
  if (!expired.ok()) return expired.status();
  changed += *expired;
  for (int i = 0; i < 50; ++i) {
    auto one = ExecuteOne();
    if (!one.ok()) return one.status();
    if (!*one) break;
    ++changed;
  }
  auto verified = VerifyExecuted();
  if (!verified.ok()) return verified.status();
  return changed + *verified;
}

void ActionRunner::Run(const std::atomic<bool>& stop) {
  auto backoff = options_.interval;
  while (!stop.load()) {
    Expected<int> r = [&]() -> Expected<int> {
      try {
        return RunOnce();
      } catch (const std::exception& e) {
        return Status::Internal(std::string("action runner exception: ") + e.what());
      }
    }();
    if (r.ok()) {
      backoff = options_.interval;
    } else {
      Log()->warn("action runner pass failed (retried): {}", r.status().message());
      backoff = std::min(backoff * 2, std::chrono::milliseconds(15000));
    }
    for (auto waited = std::chrono::milliseconds(0); waited < backoff && !stop.load();
         waited += std::chrono::milliseconds(50))
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace sre::remediation
