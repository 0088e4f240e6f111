#include "simulator/api.h"

#include <spdlog/fmt/fmt.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <limits>

#include "shared/text.h"

namespace sre::sim {
namespace {

constexpr const char* kInjectionsHelp = "Failure scenarios injected, by scenario name";

// Header values are the client's bytes: the replies that quote them must stay valid JSON.
HttpReply Reply(int status, const Json& body) {
  return {status, body.dump(-1, ' ', false, Json::error_handler_t::replace), {}};
}

HttpReply Error(int status, const std::string& message) {
  return Reply(status, {{"error", message}});
}

// A header value quoted in a reply, cut short.
std::string Quote(const std::string& value) { return "'" + TruncateUtf8(value, 100) + "'"; }

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Content-Length as a number (saturating at the maximum); nullopt when absent or, with
// *malformed set, not a number.
std::optional<uint64_t> ContentLength(const std::string& header, bool* malformed) {
  *malformed = false;
  std::string_view v = Trim(header);
  if (v.empty()) return std::nullopt;
  if (!AllDigits(v)) {
    *malformed = true;
    return std::nullopt;
  }
  uint64_t n = 0;
  for (char c : v) {
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (n > (std::numeric_limits<uint64_t>::max() - d) / 10)
      return std::numeric_limits<uint64_t>::max();
    n = n * 10 + d;
  }
  return n;
}

bool IsJsonMediaType(const std::string& content_type) {
  std::string_view v = content_type;
  v = Trim(v.substr(0, v.find(';')));
  return Lower(v) == "application/json";
}

struct Authority {
  std::string host;  // lower case; an IPv6 literal keeps its brackets
  std::optional<uint32_t> port;
};

// "host", "host:port", "[v6]" or "[v6]:port"; nullopt when malformed.
std::optional<Authority> ParseAuthority(std::string_view s) {
  Authority a;
  std::string_view rest;
  if (!s.empty() && s.front() == '[') {
    size_t close = s.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    a.host = Lower(s.substr(0, close + 1));
    rest = s.substr(close + 1);
  } else {
    size_t colon = s.find(':');
    a.host = Lower(s.substr(0, colon));
    rest = colon == std::string_view::npos ? std::string_view() : s.substr(colon);
  }
  if (a.host.empty() || a.host.find_first_of("/?#@ \t") != std::string::npos) return std::nullopt;
  if (rest.empty()) return a;
  if (rest.front() != ':') return std::nullopt;
  rest.remove_prefix(1);
  if (!AllDigits(rest) || rest.size() > 5) return std::nullopt;
  uint32_t port = 0;
  for (char c : rest) port = port * 10 + static_cast<uint32_t>(c - '0');
  if (port > 65535) return std::nullopt;
  a.port = port;
  return a;
}

}  // namespace

bool AnnouncesBody(const PostHeaders& h) {
  if (!Trim(h.transfer_encoding).empty()) return true;
  bool malformed = false;
  auto length = ContentLength(h.content_length, &malformed);
  return malformed || (length && *length > 0);
}

bool SameOrigin(const std::string& origin, const std::string& host) {
  std::string_view o = Trim(origin);
  if (o.empty()) return true;
  size_t sep = o.find("://");
  if (sep == std::string_view::npos) return false;  // "null" among others
  std::string scheme = Lower(o.substr(0, sep));
  uint32_t default_port = 0;
  if (scheme == "http") {
    default_port = 80;
  } else if (scheme == "https") {
    default_port = 443;
  } else {
    return false;
  }
  auto from = ParseAuthority(o.substr(sep + 3));
  auto to = ParseAuthority(Trim(host));
  return from && to && from->host == to->host &&
         from->port.value_or(default_port) == to->port.value_or(default_port);
}

Json ActiveJson(const ActiveScenarioInfo& a) {
  return {{"name", a.name},
          {"service", a.service},
          {"custom", a.custom},
          {"started_at_ms", a.started_at_ms},
          {"symptoms_start_ms", a.symptoms_start_ms},
          {"ends_at_ms", a.ends_at_ms},
          {"progress", a.progress},
          {"phase", a.phase},
          {"deployment_version", a.deployment_version ? Json(*a.deployment_version) : Json()}};
}

ScenarioApi::ScenarioApi(Simulator& sim, std::mutex& mu, MetricsRegistry& metrics, RunInfo info,
                         Secret token)
    : sim_(sim), mu_(mu), metrics_(metrics), info_(std::move(info)), token_(std::move(token)) {
  // Every catalogue scenario shows up at 0 before its first injection.
  for (const auto& def : sim_.catalogue())
    metrics_.GetCounter("failure_injections_total", kInjectionsHelp, {{"scenario", def.name}});
}

void ScenarioApi::CountInjection(const std::string& scenario) {
  metrics_.GetCounter("failure_injections_total", kInjectionsHelp, {{"scenario", scenario}}).Inc();
}

HttpReply ScenarioApi::List() const {
  std::lock_guard<std::mutex> lock(mu_);
  Json active = Json::array(), scenarios = Json::array();
  for (const auto& a : sim_.Active()) active.push_back(ActiveJson(a));
  for (const auto& def : sim_.catalogue()) scenarios.push_back(ScenarioJson(def));
  const auto& o = sim_.options();
  return Reply(200, {{"simulated_time_ms", sim_.last_tick_ms()},
                     {"live_start_ms", o.live_start_ms},
                     {"seed", o.seed},
                     {"run_id", sim_.run_id()},
                     {"speed", info_.speed},
                     {"schedule", info_.schedule},
                     {"next_injection_ms",
                      sim_.next_injection_ms() < 0 ? Json() : Json(sim_.next_injection_ms())},
                     {"active", active},
                     {"scenarios", scenarios}});
}

HttpReply ScenarioApi::Injected(const InjectResult& r) {
  switch (r.error) {
    case InjectResult::Error::kNone:
      CountInjection(r.active.name);
      return Reply(201, ActiveJson(r.active));
    case InjectResult::Error::kUnknownScenario:
      return Reply(404, {{"error", r.message}});
    case InjectResult::Error::kServiceBusy:
      return Reply(409, {{"error", r.message}});
  }
  return Reply(500, {{"error", "unexpected injection result"}});
}

std::optional<HttpReply> ScenarioApi::Screen(PostRoute route, const PostHeaders& h) const {
  if (!SameOrigin(h.origin, h.host))
    return Error(403, "Origin " + Quote(h.origin) + " is not this server (Host " + Quote(h.host) +
                          "): cross-site requests are refused");
  if (!token_.empty() && !BearerMatches(token_, h.authorization)) {
    HttpReply r = Error(401, "missing or wrong bearer token (SIM_API_TOKEN is set)");
    r.headers.emplace_back("WWW-Authenticate", "Bearer");
    return r;
  }
  bool malformed = false;
  auto length = ContentLength(h.content_length, &malformed);
  if (malformed)
    return Error(400, "Content-Length " + Quote(h.content_length) + " is not a number");
  if (!Trim(h.transfer_encoding).empty() && Lower(Trim(h.transfer_encoding)) != "chunked")
    return Error(501, "Transfer-Encoding " + Quote(h.transfer_encoding) +
                          " is not supported (only chunked)");
  if ((route == PostRoute::kCustom || AnnouncesBody(h)) && !IsJsonMediaType(h.content_type))
    return Error(415, "Content-Type must be application/json, got " +
                          (h.content_type.empty() ? std::string("none") : Quote(h.content_type)));
  if (length && *length > kMaxBodyBytes)
    return Error(413, fmt::format("request body is {} bytes; at most {}", *length, kMaxBodyBytes));
  return std::nullopt;
}

HttpReply ScenarioApi::InjectNamed(const std::string& name, const PostHeaders& h,
                                   std::string_view body) {
  if (auto refused = Screen(PostRoute::kNamed, h)) return *refused;
  if (body.size() > kMaxBodyBytes)
    return Error(413, fmt::format("request body is larger than {} bytes", kMaxBodyBytes));
  std::lock_guard<std::mutex> lock(mu_);
  InjectResult r = sim_.Inject(name);
  if (r.error == InjectResult::Error::kUnknownScenario) {
    Json known = Json::array();
    for (const auto& def : sim_.catalogue()) known.push_back(def.name);
    return Reply(404, {{"error", r.message}, {"known", known}});
  }
  return Injected(r);
}

HttpReply ScenarioApi::InjectCustom(const PostHeaders& h, std::string_view body) {
  if (auto refused = Screen(PostRoute::kCustom, h)) return *refused;
  if (body.size() > kMaxBodyBytes)
    return Error(413, fmt::format("request body is larger than {} bytes", kMaxBodyBytes));
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> reserved;
  for (const auto& def : sim_.catalogue()) reserved.push_back(def.name);
  CustomScenarioResult parsed = ParseCustomScenario(body, sim_.services(), reserved);
  if (!parsed.ok()) return Reply(400, {{"error", parsed.error}, {"field", parsed.field}});
  return Injected(sim_.InjectCustom(std::move(*parsed.scenario)));
}

}  // namespace sre::sim
