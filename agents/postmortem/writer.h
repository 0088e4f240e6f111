#pragma once
// The postmortem core: a blameless Markdown postmortem (ARCHITECTURE §4 sections) from the stored
// incident, RCA, plan and the agent_events timeline. Pure: no IO, no clock.
#include <optional>
#include <string>
#include <vector>

#include "shared/messages.h"
#include "shared/remediation_actions.h"
#include "shared/services.h"
#include "shared/time_format.h"

namespace sre::postmortem {

struct TimelineEntry {
  int64_t time_ms = 0;
  std::string agent, event_type;
  Json payload;
};

// One incident of a cascade: the origin (the incident the others link to) or one linked to it.
struct CascadeMember {
  std::string id, service, status;
  AnomalyType anomaly_type = AnomalyType::UNKNOWN;
  int64_t detection_time = 0;
  bool origin = false;
};

// "INC-1A2B3C4D on order-service (ERROR_RATE_SPIKE, RESOLVED)".
std::string DescribeMember(const CascadeMember& m);

struct IncidentRecord {
  std::string id, service, status, trigger_metric, description;
  AnomalyType anomaly_type = AnomalyType::UNKNOWN;
  Severity severity = Severity::LOW;
  int64_t detection_time = 0;
  std::optional<int64_t> resolution_time;
  double mttr_seconds = 0;
  double observed_value = 0, baseline_mean = 0, deviation_sigma = 0;
  std::vector<std::string> affected_services;
  Json blast_radius = nullptr, correlation_context = nullptr;
  std::optional<RcaCompleted> rca;              // as stored (candidates, category, service)
  std::optional<RemediationPlan> plan;
  std::optional<std::string> related_incident_id;
  std::string unit;  // of observed_value and baseline_mean ("lines" for a log pattern)
  // The whole cascade this incident belongs to, itself included, oldest first; empty (or only
  // itself) when it stands alone.
  std::vector<CascadeMember> cascade;
  // The remediation actions proposed for it (ListActions: proposal order, as they stand when the
  // postmortem is written); empty when none was proposed.
  std::vector<ActionRecord> actions;
  bool is_log() const { return trigger_metric.rfind("log:", 0) == 0; }
  // Services hit: the incident's own affected services, then those of the rest of its cascade.
  std::vector<std::string> AllAffectedServices() const;
};

// Narrative parts a model may write instead of the deterministic ones (validated by the caller).
struct Narrative {
  std::string summary, impact, root_cause;
  std::vector<std::string> contributing_factors, went_well, could_improve;
};

// Deterministic narrative from the record: no placeholders, every sentence from stored data.
Narrative FallbackNarrative(const IncidentRecord& r, const std::vector<TimelineEntry>& timeline);

// Action items: category-specific prevention, one HIGH item per automated action that FAILED
// (why it did not help), the plan's follow-up steps, owners from the catalogue, due dates counted
// from the detection date (HIGH +7 days, MEDIUM +14, LOW +30).
std::vector<ActionItem> BuildActionItems(const IncidentRecord& r, const ServiceCatalog& catalog);

// The document: # title, then ## Summary, Impact, Timeline, Root Cause, Automated Remediation
// (only when actions were proposed), Contributing Factors, What Went Well, What Could Be Improved,
// Action Items (a table: Action | Owner | Priority | Due).
std::string RenderMarkdown(const IncidentRecord& r, const std::vector<TimelineEntry>& timeline, const Narrative& n,
                           const std::vector<ActionItem>& items);

// The model's user prompt: the service, the RCA's words and the timeline (which quotes outside
// text) only inside untrusted delimiters.
std::string NarrativePrompt(const IncidentRecord& r, const std::vector<TimelineEntry>& timeline);

// One line per timeline entry, for people ("14:05:09 detection: anomaly detected ...", or for an
// ACTION_* event "14:06:10 remediation: rollback on user-service via simulator: executed — HTTP
// 200: matched").
std::string DescribeEvent(const TimelineEntry& e);

// ---- remediation actions (issue 18), also used by the communication agent's emails ----

// "kill long queries" for kill_long_queries: the action's wire name read as words.
std::string ActionWords(RemediationAction a);
// "rollback on user-service via simulator" (no "via" for the executor "none").
std::string DescribeActionTarget(const ActionRecord& a);
// What became of an action, for people, without its reason: "ran and was verified", "did not
// help: it was undone and escalated", "was rejected by alice", "dry run only: nothing changed"...
std::string ActionOutcome(const ActionRecord& a);
// Whether a FAILED action was undone (its reason says so: "...; undone (...)").
bool ActionUndone(const ActionRecord& a);
// Who a failed or escalated action went to: the team the remediation agent recorded with it
// (params.team), else the first of the plan's escalation path, else "the on-call team".
std::string EscalatedTo(const ActionRecord& a, const std::optional<RemediationPlan>& plan);

}  // namespace sre::postmortem
