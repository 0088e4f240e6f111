#include "agents/remediation/planner.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <set>
#include <sstream>
#include <string_view>

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

std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool WordChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// `phrase` in `text` between word boundaries, as the regex \bphrase\b (phrase starts and ends
// with a word character).
bool HasWord(const std::string& text, std::string_view phrase) {
  for (size_t i = text.find(phrase); i != std::string::npos; i = text.find(phrase, i + 1)) {
    size_t end = i + phrase.size();
    if ((i == 0 || !WordChar(text[i - 1])) && (end == text.size() || !WordChar(text[end]))) return true;
  }
  return false;
}

// "12. text" or "3) text": the text; nullopt for any other line.
std::optional<std::string> NumberedItem(const std::string& trimmed) {
  size_t i = 0;
  while (i < trimmed.size() && std::isdigit(static_cast<unsigned char>(trimmed[i]))) ++i;
  if (i == 0 || i + 1 >= trimmed.size() || (trimmed[i] != '.' && trimmed[i] != ')') ||
      (trimmed[i + 1] != ' ' && trimmed[i + 1] != '\t'))
    return std::nullopt;
  std::string text = Trim(trimmed.substr(i + 1));
  if (text.empty()) return std::nullopt;
  return text;
}

struct Lead {
  std::string action, rationale, rollback, outcome;
};

// A value from telemetry or a model used in step text: kept as it is unless it would read as a
// placeholder, whose angle brackets are then replaced.
std::string Literal(std::string s) {
  if (!HasPlaceholder(s))
    return s;
  std::string out;
  for (char c : s) out += c == '<' ? std::string("\u2039") : c == '>' ? std::string("\u203a") : std::string(1, c);
  return out;
}

Lead LeadStep(C category, const std::string& svc, const std::optional<Json>& deployment, const std::string& metric,
              const Placeholders& values) {
  auto field = [&](const char* key, const char* fallback) {
    return deployment && deployment->contains(key) && (*deployment)[key].is_string() ? Literal((*deployment)[key].get<std::string>())
                                                                                     : std::string(fallback);
  };
  std::string prev = field("previous_version", "the previous version");
  std::string version = field("version", "the new version");
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
      // In a cascade the root-cause service is the failing callee and the alerting service calls
      // it; otherwise the root-cause service is the caller of a dependency we cannot name.
      if (auto callee = values.find("callee"); callee != values.end()) {
        const std::string& caller = values.at("caller");
        return {"Open the circuit breaker / enable the fallback in " + caller + " for its calls to " + callee->second,
                callee->second + " is failing and " + caller + " inherits it; failing fast protects " + caller +
                    "'s threads and callers",
                "Close the circuit in " + caller + " once " + callee->second + " is healthy again",
                "Errors degrade gracefully instead of timing out"};
      }
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
          "The root cause is not established yet", "None needed (read-only).", "The cause is identified"};
}

// The service that calls `to` directly on a call path from `from` (the alerting service):
// `from` itself when it calls `to`, else the nearest service downstream of it that does.
const ServiceInfo* DirectCaller(const ServiceCatalog& catalog, const std::string& from, const std::string& to) {
  std::vector<const ServiceInfo*> queue;
  std::set<std::string> seen;
  if (const ServiceInfo* s = catalog.Find(from)) queue.push_back(s);
  for (size_t i = 0; i < queue.size(); ++i) {
    const ServiceInfo* s = queue[i];
    if (!seen.insert(s->name).second) continue;
    if (std::find(s->downstream.begin(), s->downstream.end(), to) != s->downstream.end()) return s;
    for (const auto& d : s->downstream)
      if (const ServiceInfo* n = catalog.Find(d)) queue.push_back(n);
  }
  return nullptr;
}

// A runbook step as a plan action: its text, then its commands, placeholders filled. Whole
// command lines only: a line that would pass the length budget is left out with its followers.
std::string RenderAction(const RunbookStep& step, const Placeholders& values) {
  constexpr size_t kCommandBudget = 480;
  std::string action = FillPlaceholders(step.text, values);
  std::string command;
  for (const auto& line : step.commands) {
    std::string filled = FillPlaceholders(line, values);
    if (!command.empty() && command.size() + 2 + filled.size() > kCommandBudget) {
      command += "; …";
      break;
    }
    command += (command.empty() ? "" : "; ") + (command.empty() ? TruncateUtf8(filled, kCommandBudget) : filled);
  }
  return command.empty() ? action : action + " — `" + command + "`";
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

std::string RunbookStep::Command() const {
  std::string out;
  for (const auto& c : commands) out += (out.empty() ? "" : "; ") + c;
  return out;
}

std::vector<RunbookStep> ParseSteps(const std::string& text) {
  std::vector<RunbookStep> steps;
  std::istringstream in(text);
  std::string line;
  bool in_code = false, in_rollback = false;
  size_t fence_indent = 0;
  while (std::getline(in, line)) {
    std::string t = Trim(line);
    size_t indent = t.empty() ? 0 : line.find_first_not_of(" \t");
    if (t.rfind("```", 0) == 0) {
      in_code = !in_code;
      fence_indent = indent;
      in_rollback = false;
      continue;
    }
    if (in_code) {
      if (steps.empty() || t.empty()) continue;
      auto& commands = steps.back().commands;
      if (indent > fence_indent && !commands.empty()) {
        commands.back() += " " + t;  // a command continued on the next line
      } else {
        commands.push_back(t);
      }
      continue;
    }
    if (auto item = NumberedItem(t)) {
      steps.push_back({*item, {}, ""});
      in_rollback = false;
    } else if (t.empty() || steps.empty() || line.rfind("   ", 0) != 0) {
      in_rollback = false;
    } else if (t.rfind("Rollback:", 0) == 0) {
      steps.back().rollback = Trim(t.substr(9));
      in_rollback = true;
    } else if (in_rollback) {
      steps.back().rollback += " " + t;  // a wrapped rollback line
    } else if (steps.back().commands.empty()) {
      steps.back().text += " " + t;  // a wrapped step line
    }
  }
  return steps;
}

namespace {

bool NameChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || std::strchr("_.:+%/-", c) != nullptr;
}

// <team>, <new-pod>, <current + 50%>, <datastore name>: a letter after '<', then name characters
// with at most three single spaces, then '>'. Not `<>`, `a < b`, `2>/dev/null` or `x<y && z>w`.
// The position of the closing '>' when a placeholder starts at `pos`.
std::optional<size_t> PlaceholderEnd(const std::string& text, size_t pos) {
  if (text[pos] != '<' || pos + 1 >= text.size() || !std::isalpha(static_cast<unsigned char>(text[pos + 1])))
    return std::nullopt;
  int spaces = 0;
  for (size_t i = pos + 2; i < text.size(); ++i) {
    char c = text[i];
    if (c == '>') return i;
    if (NameChar(c)) continue;
    if (c == ' ' && spaces < 3 && i + 1 < text.size() && NameChar(text[i + 1])) {
      ++spaces;
      continue;
    }
    return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace

bool HasPlaceholder(const std::string& text) {
  for (size_t i = text.find('<'); i != std::string::npos; i = text.find('<', i + 1))
    if (PlaceholderEnd(text, i)) return true;
  return false;
}

std::string FillPlaceholders(const std::string& text, const Placeholders& values) {
  std::string out;
  size_t last = 0;
  for (size_t i = text.find('<'); i != std::string::npos; i = text.find('<', i + 1)) {
    auto end = PlaceholderEnd(text, i);
    if (!end) continue;
    auto v = values.find(text.substr(i + 1, *end - i - 1));
    if (v == values.end()) continue;
    out.append(text, last, i - last);
    out += v->second;
    last = *end + 1;
    i = *end;
  }
  out.append(text, last, std::string::npos);
  return out;
}

Placeholders PlaceholderValues(const PlanInput& in) {
  Placeholders v;
  const std::string svc = Literal(in.rca.root_cause_service);
  if (!svc.empty()) v["service"] = svc;
  const ServiceInfo* root = in.service;
  if (root) {
    v["team"] = Literal(root->team);  // also the Kubernetes namespace
    for (const auto& ds : root->datastores) {
      auto colon = ds.find(':');
      if (colon == std::string::npos) continue;
      std::string kind = ds.substr(0, colon), name = Literal(ds.substr(colon + 1));
      if (kind == "postgresql" && !v.count("db")) v["db"] = name;
      if (kind == "redis" && !v.count("cache-host")) v["cache-host"] = name;
    }
    if (root->consumes_topics.size() == 1) v["topic"] = Literal(root->consumes_topics.front());
  }
  if (in.deployment && in.deployment->is_object()) {
    for (const char* key : {"version", "previous_version"})
      if (in.deployment->contains(key) && (*in.deployment)[key].is_string() && !(*in.deployment)[key].get<std::string>().empty())
        v[key] = Literal((*in.deployment)[key].get<std::string>());
  }
  // Caller and callee (rb-dependency-outage). When the incident alerted on another service, the
  // root-cause service is the failing callee and the caller is the service on the alerting
  // service's call path that calls it. When the root-cause service alerted itself, it is the
  // caller and the failing dependency (often external: PSP, SendGrid, the IdP) is not known.
  const std::string& alerting = in.alerting_service;
  if (svc.empty()) return v;
  if (alerting.empty() || alerting == in.rca.root_cause_service) {
    v["caller"] = svc;
    if (root) v["caller-team"] = v["team"];
  } else if (root && in.catalog) {
    if (const ServiceInfo* caller = DirectCaller(*in.catalog, alerting, in.rca.root_cause_service)) {
      v["caller"] = Literal(caller->name);
      v["caller-team"] = Literal(caller->team);
      v["callee"] = svc;
      v["callee-team"] = v["team"];
    }
  }
  return v;
}

bool IsReadOnly(const std::string& action) {
  // Words of anything that may change state; pointers to other runbooks ("follow
  // rb-bad-deploy-rollback") count too. Over-matching only asks a runbook step to name its rollback.
  static const std::set<std::string> changes = {
      "restart", "undo",    "rollback", "rollout",  "scale",   "scaling", "patch",    "set",      "delete",  "drain",
      "cordon",  "uncordon", "cancel",  "cancelled", "terminate", "pause", "resume",   "suspend",  "alter",   "update",
      "insert",  "reset",   "revert",   "disable",  "enable",  "apply",   "edit",     "kill",     "execute", "redeploy",
      "deploy",  "release", "ship",     "fix",      "raise",   "lower",   "increase", "reduce",   "add",     "remove",
      "replay",  "switch",  "circuit",  "force",    "failover", "move",   "analyze",  "analyse",  "create",  "drop",
      "truncate", "purge",  "flag",     "write",    "stop",    "restore", "save",     "migrate",  "rotate",  "route",
      "routing"};
  std::vector<std::string> words;
  std::vector<char> after;  // the character following each word
  for (size_t i = 0; i < action.size();) {
    if (!std::isalpha(static_cast<unsigned char>(action[i]))) {
      ++i;
      continue;
    }
    size_t j = i;
    std::string w;
    while (j < action.size() && std::isalpha(static_cast<unsigned char>(action[j])))
      w += static_cast<char>(std::tolower(static_cast<unsigned char>(action[j++])));
    words.push_back(w);
    after.push_back(j < action.size() ? action[j] : ' ');
    i = j;
  }
  auto is_change = [&](const std::string& w) {
    if (changes.count(w)) return true;
    for (std::string suffix : {"s", "es", "d", "ed", "ing"})
      if (w.size() > suffix.size() && w.compare(w.size() - suffix.size(), suffix.size(), suffix) == 0 &&
          changes.count(w.substr(0, w.size() - suffix.size())))
        return true;
    return false;
  };
  for (size_t i = 0; i < words.size(); ++i) {
    const std::string& w = words[i];
    const std::string next = i + 1 < words.size() ? words[i + 1] : "";
    if ((w == "roll" || w == "rolled" || w == "rolling") && next == "back") return false;
    if (w == "fail" && next == "over") return false;
    if (w == "rollout" && (next == "status" || next == "history")) continue;  // they only read
    if (w == "deploy" && after[i] == '/') continue;                           // deploy/<name>: a resource
    if (is_change(w)) return false;
  }
  return true;
}

std::string StepRollback(const RunbookStep& step) {
  if (!step.rollback.empty()) return step.rollback;
  const std::string action = step.text + " " + step.Command();
  if (IsReadOnly(action)) return "None needed (read-only).";
  const std::string text = Lower(action);
  if (HasWord(text, "scale") || HasWord(text, "scaling"))
    return "Scale back to the replica count from before this step once the metrics are normal.";
  if (HasWord(text, "restart") || HasWord(text, "delete pod"))
    return "None needed: a restart changes no configuration; stop the rollout if errors rise.";
  return "Undo this step by hand: note the current value, revision or state before applying it.";
}

RiskLevel AssessRisk(const std::string& action) {
  if (IsReadOnly(action)) return RiskLevel::LOW;  // e.g. `rollout history`, `LIMIT 20`
  const std::string text = Lower(action);
  auto any = [&](std::initializer_list<std::string_view> words) {
    return std::any_of(words.begin(), words.end(), [&](std::string_view w) { return HasWord(text, w); });
  };
  if (any({"drop", "delete", "truncate", "purge", "reset offsets", "failover", "fail over", "kill -9", "force"}))
    return RiskLevel::HIGH;
  if (any({"restart", "rollback", "roll back", "rollout", "scale", "cancel", "terminate", "revert", "disable", "drain",
           "cordon", "redeploy", "re-deploy", "flag", "limit"}))
    return RiskLevel::MEDIUM;
  return RiskLevel::LOW;
}

RemediationPlan BuildPlan(const PlanInput& in, const std::string& event_id) {
  const RcaCompleted& rca = in.rca;
  const std::string svc = Literal(rca.root_cause_service);
  const Placeholders values = PlaceholderValues(in);
  RemediationPlan plan;
  plan.event_id = event_id;
  plan.timestamp = rca.timestamp;
  plan.incident_id = rca.incident_id;
  plan.root_cause = rca.top_root_cause;
  plan.confidence = rca.top_confidence;
  plan.method = Method::FALLBACK;
  plan.estimated_resolution_time = Estimate(rca.root_cause_category);
  const std::string owner = Owner(in.service);
  // A log pattern reads as its error lines, not as the "log:<pattern>" trigger name.
  const std::string metric = in.trigger_metric.empty() ? "error_rate"
                             : in.trigger_metric.rfind("log:", 0) == 0
                                 ? "the " + Literal(in.trigger_metric.substr(4)) + " error lines"
                                 : Literal(in.trigger_metric);

  Lead lead = LeadStep(rca.root_cause_category, svc, in.deployment, metric, values);
  // False when the step is not added: a duplicate, a full plan, or a placeholder left in a field.
  auto add = [&](Priority p, std::string action, std::string rationale, std::string rollback, std::string outcome,
                 std::optional<RiskLevel> risk = std::nullopt) {
    if (plan.action_steps.size() >= 8) return false;
    for (const auto& s : plan.action_steps)
      if (s.action == action) return false;
    for (const std::string* field : std::initializer_list<const std::string*>{&action, &rationale, &rollback, &outcome, &owner})
      if (HasPlaceholder(*field)) return false;
    ActionStep s;
    s.step_id = static_cast<int64_t>(plan.action_steps.size() + 1);
    s.priority = p;
    s.risk_level = risk ? *risk : AssessRisk(action);
    s.action = std::move(action);
    s.rationale = std::move(rationale);
    s.rollback = std::move(rollback);
    s.owner = owner;
    s.expected_outcome = std::move(outcome);
    plan.action_steps.push_back(std::move(s));
    return true;
  };
  add(Priority::IMMEDIATE, lead.action, lead.rationale, lead.rollback, lead.outcome);

  // The first `max` steps of a runbook section whose placeholders can all be filled; each keeps
  // its own rollback.
  auto take = [&](const Runbook& rb, const char* section, size_t max, bool immediate, const std::string& outcome) {
    const auto* chunk = rb.Section(section);
    if (!chunk) return;
    auto steps = ParseSteps(chunk->content);
    size_t taken = 0;
    for (size_t i = 0; i < steps.size() && taken < max; ++i) {
      Priority p = !immediate ? Priority::WITHIN_1HOUR
                              : plan.action_steps.size() < 2 ? Priority::IMMEDIATE : Priority::WITHIN_15MIN;
      // A step its runbook says changes nothing ("Rollback: None needed (read-only)") is LOW,
      // whatever words it uses ("a traffic drop").
      std::string rollback = FillPlaceholders(StepRollback(steps[i]), values);
      std::optional<RiskLevel> risk;
      if (rollback.rfind("None needed (", 0) == 0) risk = RiskLevel::LOW;
      if (add(p, RenderAction(steps[i], values),
              "From runbook " + rb.id + " (" + section + ", step " + std::to_string(i + 1) + ")", rollback, outcome, risk))
        ++taken;
    }
  };
  for (const auto& rb : in.runbooks) {
    plan.runbook_references.push_back(rb.id);
    take(rb, "Immediate Actions", 3, true, "Confirms the diagnosis or limits the impact");
    take(rb, "Resolution", 2, false, "The cause is fixed and the service stays at baseline");
    if (plan.action_steps.size() >= 6) break;
  }
  // Always close with verification, so the plan has at least three steps.
  add(Priority::WITHIN_15MIN, "Watch " + (in.trigger_metric.empty() ? std::string("the breached metrics") : metric) + " and the error rate of " + svc + " and its callers for 15 minutes",
      "Confirms the mitigation worked and nothing else regressed", "None needed (read-only).",
      "Metrics at baseline; the resolution monitor closes the incident");
  add(Priority::WITHIN_1HOUR, "Record the timeline and open follow-up tickets for the root cause on " + svc,
      "Feeds the postmortem and prevents recurrence", "None needed (read-only).", "Follow-ups owned and scheduled");
  if (in.service) {
    plan.escalation_path = in.service->oncall.escalation;
    if (plan.escalation_path.empty()) plan.escalation_path = {in.service->oncall.primary};
  } else {
    plan.escalation_path = {"sre-oncall@example.com"};
  }
  return plan;
}

bool ScrubPlaceholders(RemediationPlan& plan, const PlanInput& in) {
  const Placeholders values = PlaceholderValues(in);
  std::vector<ActionStep> kept;
  for (auto step : plan.action_steps) {
    bool ok = true;
    for (auto* field : {&step.action, &step.rationale, &step.rollback, &step.owner, &step.expected_outcome}) {
      *field = FillPlaceholders(*field, values);
      ok = ok && !HasPlaceholder(*field);
    }
    if (!ok) continue;
    step.step_id = static_cast<int64_t>(kept.size() + 1);
    kept.push_back(std::move(step));
  }
  plan.action_steps = std::move(kept);
  return plan.action_steps.size() >= 3;
}

std::string PlanPrompt(const PlanInput& in, const RemediationPlan& draft) {
  const Placeholders values = PlaceholderValues(in);
  std::string runbooks;
  for (const auto& rb : in.runbooks) {
    runbooks += "Runbook " + rb.id + ":\n";
    for (const auto& s : rb.sections)
      if (s.section == "Immediate Actions" || s.section == "Resolution" || s.section == "Rollback")
        runbooks += "## " + s.section + "\n" + TruncateUtf8(FillPlaceholders(s.content, values), 1500) + "\n";
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
