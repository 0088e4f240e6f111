#pragma once
// Logging: spdlog underneath, one logger per component ("detection", "kafka", ...).
//   LOG_FORMAT=text  2026-11-23T18:02:03.123Z INFO  [detection] anomaly detected incident_id=...
//   LOG_FORMAT=json
//   {"ts":"...","level":"info","logger":"detection","msg":"...","incident_id":"..."}
// Structured fields come from LogScope (thread-local, nests) and are attached to every line the
// thread logs while the scope lives — the consumer runner opens one per message, handlers add
// incident_id.
#include <spdlog/spdlog.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace sre::log {

enum class Format { kText, kJson };

// Configures every logger created before or after. `level`: trace, debug, info, warn, error.
// Returns false if `level` is unknown (caller reports it as a config error).
bool Init(Format format, const std::string& level);

// The logger for a component; created on first use, shares the sink and format.
std::shared_ptr<spdlog::logger> Get(const std::string& component);

using Fields = std::vector<std::pair<std::string, std::string>>;

// Adds fields to every log line of this thread until destroyed.
class LogScope {
 public:
  explicit LogScope(Fields fields);
  LogScope(std::string key, std::string value)
      : LogScope(Fields{{std::move(key), std::move(value)}}) {}
  ~LogScope();
  LogScope(const LogScope&) = delete;
  LogScope& operator=(const LogScope&) = delete;

 private:
  size_t count_;
};

// For tests: the fields currently in scope on this thread.
const Fields& CurrentFields();

// Renders one record; exposed for tests.
std::string FormatRecord(Format format, const std::string& ts, const std::string& level,
                         const std::string& logger, const std::string& msg, const Fields& fields);

}  // namespace sre::log
