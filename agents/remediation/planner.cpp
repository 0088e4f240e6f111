#include "agents/remediation/planner.h"

#include <algorithm>
#include <regex>
#include <sstream>

#include "shared/llm/text.h"
#include "shared/text.h"

namespace sre::remediation {
namespace {

using C = RootCauseCategory;

std::string Trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r\n");
  auto e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

std::string FirstSentence(const std::string& text, size_t max = 300) {
  std::string t = Trim(text);
  auto nl = t.find('\n');
  if (nl != std::string::npos) t = t.substr(0, nl);
  auto dot = t.find(". ");
  if (dot != std::string::npos) t = t.substr(0, dot + 1);
  return TruncateUtf8(t, max, false);
}

struct Lead {
  std::string action, rationale, rollback, outcome;
};

Lead LeadStep(C category, const std::string& svc, const std::optional<Json>& deployment, const std::string& metric) {
  std::string prev = deployment ? deployment->value("previous_version", "the previous version") : "the previous version";
  std::string version = deployment ? deployment->value("version", "the new version") : "the new version";
  switch (category) {
    case C::DEPLOYMENT_REGRESSION:
      return {"Roll back " + svc + " from " + version + " to " + prev + " (kubectl rollout undo deploy/" + svc + ")",
              "The regression started right after the deployment; a rollback is the fastest safe mitigation",
              "Re-deploy " + version + " once the regression is fixed and verified in staging",
              metric + " back at its baseline within 10 minutes of the rollback"};
    case C::CONFIGURATION_ERROR:
      return {"Revert the last configuration change of " + svc + " and restart it to load the previous values",
              "The errors began with a configuration push and the logs show configuration validation failures",
              "Re-apply the corrected configuration after it passes validation in staging",
              "Configuration errors stop and " + metric + " returns to baseline"};
    case C::DATABASE_BOTTLENECK:
      return {"Find and cancel the longest-running queries on " + svc + "'s database (pg_stat_activity, pg_cancel_backend)",
              "Slow queries or a saturated pool are holding the connections requests wait for",
              "None needed: cancelled queries are retried by the application",
              "db_connections and latency_p99_ms fall back toward baseline"};
    case C::RESOURCE_LEAK:
      return {"Capture a heap dump from one " + svc + " pod, then rolling-restart " + svc + " to reclaim memory",
              "Memory is climbing toward the limit; a restart buys time before an OOM kill",
              "None needed; if restarts cause errors, pause the rollout (kubectl rollout pause)",
              "memory_percent back near baseline right after the restart"};
    case C::CPU_EXHAUSTION:
      return {"Scale out " + svc + " by 50% and take a CPU profile / thread dump of a hot pod",
              "CPU is saturated at normal traffic; more replicas relieve it while the profile shows the hot path",
              "Scale back to the previous replica count once CPU is normal",
              "cpu_percent under 70% and latency back to baseline"};
    case C::TRAFFIC_SURGE:
      return {"Scale out " + svc + " and tighten edge rate limits for the top clients",
              "Request rate is far above normal; capacity and shedding protect the service",
              "Scale back and restore the previous rate limits when traffic normalises",
              "Error rate and latency stabilise while the surge lasts"};
    case C::CONSUMER_STALL:
      return {"Restart the stalled consumers of " + svc + " and check for a poison message at the stuck offset",
              "Consumer lag grows while the group rebalances or a consumer is stuck",
              "None needed; if lag grows faster after the restart, scale the consumers back",
              "kafka_consumer_lag starts falling within minutes"};
    case C::INFRASTRUCTURE_FAILURE:
      return {"Restore " + svc + "'s capacity: replace crashed pods or nodes and fail over if a zone is affected",
              svc + " instances are crashing or refusing connections, and callers fail with it",
              "Fail back once the original capacity is healthy",
              "Healthy " + svc + " replicas serving; callers' errors stop"};
    case C::DEPENDENCY_FAILURE:
      return {"Open the circuit breaker / enable the fallback for " + svc + "'s failing dependency",
              "A dependency is failing; failing fast protects threads and callers",
              "Close the circuit once the dependency is healthy again",
              "Errors degrade gracefully instead of timing out"};
    case C::APPLICATION_BUG:
      return {"Disable the failing code path of " + svc + " (feature flag) or roll back to the last good build",
              "An exception on a request path is failing requests",
              "Re-enable the flag once a fix is deployed",
              metric + " back at baseline"};
    case C::UNKNOWN:
      break;
  }
  return {"Follow the generic triage runbook for " + svc + " and page the owning team",
          "The root cause is not established yet", "None", "The cause is identified"};
}

std::string Owner(const ServiceInfo* s) {
  if (!s) return "on-call SRE";
  return s->team + " (" + s->oncall.primary + ")";
}

std::string Estimate(C c) {
  switch (c) {
    case C::DEPLOYMENT_REGRESSION:
    case C::CONFIGURATION_ERROR: return "10-20 minutes";
    case C::RESOURCE_LEAK:
    case C::CPU_EXHAUSTION:
    case C::TRAFFIC_SURGE:
    case C::CONSUMER_STALL: return "15-30 minutes";
    case C::DATABASE_BOTTLENECK:
    case C::DEPENDENCY_FAILURE:
    case C::INFRASTRUCTURE_FAILURE: return "20-45 minutes";
    default: return "30-60 minutes";
  }
}

}  // namespace

const knowledge::Chunk* Runbook::Section(const std::string& name) const {
  for (const auto& c : sections)
    if (c.section == name) return &c;
  return nullptr;
}

std::vector<RunbookStep> ParseSteps(const std::string& text) {
  std::vector<RunbookStep> steps;
  std::istringstream in(text);
  std::string line;
  static const std::regex numbered(R"(^\s*\d+[.)]\s+(.*)$)");
  bool in_code = false;
  std::smatch m;
  while (std::getline(in, line)) {
    std::string t = Trim(line);
    if (t.rfind("```", 0) == 0) {
      in_code = !in_code;
      continue;
    }
    if (in_code) {
      if (!steps.empty() && !t.empty()) steps.back().command += (steps.back().command.empty() ? "" : "; ") + t;
      continue;
    }
    if (std::regex_match(line, m, numbered)) {
      steps.push_back({Trim(m[1].str()), ""});
    } else if (!steps.empty() && !t.empty() && steps.back().command.empty() && line.rfind("   ", 0) == 0) {
      steps.back().text += " " + t;  // a wrapped step line
    }
  }
  return steps;
}

RiskLevel AssessRisk(const std::string& action) {
  static const std::regex high(R"(\b(drop|delete|truncate|purge|reset offsets|failover|fail over|kill -9|force)\b)",
                               std::regex::icase);
  static const std::regex medium(
      R"(\b(restart|roll ?back|rollout|scale|cancel|terminate|revert|disable|drain|cordon|redeploy|re-deploy|flag|limit)\b)",
      std::regex::icase);
  if (std::regex_search(action, high)) return RiskLevel::HIGH;
  if (std::regex_search(action, medium)) return RiskLevel::MEDIUM;
  return RiskLevel::LOW;
}

RemediationPlan BuildPlan(const PlanInput& in, const std::string& event_id) {
  const RcaCompleted& rca = in.rca;
  const std::string svc = rca.root_cause_service;
  RemediationPlan plan;
  plan.event_id = event_id;
  plan.timestamp = rca.timestamp;
  plan.incident_id = rca.incident_id;
  plan.root_cause = rca.top_root_cause;
  plan.confidence = rca.top_confidence;
  plan.method = Method::FALLBACK;
  plan.estimated_resolution_time = Estimate(rca.root_cause_category);
  const std::string owner = Owner(in.service);

  Lead lead = LeadStep(rca.root_cause_category, svc, in.deployment, in.trigger_metric.empty() ? "error_rate" : in.trigger_metric);
  auto add = [&](Priority p, std::string action, std::string rationale, std::string rollback, std::string outcome) {
    if (plan.action_steps.size() >= 8) return;
    for (const auto& s : plan.action_steps)
      if (s.action == action) return;
    ActionStep s;
    s.step_id = static_cast<int64_t>(plan.action_steps.size() + 1);
    s.priority = p;
    s.risk_level = AssessRisk(action);
    s.action = std::move(action);
    s.rationale = std::move(rationale);
    s.rollback = std::move(rollback);
    s.owner = owner;
    s.expected_outcome = std::move(outcome);
    plan.action_steps.push_back(std::move(s));
  };
  add(Priority::IMMEDIATE, lead.action, lead.rationale, lead.rollback, lead.outcome);

  for (const auto& rb : in.runbooks) {
    plan.runbook_references.push_back(rb.id);
    std::string rollback = rb.Section("Rollback") ? FirstSentence(rb.Section("Rollback")->content) : "See runbook " + rb.id;
    if (const auto* immediate = rb.Section("Immediate Actions")) {
      auto steps = ParseSteps(immediate->content);
      for (size_t i = 0; i < steps.size() && i < 3; ++i) {
        std::string action = steps[i].text + (steps[i].command.empty() ? "" : " — `" + TruncateUtf8(steps[i].command, 200) + "`");
        add(plan.action_steps.size() < 2 ? Priority::IMMEDIATE : Priority::WITHIN_15MIN, action,
            "From runbook " + rb.id + " (Immediate Actions, step " + std::to_string(i + 1) + ")", rollback,
            "Confirms the diagnosis or limits the impact");
      }
    }
    if (const auto* resolution = rb.Section("Resolution")) {
      auto steps = ParseSteps(resolution->content);
      for (size_t i = 0; i < steps.size() && i < 2; ++i) {
        std::string action = steps[i].text + (steps[i].command.empty() ? "" : " — `" + TruncateUtf8(steps[i].command, 200) + "`");
        add(Priority::WITHIN_1HOUR, action, "From runbook " + rb.id + " (Resolution, step " + std::to_string(i + 1) + ")",
            rollback, "The cause is fixed and the service stays at baseline");
      }
    }
    if (plan.action_steps.size() >= 6) break;
  }
  // Always close with verification, so the plan has at least three steps.
  add(Priority::WITHIN_15MIN, "Watch " + (in.trigger_metric.empty() ? std::string("the breached metrics") : in.trigger_metric) +
                                  " and the error rate of " + svc + " and its callers for 15 minutes",
      "Confirms the mitigation worked and nothing else regressed", "None (read-only)",
      "Metrics at baseline; the resolution monitor closes the incident");
  add(Priority::WITHIN_1HOUR, "Record the timeline and open follow-up tickets for the root cause on " + svc,
      "Feeds the postmortem and prevents recurrence", "None (read-only)", "Follow-ups owned and scheduled");
  if (in.service) {
    plan.escalation_path = in.service->oncall.escalation;
    if (plan.escalation_path.empty()) plan.escalation_path = {in.service->oncall.primary};
  } else {
    plan.escalation_path = {"sre-oncall@example.com"};
  }
  return plan;
}

std::string PlanPrompt(const PlanInput& in, const RemediationPlan& draft) {
  std::string runbooks;
  for (const auto& rb : in.runbooks) {
    runbooks += "Runbook " + rb.id + ":\n";
    for (const auto& s : rb.sections)
      if (s.section == "Immediate Actions" || s.section == "Resolution" || s.section == "Rollback")
        runbooks += "## " + s.section + "\n" + TruncateUtf8(s.content, 1500) + "\n";
  }
  // The hypothesis is an earlier model's output and the names come from telemetry: untrusted.
  return "Root cause category " + std::string(ToString(in.rca.root_cause_category)) + ", confidence " +
         std::to_string(in.rca.top_confidence) + ", anomaly " + std::string(ToString(in.anomaly_type)) + ".\n" +
         llm::DelimitUntrusted("rca",
                               "service: " + in.rca.root_cause_service + "\ntrigger: " + in.trigger_metric +
                                   "\nhypothesis: " + in.rca.top_root_cause,
                               1500) +
         "\n" + llm::DelimitUntrusted("runbooks", runbooks, 8000) + "\nA draft plan for reference:\n" +
         llm::DelimitUntrusted("draft_plan", Dump(ToJson(draft.action_steps)), 6000);
}

}  // namespace sre::remediation
