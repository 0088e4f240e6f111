#pragma once
// Log line text: the context a template renders with, the normal INFO/DEBUG lines of each
// service, deployment and cascade lines. Pure: randomness comes from the caller's stream.
#include <functional>
#include <initializer_list>
#include <random>
#include <string>
#include <vector>

#include "shared/enums.h"
#include "shared/services.h"
#include "simulator/noise.h"

namespace sre::sim {

// What a log template may look at. References are valid only during the render call.
struct LogContext {
  std::mt19937_64& rng;
  const ServiceInfo& service;
  const MetricValues& values;    // this tick's published values for `service`
  double intensity = 0;          // the scenario's current intensity (0..1), 0 for normal lines
  std::string version;           // the service's current version (or the scenario deployment's)
  std::string previous_version;  // the version before it

  int64_t Int(int64_t lo, int64_t hi) const;
  std::string Hex(size_t digits) const;
  std::string Pick(std::initializer_list<const char*> options) const;
  // "ord-4820193" style business ids.
  std::string Id(const char* prefix) const;
  double Value(Metric m) const { return values[m]; }
  int64_t Pool() const { return service.db_pool_size; }
  // Around a fraction of the current p99 (a plausible single-request latency).
  int64_t LatencyMs(double fraction_lo, double fraction_hi) const;
};

using LogTemplate = std::function<std::string(const LogContext&)>;

struct LogRule {
  LogLevel level = LogLevel::INFO;
  LogTemplate render;
  double min_intensity = 0;  // only once the scenario is at least this intense
};

// The INFO/DEBUG lines a service writes in normal operation (a generic set for services the
// simulator has no specific lines for).
const std::vector<LogRule>& NormalLogs(const std::string& service);

// The line a service writes when a deployment finishes rolling out.
std::string DeploymentLogLine(const std::string& service, const std::string& version,
                              const std::string& previous_version, ChangeType change_type);

// A caller's ERROR line when `callee` fails or times out ("upstream payment-service returned
// 503 ..." or "timeout calling payment-service after ... ms").
std::string CascadeErrorLine(const LogContext& ctx, const std::string& callee, bool timeout);
// A caller's WARN line when `callee` is slow but the failure does not cascade.
std::string SlowCalleeWarnLine(const LogContext& ctx, const std::string& callee,
                               int64_t callee_p99_ms);

// A random lower-case hex string.
std::string RandomHex(std::mt19937_64& rng, size_t digits);

}  // namespace sre::sim
