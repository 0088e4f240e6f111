#include "simulator/api.h"

#include <spdlog/fmt/fmt.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <limits>

#include "shared/log.h"
#include "shared/text.h"

namespace sre::sim {
namespace {

constexpr const char* kInjectionsHelp = "Failure scenarios injected, by scenario name";
constexpr const char* kActionsHelp =
    "Remediation actions received on POST /api/actions, by action and whether they matched the "
    "active scenario";

std::shared_ptr<spdlog::logger> Logger() { return log::Get("simulator"); }

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
          {"deployment_version", a.deployment_version ? Json(*a.deployment_version) : Json()},
          {"remediated_at_ms", a.remediated_at_ms ? Json(*a.remediated_at_ms) : Json()}};
}

ScenarioApi::ScenarioApi(Simulator& sim, std::mutex& mu, MetricsRegistry& metrics, RunInfo info,
                         Secret token)
    : sim_(sim), mu_(mu), metrics_(metrics), info_(std::move(info)), token_(std::move(token)) {
  // Every catalogue scenario shows up at 0 before its first injection, every action before its
  // first use.
  for (const auto& def : sim_.catalogue())
    metrics_.GetCounter("failure_injections_total", kInjectionsHelp, {{"scenario", def.name}});
  for (size_t i = 0; i < EnumCount<RemediationAction>(); ++i)
    for (const char* matched : {"true", "false"})
      metrics_.GetCounter("simulator_actions_total", kActionsHelp,
                          {{"action", std::string(EnumNames<RemediationAction>::kList[i])},
                           {"matched", matched}});
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
  if ((route != PostRoute::kNamed || AnnouncesBody(h)) && !IsJsonMediaType(h.content_type))
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

namespace {

bool ServiceNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

HttpReply BadField(const std::string& field, const std::string& what) {
  return Reply(400, {{"error", field.empty() ? what : "field '" + field + "': " + what},
                     {"field", field}});
}

// The member `name` of `j`, nullptr when absent or null.
const Json* Member(const Json& j, const char* name) {
  auto it = j.find(name);
  return it == j.end() || it->is_null() ? nullptr : &*it;
}

}  // namespace

void ScenarioApi::Remember(const std::string& key, const std::string& body) {
  if (key.empty() || !replies_.emplace(key, body).second) return;
  replay_order_.push_back(key);
  while (replay_order_.size() > kRememberedIdempotencyKeys) {
    replies_.erase(replay_order_.front());
    replay_order_.pop_front();
  }
}

HttpReply ScenarioApi::Action(const PostHeaders& h, std::string_view body) {
  if (auto refused = Screen(PostRoute::kAction, h)) return *refused;
  if (body.size() > kMaxBodyBytes)
    return Error(413, fmt::format("request body is larger than {} bytes", kMaxBodyBytes));
  auto parsed = ParseJsonObject(body);
  if (!parsed.ok()) return BadField("", "body is not a JSON object: " + parsed.status().message());
  const Json& j = *parsed;

  const Json* a = Member(j, "action");
  if (!a) return BadField("action", "required (one of " + EnumChoices<RemediationAction>() + ")");
  if (!a->is_string()) return BadField("action", "must be a string, got " + codec::TypeName(*a));
  auto action = ParseEnum<RemediationAction>(a->get<std::string>());
  if (!action)
    return BadField("action", "unknown value " + Quote(a->get<std::string>()) +
                                  " (expected one of " + EnumChoices<RemediationAction>() + ")");

  const Json* s = Member(j, "service");
  if (!s) return BadField("service", "required");
  if (!s->is_string()) return BadField("service", "must be a string, got " + codec::TypeName(*s));
  const std::string service = s->get<std::string>();
  if (service.empty()) return BadField("service", "must not be empty");
  if (service.size() > kMaxActionServiceBytes)
    return BadField("service", fmt::format("at most {} bytes", kMaxActionServiceBytes));
  if (!std::all_of(service.begin(), service.end(), ServiceNameChar))
    return BadField("service", "only letters, digits, '.', '_' and '-' are allowed");

  std::optional<std::string> version;
  if (const Json* v = Member(j, "deployment_version")) {
    if (!v->is_string())
      return BadField("deployment_version", "must be a string, got " + codec::TypeName(*v));
    if (v->get_ref<const std::string&>().size() > kMaxActionVersionBytes)
      return BadField("deployment_version", fmt::format("at most {} bytes", kMaxActionVersionBytes));
    if (!v->get_ref<const std::string&>().empty()) version = v->get<std::string>();
  }
  bool undo = false;
  if (const Json* u = Member(j, "undo")) {
    if (!u->is_boolean()) return BadField("undo", "must be true or false, got " + codec::TypeName(*u));
    undo = u->get<bool>();
  }
  std::string key(Trim(h.idempotency_key));
  if (const Json* k = Member(j, "idempotency_key")) {
    if (!k->is_string())
      return BadField("idempotency_key", "must be a string, got " + codec::TypeName(*k));
    const std::string& in_body = k->get_ref<const std::string&>();
    if (!in_body.empty()) {
      if (!key.empty() && key != in_body)
        return BadField("idempotency_key", "differs from the Idempotency-Key header");
      key = in_body;
    }
  }
  if (key.size() > kMaxIdempotencyKeyBytes)
    return BadField("idempotency_key", fmt::format("at most {} bytes", kMaxIdempotencyKeyBytes));

  const std::string verb(ToString(*action));
  const std::string what =
      fmt::format("{} on {}{}{}{}", verb, service,
                  version ? " (deployment_version " + Quote(*version) + ")" : std::string(),
                  undo ? " (undo)" : "", key.empty() ? std::string() : " key " + Quote(key));
  HttpReply reply;
  ActionResult result;
  {
    std::lock_guard<std::mutex> lock(mu_);
    // An undo is a request of its own, even under the key of the action it undoes (the
    // remediation agent reuses the action's id).
    const std::string slot = key.empty() ? key : (undo ? "undo:" : "do:") + key;
    if (!slot.empty()) {
      if (auto seen = replies_.find(slot); seen != replies_.end()) {
        reply = {200, seen->second, {{"Idempotent-Replay", "true"}}};
        Logger()->info("action {}: replayed, not applied again", what);
        return reply;
      }
    }
    const int64_t now = sim_.last_tick_ms();
    result = sim_.ApplyAction(*action, service, version, undo, now);
    auto opt = [](const auto& v) { return v ? Json(*v) : Json(); };
    auto phase = [&](const std::string& p) { return result.scenario ? Json(p) : Json(); };
    reply = Reply(200, {{"action", verb},
                        {"service", service},
                        {"matched", result.matched},
                        {"scenario", opt(result.scenario)},
                        {"phase", phase(result.phase_after)},
                        {"phase_before", phase(result.phase_before)},
                        {"ends_at_ms", opt(result.ends_at_ms)},
                        {"message", result.message},
                        {"undo", undo},
                        {"idempotency_key", key.empty() ? Json() : Json(key)},
                        {"simulated_time_ms", now}});
    Remember(slot, reply.body);
  }
  metrics_
      .GetCounter("simulator_actions_total", kActionsHelp,
                  {{"action", verb}, {"matched", result.matched ? "true" : "false"}})
      .Inc();
  Logger()->info("action {}: {} ({})", what, result.matched ? "matched" : "no match",
                 result.message);
  return reply;
}

}  // namespace sre::sim
