#pragma once
// The scenario API (GET /api/scenarios, POST /api/scenarios/{name}, POST /api/scenarios) and
// the remediation target (POST /api/actions) as
// plain functions from request to reply, so it is tested without sockets; service.cpp binds
// them to the HTTP server. Every decision about a POST (origin, token, framing, content type,
// size) is made here from the header values; service.cpp only copies them in and reads the body.
// Thread-safe: every call that touches the Simulator takes `mu`, the same mutex the tick loop
// holds around it.
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "shared/config.h"
#include "shared/metrics.h"
#include "simulator/custom_scenario.h"
#include "simulator/simulator.h"

namespace sre::sim {

struct HttpReply {
  int status = 200;
  std::string body;                                          // JSON
  std::vector<std::pair<std::string, std::string>> headers;  // e.g. WWW-Authenticate
};

// The request headers a POST is judged by, as sent (empty when absent).
struct PostHeaders {
  std::string origin;
  std::string host;
  std::string authorization;
  std::string content_type;
  std::string content_length;
  std::string transfer_encoding;
  std::string idempotency_key;  // Idempotency-Key (POST /api/actions)
};

// kNamed: POST /api/scenarios/{name}; kCustom: POST /api/scenarios; kAction: POST /api/actions.
enum class PostRoute { kNamed, kCustom, kAction };

// POST /api/actions: the longest service name and idempotency key accepted, and how many keys
// (with their replies) are remembered for replay.
inline constexpr size_t kMaxActionServiceBytes = 100;
inline constexpr size_t kMaxIdempotencyKeyBytes = 200;
inline constexpr size_t kMaxActionVersionBytes = 128;
inline constexpr size_t kRememberedIdempotencyKeys = 1000;

// The largest body either POST accepts.
inline constexpr size_t kMaxBodyBytes = kMaxCustomScenarioBytes;

// True when the headers announce a body: a Transfer-Encoding, or a Content-Length other than 0.
// Without either a request has no body (RFC 9112 §6.3) and must not be waited for: that wait is
// what made `curl -X POST` without -d time out with an empty 400.
bool AnnouncesBody(const PostHeaders& h);

// True when `origin` (an Origin header: "scheme://host[:port]") names the same host and port as
// `host` (a Host header: "host[:port]", the port defaulting to the origin scheme's). An empty
// origin (curl, scripts) passes; "null" and anything unparsable do not.
bool SameOrigin(const std::string& origin, const std::string& host);

// Shown by GET /api/scenarios next to the catalogue.
struct RunInfo {
  double speed = 1;
  std::string schedule = "random";
};

class ScenarioApi {
 public:
  // `token` (SIM_API_TOKEN): when not empty, every POST needs "Authorization: Bearer <token>".
  ScenarioApi(Simulator& sim, std::mutex& mu, MetricsRegistry& metrics, RunInfo info,
              Secret token = Secret());

  // 200: {simulated_time_ms, live_start_ms, seed, run_id, speed, schedule, next_injection_ms,
  // active: [...], scenarios: [...]}.
  HttpReply List() const;

  // Judges a POST by its headers alone, before its body is read; the first that applies:
  //   403 an Origin whose host:port is not the Host's (a browser posting cross-site);
  //   401 a token is set and "Authorization: Bearer <token>" is missing or wrong
  //       (WWW-Authenticate: Bearer);
  //   400 a Content-Length that is not a number; 501 a Transfer-Encoding other than chunked;
  //   415 kCustom, kAction: a Content-Type other than application/json (parameters allowed);
  //       kNamed: a body announced with such a type (no body needs no type);
  //   413 a Content-Length above kMaxBodyBytes.
  // nullopt: read the body when AnnouncesBody (keeping at most kMaxBodyBytes + 1 bytes) and
  // pass it on to InjectNamed or InjectCustom. Every refusal has a JSON body {"error"}.
  std::optional<HttpReply> Screen(PostRoute route, const PostHeaders& h) const;

  // POST /api/scenarios/{name}: Screen, 413 for a body over kMaxBodyBytes, then 201 with the
  // active scenario; 404 unknown name; 409 the service is busy. A body is not used.
  HttpReply InjectNamed(const std::string& name, const PostHeaders& h, std::string_view body = {});
  // POST /api/scenarios: Screen, 413 for a body over kMaxBodyBytes, then 201; 400 {"error",
  // "field"} for an invalid definition; 409 the service is busy.
  HttpReply InjectCustom(const PostHeaders& h, std::string_view body);

  // POST /api/actions, a remediation action on the simulated system (Simulator::ApplyAction at
  // the last tick's time): Screen, 413 for a body over kMaxBodyBytes, then
  //   200 {action, service, matched, scenario, phase, phase_before, ends_at_ms, message, undo,
  //        idempotency_key, simulated_time_ms}, whether or not the action matched;
  //   400 {error, field} for a body that is not a JSON object, a missing or unknown action, a
  //       service that is missing, empty, over kMaxActionServiceBytes or not [A-Za-z0-9._-]+,
  //       and a wrongly typed deployment_version, undo or idempotency_key.
  // The idempotency key comes from the body's "idempotency_key" or the Idempotency-Key header
  // (both: they must agree). A key seen among the last kRememberedIdempotencyKeys gets the
  // first reply again, with "Idempotent-Replay: true", and nothing is applied or counted. Keys
  // of undos and of actions are kept apart (an undo reuses the id of the action it undoes).
  // Counts simulator_actions_total{action, matched} and logs every action at INFO.
  HttpReply Action(const PostHeaders& h, std::string_view body);

  // Counts an injection in failure_injections_total{scenario} (the random schedule's too).
  void CountInjection(const std::string& scenario);

 private:
  HttpReply Injected(const InjectResult& r);
  // The remembered reply to an idempotency key; the caller holds mu_.
  void Remember(const std::string& key, const std::string& body);

  Simulator& sim_;
  std::mutex& mu_;
  MetricsRegistry& metrics_;
  RunInfo info_;
  Secret token_;
  // POST /api/actions replies by idempotency key, oldest key first in replay_order_ (under mu_).
  std::unordered_map<std::string, std::string> replies_;
  std::deque<std::string> replay_order_;
};

// JSON of an active scenario, as listed by GET /api/scenarios.
Json ActiveJson(const ActiveScenarioInfo& a);

}  // namespace sre::sim
