#pragma once
// Redis key layout shared by the agents and the API. Series keys expire (they are caches and
// can be rebuilt); open-incident locks never expire, so a volatile-* eviction policy cannot
// evict them (see infra/ and README).
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

namespace sre::keys {

// ZSET of samples of one series: score = event time (ms), member = "<ts>|<value>|<verdict...>".
inline std::string SeriesHistory(const std::string& service, const std::string& metric) {
  return "sre:series:{" + service + "}:" + metric + ":hist";
}
// LIST of the accepted samples forming the rolling baseline.
inline std::string SeriesBaseline(const std::string& service, const std::string& metric) {
  return "sre:series:{" + service + "}:" + metric + ":base";
}
// HASH with the breach counter.
inline std::string SeriesState(const std::string& service, const std::string& metric) {
  return "sre:series:{" + service + "}:" + metric + ":state";
}
// LIST of the current breaching run (for a level shift).
inline std::string SeriesShift(const std::string& service, const std::string& metric) {
  return "sre:series:{" + service + "}:" + metric + ":shift";
}
// STRING: the id of the service's open incident (no TTL; deleted at resolution).
inline std::string OpenIncidentLock(const std::string& service) { return "sre:lock:incident:{" + service + "}"; }
// SET of log patterns already reported for an incident.
inline std::string IncidentPatterns(const std::string& incident_id) { return "sre:incident:" + incident_id + ":patterns"; }
// LIST of recent ERROR/FATAL log lines of a service (JSON objects, newest first).
inline std::string RecentErrors(const std::string& service) { return "sre:logs:{" + service + "}:errors"; }
// STRING: event time (ms) of the last pattern-matching error line of a service.
inline std::string LastPatternError(const std::string& service) { return "sre:logs:{" + service + "}:last_pattern_ts"; }
// ZSET of deployments of a service: score = event time (ms), member = RawDeployment JSON.
inline std::string Deployments(const std::string& service) { return "sre:deploys:{" + service + "}"; }

// (event time ms, value) of a SeriesHistory member; nullopt if it is not one.
inline std::optional<std::pair<int64_t, double>> ParseSeriesMember(const std::string& member) {
  auto a = member.find('|');
  if (a == std::string::npos) return std::nullopt;
  auto b = member.find('|', a + 1);
  try {
    return std::make_pair(static_cast<int64_t>(std::stoll(member.substr(0, a))), std::stod(member.substr(a + 1, b - a - 1)));
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace sre::keys
