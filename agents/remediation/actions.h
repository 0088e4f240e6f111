#pragma once
// Guarded remediation, the pure part (docs/architecture.md "Remediation actions"): the policy
// file, which action an incident gets (Propose), what the mode and the guards decide
// (DecideProposal, CheckGuards) and whether the action worked (Verify). The IO shells are
// service.cpp (proposal, on rca.completed) and runner.cpp (execution, expiry, verification).
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "shared/enums.h"
#include "shared/json_codec.h"
#include "shared/messages.h"
#include "shared/status.h"

namespace sre::remediation {

// REMEDIATION_MODE, in increasing autonomy. An executor may cap it (the webhook and command
// executors default to dry-run).
enum class Mode { kOff, kDryRun, kApprove, kAuto };
std::optional<Mode> ParseMode(std::string_view s);  // off, dry-run, approve, auto
std::string ModeName(Mode m);

struct ActionPolicy {
  std::string executor;  // a key of Policy::executors, or "none" (escalate)
  RiskLevel risk = RiskLevel::HIGH;
  bool reversible = false;
};

struct ExecutorPolicy {
  std::string type;  // simulator, webhook, command
  Mode max_mode = Mode::kAuto;
  Json config = Json::object();  // the executor's own object, for its parser
};

struct Policy {
  double confidence_min = 0.7;
  int64_t cooldown_ms = 3600 * 1000;  // per target (service, action), event time
  int breaker_failures = 3;           // failed actions in a row on a service open its breaker...
  int64_t breaker_reset_ms = 3600 * 1000;  // ... until this long after the last one (or a success)
  int max_concurrent_per_service = 1;      // actions executing or being verified
  int max_concurrent = 3;
  int max_per_hour = 10;                   // executed actions, all services, event time
  int64_t approval_ttl_ms = 30 * 60 * 1000;  // wall clock; an expired approval escalates
  int verify_samples = 6;                    // samples of the trigger metric after the action
  int64_t verify_timeout_ms = 10 * 60 * 1000;  // event time: no verdict by then is a failure
  std::map<RemediationAction, ActionPolicy> actions;
  std::map<std::string, ExecutorPolicy> executors;

  const ActionPolicy& For(RemediationAction a) const;
};

// The policy file's JSON; every error names the field ("policy.actions.rollback.risk: ...").
Expected<Policy> ParsePolicy(const Json& j);
Expected<Policy> LoadPolicy(const std::string& path);
// REMEDIATION_POLICY's default: infra/remediation/policy.json relative to the working
// directory, else the source tree's.
std::string DefaultPolicyPath();

// The effective mode of an action: the global mode, capped by its executor's.
Mode EffectiveMode(Mode global, const Policy& policy, RemediationAction action);

// What the proposal needs to know about the incident (from its row and the RCA).
struct DeploymentFact {
  std::string service, version, previous_version;
  ChangeType change_type = ChangeType::CODE;
};
struct IncidentFacts {
  std::string incident_id;
  std::string service;  // the alerting service
  AnomalyType anomaly_type = AnomalyType::UNKNOWN;
  std::string trigger_metric;
  std::vector<std::string> incident_services;  // the service, the affected ones, correlated ones
  RcaCompleted rca;
  std::optional<DeploymentFact> deployment;  // correlated with the incident, if any
  std::string team;                          // of the root-cause service, from the catalogue
};

// A step of a model's plan may ask for an action ("execute": {"action", "service"}): untrusted.
struct StepRequest {
  int64_t step_id = 0;
  std::string action, service;
};

struct Candidate {
  RemediationAction action = RemediationAction::ESCALATE;
  std::string service;
  std::map<std::string, std::string> params;  // validated (IsSafeParam)
  std::optional<int64_t> step_id;             // the plan step it carries out
  bool corroborated = false;                  // the cause is confirmed by independent evidence
  std::string why;                            // one line: why this action
};
struct Rejection {
  std::string action, service;  // as asked (truncated, for the audit row)
  std::string reason;           // "unknown action", "service outside the incident", "shell text"
};
struct Proposal {
  std::vector<Candidate> actions;  // at most one today, the root cause's
  std::vector<Rejection> rejected;
};

// The action that fits the root cause: rollback (a correlated deployment of the root-cause
// service), revert_config (a correlated configuration change), restart (a leak), scale_out (CPU
// or traffic without a deployment), kill_long_queries (the database), reset_consumer (a stall),
// disable_flag (an application bug); escalate for everything else, and when the RCA blames a
// service outside the incident or a field is unsafe. The plan's steps are linked to it where one
// describes it (ClassifyStep); `requests` from a model are checked and recorded as rejections
// when hostile (they never add an action).
Proposal Propose(const IncidentFacts& facts, const RemediationPlan& plan, const std::vector<StepRequest>& requests);

// The vocabulary action a plan step's text describes ("kubectl rollout undo ..." → rollback),
// if any. Free-text steps stay advice.
std::optional<RemediationAction> ClassifyStep(const std::string& text);

// What the mode makes of a proposed action: ESCALATED (the escalate action), APPROVED (auto,
// within the gate, or dry-run: the runner then runs the dry-run form), AWAITING_APPROVAL.
struct ProposalVerdict {
  ActionStatus status = ActionStatus::AWAITING_APPROVAL;
  std::string reason;
};
ProposalVerdict DecideProposal(const Candidate& c, const ActionPolicy& ap, Mode mode, const Policy& policy,
                               double confidence);

// The guards at execution time, from the actions table.
struct GuardState {
  std::optional<int64_t> last_same_target_ms;  // event time of the last execution of (service, action)
  int failures_in_row = 0;                     // failed actions on the service since its last success
  std::optional<int64_t> last_failure_ms;      // event time
  int in_flight_service = 0;                   // EXECUTING/EXECUTED (being verified) on the service
  int in_flight_total = 0;
  int executed_last_hour = 0;                  // executions with executed_time in (now - 1 h, now]
};
struct Block {
  std::string rule;    // cooldown, circuit_breaker, concurrency_service, concurrency_total, rate_limit
  std::string reason;  // one line with the figures
};
std::optional<Block> CheckGuards(const GuardState& s, const Policy& policy, int64_t now_ms);

// Verification of one executed action against the trigger series.
struct SeriesBaselineFact {
  double mean = 0, std = 1, threshold = 3;
  std::string direction = "up";  // up, down, both
};
struct VerifyInput {
  std::optional<SeriesBaselineFact> baseline;  // absent: the trigger is not a series
  std::optional<double> value_at_action;       // the last sample at or before the action
  std::vector<std::pair<int64_t, double>> after;  // samples after the action, oldest first
  bool incident_resolved = false;
  int64_t executed_ms = 0, now_ms = 0;  // event time
  // Wall-clock time since the action ran: a backstop when event time stops moving (the trigger
  // series went quiet, or holds a sample from a clock far ahead that nothing newer will pass).
  int64_t wall_elapsed_ms = 0;
};
enum class VerifyState { kPending, kVerified, kFailed };
struct VerifyVerdict {
  VerifyState state = VerifyState::kPending;
  std::string reason;
};
// Verified when, after `verify_samples` samples, the newest ones are back toward the baseline:
// within 2σ on the bad side, or at most half the excess they had at the action. Failed when they
// are not, or when no verdict is possible within verify_timeout (event time; or twice that in
// wall-clock time, whichever comes first). A trigger that is not a series
// (a log pattern, an alert) is verified by the incident's resolution within the timeout.
VerifyVerdict Verify(const VerifyInput& in, const Policy& policy);

// The undo of a reversible action, for the timeline ("roll forward to 2.4.1").
std::string UndoDescription(RemediationAction a);

}  // namespace sre::remediation
