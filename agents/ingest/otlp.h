#pragma once
// OTLP/HTTP with the JSON encoding (opentelemetry-proto docs/specification.md, "JSON Protobuf
// Encoding"): the proto3 JSON mapping with lowerCamelCase keys, 64-bit integers as decimal strings
// or numbers, traceId/spanId as hex, enums as integers; unknown keys are ignored. The caller parses
// the body (and bounds its size and nesting) and hands over the Json.
//
// Pure functions; DecodeOtlpMetrics shares the SeriesMapper's counter state (thread-safe).
#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "agents/ingest/mapping.h"
#include "shared/json_codec.h"
#include "shared/messages.h"
#include "shared/status.h"

namespace sre::ingest {

// Attributes copied into labels: at most this many per record or point (the first ones), values
// cut on a character boundary at kMaxLabelValueBytes.
inline constexpr size_t kMaxOtlpLabels = 32;
inline constexpr size_t kMaxLabelValueBytes = 256;
inline constexpr size_t kMaxLogMessageBytes = 16384;  // raw.logs message

struct OtlpLogsResult {
  std::vector<RawLog> logs;
  std::map<std::string, size_t> dropped;  // reason -> log records
};

// An ExportLogsServiceRequest. Per record: the service is the resource's service.name; the time
// is timeUnixNano, else observedTimeUnixNano; the level comes from severityNumber (1-8 DEBUG, 9-12
// INFO, 13-16 WARN, 17-20 ERROR, 21-24 FATAL), else from severityText, else INFO; the message is
// the body's stringValue, else the body as JSON, cut at kMaxLogMessageBytes; traceId is kept
// (lower case); attributes become labels, plus "source": "otlp". event_id is derived from
// (service, time, traceId, body), so a re-sent batch publishes the same ids.
// Dropped records, by reason: no_service, no_timestamp, bad_timestamp (outside the event-time
// range of ARCHITECTURE §3), empty_body. Status::Invalid naming the path for a structural error
// ("resourceLogs[0].scopeLogs[1].logRecords[2].timeUnixNano: not an integer").
Expected<OtlpLogsResult> DecodeOtlpLogs(const Json& body);

struct OtlpMetricsResult {
  std::vector<Mapped> samples;
  std::map<std::string, size_t> dropped;  // reason -> data points
};

// An ExportMetricsServiceRequest. Gauge and sum data points go through `mapper` with labels =
// point attributes + __name__ (the metric name) + "service" (the resource's service.name) and
// source "otlp". A sum matched by a counter rule must be cumulative (aggregationTemporality 2):
// a delta sum there is dropped as delta_temporality; a sum whose rule is not a counter is forwarded
// as it is. Dropped points, by reason: the mapper's (ToString(DropReason)), unsupported_type
// (histogram, exponentialHistogram, summary, or no data), no_value (neither asDouble nor asInt),
// no_recorded_value (flags bit 1, OTLP's staleness marker), delta_temporality, no_timestamp.
// Status::Invalid naming the path for a structural error.
Expected<OtlpMetricsResult> DecodeOtlpMetrics(const Json& body, SeriesMapper& mapper);

}  // namespace sre::ingest
