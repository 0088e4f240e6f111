#pragma once
// The RCA model's tools (ARCHITECTURE §4, investigation) behind one small interface, so the tool
// loop, the deterministic fallback and the tests all run the same code.
//
//   StoreTools      search_similar_incidents, get_runbooks, get_service_architecture,
//                   get_metric_history, get_recent_logs, get_recent_deployments (knowledge base,
//                   catalogue, Redis).
//   TelemetryTools  query_prometheus and query_logs (issue 17), when a backend is configured.
//
// Tool results are JSON for the model. Outside text in them (log lines, label sets, knowledge
// documents, a backend's error message) is inside <untrusted_…> delimiters, and every result is
// bounded (kMaxResultBytes) so the loop's own cut never splits a delimited block.
#include <optional>
#include <string>
#include <vector>

#include "agents/investigation/rca.h"
#include "agents/investigation/telemetry.h"
#include "shared/json_codec.h"
#include "shared/llm/client.h"
#include "shared/messages.h"
#include "shared/postgres.h"
#include "shared/redis.h"
#include "shared/services.h"
#include "shared/status.h"

namespace sre::investigation {

inline constexpr size_t kMaxResultBytes = 12000;

struct ToolSpec {
  std::string name;
  std::string description;
  Json input_schema = Json::object();  // "type": "object"
};

class RcaTools {
 public:
  virtual ~RcaTools() = default;
  // The tools, in the order the model sees them.
  virtual std::vector<ToolSpec> Specs() const = 0;
  // Runs tool `name`. The input is checked against its spec's schema first (kInvalid naming the
  // problem, as for an unknown name); an error's message is shown to the model. Never throws.
  virtual Expected<Json> Call(const std::string& name, const Json& input) = 0;
};

// Several toolboxes as one: the specs in order; a call goes to the first part with the name.
// Does not own the parts.
class ToolChain final : public RcaTools {
 public:
  explicit ToolChain(std::vector<RcaTools*> parts) : parts_(std::move(parts)) {}
  std::vector<ToolSpec> Specs() const override;
  Expected<Json> Call(const std::string& name, const Json& input) override;

 private:
  std::vector<RcaTools*> parts_;
};

// The tools for the LLM tool loop: each spec with a handler calling `tools`, then `terminal`
// (no handler). `tools` must outlive the loop.
std::vector<llm::Tool> ToLlmTools(RcaTools& tools, const ToolSpec& terminal);

// The knowledge base (inside `tx`), the catalogue and Redis; times relative to `detection_ms`.
// `services` is the service enum of the service-taking tools (ServiceChoices). Not thread-safe
// (one transaction).
class StoreTools final : public RcaTools {
 public:
  StoreTools(RedisClient& redis, pqxx::work& tx, const ServiceCatalog& catalog,
             int64_t detection_ms, std::vector<std::string> services);
  std::vector<ToolSpec> Specs() const override;
  Expected<Json> Call(const std::string& name, const Json& input) override;

 private:
  RedisClient& redis_;
  pqxx::work& tx_;
  const ServiceCatalog& catalog_;
  int64_t detection_ms_;
  std::vector<std::string> services_;
};

// Error lines in a service's Redis list (JSON entries {"ts", "message", …}) logged from 2 min
// before to 1 min after `detection_ms`, in list order, at most `max`.
std::vector<std::string> ErrorLines(const RedisReply& reply, size_t max, int64_t detection_ms);
// "ts|value|..." members of a series history → (ts, value), in the order given.
std::vector<std::pair<int64_t, double>> SeriesSamples(const RedisReply& reply);

// query_prometheus / query_logs over `prometheus` / `loki` (either may be null: that tool is
// absent). Windows are relative to `detection_ms` (event time):
//   query_prometheus {query (1–2000 chars), minutes_before 1–1440 (30), minutes_after 0–60 (5),
//                     step_seconds 1–3600 (15)} → {result_type, start_ms, end_ms, step_seconds,
//                     series_total, series: [{labels (untrusted), points: [[ms, value]…]}],
//                     truncated, warnings?}; at most kMaxSeries series, the step re-chosen by
//                     StepFor() so a series has at most 100 points; values are numbers, or the
//                     strings "NaN", "+Inf", "-Inf".
//   query_logs       {query (1–2000 chars), minutes_before, minutes_after as above, limit 1–100
//                     (100)} → {result_type "streams", lines_total, lines_shown, truncated,
//                     log_lines (untrusted: "<UTC time> {labels} line" newest first)}; a metric
//                     LogQL query answers like query_prometheus.
// A backend that is down, slow or rejects the query is an error result (the message untrusted).
// Thread-safe when the backends are.
class TelemetryTools final : public RcaTools {
 public:
  static constexpr size_t kMaxSeries = 10;
  static constexpr int kMaxLogLines = 100;

  TelemetryTools(TelemetryQuery* prometheus, TelemetryQuery* loki, int64_t detection_ms);
  std::vector<ToolSpec> Specs() const override;
  Expected<Json> Call(const std::string& name, const Json& input) override;
  // The backend's answer behind Call, for the deterministic fallback. Same input checks.
  Expected<QueryResult> Run(const std::string& name, const Json& input);

  bool has_prometheus() const { return prometheus_ != nullptr; }
  bool has_loki() const { return loki_ != nullptr; }

 private:
  Expected<RangeQuery> Window(const std::string& name, const Json& input) const;

  TelemetryQuery* prometheus_;
  TelemetryQuery* loki_;
  int64_t detection_ms_;
};

// What the deterministic fallback learned from the operator's telemetry.
struct FallbackTelemetry {
  std::vector<double> alert_series;  // the alert expression's strongest series, oldest first
  std::map<std::string, std::vector<std::string>>
      error_lines;                    // Loki lines by service, newest first
  std::vector<ToolCallRecord> calls;  // each query, recorded as a model's tool call is
  Json queries = Json::array();       // per query: {tool, input, ok, series|lines, error?}
};

// For the fallback: with Prometheus and an alert with an expression, its expression over the
// tool's default window (the series with the highest peak); with Loki, each of `services`'
// ERROR/FATAL/exception lines from 2 min before to 1 min after detection
// ({<label>="<svc>"} |~ "(?i)error|fatal|exception", at most 60 lines). A failing backend is
// recorded (is_error) and skipped.
FallbackTelemetry GatherFallbackTelemetry(TelemetryTools& tools,
                                          const std::optional<AlertInfo>& alert,
                                          const std::vector<std::string>& services,
                                          const std::string& loki_label);

}  // namespace sre::investigation
