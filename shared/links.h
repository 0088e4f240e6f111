#pragma once
// Addresses people follow: the dashboard's page of one incident. Emails (and later the chat
// channels) link with IncidentLink; the dashboard (api/static/app.js, `incidentFromHash`) opens
// it, and also the older form "/#/incidents/<uuid>" that emails sent before carried.
#include <string>
#include <string_view>

namespace sre {

// "<dashboard>/#incident=<uuid>", without a doubled slash when `dashboard` ends with one.
inline std::string IncidentLink(std::string_view dashboard, std::string_view incident_id) {
  while (!dashboard.empty() && dashboard.back() == '/') dashboard.remove_suffix(1);
  std::string out(dashboard);
  out += "/#incident=";
  out += incident_id;
  return out;
}

}  // namespace sre
