#pragma once
// Which series become raw.metrics, and under which name (infra/ingest/mapping.json, or
// $INGEST_MAPPING). A series no rule matches is counted and dropped, never forwarded blindly: one
// exporter's thousands of series would otherwise each become a baseline in detection.
//
//   {
//     "service_labels": ["service", "job"],   // optional; the first present, non-empty one names
//                                             // the service (default: service, job)
//     "rules": [                              // required; the first rule that matches wins
//       {"metric": "sim_metric_value", "name_from_label": "metric"},
//       {"metric": "process_cpu_seconds_total", "rename": "cpu_percent", "counter": true,
//        "scale": 100, "unit": "%"},
//       {"metric": "db_client_connections_usage", "match": {"state": "used"},
//        "rename": "db_connections"},
//       {"metric": "some_custom_gauge"}
//     ],
//     "drop_labels": ["instance", "pod"]      // optional; not copied into raw.metrics labels
//   }
//
// A rule: `metric` (required) is the series' name (`__name__`; an OTLP metric's name, dots
// included); `match` equality matchers on further labels; the output name is `rename`, else the
// value of the label `name_from_label`, else `metric` itself; `counter`: the series is cumulative
// and what is forwarded is its per-second rate; `scale` multiplies the forwarded value (default 1);
// `unit` goes into the labels (default: shared/units.h DefaultUnit of the output name).
// Keys starting with "_" are comments ("_doc") and ignored at every level; any other unknown key
// is an error, so that a typo fails at start-up instead of silently dropping a metric.
#include <cstddef>
#include <cstdint>
#include <list>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "shared/json_codec.h"
#include "shared/messages.h"
#include "shared/status.h"

namespace sre::ingest {

struct MappingRule {
  std::string metric;
  Labels match;
  std::optional<std::string> rename, name_from_label;
  bool counter = false;
  double scale = 1;
  std::string unit;  // normalised (shared/units.h NormalizeUnit); "" when the rule names none
};

struct IngestMapping {
  std::vector<std::string> service_labels = {"service", "job"};
  std::vector<MappingRule> rules;
  std::vector<std::string> drop_labels;
};

// Status::Invalid naming the JSON path of the first bad field ("rules[3].rename: ...").
Expected<IngestMapping> ParseMapping(const Json& j);
// Reads and parses the file; Status::Invalid prefixed with the path when it cannot be read or
// parsed.
Expected<IngestMapping> LoadMapping(const std::string& path);
// infra/ingest/mapping.json relative to the working directory when it exists there, else in the
// source tree this binary was built from.
std::string DefaultMappingPath();

// A valid raw.metrics name for ingest: [a-zA-Z_:][a-zA-Z0-9_:]*, at most 128 bytes.
bool IsValidMetricName(std::string_view name);

enum class DropReason {
  kNoRule,              // no rule matches the series
  kNoService,           // none of service_labels is present (or the value is over 128 bytes)
  kNotFinite,           // NaN (e.g. Prometheus' staleness marker) or ±inf, before or after scaling
  kCounterFirstSample,  // a counter's first sample (or first after eviction): no rate yet
  kCounterReset,        // a counter went down: restarted; the rate restarts from this sample
  kStale,               // a counter sample not newer than the last one of its series
  kBadName,             // the output name is not a valid metric name (from name_from_label)
  kBadTimestamp,        // outside the event-time range of raw.metrics (ARCHITECTURE §3)
};
// snake_case, used as a Prometheus label value: "no_rule", "counter_reset", ...
const char* ToString(DropReason reason);
inline constexpr DropReason kAllDropReasons[] = {
    DropReason::kNoRule,       DropReason::kNoService,
    DropReason::kNotFinite,    DropReason::kCounterFirstSample,
    DropReason::kCounterReset, DropReason::kStale,
    DropReason::kBadName,      DropReason::kBadTimestamp};

// One sample ready for raw.metrics. `labels`: the series' labels minus __name__, the service label,
// the name_from_label label and drop_labels; plus "source" and "unit" when known.
struct Mapped {
  std::string service, metric;
  double value = 0;
  int64_t ts_ms = 0;
  Labels labels;
};

// Applies an IngestMapping sample by sample. Stateful only for counters: per series (its sorted
// labels and the source) it keeps the last (timestamp, value) to compute a per-second rate × scale.
// At most `max_series` counter series are tracked; the least recently seen is forgotten first (its
// next sample is a kCounterFirstSample again). Thread-safe: HTTP handlers share one mapper.
class SeriesMapper {
 public:
  explicit SeriesMapper(IngestMapping mapping, size_t max_series = 100000);

  // One call per sample. `labels` include __name__; `source` ("remote_write", "otlp") becomes the
  // "source" label and separates the counter state of the same series arriving two ways.
  std::variant<Mapped, DropReason> Map(const Labels& labels, int64_t ts_ms, double value,
                                       std::string_view source);

  // The first rule matching `labels` (with __name__), or nullptr. Rules never change, so the
  // pointer stays valid as long as the mapper.
  const MappingRule* Match(const Labels& labels) const;

  const IngestMapping& mapping() const { return mapping_; }
  // Counter series currently tracked.
  size_t tracked_series() const;

 private:
  struct CounterState {
    int64_t ts_ms;
    double value;
    std::list<std::string>::iterator lru;
  };
  std::variant<double, DropReason> CounterRate(const Labels& labels, std::string_view source,
                                               int64_t ts_ms, double value, double scale);

  const IngestMapping mapping_;
  const size_t max_series_;
  std::unordered_map<std::string, std::vector<size_t>> rules_by_metric_;  // indexes into rules
  mutable std::mutex mu_;
  std::list<std::string> lru_;  // most recently seen first
  std::unordered_map<std::string, CounterState> counters_;
};

// The raw.metrics payload: event_id = UuidFromName("ingest/<service>/<metric>/<ts_ms>"),
// timestamp = ts_ms.
RawMetric ToRawMetric(const Mapped& m);

}  // namespace sre::ingest
