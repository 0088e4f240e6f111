#pragma once
// The scenario API (GET /api/scenarios, POST /api/scenarios/{name}, POST /api/scenarios) as
// plain functions from request to reply, so it is tested without sockets; service.cpp binds
// them to the HTTP server. Every decision about a POST (origin, token, framing, content type,
// size) is made here from the header values; service.cpp only copies them in and reads the body.
// Thread-safe: every call that touches the Simulator takes `mu`, the same mutex the tick loop
// holds around it.
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
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
};

enum class PostRoute { kNamed, kCustom };

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
  //   415 kCustom: a Content-Type other than application/json (parameters allowed);
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

  // Counts an injection in failure_injections_total{scenario} (the random schedule's too).
  void CountInjection(const std::string& scenario);

 private:
  HttpReply Injected(const InjectResult& r);

  Simulator& sim_;
  std::mutex& mu_;
  MetricsRegistry& metrics_;
  RunInfo info_;
  Secret token_;
};

// JSON of an active scenario, as listed by GET /api/scenarios.
Json ActiveJson(const ActiveScenarioInfo& a);

}  // namespace sre::sim
