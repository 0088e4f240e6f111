#pragma once
// The evaluation scorecard's pure core: what the pipeline did for each injected scenario
// (incidents, emails, postmortem) against the simulator's ground truth, and its rendering as
// Markdown and JSON. No IO; times are passed in (simulated Unix ms unless named *_wall_ms).
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "shared/json_codec.h"

namespace sre::eval {

// The five lifecycle emails, in order.
extern const std::vector<std::string> kEmailTypes;

// A row of `remediation_actions` (docs/architecture.md §4 "Remediation actions").
struct ObservedAction {
  std::string action, service, status, reason;
  std::optional<double> confidence;    // the RCA confidence the decision saw
  std::optional<bool> matched;         // result.response.matched: the simulator's verdict
  std::optional<int64_t> executed_ms;  // executed_time (event time)
};

// Whether the action was carried out against the system: EXECUTED, VERIFIED or FAILED (a failed
// verification, or an executor that reported failure). DRY_RUN, BLOCKED, AWAITING_APPROVAL,
// ESCALATED, ... changed nothing.
bool ActionExecuted(const std::string& status);

struct Truth {  // from sim.ground_truth
  std::string scenario, service, root_cause_service, root_cause_category;
  int64_t start_ms = 0;           // START event time
  std::optional<int64_t> end_ms;  // END event time, when seen
};

struct ObservedIncident {  // a row of `incidents`
  std::string id, service, status, root_cause_service, root_cause_category, related_incident_id;
  int64_t detection_ms = 0;
  std::optional<double> mttr_s;
  bool has_postmortem = false;
  std::map<std::string, int64_t> email_sent_ms;  // notification_type -> simulated time it was sent
  int emails_in_maildev = 0;
  std::vector<ObservedAction> actions;  // by ordinal
};

struct ScenarioObservation {
  std::string scenario;
  std::optional<Truth> truth;               // absent: no ground truth seen for the injection
  std::vector<ObservedIncident> incidents;  // opened between this injection and the next
  bool completed = false;                   // scenario ended and its incidents closed in time
};

struct ScenarioScore {
  std::string scenario, service;
  bool detected = false;
  std::optional<double> detection_delay_s;  // first incident's detection - fault start
  int incidents_opened = 0;                 // the faulty service's + unlinked others (must be 1)
  int incidents_linked = 0;                 // other services' incidents linked to that one
  bool root_cause_service_ok = false, root_cause_category_ok = false;
  std::string root_cause_service, root_cause_category;
  std::map<std::string, std::optional<double>> email_delay_s;  // type -> since fault start
  int emails_in_maildev = 0;
  std::optional<double> mttr_measured_s, mttr_simulated_s;
  bool postmortem = false;
  bool completed = false;
  bool pass = false;  // detected, exactly one incident, RCA right, 5 emails, postmortem
  std::optional<int64_t> fault_start_ms;      // the truth's START (for the actions' delays)
  std::vector<ObservedAction> actions;        // the scored (root) incident's
  std::vector<ObservedAction> other_actions;  // the scenario's other incidents' (linked or not)
};

struct Scorecard {
  std::vector<ScenarioScore> scenarios;
  int false_alarms = 0;  // incidents opened during the quiet period
  int dead_letters = 0;
  double sim_speed = 1;
  int passed = 0;
  std::string remediation_mode;  // as the caller says (sre-eval --remediation-mode); "" unknown
};

ScenarioScore Score(const ScenarioObservation& observation);
Scorecard BuildScorecard(const std::vector<ScenarioObservation>& observations, int false_alarms,
                         int dead_letters, double sim_speed);

std::string RenderMarkdown(const Scorecard& card);
Json RenderJson(const Scorecard& card);

// ---- Remediation comparison (sre-eval --compare): the same scenarios without remediation
// (REMEDIATION_MODE=off) and with it (auto), from the two passes' scorecard JSON (RenderJson).
// Targets: (a) where the auto pass executed an action the simulator matched to the scenario's
// cause, MTTR auto <= kMaxMttrRatio x MTTR off; (b) no executed action the simulator did not
// match (a look-alike: the action does not fit the cause).
constexpr double kMaxMttrRatio = 0.6;

enum class SpeedupCheck { kNotApplicable, kMet, kMissed };

struct ComparisonRow {
  std::string scenario;
  std::optional<double> mttr_off_s, mttr_auto_s;
  std::optional<double> change_pct;  // (auto - off) / off x 100
  std::vector<Json> actions;         // the auto pass's root-incident actions (scorecard JSON)
  int executed_matched = 0;          // executed and matched (root and other incidents)
  int executed_unmatched = 0;        // executed and matched == false: target (b) violations
  int executed_unknown = 0;          // executed without a simulator verdict (no response)
  SpeedupCheck speedup = SpeedupCheck::kNotApplicable;  // target (a)
  std::vector<std::string> notes;
};

struct RemediationComparison {
  std::vector<ComparisonRow> rows;
  int speedup_met = 0, speedup_missed = 0;  // target (a), scenarios
  int executed_matched = 0, executed_unmatched = 0, executed_unknown = 0;
  int off_pass_executed = 0;  // actions executed in the off pass (expected 0: a bad baseline)
  std::string off_mode, auto_mode;
  bool targets_met = false;  // (a) and (b)
};

// Pure: pairs the scenarios by name (the auto pass's order, then any only in the off pass).
RemediationComparison CompareRemediation(const Json& off_card, const Json& auto_card);
std::string RenderComparisonMarkdown(const RemediationComparison& c);
Json RenderComparisonJson(const RemediationComparison& c);

}  // namespace sre::eval
