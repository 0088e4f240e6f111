#include "agents/postmortem/writer.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>

#include "shared/ids.h"
#include "shared/llm/text.h"
#include "shared/units.h"

namespace sre::postmortem {
namespace {

using C = RootCauseCategory;

std::string Cell(std::string s) {
  for (auto& c : s)
    if (c == '|' || c == '\n') c = c == '|' ? '/' : ' ';
  return s;
}

std::vector<std::string> Prevention(C c, const std::string& svc) {
  switch (c) {
    case C::DEPLOYMENT_REGRESSION:
      return {"Add a canary stage with automatic rollback on error-rate and p99 regressions for " + svc,
              "Add a regression test for the failing path to " + svc + "'s CI"};
    case C::CONFIGURATION_ERROR:
      return {"Validate " + svc + " configuration in CI and at admission time before it is applied",
              "Roll configuration out progressively (one pod first) with automatic revert"};
    case C::RESOURCE_LEAK:
      return {"Find and fix the leak from the captured heap dump of " + svc,
              "Alert on memory growth rate (time to saturation) for " + svc};
    case C::CPU_EXHAUSTION:
      return {"Profile " + svc + " under production load and fix the hot path",
              "Set CPU-based autoscaling headroom for " + svc};
    case C::DATABASE_BOTTLENECK:
      return {"Review slow queries and indexes of " + svc + "'s database; add statement timeouts",
              "Alert on connection-pool saturation for " + svc};
    case C::DEPENDENCY_FAILURE:
      return {"Add circuit breakers, timeouts and fallbacks to " + svc + "'s dependency calls"};
    case C::TRAFFIC_SURGE:
      return {"Load-test " + svc + " at 3x peak and tune autoscaling and rate limits"};
    case C::CONSUMER_STALL:
      return {"Add dead-letter handling and poll-interval alerts to " + svc + "'s consumers"};
    case C::APPLICATION_BUG:
      return {"Fix the defect in " + svc + " and add a test that covers the failing input"};
    case C::INFRASTRUCTURE_FAILURE:
      return {"Spread " + svc + " across zones with pod disruption budgets and check node health alerts"};
    case C::UNKNOWN: break;
  }
  return {"Complete the investigation of " + svc + " and document the cause"};
}

std::string Join(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? sep : "") + v[i];
  return out;
}

// An ACTION_* event (shared/remediation_actions.h): "<target>: <what happened> — <detail>"; ""
// for another type. The same sentences as the API's timeline (api/api_core.cpp).
std::string DescribeActionEvent(const std::string& type, const Json& p) {
  static const std::vector<std::pair<std::string, std::string>> kVerbs = {
      {"ACTION_PROPOSED", "proposed"}, {"ACTION_APPROVAL_REQUESTED", "awaiting approval"},
      {"ACTION_APPROVED", "approved"}, {"ACTION_REJECTED", "rejected"},
      {"ACTION_BLOCKED", "blocked"},   {"ACTION_EXECUTED", "executed"},
      {"ACTION_DRY_RUN", "dry run"},   {"ACTION_VERIFIED", "verified"},
      {"ACTION_FAILED", "failed"},     {"ACTION_ESCALATED", "escalated"}};
  std::string verb;
  for (const auto& [t, v] : kVerbs)
    if (t == type) verb = v;
  if (verb.empty() || !p.is_object()) return "";
  auto str = [&p](const char* k) { return p.contains(k) && p[k].is_string() ? p[k].get<std::string>() : std::string(); };
  std::string target = str("action");
  std::replace(target.begin(), target.end(), '_', ' ');
  if (target.empty()) target = "action";
  if (auto svc = str("service"); !svc.empty()) target += " on " + svc;
  if (auto ex = str("executor"); !ex.empty() && ex != "none") target += " via " + ex;
  std::string detail = str("reason");
  auto strip = [&detail](const std::string& prefix) {
    if (detail.rfind(prefix, 0) != 0) return false;
    detail.erase(0, prefix.size());
    while (!detail.empty() && (detail.front() == ':' || detail.front() == ' ')) detail.erase(0, 1);
    return true;
  };
  if (type == "ACTION_DRY_RUN" && strip("dry run failed")) verb = "dry run failed";
  if (auto by = str("by"); !by.empty() && (type == "ACTION_APPROVED" || type == "ACTION_REJECTED")) {
    strip(verb + " by " + by);
    verb += " by " + by;
  } else if (detail == verb || detail.rfind(verb + ":", 0) == 0) {
    strip(verb);
  }
  if (type == "ACTION_DRY_RUN" && verb == "dry run") verb = "dry run (nothing changed)";
  return target + ": " + verb + (detail.empty() ? "" : " — " + detail);
}

}  // namespace

std::string ActionWords(RemediationAction a) {
  std::string out(ToString(a));
  std::replace(out.begin(), out.end(), '_', ' ');
  return out;
}

std::string DescribeActionTarget(const ActionRecord& a) {
  std::string out = ActionWords(a.action) + " on " + a.service;
  if (!a.executor.empty() && a.executor != "none") out += " via " + a.executor;
  return out;
}

bool ActionUndone(const ActionRecord& a) {
  return a.status == ActionStatus::FAILED && a.reason.find("; undone (") != std::string::npos;
}

std::string ActionOutcome(const ActionRecord& a) {
  switch (a.status) {
    case ActionStatus::AWAITING_APPROVAL: return "was still awaiting approval: it never ran";
    case ActionStatus::APPROVED: return "was approved but had not run yet";
    case ActionStatus::EXECUTING: return "was handed to the executor; whether it ran is not known";
    case ActionStatus::EXECUTED: return "ran; its verification had not finished";
    case ActionStatus::VERIFIED: return "ran and was verified: the metric recovered";
    case ActionStatus::FAILED:
      if (a.reason.rfind("the executor reported failure", 0) == 0) return "failed to run and was escalated";
      return ActionUndone(a) ? "did not help: it was undone and escalated" : "did not help and was escalated";
    case ActionStatus::DRY_RUN: return "dry run only: nothing changed";
    case ActionStatus::BLOCKED: return "was blocked by a guard and escalated";
    case ActionStatus::REJECTED:
      return a.decided_by ? "was rejected by " + *a.decided_by : std::string("was rejected");
    case ActionStatus::ESCALATED: return "was escalated to a person";
  }
  return "status unknown";
}

std::string EscalatedTo(const ActionRecord& a, const std::optional<RemediationPlan>& plan) {
  if (a.params.is_object() && a.params.contains("team") && a.params["team"].is_string() &&
      !a.params["team"].get<std::string>().empty())
    return a.params["team"].get<std::string>();
  if (plan && !plan->escalation_path.empty() && !plan->escalation_path.front().empty())
    return plan->escalation_path.front();
  return "the on-call team";
}

std::string DescribeEvent(const TimelineEntry& e) {
  const Json& p = e.payload;
  std::string what;
  if (e.event_type == "ANOMALY_DETECTED" && p.contains("anomaly")) {
    const Json& a = p["anomaly"];
    what = "anomaly detected: " + a.value("description", std::string("(no description)"));
  } else if (e.event_type == "METRIC_ATTACHED" || e.event_type == "LOG_PATTERN_ATTACHED") {
    what = "also breached: " + p.value("trigger", std::string("?"));
  } else if (e.event_type == "CORRELATION_COMPLETE") {
    what = "correlated: " + p.value("summary", std::string());
  } else if (e.event_type == "RCA_COMPLETED") {
    char conf[16];
    std::snprintf(conf, sizeof(conf), "%.0f%%", 100 * p.value("confidence", 0.0));
    what = "root cause identified (" + p.value("method", std::string("?")) + "): " +
           p.value("root_cause_category", std::string("?")) + " in " + p.value("root_cause_service", std::string("?")) +
           ", confidence " + conf;
  } else if (e.event_type == "PLAN_CREATED") {
    what = "remediation plan published (" + std::to_string(p.value("steps", 0)) + " steps)";
  } else if (e.event_type == "INCIDENT_RESOLVED") {
    what = "resolved after " + FormatDuration(p.value("mttr_seconds", 0.0)) + ": " + p.value("reason", std::string());
  } else if (e.event_type == "EMAIL_SENT") {
    what = p.value("notification_type", std::string("email")) + " email sent";
  } else if (auto action = DescribeActionEvent(e.event_type, p); !action.empty()) {
    what = action;
  } else {
    what = e.event_type;
  }
  return FormatTime(e.time_ms).substr(11, 8) + " " + e.agent + ": " + what;
}

std::string DescribeMember(const CascadeMember& m) {
  return IncidentNumber(m.id) + " on " + m.service + " (" + std::string(ToString(m.anomaly_type)) + ", " + m.status + ")";
}

std::vector<std::string> IncidentRecord::AllAffectedServices() const {
  std::vector<std::string> out;
  auto add = [&](const std::string& s) {
    if (!s.empty() && std::find(out.begin(), out.end(), s) == out.end()) out.push_back(s);
  };
  add(service);
  for (const auto& s : affected_services) add(s);
  for (const auto& m : cascade) add(m.service);
  return out;
}

// Where this incident stands in its cascade, in a sentence; "" when it stands alone.
std::string CascadeSentence(const IncidentRecord& r) {
  std::vector<const CascadeMember*> others;
  const CascadeMember* origin = nullptr;
  for (const auto& m : r.cascade) {
    if (m.origin) origin = &m;
    if (m.id != r.id) others.push_back(&m);
  }
  if (others.empty()) return "";
  std::vector<std::string> names;
  for (const auto* m : others)
    if (!m->origin) names.push_back(DescribeMember(*m));
  if (origin && origin->id == r.id)
    return "This incident cascaded: " + std::to_string(names.size()) + " linked incident(s) followed on services that depend on " +
           r.service + ": " + Join(names, "; ") + ".";
  std::string s = "This incident is part of a cascade";
  if (origin) s += " that started with " + DescribeMember(*origin);
  if (!names.empty()) s += "; also linked to it: " + Join(names, "; ");
  return s + ".";
}

Narrative FallbackNarrative(const IncidentRecord& r, const std::vector<TimelineEntry>& timeline) {
  Narrative n;
  std::string number = IncidentNumber(r.id);
  std::string type = std::string(ToString(r.anomaly_type));
  std::string unit = r.unit.empty() ? DefaultUnit(r.trigger_metric) : r.unit;
  n.summary = number + ": " + type + " on " + r.service + " (" + std::string(ToString(r.severity)) + "), detected at " +
              FormatTime(r.detection_time) + " when " +
              (r.is_log() ? WithUnit(r.observed_value, "lines") + " matched the " + r.trigger_metric.substr(4) +
                                " log pattern."
                          : r.trigger_metric + " reached " + WithUnit(r.observed_value, unit) +
                                " against a baseline of " + WithUnit(r.baseline_mean, unit) + ".");
  if (r.resolution_time)
    n.summary += " It resolved at " + FormatTime(*r.resolution_time) + " (MTTR " + FormatDuration(r.mttr_seconds) + ").";
  if (r.rca)
    n.summary += " Root cause: " + r.rca->top_root_cause + ".";
  std::string radius;
  if (r.blast_radius.is_object()) radius = r.blast_radius.value("description", std::string());
  std::string cascade = CascadeSentence(r);
  n.impact = "Affected services: " + Join(r.AllAffectedServices(), ", ") + ". " + (cascade.empty() ? "" : cascade + " ") +
             (radius.empty() ? "" : "Blast radius: " + radius + ". ") +
             (r.blast_radius.is_object() ? "Estimated user impact: " + r.blast_radius.value("estimated_user_impact", std::string("unknown")) + ". " : "") +
             "Duration of impact: " + FormatDuration(r.mttr_seconds) + ".";
  if (r.rca) {
    const auto& rca = *r.rca;
    char conf[16];
    std::snprintf(conf, sizeof(conf), "%.0f%%", 100 * rca.top_confidence);
    n.root_cause = rca.top_root_cause + " (category " + std::string(ToString(rca.root_cause_category)) + ", service " +
                   rca.root_cause_service + ", confidence " + conf + ", method " + std::string(ToString(rca.method)) + ").";
    if (!rca.root_cause_candidates.empty() && !rca.root_cause_candidates[0].evidence.empty())
      n.root_cause += " Evidence: " + Join(rca.root_cause_candidates[0].evidence, "; ") + ".";
    for (size_t i = 1; i < rca.root_cause_candidates.size() && i < 3; ++i)
      n.contributing_factors.push_back("Also considered: " + rca.root_cause_candidates[i].hypothesis);
  } else {
    n.root_cause = "The root-cause analysis did not complete before the postmortem was written; the evidence below "
                   "is what the pipeline recorded.";
  }
  if (r.correlation_context.is_object()) {
    if (r.correlation_context.contains("deployment") && r.correlation_context["deployment"].is_object()) {
      const Json& d = r.correlation_context["deployment"];
      n.contributing_factors.push_back("A " + d.value("change_type", std::string("")) + " deployment of " +
                                       d.value("service", r.service) + " (" + d.value("version", std::string("?")) +
                                       ") preceded detection");
    }
    if (r.correlation_context.contains("signals"))
      for (const auto& s : r.correlation_context["signals"])
        if (s.value("signal_type", std::string()) == "CASCADE" || s.value("signal_type", std::string()) == "UPSTREAM_DEGRADATION")
          n.contributing_factors.push_back(s.value("description", std::string()));
  }
  if (r.related_incident_id) {
    std::string origin = IncidentNumber(*r.related_incident_id) + " on a related service";
    for (const auto& m : r.cascade)
      if (m.id == *r.related_incident_id) origin = DescribeMember(m);
    n.contributing_factors.push_back("Linked to incident " + origin + ", which it followed in a cascade");
  }
  if (n.contributing_factors.empty()) n.contributing_factors.push_back("No contributing factor beyond the root cause was recorded");

  int64_t first_rca = 0, first_plan = 0;
  for (const auto& e : timeline) {
    if (e.event_type == "RCA_COMPLETED" && !first_rca) first_rca = e.time_ms;
    if (e.event_type == "PLAN_CREATED" && !first_plan) first_plan = e.time_ms;
  }
  n.went_well.push_back(
      "The anomaly was detected automatically " +
      (r.is_log() ? "from the " + r.trigger_metric.substr(4) + " log pattern (" + WithUnit(r.observed_value, "lines") + " matched)"
                  : "from " + r.trigger_metric + " (" +
                        [&] { char b[16]; std::snprintf(b, sizeof(b), "%.1f", r.deviation_sigma); return std::string(b); }() +
                        " sigma above its baseline)") +
      " and an alert was sent without paging anyone manually");
  if (r.rca) n.went_well.push_back("A root cause was proposed with its evidence and ranked alternatives");
  if (r.plan) n.went_well.push_back("A remediation plan with " + std::to_string(r.plan->action_steps.size()) +
                                    " prioritised steps and rollbacks was available");
  for (const auto& a : r.actions)
    if (a.status == ActionStatus::VERIFIED)
      n.went_well.push_back("The automated " + DescribeActionTarget(a) + " ran and was verified against the trigger metric");
  if (r.resolution_time) n.went_well.push_back("Recovery was confirmed automatically against the pre-incident baseline");
  for (const auto& a : r.actions)
    if (a.status == ActionStatus::FAILED)
      n.could_improve.push_back("The automated " + DescribeActionTarget(a) + " " + ActionOutcome(a));
  if (!r.rca) n.could_improve.push_back("The root-cause analysis did not finish before resolution");
  if (r.rca && r.rca->top_confidence < 0.5)
    n.could_improve.push_back("Root-cause confidence was low; better signals (traces, DB metrics) would help");
  if (r.mttr_seconds > 1800) n.could_improve.push_back("Time to resolve exceeded 30 minutes");
  if (r.is_log())
    n.could_improve.push_back("Earlier warning: a metric (error rate, latency) breaching before the " +
                              r.trigger_metric.substr(4) + " errors appeared in the logs");
  else
    n.could_improve.push_back("Earlier warning: alert on the trend of " + r.trigger_metric + " before it breaches");
  (void)first_rca;
  (void)first_plan;
  return n;
}

std::vector<ActionItem> BuildActionItems(const IncidentRecord& r, const ServiceCatalog& catalog) {
  std::string svc = r.rca ? r.rca->root_cause_service : r.service;
  C category = r.rca ? r.rca->root_cause_category : C::UNKNOWN;
  const ServiceInfo* info = catalog.Find(svc);
  std::string owner = info ? info->team + " (" + info->owner + ")" : "sre-platform";
  const int64_t day = 86400000;
  std::vector<ActionItem> items;
  auto add = [&](const std::string& action, const std::string& priority, int days) {
    if (items.size() >= 8) return;
    items.push_back({action, owner, priority, FormatDate(r.detection_time + days * day)});
  };
  auto prevention = Prevention(category, svc);
  for (size_t i = 0; i < prevention.size(); ++i) add(prevention[i], i == 0 ? "HIGH" : "MEDIUM", i == 0 ? 7 : 14);
  for (const auto& a : r.actions)
    if (a.status == ActionStatus::FAILED)
      add("Find out why the automated " + DescribeActionTarget(a) + " " + ActionOutcome(a) +
              " and fix it, or take " + ActionWords(a.action) + " out of the remediation policy for " + a.service,
          "HIGH", 7);
  if (r.plan)
    for (const auto& s : r.plan->action_steps)
      if (s.priority == Priority::WITHIN_1HOUR) add("Follow up: " + s.action, "MEDIUM", 14);
  add("Review this postmortem with the " + (info ? info->team : std::string("owning")) + " team", "LOW", 30);
  return items;
}

std::string RenderMarkdown(const IncidentRecord& r, const std::vector<TimelineEntry>& timeline, const Narrative& n,
                           const std::vector<ActionItem>& items) {
  std::string md = "# Postmortem " + IncidentNumber(r.id) + ": " + std::string(ToString(r.anomaly_type)) + " on " +
                   r.service + "\n\n";
  md += "*Blameless postmortem. Severity " + std::string(ToString(r.severity)) + ", detected " +
        FormatTime(r.detection_time) + (r.resolution_time ? ", resolved " + FormatTime(*r.resolution_time) : "") +
        ", MTTR " + FormatDuration(r.mttr_seconds) +
        ". Times are event time (the telemetry's timestamps), UTC.*\n\n";
  md += "## Summary\n\n" + n.summary + "\n\n";
  md += "## Impact\n\n" + n.impact + "\n\n";
  if (r.cascade.size() > 1) {
    md += "Incidents of this cascade:\n\n";
    for (const auto& m : r.cascade)
      md += "- " + DescribeMember(m) + ", detected " + FormatTime(m.detection_time) +
            (m.origin ? " (origin)" : "") + (m.id == r.id ? " (this incident)" : "") + "\n";
    md += "\n";
  }
  md += "## Timeline\n\n";
  for (const auto& e : timeline) md += "- " + DescribeEvent(e) + "\n";
  if (timeline.empty()) md += "- (no events recorded)\n";
  md += "\n## Root Cause\n\n" + n.root_cause + "\n\n";
  if (!r.actions.empty()) {
    md += "## Automated Remediation\n\n";
    for (const auto& a : r.actions) {
      md += "- " + ActionWords(a.action) + " on " + a.service + " via " +
            (a.executor.empty() || a.executor == "none" ? std::string("no executor (a person acts)") : a.executor) +
            " (risk " + std::string(ToString(a.risk)) + ", " + (a.reversible ? "reversible" : "not reversible") +
            (a.mode.empty() ? "" : ", mode " + a.mode) + "): " + ActionOutcome(a) + " (" +
            std::string(ToString(a.status)) + ")" + (a.reason.empty() ? "" : ". Reason: " + a.reason) +
            (a.decided_by && a.status != ActionStatus::REJECTED ? ". Decided by " + *a.decided_by : "") + ".\n";
    }
    std::vector<std::string> plain;
    for (const auto& a : r.actions) {
      const std::string what = "The automated " + ActionWords(a.action) + " on " + a.service;
      if (a.status == ActionStatus::FAILED)
        plain.push_back(what + (a.reason.rfind("the executor reported failure", 0) == 0
                                    ? " failed to run: it was escalated to "
                                    : (ActionUndone(a) ? " did not help: it was undone and escalated to "
                                                       : " did not help: it was escalated to ")) +
                        EscalatedTo(a, r.plan) + ".");
      else if (a.status == ActionStatus::ESCALATED && a.action == RemediationAction::ESCALATE)
        plain.push_back("No automated action fit on " + a.service + ": it was escalated to " + EscalatedTo(a, r.plan) +
                        (a.reason.empty() ? "" : " (" + a.reason + ")") + ".");
      else if (a.status == ActionStatus::ESCALATED)
        plain.push_back(what + " was escalated to " + EscalatedTo(a, r.plan) + " instead" +
                        (a.reason.empty() ? "" : " (" + a.reason + ")") + ".");
      else if (a.status == ActionStatus::BLOCKED)
        plain.push_back(what + " was blocked" + (a.reason.empty() ? "" : " (" + a.reason + ")") +
                        " and escalated to " + EscalatedTo(a, r.plan) + ".");
    }
    if (!plain.empty()) {
      md += "\n";
      for (const auto& p : plain) md += p + " ";
      md.pop_back();
      md += "\n";
    }
    md += "\n";
  }
  md += "## Contributing Factors\n\n";
  for (const auto& f : n.contributing_factors) md += "- " + f + "\n";
  md += "\n## What Went Well\n\n";
  for (const auto& f : n.went_well) md += "- " + f + "\n";
  md += "\n## What Could Be Improved\n\n";
  for (const auto& f : n.could_improve) md += "- " + f + "\n";
  md += "\n## Action Items\n\n| Action | Owner | Priority | Due |\n|---|---|---|---|\n";
  for (const auto& i : items) md += "| " + Cell(i.action) + " | " + Cell(i.owner) + " | " + Cell(i.priority) + " | " + Cell(i.due) + " |\n";
  return md;
}

std::string NarrativePrompt(const IncidentRecord& r, const std::vector<TimelineEntry>& timeline) {
  std::string events;
  for (const auto& e : timeline) events += DescribeEvent(e) + "\n";
  return "Incident " + IncidentNumber(r.id) + " (" + std::string(ToString(r.anomaly_type)) + ", MTTR " +
         FormatDuration(r.mttr_seconds) + ", root cause category " +
         (r.rca ? std::string(ToString(r.rca->root_cause_category)) : std::string("unknown")) + ").\n" +
         llm::DelimitUntrusted("incident",
                               "service: " + r.service + "\nroot cause: " +
                                   (r.rca ? r.rca->top_root_cause : std::string("unknown")),
                               1500) +
         "\nTimeline:\n" + llm::DelimitUntrusted("timeline", events, 6000);
}

}  // namespace sre::postmortem
