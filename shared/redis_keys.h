#pragma once
// Redis key layout shared by the agents and the API. Series keys expire (they are caches and
// can be rebuilt); open-incident locks never expire, so a volatile-* eviction policy cannot
// evict them (see infra/ and README).
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace sre::keys {

// ZSET of samples of one series: score = event time (ms), member = "<ts>|<value>|<kind>" for a
// warm-up or normal sample, "<ts>|<value>|<kind>|<z>|<mean>|<std>|<n>|<run>|<decision>|<incident>"
// for a breaching one (read with ParseSeriesMember).
inline std::string SeriesHistory(const std::string& service, const std::string& metric) {
  return "sre:series:{" + service + "}:" + metric + ":hist";
}
// STRING, binary: the state of a series' scoring core (agents/detection/detector.h PackState),
// written by the detection agent on every sample with a compare-and-set on its first 16 bytes:
// 17 little-endian doubles (version, newest event time, first event time, level, spread, tail,
// samples accepted, run, episode, calm, elevated, episode level, season day, bin, bin samples,
// bin mean, days stored), then 16 little-endian floats (the evidence ring): 200 bytes. Read the
// baseline with ParseSeriesWindow().
inline std::string SeriesWindow(const std::string& service, const std::string& metric) {
  return "sre:series:{" + service + "}:" + metric + ":window";
}
// STRING, binary: the seasonal days of a series (PackSeason: 288 little-endian floats per day
// stored, today first), written with the state when a 5-minute bin is complete.
inline std::string SeriesSeason(const std::string& service, const std::string& metric) {
  return "sre:series:{" + service + "}:" + metric + ":season";
}
// STRING: the id of the service's open incident (no TTL; deleted at resolution).
inline std::string OpenIncidentLock(const std::string& service) { return "sre:lock:incident:{" + service + "}"; }
// SET of log patterns already reported for an incident.
inline std::string IncidentPatterns(const std::string& incident_id) { return "sre:incident:" + incident_id + ":patterns"; }
// LIST of recent ERROR/FATAL log lines of a service (JSON objects, newest first).
inline std::string RecentErrors(const std::string& service) { return "sre:logs:{" + service + "}:errors"; }
// STRING: event time (ms) of the last pattern-matching error line of a service.
inline std::string LastPatternError(const std::string& service) { return "sre:logs:{" + service + "}:last_pattern_ts"; }
// ZSET of the newest telemetry event time detection has seen per service: member = service,
// score = event time (ms), only ever raised (ZADD GT). Its upper quartile is the pipeline's clock,
// which says whether time has moved on for an incident whose evidence went quiet (resolution.h:
// DecideSignalLost): it stands still while detection lags or is down, and one service's absurd
// timestamps cannot move it. Bounded to kServiceClockMax members (the oldest are dropped).
inline constexpr const char* kServiceClock = "sre:clock:services";
inline constexpr int kServiceClockMax = 10000;
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

// The i-th little-endian IEEE double of a packed value (Lua's struct.pack('<d')); i * 8 + 8 must
// not exceed blob.size().
inline double PackedDouble(std::string_view blob, size_t i) {
  uint64_t bits = 0;
  for (size_t b = 0; b < 8; ++b) bits |= static_cast<uint64_t>(static_cast<unsigned char>(blob[i * 8 + b])) << (8 * b);
  return std::bit_cast<double>(bits);
}
// Appends `v` as a little-endian IEEE double (what struct.unpack('<d') reads).
inline void AppendPackedDouble(std::string& out, double v) {
  uint64_t bits = std::bit_cast<uint64_t>(v);
  for (size_t b = 0; b < 8; ++b) out.push_back(static_cast<char>((bits >> (8 * b)) & 0xff));
}

// The baseline held in a SeriesWindow value: the series' level (without its seasonal term) and
// spread (a standard deviation for normal noise). nullopt for a value that is not one, or a
// series still without an accepted sample.
struct SeriesWindowSummary {
  double mean = 0, std = 0;
  int samples = 0;
};
inline std::optional<SeriesWindowSummary> ParseSeriesWindow(std::string_view blob) {
  constexpr size_t kScalars = 17, kRing = 16;
  if (blob.size() != kScalars * sizeof(double) + kRing * sizeof(float)) return std::nullopt;
  auto at = [&](size_t i) { return PackedDouble(blob, i); };
  double accepted = at(6);
  if (!(accepted >= 1)) return std::nullopt;
  SeriesWindowSummary s;
  s.samples = static_cast<int>(std::min(accepted, 1e9));
  s.mean = at(3);
  s.std = at(4);
  if (!std::isfinite(s.mean) || !std::isfinite(s.std)) return std::nullopt;
  return s;
}

}  // namespace sre::keys
