#include "tools/eval/scoring.h"

#include <algorithm>
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

}  // namespace

ScenarioScore Score(const ScenarioObservation& o) {
  ScenarioScore s;
  s.scenario = o.scenario;
  s.completed = o.completed;
  for (const auto& type : kEmailTypes) s.email_delay_s[type] = std::nullopt;
  if (!o.truth) return s;
  const Truth& t = *o.truth;
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
  for (const auto& i : o.incidents) {
    if (&i == root) continue;
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
        "postmortem | pass |\n"
     << "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& s : card.scenarios) {
    md << "| " << s.scenario << " | " << YesNo(s.detected) << " | " << Seconds(s.detection_delay_s)
       << " | " << s.incidents_opened << (s.incidents_opened == 1 ? "" : " **!**");
    if (s.incidents_linked) md << " (+" << s.incidents_linked << ")";
    md << " | " << (s.root_cause_service_ok ? "yes" : "**no** " + s.root_cause_service) << " | "
       << (s.root_cause_category_ok ? "yes" : "**no** " + s.root_cause_category);
    for (const auto& type : kEmailTypes) md << " | " << Seconds(s.email_delay_s.at(type));
    md << " | " << Seconds(s.mttr_measured_s) << " / " << Seconds(s.mttr_simulated_s) << " | "
       << YesNo(s.postmortem) << " | " << (s.pass ? "PASS" : "**FAIL**") << " |\n";
  }
  md << "\nPassed " << card.passed << " of " << card.scenarios.size()
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
                         {"pass", s.pass}});
  }
  return {{"scenarios", scenarios},
          {"passed", card.passed},
          {"total", card.scenarios.size()},
          {"false_alarms", card.false_alarms},
          {"dead_letters", card.dead_letters},
          {"sim_speed", card.sim_speed}};
}

}  // namespace sre::eval
