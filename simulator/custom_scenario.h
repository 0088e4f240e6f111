#pragma once
// Custom scenarios: the JSON a user POSTs to /api/scenarios, validated into a ScenarioDef.
//
//   {"name": "INVENTORY_SLOW_DISK", "service": "inventory-service", "duration_s": 240,
//    "metrics": [{"metric": "latency_p99_ms", "peak": 900, "shape": "exponential", "ramp_s": 90}],
//    "logs": [{"level": "ERROR", "message": "fsync on /var/lib/inventory took 2300 ms"}],
//    "deployment": null, "cascade": false,
//    "ground_truth": {"root_cause_service": "inventory-service",
//                     "root_cause_category": "INFRASTRUCTURE_FAILURE"}}
//
// Optional: description, shape (default sigmoid), ramp_s (default 40 % of the duration), logs,
// deployment (lead_s default 90, description), cascade (default false). Unknown fields are
// rejected so that a typo does not silently change the scenario.
//
// Text is decoded by the shared decoding, which cleans it like every edge of the pipeline: a NUL
// character (\u0000) becomes U+FFFD. The JSON itself must be valid (ill-formed UTF-8 in the body
// is refused here, where nothing is repaired before parsing).
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "shared/services.h"
#include "simulator/scenarios.h"

namespace sre::sim {

struct CustomScenarioResult {
  std::optional<ScenarioDef> scenario;
  std::string error;  // "field 'metrics[0].shape': unknown value 'cubic' (expected one of ...)"
  std::string field;  // "metrics[0].shape"; empty when the body as a whole is wrong
  bool ok() const { return scenario.has_value(); }
};

// Validates `body`. `reserved_names` (the built-in scenarios) may not be reused as names.
// A pure function that never throws, whatever the bytes: every problem (bad JSON, a body over
// kMaxCustomScenarioBytes, a wrong field, even an allocation failure) is an error result.
// Nesting depth needs no limit: nlohmann's parser and destructor are iterative, and nothing
// here recurses into a value deeper than the format's own three levels.
CustomScenarioResult ParseCustomScenario(std::string_view body, const ServiceCatalog& services,
                                         const std::vector<std::string>& reserved_names);

inline constexpr size_t kMaxCustomScenarioBytes = 64 * 1024;
inline constexpr size_t kMaxCustomLogs = 50;
// Bytes of UTF-8 (the codec counts bytes).
inline constexpr size_t kMaxLogMessageBytes = 1000;
inline constexpr size_t kMaxDescriptionBytes = 500;
inline constexpr size_t kMaxVersionBytes = 64;
inline constexpr double kMinCustomDurationS = 30, kMaxCustomDurationS = 3600;
inline constexpr double kMaxCustomLeadS = 600;
inline constexpr double kDefaultCustomLeadS = 90;
inline constexpr double kDefaultRampFraction = 0.4;

}  // namespace sre::sim
