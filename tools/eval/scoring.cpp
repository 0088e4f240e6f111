#include "tools/eval/scoring.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace sre::eval {

const std::vector<std::string> kEmailTypes = {"INCIDENT_ALERT", "RCA_COMPLETE", "REMEDIATION_PLAN",
                                              "INCIDENT_RESOLVED", "POSTMORTEM"};

namespace {

std::string Seconds(const std::optional<double>& s) {
  if (!s) return "—";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f s", *s);
  return buf;
}

std::string YesNo(bool b) { return b ? "yes" : "**no**"; }

Json OptionalJson(const std::optional<double>& v) { return v ? Json(*v) : Json(); }

// "AWAITING_APPROVAL" -> "awaiting approval".
std::string StatusWords(std::string status) {
  for (char& c : status)
    c = c == '_' ? ' ' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return status;
}

std::string ActionLabel(const std::string& action, const std::string& status) {
  return action + " (" + StatusWords(status) + ")";
}

Json ActionJson(const ObservedAction& a, const std::optional<int64_t>& fault_start_ms) {
  Json delay;
  if (a.executed_ms && fault_start_ms)
    delay = static_cast<double>(*a.executed_ms - *fault_start_ms) / 1000.0;
  return {{"action", a.action},
          {"service", a.service},
          {"status", a.status},
          {"executed", ActionExecuted(a.status)},
          {"matched", a.matched ? Json(*a.matched) : Json()},
          {"confidence", OptionalJson(a.confidence)},
          {"executed_delay_s", delay},
          {"reason", a.reason}};
}

std::string ActionsCell(const std::vector<ObservedAction>& actions) {
  if (actions.empty()) return "—";
  std::string out;
  for (const auto& a : actions) {
    if (!out.empty()) out += ", ";
    out += ActionLabel(a.action, a.status);
    if (ActionExecuted(a.status) && a.matched) out += *a.matched ? " matched" : " **not matched**";
  }
  return out;
}

}  // namespace

bool ActionExecuted(const std::string& status) {
  return status == "EXECUTED" || status == "VERIFIED" || status == "FAILED";
}

ScenarioScore Score(const ScenarioObservation& o) {
  ScenarioScore s;
  s.scenario = o.scenario;
  s.completed = o.completed;
  for (const auto& type : kEmailTypes) s.email_delay_s[type] = std::nullopt;
  if (!o.truth) return s;
  const Truth& t = *o.truth;
  s.fault_start_ms = t.start_ms;
  s.service = t.service;
  if (t.end_ms) s.mttr_simulated_s = static_cast<double>(*t.end_ms - t.start_ms) / 1000.0;

  s.detected = !o.incidents.empty();
  if (!s.detected) return s;
  // The scored incident is the earliest on the faulty service (else the earliest at all). Every
  // other incident must be linked to it (related_incident_id, either way round: a caller's cascade
  // incident in PAYMENT_OUTAGE); an unlinked one is a duplicate and counts as opened.
  const ObservedIncident* root = nullptr;
  for (const auto& i : o.incidents)
    if (i.service == t.service && (!root || i.detection_ms < root->detection_ms)) root = &i;
  if (!root) root = &o.incidents.front();
  s.actions = root->actions;
  for (const auto& i : o.incidents) {
    if (&i == root) continue;
    s.other_actions.insert(s.other_actions.end(), i.actions.begin(), i.actions.end());
    bool linked = i.service != t.service &&
                  (i.related_incident_id == root->id || root->related_incident_id == i.id);
    ++(linked ? s.incidents_linked : s.incidents_opened);
  }
  ++s.incidents_opened;
  int64_t first = root->detection_ms;
  for (const auto& i : o.incidents) first = std::min(first, i.detection_ms);
  s.detection_delay_s = static_cast<double>(first - t.start_ms) / 1000.0;

  s.root_cause_service = root->root_cause_service;
  s.root_cause_category = root->root_cause_category;
  s.root_cause_service_ok = root->root_cause_service == t.root_cause_service;
  s.root_cause_category_ok = root->root_cause_category == t.root_cause_category;
  for (const auto& [type, at] : root->email_sent_ms)
    s.email_delay_s[type] = static_cast<double>(at - t.start_ms) / 1000.0;
  s.emails_in_maildev = root->emails_in_maildev;
  s.mttr_measured_s = root->mttr_s;
  s.postmortem = root->has_postmortem;

  bool all_emails =
      std::all_of(kEmailTypes.begin(), kEmailTypes.end(),
                  [&](const std::string& type) { return s.email_delay_s[type].has_value(); });
  s.pass = s.detected && s.incidents_opened == 1 && s.root_cause_service_ok &&
           s.root_cause_category_ok && all_emails && s.postmortem;
  return s;
}

Scorecard BuildScorecard(const std::vector<ScenarioObservation>& observations, int false_alarms,
                         int dead_letters, double sim_speed) {
  Scorecard card;
  card.false_alarms = false_alarms;
  card.dead_letters = dead_letters;
  card.sim_speed = sim_speed;
  for (const auto& o : observations) {
    card.scenarios.push_back(Score(o));
    if (card.scenarios.back().pass) ++card.passed;
  }
  return card;
}

std::string RenderMarkdown(const Scorecard& card) {
  std::ostringstream md;
  md << "| scenario | detected | detection delay | incidents (linked) | RCA service | RCA category "
        "| alert | RCA | plan | resolved | postmortem email | MTTR measured / simulated | "
        "postmortem | action (status) | pass |\n"
     << "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& s : card.scenarios) {
    md << "| " << s.scenario << " | " << YesNo(s.detected) << " | " << Seconds(s.detection_delay_s)
       << " | " << s.incidents_opened << (s.incidents_opened == 1 ? "" : " **!**");
    if (s.incidents_linked) md << " (+" << s.incidents_linked << ")";
    md << " | " << (s.root_cause_service_ok ? "yes" : "**no** " + s.root_cause_service) << " | "
       << (s.root_cause_category_ok ? "yes" : "**no** " + s.root_cause_category);
    for (const auto& type : kEmailTypes) md << " | " << Seconds(s.email_delay_s.at(type));
    md << " | " << Seconds(s.mttr_measured_s) << " / " << Seconds(s.mttr_simulated_s) << " | "
       << YesNo(s.postmortem) << " | " << ActionsCell(s.actions) << " | "
       << (s.pass ? "PASS" : "**FAIL**") << " |\n";
  }
  md << "\n";
  if (!card.remediation_mode.empty()) md << "Remediation mode: `" << card.remediation_mode << "`. ";
  md << "Passed " << card.passed << " of " << card.scenarios.size()
     << " scenarios. False alarms in the quiet "
     << "period: " << card.false_alarms << ". Dead letters: " << card.dead_letters << ".\n"
     << "Times are simulated seconds from the fault's start (simulator at " << card.sim_speed
     << "x); email times are converted from wall clock at that speed, anchored at each incident's "
        "detection.\n";
  return md.str();
}

Json RenderJson(const Scorecard& card) {
  Json scenarios = Json::array();
  for (const auto& s : card.scenarios) {
    Json emails = Json::object();
    for (const auto& [type, d] : s.email_delay_s) emails[type] = OptionalJson(d);
    Json actions = Json::array(), other_actions = Json::array();
    for (const auto& a : s.actions) actions.push_back(ActionJson(a, s.fault_start_ms));
    for (const auto& a : s.other_actions) other_actions.push_back(ActionJson(a, s.fault_start_ms));
    scenarios.push_back({{"scenario", s.scenario},
                         {"service", s.service},
                         {"detected", s.detected},
                         {"detection_delay_s", OptionalJson(s.detection_delay_s)},
                         {"incidents_opened", s.incidents_opened},
                         {"incidents_linked", s.incidents_linked},
                         {"root_cause_service", s.root_cause_service},
                         {"root_cause_service_ok", s.root_cause_service_ok},
                         {"root_cause_category", s.root_cause_category},
                         {"root_cause_category_ok", s.root_cause_category_ok},
                         {"email_delay_s", emails},
                         {"emails_in_maildev", s.emails_in_maildev},
                         {"mttr_measured_s", OptionalJson(s.mttr_measured_s)},
                         {"mttr_simulated_s", OptionalJson(s.mttr_simulated_s)},
                         {"postmortem", s.postmortem},
                         {"completed", s.completed},
                         {"pass", s.pass},
                         {"actions", actions},
                         {"other_actions", other_actions}});
  }
  return {{"scenarios", scenarios},
          {"passed", card.passed},
          {"total", card.scenarios.size()},
          {"false_alarms", card.false_alarms},
          {"dead_letters", card.dead_letters},
          {"sim_speed", card.sim_speed},
          {"remediation_mode", card.remediation_mode}};
}

// ---- Remediation comparison ----

namespace {

std::string Str(const Json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : "";
}

std::optional<double> Num(const Json& j, const char* key) {
  if (j.is_object() && j.contains(key) && j[key].is_number()) return j[key].get<double>();
  return std::nullopt;
}

std::optional<bool> Bool(const Json& j, const char* key) {
  if (j.is_object() && j.contains(key) && j[key].is_boolean()) return j[key].get<bool>();
  return std::nullopt;
}

const Json& Array(const Json& j, const char* key) {
  static const Json kEmpty = Json::array();
  return j.is_object() && j.contains(key) && j[key].is_array() ? j[key] : kEmpty;
}

// The action counts as executed by its status (older scorecards may lack "executed").
bool JsonExecuted(const Json& a) { return ActionExecuted(Str(a, "status")); }

std::string Percent(const std::optional<double>& p) {
  if (!p) return "—";
  if (std::abs(*p) < 0.5) return "0 %";  // not "-0 %"
  char buf[32];
  std::snprintf(buf, sizeof buf, "%+.0f %%", *p);
  return buf;
}

std::string Ratio(double r) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", r);
  return buf;
}

}  // namespace

RemediationComparison CompareRemediation(const Json& off_card, const Json& auto_card) {
  RemediationComparison c;
  c.off_mode = Str(off_card, "remediation_mode");
  c.auto_mode = Str(auto_card, "remediation_mode");
  std::map<std::string, const Json*> off_by_name;
  for (const auto& s : Array(off_card, "scenarios")) {
    off_by_name.emplace(Str(s, "scenario"), &s);
    for (const char* key : {"actions", "other_actions"})
      for (const auto& a : Array(s, key))
        if (JsonExecuted(a)) ++c.off_pass_executed;
  }
  std::vector<std::string> seen;
  auto add_row = [&](const std::string& name, const Json* off, const Json* on) {
    ComparisonRow r;
    r.scenario = name;
    if (off) r.mttr_off_s = Num(*off, "mttr_measured_s");
    if (on) r.mttr_auto_s = Num(*on, "mttr_measured_s");
    if (r.mttr_off_s && r.mttr_auto_s && *r.mttr_off_s > 0)
      r.change_pct = (*r.mttr_auto_s - *r.mttr_off_s) / *r.mttr_off_s * 100.0;
    if (!on) r.notes.push_back("not in the auto pass");
    if (!off) r.notes.push_back("not in the off pass");
    if (on) {
      for (const auto& a : Array(*on, "actions")) r.actions.push_back(a);
      for (const char* key : {"actions", "other_actions"}) {
        const bool root = std::string(key) == "actions";
        for (const auto& a : Array(*on, key)) {
          const std::string what = Str(a, "action") + " on " + Str(a, "service");
          if (!JsonExecuted(a)) {
            // Why the scenario's own action did not run; other incidents' are in the scorecard.
            std::string reason = Str(a, "reason");
            if (root)
              r.notes.push_back(what + ": " + StatusWords(Str(a, "status")) +
                                (reason.empty() ? "" : " — " + reason));
            continue;
          }
          std::optional<bool> matched = Bool(a, "matched");
          if (!matched) {
            ++r.executed_unknown;
            r.notes.push_back(what + ": " + StatusWords(Str(a, "status")) +
                              " without the simulator's verdict (no response)");
          } else if (*matched) {
            ++r.executed_matched;
          } else {
            ++r.executed_unmatched;
            r.notes.push_back(what + (root ? "" : " (another incident)") +
                              ": executed but does not fit the cause (look-alike)");
          }
        }
      }
    }
    if (r.executed_matched > 0) {
      if (r.mttr_off_s && r.mttr_auto_s) {
        // (a tolerance for the floating-point product: exactly 0.6 x is met)
        const bool met = *r.mttr_auto_s <= kMaxMttrRatio * *r.mttr_off_s + 1e-9;
        r.speedup = met ? SpeedupCheck::kMet : SpeedupCheck::kMissed;
        if (!met)
          r.notes.push_back("MTTR auto is " + Ratio(*r.mttr_auto_s / *r.mttr_off_s) +
                            " x MTTR off, more than " + Ratio(kMaxMttrRatio));
      } else {
        r.speedup = SpeedupCheck::kMissed;
        r.notes.push_back(std::string("no MTTR in the ") + (r.mttr_off_s ? "auto" : "off") +
                          " pass: the speed-up cannot be shown");
      }
    }
    if (r.speedup == SpeedupCheck::kMet) ++c.speedup_met;
    if (r.speedup == SpeedupCheck::kMissed) ++c.speedup_missed;
    c.executed_matched += r.executed_matched;
    c.executed_unmatched += r.executed_unmatched;
    c.executed_unknown += r.executed_unknown;
    c.rows.push_back(std::move(r));
  };
  for (const auto& s : Array(auto_card, "scenarios")) {
    const std::string name = Str(s, "scenario");
    auto it = off_by_name.find(name);
    add_row(name, it == off_by_name.end() ? nullptr : it->second, &s);
    seen.push_back(name);
  }
  for (const auto& s : Array(off_card, "scenarios")) {
    const std::string name = Str(s, "scenario");
    if (std::find(seen.begin(), seen.end(), name) == seen.end()) add_row(name, &s, nullptr);
  }
  c.targets_met = c.speedup_missed == 0 && c.executed_unmatched == 0;
  return c;
}

std::string RenderComparisonMarkdown(const RemediationComparison& c) {
  std::ostringstream md;
  md << "| scenario | MTTR off | MTTR auto | change | action (status) | matched | target |\n"
     << "|---|---|---|---|---|---|---|\n";
  for (const auto& r : c.rows) {
    std::string actions, matched;
    for (const auto& a : r.actions) {
      if (!actions.empty()) {
        actions += ", ";
        matched += ", ";
      }
      actions += ActionLabel(Str(a, "action"), Str(a, "status"));
      std::optional<bool> m = Bool(a, "matched");
      matched += !m ? "—" : *m ? "yes" : "**no**";
    }
    if (actions.empty()) actions = matched = "—";
    std::string target = "—";
    if (r.executed_unmatched > 0)
      target = "**look-alike executed**";
    else if (r.speedup == SpeedupCheck::kMet)
      target = "met";
    else if (r.speedup == SpeedupCheck::kMissed)
      target = "**missed**";
    md << "| " << r.scenario << " | " << Seconds(r.mttr_off_s) << " | " << Seconds(r.mttr_auto_s)
       << " | " << Percent(r.change_pct) << " | " << actions << " | " << matched << " | " << target
       << " |\n";
  }
  md << "\nTargets: (a) MTTR auto ≤ " << kMaxMttrRatio
     << " × MTTR off where the auto pass executed an action that fits the cause (the simulator "
        "matched it): "
     << c.speedup_met << " of " << c.speedup_met + c.speedup_missed << " scenarios; (b) executed "
     << "actions that do not fit the cause (look-alikes): " << c.executed_unmatched << ". "
     << (c.targets_met ? "Both targets met." : "**Target missed.**") << "\n";
  if (c.executed_unknown)
    md << "\n"
       << c.executed_unknown
       << " executed action(s) without the simulator's verdict (not counted).\n";
  if (c.off_pass_executed)
    md << "\n**Warning**: the off pass executed " << c.off_pass_executed
       << " action(s); its MTTRs are not a baseline without remediation.\n";
  bool any_note = false;
  for (const auto& r : c.rows) {
    for (const auto& n : r.notes) {
      if (!any_note) md << "\nNotes (actions not executed, and why):\n\n";
      any_note = true;
      md << "- " << r.scenario << ": " << n << "\n";
    }
  }
  return md.str();
}

Json RenderComparisonJson(const RemediationComparison& c) {
  Json rows = Json::array();
  for (const auto& r : c.rows) {
    const char* speedup = r.speedup == SpeedupCheck::kMet      ? "met"
                          : r.speedup == SpeedupCheck::kMissed ? "missed"
                                                               : "not_applicable";
    rows.push_back({{"scenario", r.scenario},
                    {"mttr_off_s", OptionalJson(r.mttr_off_s)},
                    {"mttr_auto_s", OptionalJson(r.mttr_auto_s)},
                    {"change_pct", OptionalJson(r.change_pct)},
                    {"actions", r.actions},
                    {"executed_matched", r.executed_matched},
                    {"executed_unmatched", r.executed_unmatched},
                    {"executed_unknown", r.executed_unknown},
                    {"speedup", speedup},
                    {"notes", r.notes}});
  }
  return {{"scenarios", rows},
          {"max_mttr_ratio", kMaxMttrRatio},
          {"speedup_met", c.speedup_met},
          {"speedup_missed", c.speedup_missed},
          {"executed_matched", c.executed_matched},
          {"executed_unmatched", c.executed_unmatched},
          {"executed_unknown", c.executed_unknown},
          {"off_pass_executed", c.off_pass_executed},
          {"off_mode", c.off_mode},
          {"auto_mode", c.auto_mode},
          {"targets_met", c.targets_met}};
}

}  // namespace sre::eval
