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
};

struct Scorecard {
  std::vector<ScenarioScore> scenarios;
  int false_alarms = 0;  // incidents opened during the quiet period
  int dead_letters = 0;
  double sim_speed = 1;
  int passed = 0;
};

ScenarioScore Score(const ScenarioObservation& observation);
Scorecard BuildScorecard(const std::vector<ScenarioObservation>& observations, int false_alarms,
                         int dead_letters, double sim_speed);

std::string RenderMarkdown(const Scorecard& card);
Json RenderJson(const Scorecard& card);

}  // namespace sre::eval
