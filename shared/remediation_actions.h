#pragma once
// The remediation_actions table (migration 006, docs/architecture.md "Remediation actions"):
// one row per action the remediation agent proposed for an incident. Written by sre-remediation
// (proposal, guards, execution, verification) and by sre-api (a person's approval or rejection);
// read by the API, the dashboard, the emails and the postmortem. Every status move is recorded
// with an ACTION_* row of agent_events whose payload names the action, the executor and the
// reason (RecordActionEvent), in the same transaction.
//
// Status moves (ActionStatus):
//   proposal   → AWAITING_APPROVAL | APPROVED (auto) | DRY_RUN | BLOCKED | ESCALATED
//   AWAITING_APPROVAL → APPROVED | REJECTED (sre-api) | ESCALATED (the approval expired)
//   APPROVED   → EXECUTING (committed before the executor is called) | BLOCKED (a guard, at run time)
//   EXECUTING  → EXECUTED | FAILED | ESCALATED (found EXECUTING after a crash: in doubt, never repeated)
//   EXECUTED   → VERIFIED | FAILED (undone where reversible, and escalated)
#include <cstdint>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "shared/enums.h"
#include "shared/json_codec.h"

namespace sre {

// The agent_events event types of the remediation actions (issue 18).
namespace action_events {
inline constexpr const char* kProposed = "ACTION_PROPOSED";
inline constexpr const char* kApprovalRequested = "ACTION_APPROVAL_REQUESTED";
inline constexpr const char* kApproved = "ACTION_APPROVED";
inline constexpr const char* kRejected = "ACTION_REJECTED";
inline constexpr const char* kBlocked = "ACTION_BLOCKED";
inline constexpr const char* kExecuted = "ACTION_EXECUTED";
inline constexpr const char* kDryRun = "ACTION_DRY_RUN";
inline constexpr const char* kVerified = "ACTION_VERIFIED";
inline constexpr const char* kFailed = "ACTION_FAILED";
inline constexpr const char* kEscalated = "ACTION_ESCALATED";
}  // namespace action_events

struct ActionRecord {
  std::string id;  // UUID, also the idempotency key sent to the executor
  std::string incident_id;
  int64_t ordinal = 1;
  RemediationAction action = RemediationAction::ESCALATE;
  std::string service;
  Json params = Json::object();  // validated fields only: deployment_version, previous_version
  std::string executor;          // a name from the policy file ("simulator", "webhook", "command", "none")
  RiskLevel risk = RiskLevel::LOW;
  bool reversible = false;
  std::optional<int64_t> step_id;  // the plan step it carries out
  std::string trigger_metric;      // what verification watches
  ActionStatus status = ActionStatus::AWAITING_APPROVAL;
  std::string mode;    // the effective mode when proposed: off, dry-run, approve, auto
  std::string reason;  // why it is in this status (the rule, the error, who decided)
  std::optional<double> confidence;
  std::optional<std::string> decided_by;
  std::optional<int64_t> decided_at_ms, expires_at_ms;  // wall clock
  int64_t proposed_time_ms = 0;                         // event time
  std::optional<int64_t> executed_time_ms;              // event time
  std::optional<int64_t> executed_at_ms;                // wall clock
  std::optional<Json> result, verification;

  template <class V>
  void Visit(V& v) {
    v("id", id, Check::Uuid());
    v("incident_id", incident_id, Check::Uuid());
    v("ordinal", ordinal, Check::Min(1));
    v("action", action);
    v("service", service, Check::NonEmpty(128));
    v("params", params);
    v("executor", executor, Check::NonEmpty(64));
    v("risk", risk);
    v("reversible", reversible);
    v("step_id", step_id);
    v("trigger_metric", trigger_metric);
    v("status", status);
    v("mode", mode);
    v("reason", reason);
    v("confidence", confidence);
    v("decided_by", decided_by);
    v("decided_at_ms", decided_at_ms);
    v("expires_at_ms", expires_at_ms);
    v("proposed_time_ms", proposed_time_ms);
    v("executed_time_ms", executed_time_ms);
    v("executed_at_ms", executed_at_ms);
    v("result", result);
    v("verification", verification);
  }
};

// A new action row; a row with the same id exists already (a redelivered plan): left as it is,
// false.
bool InsertAction(pqxx::work& tx, const ActionRecord& a);

// Moves an action to `to` with `reason` (and the optional columns given), only from one of
// `from`. False when its status was not one of them (someone else moved it first).
struct ActionUpdate {
  std::optional<std::string> decided_by;
  bool decided_now = false;                 // decided_at = now()
  std::optional<int64_t> executed_time_ms;  // event time
  bool executed_now = false;                // executed_at = now()
  std::optional<Json> result, verification;
};
bool MoveAction(pqxx::work& tx, const std::string& action_id, const std::vector<ActionStatus>& from,
                ActionStatus to, const std::string& reason, const ActionUpdate& update = {});

// The incident's actions, in proposal order.
std::vector<ActionRecord> ListActions(pqxx::transaction_base& tx, const std::string& incident_id);
// Actions in any of `statuses`, oldest first; `lock`: FOR UPDATE SKIP LOCKED (a second runner
// skips what the first one holds).
std::vector<ActionRecord> ActionsInStatus(pqxx::transaction_base& tx, const std::vector<ActionStatus>& statuses,
                                          bool lock = false, size_t limit = 100);
std::optional<ActionRecord> LoadAction(pqxx::transaction_base& tx, const std::string& action_id, bool lock = false);

// One ACTION_* row of agent_events for `a`: payload {action_id, action, service, executor,
// status, reason, risk, reversible} plus `extra`'s members.
void RecordActionEvent(pqxx::work& tx, const ActionRecord& a, const std::string& agent, const std::string& event_type,
                       const std::string& reason, int64_t event_time_ms, const Json& extra = Json::object());

// A person's decision through sre-api: approve or reject an action AWAITING_APPROVAL, recorded
// with who decided (ACTION_APPROVED / ACTION_REJECTED). An expired approval is escalated here
// instead (ACTION_ESCALATED) and reported as kExpired. A replayed decision changes nothing.
struct Decision {
  enum class Outcome { kDecided, kNotFound, kConflict, kExpired };
  Outcome outcome = Outcome::kNotFound;
  std::optional<ActionRecord> action;  // after the decision (or as found)
};
Decision DecideAction(pqxx::work& tx, const std::string& incident_id, const std::string& action_id, bool approve,
                      const std::string& by, const std::string& note);

// The events' event time for a decision taken now: the wall clock, never before the action's
// proposal (the simulator's accelerated event time runs ahead of the wall clock).
int64_t DecisionEventTimeMs(const ActionRecord& a, int64_t now_wall_ms);

}  // namespace sre
