#include "agents/communication/notifier.h"

#include <kainjow/mustache.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "shared/ids.h"
#include "shared/links.h"
#include "shared/units.h"
#include "shared/time_format.h"

#ifndef SRE_SOURCE_DIR
#define SRE_SOURCE_DIR "."
#endif

namespace sre::communication {
namespace {

using Data = kainjow::mustache::data;

std::string Num(double v, int decimals = 1) {
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%.*f", decimals, v);
  return buf;
}

std::string Pct(double v) { return Num(100 * v, 0); }

std::string SeverityColor(Severity s) {
  switch (s) {
    case Severity::CRITICAL: return "#b91c1c";
    case Severity::HIGH: return "#c2410c";
    case Severity::MEDIUM: return "#a16207";
    case Severity::LOW: return "#1d4ed8";
  }
  return "#374151";
}

Json Common(NotificationType type, const std::string& incident_id, Severity severity, const std::string& service,
            AnomalyType anomaly, const std::string& subject, const std::string& dashboard_url) {
  static const std::map<NotificationType, std::pair<std::string, std::string>> stages = {
      {NotificationType::INCIDENT_ALERT, {"Incident alert", "#b91c1c"}},
      {NotificationType::RCA_COMPLETE, {"Root cause identified", "#6d28d9"}},
      {NotificationType::REMEDIATION_PLAN, {"Remediation plan", "#0f766e"}},
      {NotificationType::INCIDENT_RESOLVED, {"Incident resolved", "#15803d"}},
      {NotificationType::POSTMORTEM, {"Postmortem", "#334155"}}};
  return Json{{"incident_number", IncidentNumber(incident_id)},
              {"incident_id", incident_id},
              {"service", service},
              {"severity", ToString(severity)},
              {"severity_color", SeverityColor(severity)},
              {"stage_label", stages.at(type).first},
              {"stage_color", stages.at(type).second},
              {"anomaly_type", ToString(anomaly)},
              {"subject", subject},
              {"dashboard_url", IncidentLink(dashboard_url, incident_id)}};
}

Data ToData(const Json& j) {
  switch (j.type()) {
    case Json::value_t::object: {
      Data d{Data::type::object};
      for (auto it = j.begin(); it != j.end(); ++it) d.set(it.key(), ToData(it.value()));
      return d;
    }
    case Json::value_t::array: {
      Data d{Data::type::list};
      for (const auto& e : j) d.push_back(ToData(e));
      return d;
    }
    case Json::value_t::string: return Data(j.get<std::string>());
    case Json::value_t::boolean: return Data(j.get<bool>() ? Data::type::bool_true : Data::type::bool_false);
    case Json::value_t::null: return Data(Data::type::bool_false);
    default: return Data(j.dump());
  }
}

std::string Base64(const std::string& in, size_t line = 76) {
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t col = 0;
  for (size_t i = 0; i < in.size(); i += 3) {
    uint32_t n = static_cast<uint8_t>(in[i]) << 16;
    if (i + 1 < in.size()) n |= static_cast<uint8_t>(in[i + 1]) << 8;
    if (i + 2 < in.size()) n |= static_cast<uint8_t>(in[i + 2]);
    out.push_back(t[(n >> 18) & 63]);
    out.push_back(t[(n >> 12) & 63]);
    out.push_back(i + 1 < in.size() ? t[(n >> 6) & 63] : '=');
    out.push_back(i + 2 < in.size() ? t[n & 63] : '=');
    if (line && (col += 4) >= line) {
      out += "\r\n";
      col = 0;
    }
  }
  return out;
}

std::string HeaderValue(const std::string& s) {
  bool ascii = std::all_of(s.begin(), s.end(), [](char c) { return c >= 32 && c < 127; });
  if (ascii) return s;
  std::string clean;
  for (char c : s) clean.push_back(c == '\r' || c == '\n' ? ' ' : c);
  return "=?UTF-8?B?" + Base64(clean, 0) + "?=";
}

std::string Inline(const std::string& escaped) {
  static const std::regex code("`([^`]+)`"), em("\\*([^*]+)\\*");
  std::string s = std::regex_replace(escaped, code,
                                     "<code style=\"font-family:Menlo,Consolas,monospace;background:#f3f4f6;padding:0 3px\">$1</code>");
  return std::regex_replace(s, em, "<em>$1</em>");
}

std::vector<std::string> SplitRow(const std::string& line) {
  std::vector<std::string> cells;
  std::string body = line;
  if (!body.empty() && body.front() == '|') body.erase(0, 1);
  if (!body.empty() && body.back() == '|') body.pop_back();
  std::stringstream ss(body);
  std::string cell;
  while (std::getline(ss, cell, '|')) {
    auto b = cell.find_first_not_of(' ');
    auto e = cell.find_last_not_of(' ');
    cells.push_back(b == std::string::npos ? "" : cell.substr(b, e - b + 1));
  }
  return cells;
}

std::string Read(const std::string& path, bool& ok) {
  std::ifstream f(path);
  ok = static_cast<bool>(f);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

const char* StageFile(NotificationType t) {
  switch (t) {
    case NotificationType::INCIDENT_ALERT: return "incident_alert";
    case NotificationType::RCA_COMPLETE: return "rca_complete";
    case NotificationType::REMEDIATION_PLAN: return "remediation_plan";
    case NotificationType::INCIDENT_RESOLVED: return "incident_resolved";
    case NotificationType::POSTMORTEM: return "postmortem";
  }
  return "";
}

}  // namespace

std::vector<std::string> Recipients(NotificationType type, Severity severity, const Routing& r) {
  std::vector<std::string> out;
  auto add = [&](const std::vector<std::string>& v) {
    for (const auto& a : v)
      if (!a.empty() && std::find(out.begin(), out.end(), a) == out.end()) out.push_back(a);
  };
  bool all = type == NotificationType::INCIDENT_RESOLVED || type == NotificationType::POSTMORTEM ||
             severity == Severity::CRITICAL;
  if (all || severity == Severity::HIGH) add(r.oncall);
  add(r.team);
  if (all) add(r.management);
  return out;
}

std::string MessageId(const std::string& incident_id, NotificationType type) {
  std::string t(ToString(type));
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return "<" + incident_id + "." + t + "@sre-pipeline>";
}

Email AlertEmail(const AnomalyDetected& a, const std::string& url) {
  Email e;
  e.type = NotificationType::INCIDENT_ALERT;
  e.incident_id = a.incident_id;
  e.severity = a.severity;
  // A log pattern has no baseline and no sigma: its figure is the number of matching lines.
  const bool log = a.trigger_metric.rfind("log:", 0) == 0;
  const std::string unit = a.unit && !a.unit->empty() ? *a.unit : DefaultUnit(a.trigger_metric);
  e.subject = "[" + std::string(ToString(a.severity)) + "] " + IncidentNumber(a.incident_id) + " " +
              std::string(ToString(a.anomaly_type)) + " on " + a.service + " (" +
              (log ? WithUnit(a.observed_value, "lines") + " matching " + a.trigger_metric.substr(4)
                   : a.trigger_metric + " " + WithUnit(a.observed_value, unit) + ", " + Num(a.deviation_sigma) + "σ") +
              ")";
  e.view = Common(e.type, a.incident_id, a.severity, a.service, a.anomaly_type, e.subject, url);
  e.view.update(Json{{"description", a.description},
                     {"trigger_metric", a.trigger_metric},
                     {"is_log_pattern", log},
                     {"is_metric", !log},
                     {"log_pattern", log ? a.trigger_metric.substr(4) : ""},
                     {"matched_lines", log ? WithUnit(a.observed_value, "lines") : ""},
                     {"observed_value", WithUnit(a.observed_value, unit)},
                     {"baseline_mean", WithUnit(a.baseline_mean, unit)},
                     {"baseline_std", WithUnit(a.baseline_std, unit)},
                     {"deviation_sigma", Num(a.deviation_sigma)},
                     {"anomaly_score_pct", Pct(a.anomaly_score)},
                     {"has_time_to_failure", a.time_to_failure_s.has_value()},
                     {"time_to_failure", a.time_to_failure_s ? FormatDuration(*a.time_to_failure_s) : ""},
                     {"detection_time", FormatTime(a.detection_time)},
                     {"has_evidence", !a.evidence.empty()},
                     {"evidence", a.evidence}});
  return e;
}

Email RcaEmail(const RcaCompleted& r, Severity severity, const std::string& service, AnomalyType type,
               const std::string& url) {
  Email e;
  e.type = NotificationType::RCA_COMPLETE;
  e.incident_id = r.incident_id;
  e.severity = severity;
  e.subject = "[RCA] " + IncidentNumber(r.incident_id) + " root cause: " + std::string(ToString(r.root_cause_category)) +
              " in " + r.root_cause_service + " (" + Pct(r.top_confidence) + "% confidence)";
  e.view = Common(e.type, r.incident_id, severity, service, type, e.subject, url);
  Json candidates = Json::array(), similar = Json::array();
  for (const auto& c : r.root_cause_candidates)
    candidates.push_back({{"rank", std::to_string(c.rank)}, {"hypothesis", c.hypothesis},
                          {"category", ToString(c.category)}, {"service", c.service},
                          {"confidence_pct", Pct(c.confidence)}, {"has_evidence", !c.evidence.empty()},
                          {"evidence", c.evidence}});
  for (const auto& s : r.similar_incidents)
    similar.push_back({{"incident_id", s.incident_id}, {"title", s.title},
                       {"category", s.root_cause_category ? std::string(ToString(*s.root_cause_category)) : "—"},
                       {"score", Num(s.score, 2)}});
  e.view.update(Json{{"top_root_cause", r.top_root_cause},
                     {"root_cause_service", r.root_cause_service},
                     {"root_cause_category", ToString(r.root_cause_category)},
                     {"confidence_pct", Pct(r.top_confidence)},
                     {"method", ToString(r.method)},
                     {"candidates", candidates},
                     {"has_similar", !similar.empty()},
                     {"similar", similar},
                     {"tool_calls_count", std::to_string(r.tool_calls.size())}});
  return e;
}

std::string PlannedActionStatus(const PlannedAction& a, const ActionRecord* recorded) {
  auto with = [](const std::string& head, const std::string& reason) {
    return reason.empty() ? head : head + ": " + reason;
  };
  switch (a.status) {
    case ActionStatus::AWAITING_APPROVAL: {
      std::string out = "awaiting approval — approve or reject it on the incident page";
      if (recorded && recorded->expires_at_ms)
        out += " before " + FormatTime(*recorded->expires_at_ms) + " (wall clock), or it is escalated";
      return out;
    }
    case ActionStatus::APPROVED:
      if ((recorded && recorded->mode == "dry-run") || a.reason.rfind("dry-run", 0) == 0)
        return "dry run: the executor is asked what it would do; nothing changes";
      return "will run automatically";
    case ActionStatus::DRY_RUN: return "dry run: nothing changes";
    case ActionStatus::BLOCKED: return with("blocked", a.reason);
    case ActionStatus::ESCALATED: return with("escalated: a person must act", a.reason);
    case ActionStatus::REJECTED: return with("rejected", a.reason);
    case ActionStatus::EXECUTING: return "running";
    case ActionStatus::EXECUTED: return "executed; being verified";
    case ActionStatus::VERIFIED: return "executed and verified";
    case ActionStatus::FAILED: return with("failed", a.reason);
  }
  return std::string(ToString(a.status));
}

Email PlanEmail(const RemediationPlan& p, Severity severity, const std::string& service, AnomalyType type,
                const std::string& url, const std::vector<ActionRecord>& recorded) {
  Email e;
  e.type = NotificationType::REMEDIATION_PLAN;
  e.incident_id = p.incident_id;
  e.severity = severity;
  e.subject = "[PLAN] " + IncidentNumber(p.incident_id) + " " + std::to_string(p.action_steps.size()) +
              "-step remediation plan for " + service;
  e.view = Common(e.type, p.incident_id, severity, service, type, e.subject, url);
  static const std::vector<std::tuple<Priority, std::string, std::string>> groups = {
      {Priority::IMMEDIATE, "Immediate", "#b91c1c"},
      {Priority::WITHIN_15MIN, "Within 15 minutes", "#c2410c"},
      {Priority::WITHIN_1HOUR, "Within 1 hour", "#1d4ed8"}};
  Json out = Json::array();
  for (const auto& [priority, label, color] : groups) {
    Json steps = Json::array();
    for (const auto& s : p.action_steps) {
      if (s.priority != priority) continue;
      std::string risk_color = s.risk_level == RiskLevel::HIGH ? "#b91c1c" : s.risk_level == RiskLevel::MEDIUM ? "#a16207" : "#15803d";
      steps.push_back({{"step_id", std::to_string(s.step_id)}, {"action", s.action}, {"rationale", s.rationale},
                       {"risk_level", ToString(s.risk_level)}, {"risk_color", risk_color}, {"rollback", s.rollback},
                       {"owner", s.owner}, {"expected_outcome", s.expected_outcome}});
    }
    if (!steps.empty()) out.push_back({{"label", label}, {"priority", ToString(priority)}, {"color", color}, {"steps", steps}});
  }
  Json actions = Json::array();
  bool awaiting = false;
  for (const auto& a : p.actions.value_or(std::vector<PlannedAction>{})) {
    const ActionRecord* row = nullptr;
    for (const auto& r : recorded)
      if (r.id == a.action_id) row = &r;
    awaiting = awaiting || a.status == ActionStatus::AWAITING_APPROVAL;
    const char* color = a.status == ActionStatus::AWAITING_APPROVAL ? "#a16207"
                        : a.status == ActionStatus::APPROVED          ? "#1d4ed8"
                        : a.status == ActionStatus::BLOCKED || a.status == ActionStatus::ESCALATED ||
                                a.status == ActionStatus::FAILED
                            ? "#b91c1c"
                            : "#374151";
    actions.push_back({{"action", postmortem::ActionWords(a.action)},
                       {"service", a.service},
                       {"executor", a.executor.empty() ? std::string("none") : a.executor},
                       {"risk", ToString(a.risk)},
                       {"reversible", a.reversible ? "reversible" : "not reversible"},
                       {"status", ToString(a.status)},
                       {"status_color", color},
                       {"status_text", PlannedActionStatus(a, row)},
                       {"step", a.step_id ? "step " + std::to_string(*a.step_id) : std::string()}});
  }
  e.view.update(Json{{"has_actions", !actions.empty()},
                     {"actions", actions},
                     {"has_awaiting", awaiting},
                     {"root_cause", p.root_cause},
                     {"confidence_pct", Pct(p.confidence)},
                     {"estimated_resolution_time", p.estimated_resolution_time},
                     {"method", ToString(p.method)},
                     {"groups", out},
                     {"has_escalation", !p.escalation_path.empty()},
                     {"escalation_path", p.escalation_path},
                     {"has_runbooks", !p.runbook_references.empty()},
                     {"runbooks", p.runbook_references}});
  return e;
}

Email ResolvedEmail(const IncidentResolved& r, Severity severity, const std::string& service, AnomalyType type,
                    const std::vector<TimelineLine>& timeline, const std::string& root_cause,
                    const std::vector<postmortem::CascadeMember>& cascade, const std::string& url,
                    const std::vector<ActionRecord>& actions) {
  Email e;
  e.type = NotificationType::INCIDENT_RESOLVED;
  e.incident_id = r.incident_id;
  e.severity = severity;
  e.subject = "[RESOLVED] " + IncidentNumber(r.incident_id) + " " + service + " recovered after " + FormatDuration(r.mttr_seconds);
  e.view = Common(e.type, r.incident_id, severity, service, type, e.subject, url);
  Json lines = Json::array();
  for (const auto& t : timeline) lines.push_back({{"time", t.time}, {"line", t.line}});
  // The cascade: the origin first, each member with its state when this email was written.
  Json members = Json::array();
  std::vector<std::string> affected = {service};
  bool is_origin = false;
  std::string origin_number;
  for (const auto& m : cascade) {
    if (m.origin) {
      is_origin = m.id == r.incident_id;
      origin_number = IncidentNumber(m.id) + " on " + m.service;
    }
    if (std::find(affected.begin(), affected.end(), m.service) == affected.end()) affected.push_back(m.service);
    members.push_back({{"number", IncidentNumber(m.id)},
                       {"service", m.service},
                       {"anomaly_type", ToString(m.anomaly_type)},
                       {"status", m.status},
                       {"role", m.id == r.incident_id ? (m.origin ? "origin (this incident)" : "this incident")
                                                     : (m.origin ? "origin" : "linked")},
                       {"link", IncidentLink(url, m.id)},
                       {"detection_time", FormatTime(m.detection_time)}});
  }
  const bool has_cascade = members.size() > 1;
  std::string cascade_intro;
  if (has_cascade)
    cascade_intro = is_origin ? "This incident cascaded to " + std::to_string(members.size() - 1) +
                                    " linked incident(s) on services that depend on " + service + "."
                              : "This incident is part of a cascade that started with " +
                                    (origin_number.empty() ? std::string("another incident") : origin_number) + ".";
  // The automated actions: what ran, whether it was verified, what failed, was undone or escalated.
  Json done = Json::array();
  std::vector<std::string> plain;
  std::map<std::string, int> counts;  // by what became of them, in words
  for (const auto& a : actions) {
    const char* color = a.status == ActionStatus::VERIFIED ? "#15803d"
                        : a.status == ActionStatus::FAILED || a.status == ActionStatus::ESCALATED ||
                                a.status == ActionStatus::BLOCKED
                            ? "#b91c1c"
                            : "#374151";
    done.push_back({{"target", postmortem::DescribeActionTarget(a)},
                    {"status", ToString(a.status)},
                    {"status_color", color},
                    {"outcome", postmortem::ActionOutcome(a)},
                    {"reason", a.reason},
                    {"has_reason", !a.reason.empty()},
                    {"decided_by", a.decided_by.value_or("")},
                    {"has_decided_by", a.decided_by.has_value() && a.status != ActionStatus::REJECTED}});
    const std::string what = "The automated " + postmortem::ActionWords(a.action) + " on " + a.service;
    const std::string team = postmortem::EscalatedTo(a, std::nullopt);
    switch (a.status) {
      case ActionStatus::VERIFIED: ++counts["ran and verified"]; break;
      case ActionStatus::EXECUTED: ++counts["ran, verification pending"]; break;
      case ActionStatus::FAILED:
        ++counts["failed"];
        plain.push_back(what + (postmortem::ActionUndone(a) ? " did not help: it was undone and escalated to "
                                                           : " did not help: it was escalated to ") + team + ".");
        break;
      case ActionStatus::ESCALATED:
        ++counts["escalated"];
        if (a.action != RemediationAction::ESCALATE) plain.push_back(what + " was escalated to " + team + " instead.");
        break;
      case ActionStatus::BLOCKED:
        ++counts["blocked"];
        plain.push_back(what + " was blocked by a guard and escalated to " + team + ".");
        break;
      case ActionStatus::REJECTED: ++counts["rejected"]; break;
      case ActionStatus::DRY_RUN: ++counts["dry run only"]; break;
      default: ++counts["not run"]; break;
    }
  }
  std::string actions_summary;
  if (!actions.empty()) {
    actions_summary = std::to_string(actions.size()) + (actions.size() == 1 ? " automated action: " : " automated actions: ");
    bool first = true;
    for (const char* k : {"ran and verified", "ran, verification pending", "failed", "escalated", "blocked", "rejected",
                          "dry run only", "not run"}) {
      if (!counts.count(k)) continue;
      actions_summary += (first ? "" : ", ") + std::to_string(counts[k]) + " " + k;
      first = false;
    }
    actions_summary += ".";
    for (const auto& p : plain) actions_summary += " " + p;
  }
  e.view.update(Json{{"has_actions", !done.empty()},
                     {"actions", done},
                     {"actions_summary", actions_summary},
                     {"mttr", FormatDuration(r.mttr_seconds)},
                     {"mttr_seconds", Num(r.mttr_seconds, 0)},
                     {"detection_time", FormatTime(r.detection_time)},
                     {"resolution_time", FormatTime(r.resolution_time)},
                     {"resolution_method", r.resolution_method},
                     {"affected_services", [&] {
                        std::string all;
                        for (const auto& a : affected) all += (all.empty() ? "" : ", ") + a;
                        return all;
                      }()},
                     {"has_cascade", has_cascade},
                     {"cascade_intro", cascade_intro},
                     {"cascade", members},
                     {"has_timeline", !lines.empty()},
                     {"timeline", lines},
                     {"has_root_cause", !root_cause.empty()},
                     {"root_cause", root_cause}});
  return e;
}

Email PostmortemEmail(const PostmortemGenerated& p, Severity severity, const std::string& service, AnomalyType type,
                      const std::string& url) {
  Email e;
  e.type = NotificationType::POSTMORTEM;
  e.incident_id = p.incident_id;
  e.severity = severity;
  e.subject = "[POSTMORTEM] " + IncidentNumber(p.incident_id) + " " + std::string(ToString(type)) + " on " + service;
  e.view = Common(e.type, p.incident_id, severity, service, type, e.subject, url);
  Json items = Json::array();
  for (const auto& i : p.action_items)
    items.push_back({{"action", i.action}, {"owner", i.owner}, {"priority", i.priority}, {"due", i.due}});
  e.view.update(Json{{"postmortem_html", MarkdownToHtml(p.postmortem_markdown)},
                     {"postmortem_markdown", p.postmortem_markdown},
                     {"mttr", FormatDuration(p.mttr_seconds)},
                     {"method", ToString(p.method)},
                     {"has_action_items", !items.empty()},
                     {"action_items", items}});
  return e;
}

std::string EscapeHtml(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

std::string MarkdownToHtml(const std::string& md) {
  std::istringstream in(md);
  std::string line, html, para;
  bool in_list = false;
  std::vector<std::vector<std::string>> table;
  auto flush_para = [&] {
    if (!para.empty()) html += "<p style=\"margin:0 0 12px 0\">" + Inline(EscapeHtml(para)) + "</p>\n";
    para.clear();
  };
  auto flush_list = [&] {
    if (in_list) html += "</ul>\n";
    in_list = false;
  };
  auto flush_table = [&] {
    if (table.empty()) return;
    html += "<table cellpadding=\"6\" cellspacing=\"0\" style=\"border-collapse:collapse;width:100%;font-size:13px\">\n";
    for (size_t r = 0; r < table.size(); ++r) {
      html += "<tr>";
      for (const auto& cell : table[r]) {
        const char* tag = r == 0 ? "th" : "td";
        html += std::string("<") + tag + " style=\"border:1px solid #d1d5db;text-align:left\">" + Inline(EscapeHtml(cell)) +
                "</" + tag + ">";
      }
      html += "</tr>\n";
    }
    html += "</table>\n";
    table.clear();
  };
  static const std::regex separator(R"(^\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$)");
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.rfind("|", 0) == 0) {
      flush_para();
      flush_list();
      if (!std::regex_match(line, separator)) table.push_back(SplitRow(line));
      continue;
    }
    flush_table();
    if (line.empty()) {
      flush_para();
      flush_list();
      continue;
    }
    int level = 0;
    while (level < static_cast<int>(line.size()) && line[level] == '#') ++level;
    if (level > 0 && level <= 4 && line.size() > static_cast<size_t>(level) && line[level] == ' ') {
      flush_para();
      flush_list();
      std::string size = level == 1 ? "20px" : level == 2 ? "16px" : "14px";
      html += "<h" + std::to_string(level) + " style=\"font-size:" + size + ";margin:18px 0 8px 0\">" +
              Inline(EscapeHtml(line.substr(level + 1))) + "</h" + std::to_string(level) + ">\n";
      continue;
    }
    if (line.rfind("- ", 0) == 0 || line.rfind("* ", 0) == 0) {
      flush_para();
      if (!in_list) html += "<ul style=\"margin:0 0 12px 18px;padding:0\">\n";
      in_list = true;
      html += "<li style=\"margin:0 0 4px 0\">" + Inline(EscapeHtml(line.substr(2))) + "</li>\n";
      continue;
    }
    flush_list();
    para += (para.empty() ? "" : " ") + line;
  }
  flush_table();
  flush_para();
  flush_list();
  return html;
}

Expected<Templates> LoadTemplates(const std::string& dir) {
  Templates t;
  bool ok = false;
  t.layout_html = Read(dir + "/layout.html.mustache", ok);
  if (!ok) return Status::Invalid("cannot read " + dir + "/layout.html.mustache");
  for (size_t i = 0; i < EnumCount<NotificationType>(); ++i) {
    auto type = static_cast<NotificationType>(i);
    std::string base = dir + "/" + StageFile(type);
    bool h = false, x = false;
    std::string html = Read(base + ".html.mustache", h), text = Read(base + ".txt.mustache", x);
    if (!h || !x) return Status::Invalid("cannot read " + base + ".{html,txt}.mustache");
    for (const std::string* src : {&html, &text}) {
      kainjow::mustache::mustache m(*src);
      if (!m.is_valid()) return Status::Invalid(base + ": " + m.error_message());
    }
    t.stage[type] = {html, text};
  }
  kainjow::mustache::mustache layout(t.layout_html);
  if (!layout.is_valid()) return Status::Invalid(dir + "/layout.html.mustache: " + layout.error_message());
  return t;
}

std::string DefaultTemplatesDir() {
  if (std::filesystem::is_directory("agents/communication/templates")) return "agents/communication/templates";
  return std::string(SRE_SOURCE_DIR) + "/agents/communication/templates";
}

Expected<Rendered> Render(const Templates& t, const Email& email, int64_t sent_ms) {
  auto it = t.stage.find(email.type);
  if (it == t.stage.end()) return Status::Fatal("no template for " + std::string(ToString(email.type)));
  Json view = email.view;
  view["sent_at"] = FormatTime(sent_ms);
  Data data = ToData(view);
  kainjow::mustache::mustache html(it->second.first), text(it->second.second), layout(t.layout_html);
  text.set_custom_escape([](const std::string& s) { return s; });
  Rendered r;
  std::string body = html.render(data);
  Json framed = view;
  framed["body"] = body;
  r.html = layout.render(ToData(framed));
  r.text = text.render(data);
  if (!html.error_message().empty() || !layout.error_message().empty() || !text.error_message().empty())
    return Status::Fatal("template rendering failed: " + html.error_message() + layout.error_message() + text.error_message());
  return r;
}

std::string ComposeMime(const std::string& from, const std::vector<std::string>& to, const Email& email,
                        const Rendered& body, int64_t date_ms) {
  std::time_t secs = static_cast<std::time_t>(date_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char date[64];
  std::strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
  std::string boundary = "=_sre_" + UuidFromName(email.incident_id + std::string(ToString(email.type)));
  std::string to_line;
  for (size_t i = 0; i < to.size(); ++i) to_line += (i ? ", " : "") + to[i];
  std::string m;
  m += "From: SRE Pipeline <" + from + ">\r\n";
  m += "To: " + to_line + "\r\n";
  m += "Subject: " + HeaderValue(email.subject) + "\r\n";
  m += "Date: " + std::string(date) + "\r\n";
  m += "Message-ID: " + MessageId(email.incident_id, email.type) + "\r\n";
  if (email.type != NotificationType::INCIDENT_ALERT) {
    // One thread per incident in mail clients: every later stage answers the alert.
    const std::string alert = MessageId(email.incident_id, NotificationType::INCIDENT_ALERT);
    m += "In-Reply-To: " + alert + "\r\n";
    m += "References: " + alert + "\r\n";
  }
  // Outlook groups a conversation by its topic: the incident's number.
  m += "Thread-Topic: " + IncidentNumber(email.incident_id) + "\r\n";
  m += "X-SRE-Incident: " + email.incident_id + "\r\n";
  m += "X-SRE-Notification: " + std::string(ToString(email.type)) + "\r\n";
  m += "MIME-Version: 1.0\r\n";
  m += "Content-Type: multipart/alternative; boundary=\"" + boundary + "\"\r\n\r\n";
  m += "--" + boundary + "\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n";
  m += Base64(body.text) + "\r\n";
  m += "--" + boundary + "\r\nContent-Type: text/html; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n";
  m += Base64(body.html) + "\r\n";
  m += "--" + boundary + "--\r\n";
  return m;
}

OutageLog::Say OutageLog::Failed(const std::string& reason, Clock::time_point now) {
  if (failures_++ == 0) {
    since_ = said_ = now;
    reason_ = reason;
    return Say::kStarted;
  }
  if (reason != reason_ || now - said_ >= every_) {
    said_ = now;
    reason_ = reason;
    return Say::kContinues;
  }
  return Say::kNothing;
}

OutageLog::Say OutageLog::Answered(Clock::time_point now) {
  if (failures_ == 0) return Say::kNothing;
  last_failures_ = failures_;
  failures_ = 0;
  said_ = now;
  return Say::kOver;
}

}  // namespace sre::communication
