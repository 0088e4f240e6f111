#include "agents/ingest/otlp.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>
#include <optional>
#include <stdexcept>

#include "shared/ids.h"
#include "shared/text.h"

namespace sre::ingest {
namespace {

// Field names, from opentelemetry-proto (collector/*/v1/*_service.proto, logs/v1/logs.proto,
// metrics/v1/metrics.proto, common/v1/common.proto) in their JSON (lowerCamelCase) spelling:
//   ExportLogsServiceRequest { resourceLogs } ResourceLogs { resource, scopeLogs }
//   ScopeLogs { scope, logRecords } LogRecord { timeUnixNano (fixed64), observedTimeUnixNano,
//     severityNumber (enum), severityText, body (AnyValue), attributes, traceId (hex), spanId }
//   ExportMetricsServiceRequest { resourceMetrics } ResourceMetrics { resource, scopeMetrics }
//   ScopeMetrics { scope, metrics } Metric { name, unit, oneof gauge | sum | histogram |
//     exponentialHistogram | summary } Gauge { dataPoints } Sum { dataPoints,
//     aggregationTemporality (1 delta, 2 cumulative), isMonotonic }
//   NumberDataPoint { attributes, startTimeUnixNano, timeUnixNano, asDouble | asInt (sfixed64),
//     flags (bit 0: no recorded value) }
//   Resource { attributes } KeyValue { key, value } AnyValue { stringValue | boolValue | intValue |
//     doubleValue | arrayValue { values } | kvlistValue { values } | bytesValue }
constexpr const char* kServiceNameKey = "service.name";
constexpr const char* kSource = "otlp";
constexpr int64_t kDeltaTemporality = 1;
constexpr uint64_t kNoRecordedValueFlag = 1;
constexpr int kMaxAnyValueDepth = 16;  // each level is three JSON levels; kMaxJsonDepth is 64

class OtlpError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

[[noreturn]] void Fail(const std::string& path, const std::string& what) {
  throw OtlpError(path + ": " + what);
}

std::string At(const std::string& path, const char* key) {
  return path.empty() ? key : path + "." + key;
}
std::string At(const std::string& path, size_t i) { return path + "[" + std::to_string(i) + "]"; }

// The member `key` of an object, or nullptr when it is absent or null (proto3 JSON: the default).
const Json* Member(const Json& obj, const char* key) {
  auto it = obj.find(key);
  return it == obj.end() || it->is_null() ? nullptr : &*it;
}

void RequireObject(const Json& j, const std::string& path) {
  if (!j.is_object()) Fail(path, "expected an object, got " + codec::TypeName(j));
}

// The array `key` of `obj` (empty when absent).
const Json& ArrayMember(const Json& obj, const char* key, const std::string& path) {
  static const Json kEmpty = Json::array();
  const Json* a = Member(obj, key);
  if (!a) return kEmpty;
  if (!a->is_array()) Fail(At(path, key), "expected an array, got " + codec::TypeName(*a));
  return *a;
}

std::string ReadString(const Json& j, const std::string& path) {
  if (!j.is_string()) Fail(path, "expected a string, got " + codec::TypeName(j));
  std::string s = j.get<std::string>();
  codec::CleanString(s);
  return s;
}

// 64-bit integers arrive as decimal strings or as numbers (proto3 JSON mapping).
uint64_t ReadUint64(const Json& j, const std::string& path) {
  if (j.is_number_unsigned()) return j.get<uint64_t>();
  if (j.is_number_integer()) {
    if (j.get<int64_t>() >= 0) return static_cast<uint64_t>(j.get<int64_t>());
  } else if (j.is_number_float()) {
    const double d = j.get<double>();
    if (d >= 0 && d < 18446744073709551616.0 && std::floor(d) == d) return static_cast<uint64_t>(d);
  } else if (j.is_string()) {
    const auto& s = j.get_ref<const std::string&>();
    uint64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (!s.empty() && ec == std::errc() && end == s.data() + s.size()) return v;
  }
  Fail(path, "not an integer");
}

int64_t ReadInt64(const Json& j, const std::string& path) {
  if (j.is_number_integer() && !j.is_number_unsigned()) return j.get<int64_t>();
  if (j.is_number_unsigned()) {
    if (j.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      return static_cast<int64_t>(j.get<uint64_t>());
  } else if (j.is_number_float()) {
    const double d = j.get<double>();
    if (d >= -9223372036854775808.0 && d < 9223372036854775808.0 && std::floor(d) == d)
      return static_cast<int64_t>(d);
  } else if (j.is_string()) {
    const auto& s = j.get_ref<const std::string&>();
    int64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (!s.empty() && ec == std::errc() && end == s.data() + s.size()) return v;
  }
  Fail(path, "not an integer");
}

// A double: a number, or a string holding one or "NaN", "Infinity", "-Infinity" (JSON has no
// literal for them).
double ReadDouble(const Json& j, const std::string& path) {
  if (j.is_number()) return j.get<double>();
  if (j.is_string()) {
    const auto& s = j.get_ref<const std::string&>();
    if (s == "NaN") return std::numeric_limits<double>::quiet_NaN();
    if (s == "Infinity") return std::numeric_limits<double>::infinity();
    if (s == "-Infinity") return -std::numeric_limits<double>::infinity();
    double v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (!s.empty() && ec == std::errc() && end == s.data() + s.size()) return v;
  }
  Fail(path, "not a number");
}

bool ReadBool(const Json& j, const std::string& path) {
  if (!j.is_boolean()) Fail(path, "expected true or false, got " + codec::TypeName(j));
  return j.get<bool>();
}

// An AnyValue as plain JSON: kvlistValue becomes an object, arrayValue an array, intValue a number.
Json AnyToJson(const Json& v, const std::string& path, int depth) {
  RequireObject(v, path);
  if (depth > kMaxAnyValueDepth)
    Fail(path, "nested deeper than " + std::to_string(kMaxAnyValueDepth) + " levels");
  if (const Json* s = Member(v, "stringValue")) return ReadString(*s, At(path, "stringValue"));
  if (const Json* b = Member(v, "boolValue")) return ReadBool(*b, At(path, "boolValue"));
  if (const Json* i = Member(v, "intValue")) return ReadInt64(*i, At(path, "intValue"));
  if (const Json* d = Member(v, "doubleValue")) return ReadDouble(*d, At(path, "doubleValue"));
  if (const Json* b = Member(v, "bytesValue"))
    return ReadString(*b, At(path, "bytesValue"));  // base64
  if (const Json* a = Member(v, "arrayValue")) {
    const std::string p = At(path, "arrayValue");
    RequireObject(*a, p);
    Json out = Json::array();
    const Json& values = ArrayMember(*a, "values", p);
    for (size_t i = 0; i < values.size(); ++i)
      out.push_back(AnyToJson(values[i], At(At(p, "values"), i), depth + 1));
    return out;
  }
  if (const Json* kv = Member(v, "kvlistValue")) {
    const std::string p = At(path, "kvlistValue");
    RequireObject(*kv, p);
    Json out = Json::object();
    const Json& values = ArrayMember(*kv, "values", p);
    for (size_t i = 0; i < values.size(); ++i) {
      const std::string ep = At(At(p, "values"), i);
      RequireObject(values[i], ep);
      const Json* key = Member(values[i], "key");
      const Json* value = Member(values[i], "value");
      out[key ? ReadString(*key, At(ep, "key")) : ""] =
          value ? AnyToJson(*value, At(ep, "value"), depth + 1) : Json();
    }
    return out;
  }
  return nullptr;  // an empty AnyValue
}

// The text of an AnyValue: a string as it is, anything else as compact JSON; "" when empty.
std::string AnyToString(const Json& v, const std::string& path) {
  Json j = AnyToJson(v, path, 0);
  if (j.is_string()) return j.get<std::string>();
  if (j.is_null()) return "";
  return Dump(j);
}

// KeyValue[] as labels: the first kMaxOtlpLabels keys, values cut on a character boundary.
void AddAttributes(const Json& owner, const std::string& path, Labels& labels) {
  const Json& attrs = ArrayMember(owner, "attributes", path);
  for (size_t i = 0, n = std::min(attrs.size(), kMaxOtlpLabels); i < n; ++i) {
    const std::string p = At(At(path, "attributes"), i);
    RequireObject(attrs[i], p);
    const Json* key = Member(attrs[i], "key");
    if (!key) continue;
    std::string k =
        TruncateUtf8(ReadString(*key, At(p, "key")), kMaxLabelValueBytes, /*ellipsis=*/false);
    const Json* value = Member(attrs[i], "value");
    std::string v = value ? AnyToString(*value, At(p, "value")) : "";
    labels.emplace(std::move(k), TruncateUtf8(v, kMaxLabelValueBytes));
  }
}

// The resource's service.name ("" when absent).
std::string ServiceName(const Json& resource_owner, const std::string& path) {
  const Json* resource = Member(resource_owner, "resource");
  if (!resource) return "";
  const std::string rp = At(path, "resource");
  RequireObject(*resource, rp);
  const Json& attrs = ArrayMember(*resource, "attributes", rp);
  for (size_t i = 0; i < attrs.size(); ++i) {
    const std::string p = At(At(rp, "attributes"), i);
    RequireObject(attrs[i], p);
    const Json* key = Member(attrs[i], "key");
    if (!key || ReadString(*key, At(p, "key")) != kServiceNameKey) continue;
    const Json* value = Member(attrs[i], "value");
    return value ? AnyToString(*value, At(p, "value")) : "";
  }
  return "";
}

LogLevel LevelFromText(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  auto starts = [&](const char* p) { return text.rfind(p, 0) == 0; };
  if (starts("trace") || starts("debug")) return LogLevel::DEBUG;
  if (starts("warn")) return LogLevel::WARN;
  if (starts("err")) return LogLevel::ERROR;
  if (starts("fatal") || starts("crit") || starts("alert") || starts("emerg") || starts("panic"))
    return LogLevel::FATAL;
  return LogLevel::INFO;  // info, information, notice, and anything unrecognised
}

// OTLP's SeverityNumber ranges: TRACE 1-4 and DEBUG 5-8 (both DEBUG here), INFO 9-12, WARN 13-16,
// ERROR 17-20, FATAL 21-24.
std::optional<LogLevel> LevelFromNumber(int64_t n) {
  if (n < 1 || n > 24) return std::nullopt;
  if (n <= 8) return LogLevel::DEBUG;
  if (n <= 12) return LogLevel::INFO;
  if (n <= 16) return LogLevel::WARN;
  if (n <= 20) return LogLevel::ERROR;
  return LogLevel::FATAL;
}

std::string ReadTraceId(const Json& j, const std::string& path) {
  std::string id = ReadString(j, path);
  if (id.size() > 64 ||
      !std::all_of(id.begin(), id.end(), [](unsigned char c) { return std::isxdigit(c); }))
    Fail(path, "not a hex trace id");
  std::transform(id.begin(), id.end(), id.begin(), [](unsigned char c) { return std::tolower(c); });
  // All zeros is OTLP's "no trace".
  if (std::all_of(id.begin(), id.end(), [](char c) { return c == '0'; })) return "";
  return id;
}

// Length-prefixed, so that no choice of field contents makes two records share a name.
std::string LogIdentity(const std::string& service, uint64_t time_ns, const std::string& trace_id,
                        const std::string& message) {
  std::string name = "otlp-log";
  for (const std::string& part : {service, std::to_string(time_ns), trace_id, message})
    name += "/" + std::to_string(part.size()) + ":" + part;
  return name;
}

void DecodeLogRecord(const Json& rec, const std::string& path, const std::string& service,
                     OtlpLogsResult& out) {
  RequireObject(rec, path);
  uint64_t time_ns = 0;
  if (const Json* t = Member(rec, "timeUnixNano"))
    time_ns = ReadUint64(*t, At(path, "timeUnixNano"));
  if (time_ns == 0)
    if (const Json* t = Member(rec, "observedTimeUnixNano"))
      time_ns = ReadUint64(*t, At(path, "observedTimeUnixNano"));

  std::optional<LogLevel> level;
  if (const Json* n = Member(rec, "severityNumber"))
    level = LevelFromNumber(ReadInt64(*n, At(path, "severityNumber")));
  if (!level)
    if (const Json* t = Member(rec, "severityText"))
      level = LevelFromText(ReadString(*t, At(path, "severityText")));

  std::string message;
  if (const Json* b = Member(rec, "body")) message = AnyToString(*b, At(path, "body"));
  std::string trace_id;
  if (const Json* t = Member(rec, "traceId")) trace_id = ReadTraceId(*t, At(path, "traceId"));
  Labels labels;
  AddAttributes(rec, path, labels);

  // Structure is checked before any drop, so that a malformed record is reported even when it
  // would have been dropped.
  const char* drop = nullptr;
  const int64_t ts_ms = static_cast<int64_t>(time_ns / 1000000);
  if (service.empty())
    drop = "no_service";
  else if (time_ns == 0)
    drop = "no_timestamp";
  else if (ts_ms < kMinEventTimeMs || ts_ms >= kMaxEventTimeMs)
    drop = "bad_timestamp";
  else if (message.empty())
    drop = "empty_body";
  if (drop) {
    ++out.dropped[drop];
    return;
  }

  RawLog log;
  log.message = TruncateUtf8(message, kMaxLogMessageBytes);
  log.event_id = UuidFromName(LogIdentity(service, time_ns, trace_id, log.message));
  log.timestamp = ts_ms;
  log.source_service = service;
  log.level = level.value_or(LogLevel::INFO);
  log.trace_id = std::move(trace_id);
  log.labels = std::move(labels);
  log.labels["source"] = kSource;
  out.logs.push_back(std::move(log));
}

// A service name raw.logs accepts: non-empty and at most 128 bytes (ARCHITECTURE §3).
std::string UsableService(std::string service) { return service.size() > 128 ? "" : service; }

struct SumInfo {
  bool is_sum = false;
  int64_t temporality = 0;
};

void DecodeDataPoint(const Json& p, const std::string& path, const std::string& name,
                     const std::string& service, const SumInfo& sum, SeriesMapper& mapper,
                     OtlpMetricsResult& out) {
  RequireObject(p, path);
  uint64_t flags = 0;
  if (const Json* f = Member(p, "flags")) flags = ReadUint64(*f, At(path, "flags"));
  std::optional<double> value;
  if (const Json* d = Member(p, "asDouble"))
    value = ReadDouble(*d, At(path, "asDouble"));
  else if (const Json* i = Member(p, "asInt"))
    value = static_cast<double>(ReadInt64(*i, At(path, "asInt")));
  uint64_t time_ns = 0;
  if (const Json* t = Member(p, "timeUnixNano")) time_ns = ReadUint64(*t, At(path, "timeUnixNano"));
  Labels labels;
  AddAttributes(p, path, labels);
  labels["__name__"] = name;
  if (!service.empty()) labels["service"] = service;

  if (flags & kNoRecordedValueFlag) {
    ++out.dropped["no_recorded_value"];
    return;
  }
  if (!value) {
    ++out.dropped["no_value"];
    return;
  }
  if (time_ns == 0) {
    ++out.dropped["no_timestamp"];
    return;
  }
  if (sum.is_sum && sum.temporality == kDeltaTemporality) {
    // A counter rule computes a rate from successive cumulative values; deltas would read as
    // resets.
    const MappingRule* rule = mapper.Match(labels);
    if (rule && rule->counter) {
      ++out.dropped["delta_temporality"];
      return;
    }
  }
  auto mapped = mapper.Map(labels, static_cast<int64_t>(time_ns / 1000000), *value, kSource);
  if (auto* reason = std::get_if<DropReason>(&mapped)) {
    ++out.dropped[ToString(*reason)];
    return;
  }
  out.samples.push_back(std::move(std::get<Mapped>(mapped)));
}

void DecodeMetric(const Json& m, const std::string& path, const std::string& service,
                  SeriesMapper& mapper, OtlpMetricsResult& out) {
  RequireObject(m, path);
  std::string name;
  if (const Json* n = Member(m, "name")) name = ReadString(*n, At(path, "name"));
  const char* kind = nullptr;
  SumInfo sum;
  const Json* data = nullptr;
  if ((data = Member(m, "gauge"))) {
    kind = "gauge";
  } else if ((data = Member(m, "sum"))) {
    kind = "sum";
    sum.is_sum = true;
  }
  if (!data) {
    size_t points = 1;
    for (const char* other : {"histogram", "exponentialHistogram", "summary"}) {
      const Json* d = Member(m, other);
      if (d && d->is_object())
        if (const Json* dp = Member(*d, "dataPoints"); dp && dp->is_array())
          points = std::max<size_t>(dp->size(), 1);
    }
    out.dropped["unsupported_type"] += points;
    return;
  }
  const std::string dpath = At(path, kind);
  RequireObject(*data, dpath);
  if (sum.is_sum)
    if (const Json* t = Member(*data, "aggregationTemporality"))
      sum.temporality = ReadInt64(*t, At(dpath, "aggregationTemporality"));
  const Json& points = ArrayMember(*data, "dataPoints", dpath);
  for (size_t i = 0; i < points.size(); ++i)
    DecodeDataPoint(points[i], At(At(dpath, "dataPoints"), i), name, service, sum, mapper, out);
}

}  // namespace

Expected<OtlpLogsResult> DecodeOtlpLogs(const Json& body) {
  OtlpLogsResult out;
  try {
    if (!body.is_object()) Fail("request", "expected a JSON object, got " + codec::TypeName(body));
    const Json& resources = ArrayMember(body, "resourceLogs", "");
    for (size_t r = 0; r < resources.size(); ++r) {
      const std::string rpath = At("resourceLogs", r);
      RequireObject(resources[r], rpath);
      const std::string service = UsableService(ServiceName(resources[r], rpath));
      const Json& scopes = ArrayMember(resources[r], "scopeLogs", rpath);
      for (size_t s = 0; s < scopes.size(); ++s) {
        const std::string spath = At(At(rpath, "scopeLogs"), s);
        RequireObject(scopes[s], spath);
        const Json& records = ArrayMember(scopes[s], "logRecords", spath);
        for (size_t i = 0; i < records.size(); ++i)
          DecodeLogRecord(records[i], At(At(spath, "logRecords"), i), service, out);
      }
    }
  } catch (const OtlpError& e) {
    return Status::Invalid(e.what());
  } catch (const Json::exception& e) {
    return Status::Invalid(std::string("otlp logs: ") + e.what());
  }
  return out;
}

Expected<OtlpMetricsResult> DecodeOtlpMetrics(const Json& body, SeriesMapper& mapper) {
  OtlpMetricsResult out;
  try {
    if (!body.is_object()) Fail("request", "expected a JSON object, got " + codec::TypeName(body));
    const Json& resources = ArrayMember(body, "resourceMetrics", "");
    for (size_t r = 0; r < resources.size(); ++r) {
      const std::string rpath = At("resourceMetrics", r);
      RequireObject(resources[r], rpath);
      const std::string service = ServiceName(resources[r], rpath);
      const Json& scopes = ArrayMember(resources[r], "scopeMetrics", rpath);
      for (size_t s = 0; s < scopes.size(); ++s) {
        const std::string spath = At(At(rpath, "scopeMetrics"), s);
        RequireObject(scopes[s], spath);
        const Json& metrics = ArrayMember(scopes[s], "metrics", spath);
        for (size_t i = 0; i < metrics.size(); ++i)
          DecodeMetric(metrics[i], At(At(spath, "metrics"), i), service, mapper, out);
      }
    }
  } catch (const OtlpError& e) {
    return Status::Invalid(e.what());
  } catch (const Json::exception& e) {
    return Status::Invalid(std::string("otlp metrics: ") + e.what());
  }
  return out;
}

}  // namespace sre::ingest
