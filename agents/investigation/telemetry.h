#pragma once
// Range queries against the operator's own telemetry backends, for the RCA (issue 17):
// Prometheus (PromQL, GET/POST /api/v1/query_range) and Loki (LogQL, GET
// /loki/api/v1/query_range). TelemetryQuery is the seam: the tools and the fallback use it,
// tests substitute a fake.
//
// Answers are parsed exactly as the backends document them (the envelope
// {"status", "data": {"resultType", "result"}, "errorType", "error", "warnings"}); anything else is
// an error, never an exception. Values keep Prometheus's special strings: "NaN", "+Inf" and
// "-Inf" become the corresponding doubles.
//
// Errors: a query the backend rejects (400, 422, Loki's plain-text 400) is kInvalid with the
// backend's message; an unreachable, slow (past the timeout) or failing backend (5xx, a body that
// is not the documented shape) is kTransient. Messages never contain the URL or its credentials.
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "shared/config.h"
#include "shared/status.h"

namespace sre::investigation {

// One range query. Times are Unix milliseconds of event time (the incident's detection time
// plus or minus a window), never the wall clock.
struct RangeQuery {
  std::string query;  // PromQL or LogQL
  int64_t start_ms = 0;
  int64_t end_ms = 0;
  std::chrono::seconds step{15};  // the resolution of a matrix result
  int limit = 100;  // Loki: log lines at most (1..5000 as Loki allows; we ask ≤ 100)
};

struct Series {
  std::map<std::string, std::string> labels;
  std::vector<std::pair<int64_t, double>> points;  // (Unix ms, value), oldest first
};

struct LogLine {
  int64_t ts_ns = 0;
  std::string line;
  size_t stream = 0;  // index into QueryResult::streams (the stream's labels)
};

struct QueryResult {
  enum class Type { kMatrix, kStreams };
  Type type = Type::kMatrix;
  std::vector<Series> series;  // kMatrix
  std::vector<std::map<std::string, std::string>>
      streams;                        // kStreams: the label set of each stream
  std::vector<LogLine> lines;         // kStreams: newest first
  std::vector<std::string> warnings;  // the backend's "warnings", if any
};

// A telemetry backend. Implementations are thread-safe.
class TelemetryQuery {
 public:
  virtual ~TelemetryQuery() = default;
  virtual Expected<QueryResult> QueryRange(const RangeQuery& query) = 0;
};

// The step that keeps a range query to at most kMaxPointsPerSeries points per series: the
// requested step (15 s when 0 or less), or ceil(range / kMaxPointsPerSeries) seconds when that is
// larger. Never less than 1 s.
inline constexpr int64_t kMaxPointsPerSeries = 100;
std::chrono::seconds StepFor(int64_t start_ms, int64_t end_ms, std::chrono::seconds requested);

// Parses a Prometheus /api/v1/query_range answer (HTTP status and body). A range query answers
// resultType "matrix"; "vector" and "scalar" (instant-query shapes, e.g. from a proxy) are read
// as one-point series; "string" is an error.
Expected<QueryResult> ParsePrometheusResponse(long http_status, const std::string& body);
// Parses a Loki /loki/api/v1/query_range answer: "streams" (log lines, with the optional third
// structured-metadata element ignored) or "matrix" (a metric LogQL query, as Prometheus).
// Loki's error bodies are plain text; Prometheus-style JSON errors are read too.
Expected<QueryResult> ParseLokiResponse(long http_status, const std::string& body);

// A LogQL (and PromQL) double-quoted string literal for `value`: quotes, backslashes and control
// characters escaped. For building selectors from service names that came from telemetry.
std::string QuotedLabelValue(const std::string& value);

// True for a Prometheus/Loki label name: [a-zA-Z_][a-zA-Z0-9_]*.
bool IsLabelName(const std::string& name);

// The backends' settings (PROMETHEUS_URL, PROMETHEUS_TIMEOUT_S, LOKI_URL, LOKI_SERVICE_LABEL).
struct TelemetryConfig {
  std::optional<std::string> prometheus_url;  // http(s)://…, without a trailing slash
  std::optional<std::string> loki_url;
  std::chrono::seconds timeout{20};  // both connect and read, for each request
  std::string loki_service_label = "service";

  // Reads the variables through `config` (a bad URL or timeout is recorded there, so
  // config.Validate() names it). A bad LOKI_SERVICE_LABEL throws ConfigError naming it.
  static TelemetryConfig FromConfig(Config& config);
};

// libcurl clients. `base_url` is the server root (a path prefix is kept), e.g.
// http://127.0.0.1:9090. Each request is bounded by `timeout` (connect and whole transfer); the
// Prometheus request also asks the server to stop evaluating after it. Bodies over 16 MiB are
// refused (kTransient).
class PrometheusClient final : public TelemetryQuery {
 public:
  PrometheusClient(std::string base_url, std::chrono::milliseconds timeout);
  // GET with the parameters in the URL; POST (form-encoded) when the URL would be long.
  Expected<QueryResult> QueryRange(const RangeQuery& query) override;

 private:
  std::string base_url_;
  std::chrono::milliseconds timeout_;
};

class LokiClient final : public TelemetryQuery {
 public:
  LokiClient(std::string base_url, std::chrono::milliseconds timeout);
  // GET with start/end in nanoseconds, limit, direction=backward and step.
  Expected<QueryResult> QueryRange(const RangeQuery& query) override;

 private:
  std::string base_url_;
  std::chrono::milliseconds timeout_;
};

}  // namespace sre::investigation
