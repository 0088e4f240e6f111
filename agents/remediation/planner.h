#pragma once
// The remediation core: a prioritised plan from the root cause and the runbooks. Pure: the IO
// shell passes the runbooks it retrieved and the service's catalogue entry.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "knowledge/knowledge_base.h"
#include "shared/messages.h"
#include "shared/services.h"

namespace sre::remediation {

struct RunbookStep {
  std::string text;                   // "Scale the deployment"
  std::vector<std::string> commands;  // {"kubectl -n <team> scale ..."}: one per command line
  std::string rollback;               // the step's own "Rollback: ..." line, if it has one
  // The commands on one line, separated by "; ".
  std::string Command() const;
};
// Numbered steps of a runbook section: "1. text", optionally followed by a ``` block (one command
// per line; lines indented deeper than the fence continue the previous one) and an indented
// "Rollback: ..." line.
std::vector<RunbookStep> ParseSteps(const std::string& section_text);

struct Runbook {
  std::string id;  // "rb-latency-spike"
  std::vector<knowledge::Chunk> sections;
  const knowledge::Chunk* Section(const std::string& name) const;
};

struct PlanInput {
  RcaCompleted rca;
  AnomalyType anomaly_type = AnomalyType::UNKNOWN;
  std::string trigger_metric;
  std::optional<Json> deployment;  // correlation's deployment context, if any
  std::vector<Runbook> runbooks;   // most relevant first
  const ServiceInfo* service = nullptr;  // the root-cause service
  // The incident's (alerting) service. In a cascade it differs from the root-cause service and
  // calls it, directly or through others.
  std::string alerting_service;
  const ServiceCatalog* catalog = nullptr;  // for the caller's team and the call graph
};

// The values of the runbooks' placeholders for this incident (knowledge/README.md, Runbooks):
// service, team, db, cache-host, topic, version, previous_version, caller, caller-team, callee,
// callee-team. A placeholder the incident and the catalogue cannot answer is absent.
using Placeholders = std::map<std::string, std::string>;
Placeholders PlaceholderValues(const PlanInput& in);

// True when `text` holds a placeholder token such as <team>, <new-pod> or <current + 50%>
// (a letter after '<'); SQL's `<>` and comparisons such as `a < b` are not placeholders.
bool HasPlaceholder(const std::string& text);
// `text` with every placeholder of `values` replaced; others are left as they are.
std::string FillPlaceholders(const std::string& text, const Placeholders& values);

// True when a step changes nothing: no restart, scaling, rollback, flag, deletion, cancel, ...
bool IsReadOnly(const std::string& action);
// The rollback of one runbook step: its own "Rollback:" line, "None needed (read-only)." when
// it changes nothing, else one derived from what it does.
std::string StepRollback(const RunbookStep& step);

// 3–8 steps: a cause-specific first action, then the runbooks' immediate actions and resolution
// steps with every placeholder filled (steps with one that cannot be filled are left out), each
// with priority, risk, its own rollback, owner and expected outcome.
RemediationPlan BuildPlan(const PlanInput& in, const std::string& event_id);

// The planner model's user prompt: the RCA (an earlier model's output, names from telemetry), the
// runbooks (placeholders filled where known) and the draft only inside untrusted delimiters.
std::string PlanPrompt(const PlanInput& in, const RemediationPlan& draft);

// For the model's plan: fills the placeholders it copied from the runbooks, drops steps that still
// have one in any field and renumbers the rest. False when fewer than 3 steps are left.
bool ScrubPlaceholders(RemediationPlan& plan, const PlanInput& in);

// LOW for read-only steps, MEDIUM for restarts/scaling/rollbacks, HIGH for destructive ones.
RiskLevel AssessRisk(const std::string& action);

}  // namespace sre::remediation
