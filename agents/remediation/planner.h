#pragma once
// The remediation core: a prioritised plan from the root cause and the runbooks. Pure: the IO
// shell passes the runbooks it retrieved and the service's catalogue entry.
#include <optional>
#include <string>
#include <vector>

#include "knowledge/knowledge_base.h"
#include "shared/messages.h"
#include "shared/services.h"

namespace sre::remediation {

struct RunbookStep {
  std::string text, command;  // "Scale the deployment", "kubectl -n payments scale ..."
};
// Numbered steps ("1. ...", optionally followed by a ``` block) of a runbook section.
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
};

// 3–8 steps: a cause-specific first action, then the runbooks' immediate actions and resolution
// steps, each with priority, risk, rollback, owner and expected outcome.
RemediationPlan BuildPlan(const PlanInput& in, const std::string& event_id);

// The planner model's user prompt: the RCA (an earlier model's output, names from telemetry), the
// runbooks and the draft only inside untrusted delimiters.
std::string PlanPrompt(const PlanInput& in, const RemediationPlan& draft);

// LOW for read-only steps, MEDIUM for restarts/scaling/rollbacks, HIGH for destructive ones.
RiskLevel AssessRisk(const std::string& action);

}  // namespace sre::remediation
