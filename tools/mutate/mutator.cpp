#include "tools/mutate/mutator.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <functional>
#include <map>
#include <random>
#include <set>

#include "shared/ids.h"
#include "shared/messages.h"

namespace sre::mutate {
namespace {

using Rng = std::mt19937_64;

// Plain modulo and shifts rather than <random>'s distributions, whose output differs between
// standard libraries: a run must be reproducible from its seed anywhere.
size_t Pick(Rng& rng, size_t n) { return static_cast<size_t>(rng() % n); }
double Unit(Rng& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }
template <typename T, size_t N>
const T& OneOf(Rng& rng, const std::array<T, N>& items) {
  return items[Pick(rng, N)];
}
template <typename T>
const T& OneOf(Rng& rng, const std::vector<T>& items) {
  return items[Pick(rng, items.size())];
}

Rng RngFor(uint64_t seed, uint64_t n, uint32_t salt) {
  std::seed_seq seq{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32),
                    static_cast<uint32_t>(n), static_cast<uint32_t>(n >> 32), salt};
  return Rng(seq);
}

// ---- seeds -------------------------------------------------------------------------------------

template <typename E>
E AnyEnum(Rng& rng) {
  return static_cast<E>(Pick(rng, EnumCount<E>()));
}

std::string Service(Rng& rng) { return "mutant-svc-" + std::to_string(Pick(rng, kMutantServices)); }

template <typename T>
void Envelope(T& m, Rng& rng, int64_t base_time_ms) {
  m.event_id = UuidFromRng(rng);
  m.timestamp = base_time_ms + static_cast<int64_t>(Pick(rng, 3600000));
}

std::vector<std::string> Words(Rng& rng, size_t max) {
  static const std::array<std::string, 8> kWords = {
      "timeout talking to mutant-db",
      "retrying in 200 ms",
      "pool exhausted (100/100)",
      "NullPointerException at Mutant.apply(Mutant.java:42)",
      "GC pause 1.2 s",
      "upstream reset by peer",
      "caf\u00e9 \u4e2d\u6587 \U0001F600",
      "OOMKilled"};
  std::vector<std::string> out;
  for (size_t i = Pick(rng, max + 1); i > 0; --i) out.push_back(OneOf(rng, kWords));
  return out;
}

// One function per topic: a single function building every seed took GCC over a minute to
// compile with the sanitizers.

std::string SeedRawMetrics(Rng& rng, int64_t base, const std::string& incident, int64_t detected) {
  (void)incident;
  (void)detected;
  RawMetric m;
  Envelope(m, rng, base);
  m.source_service = Service(rng);
  m.metric_name =
      OneOf(rng, std::vector<std::string>(std::begin(metrics::kAll), std::end(metrics::kAll)));
  m.metric_value = std::round(Unit(rng) * 100000) / 100;
  m.labels = {{"region", "mutant-1"}, {"pod", m.source_service + "-0"}};
  return Encode(m);
}

std::string SeedRawLogs(Rng& rng, int64_t base, const std::string& incident, int64_t detected) {
  (void)incident;
  (void)detected;
  RawLog l;
  Envelope(l, rng, base);
  l.source_service = Service(rng);
  l.level = AnyEnum<LogLevel>(rng);
  static const std::array<std::string, 5> kLines = {
      "request served in 12 ms", "java.lang.NullPointerException at Mutant.apply(Mutant.java:42)",
      "HikariPool-1 - Connection is not available, request timed out after 30000ms",
      "java.lang.OutOfMemoryError: Java heap space", "caf\u00e9 \u4e2d\u6587 \U0001F600"};
  l.message = OneOf(rng, kLines);
  l.trace_id = UuidFromRng(rng).substr(0, 16);
  l.labels = {{"thread", "worker-" + std::to_string(Pick(rng, 16))}};
  return Encode(l);
}

std::string SeedRawDeployments(Rng& rng, int64_t base, const std::string& incident, int64_t detected) {
  (void)incident;
  (void)detected;
  RawDeployment d;
  Envelope(d, rng, base);
  d.source_service = Service(rng);
  d.version = "9." + std::to_string(Pick(rng, 50)) + ".0";
  d.previous_version = "9.0.0";
  d.change_type = AnyEnum<ChangeType>(rng);
  d.git_sha = UuidFromRng(rng).substr(0, 8);
  d.description = "mutant deployment";
  d.known_risks = Words(rng, 2);
  return Encode(d);
}

std::string SeedAnomaliesDetected(Rng& rng, int64_t base, const std::string& incident, int64_t detected) {
  AnomalyDetected a;
  Envelope(a, rng, base);
  a.incident_id = incident;
  a.anomaly_type = AnyEnum<AnomalyType>(rng);
  a.severity = AnyEnum<Severity>(rng);
  a.service = Service(rng);
  a.trigger_metric = "error_rate";
  a.observed_value = 45.5;
  a.baseline_mean = 0.5;
  a.baseline_std = 0.1;
  a.deviation_sigma = 450;
  a.anomaly_score = Unit(rng);
  if (Pick(rng, 2)) a.time_to_failure_s = 120;
  a.detection_time = detected;
  a.description = "mutant anomaly on " + a.service;
  a.evidence = Words(rng, 2);
  return Encode(a);
}

std::string SeedIncidentsOpened(Rng& rng, int64_t base, const std::string& incident, int64_t detected) {
  IncidentOpened o;
  Envelope(o, rng, base);
  o.incident_id = incident;
  o.anomaly_type = AnyEnum<AnomalyType>(rng);
  o.severity = AnyEnum<Severity>(rng);
  o.service = Service(rng);
  o.affected_services = {o.service};
  o.blast_radius = {{o.service}, "none: a mutant", "mutant-svc only"};
  o.correlation_signals = {{"CASCADE", Unit(rng), "mutant cascade", Words(rng, 1)}};
  if (Pick(rng, 2)) o.deployment_context = Json{{"version", "9.1.0"}, {"minutes_before", 6.5}};
  o.recent_metrics = {{"error_rate", {0.5, 0.6, 45.5}}};
  o.recent_errors = Words(rng, 2);
  if (Pick(rng, 2)) o.related_incident_id = UuidFromRng(rng);
  o.detection_time = detected;
  return Encode(o);
}

std::string SeedRcaCompleted(Rng& rng, int64_t base, const std::string& incident, int64_t detected) {
  (void)detected;
  RcaCompleted r;
  Envelope(r, rng, base);
  r.incident_id = incident;
  r.root_cause_service = Service(rng);
  r.root_cause_category = AnyEnum<RootCauseCategory>(rng);
  r.top_root_cause = "mutant root cause";
  r.top_confidence = Unit(rng);
  r.root_cause_candidates = {{1, "mutant hypothesis", r.root_cause_category, r.root_cause_service,
                              r.top_confidence, Words(rng, 2)}};
  r.similar_incidents = {{"INC-MUTANT", "a mutant incident", std::nullopt, 0.5}};
  r.method = AnyEnum<Method>(rng);
  r.tool_calls = {{"get_runbooks", Json{{"anomaly_type", "ERROR_RATE_SPIKE"}}, 12, false}};
  return Encode(r);
}

std::string SeedRemediationPlans(Rng& rng, int64_t base, const std::string& incident, int64_t detected) {
  (void)detected;
  RemediationPlan p;
  Envelope(p, rng, base);
  p.incident_id = incident;
  p.root_cause = "mutant root cause";
  p.confidence = Unit(rng);
  p.action_steps = {{1, AnyEnum<Priority>(rng), "restart the mutant", "it is a mutant",
                     AnyEnum<RiskLevel>(rng), "none", "mutants", "nothing happens"}};
  p.escalation_path = {"mutant-oncall"};
  p.runbook_references = {"rb-mutant"};
  p.estimated_resolution_time = "15 minutes";
  p.method = AnyEnum<Method>(rng);
  return Encode(p);
}

std::string SeedIncidentsResolved(Rng& rng, int64_t base, const std::string& incident, int64_t detected) {
  IncidentResolved r;
  Envelope(r, rng, base);
  r.incident_id = incident;
  r.detection_time = detected;
  r.resolution_time = detected + 150000;
  r.mttr_seconds = 150;
  r.resolution_method = "METRICS_RECOVERED";
  return Encode(r);
}

std::string SeedPostmortemsGenerated(Rng& rng, int64_t base, const std::string& incident, int64_t detected) {
  (void)detected;
  PostmortemGenerated p;
  Envelope(p, rng, base);
  p.incident_id = incident;
  p.postmortem_markdown = "# Postmortem\n\nA mutant.\n";
  p.mttr_seconds = 150;
  p.action_items = {{"stop mutating", "mutants", "HIGH", "2026-12-31"}};
  p.method = AnyEnum<Method>(rng);
  return Encode(p);
}

std::string SeedJson(const std::string& topic, Rng& rng, int64_t base) {
  const std::string incident = UuidFromRng(rng);
  const int64_t detected = base + static_cast<int64_t>(Pick(rng, 3600000));
  if (topic == topics::kRawMetrics) return SeedRawMetrics(rng, base, incident, detected);
  if (topic == topics::kRawLogs) return SeedRawLogs(rng, base, incident, detected);
  if (topic == topics::kRawDeployments) return SeedRawDeployments(rng, base, incident, detected);
  if (topic == topics::kAnomaliesDetected) return SeedAnomaliesDetected(rng, base, incident, detected);
  if (topic == topics::kIncidentsOpened) return SeedIncidentsOpened(rng, base, incident, detected);
  if (topic == topics::kRcaCompleted) return SeedRcaCompleted(rng, base, incident, detected);
  if (topic == topics::kRemediationPlans) return SeedRemediationPlans(rng, base, incident, detected);
  if (topic == topics::kIncidentsResolved) return SeedIncidentsResolved(rng, base, incident, detected);
  if (topic == topics::kPostmortemsGenerated) return SeedPostmortemsGenerated(rng, base, incident, detected);
  return "{}";
}

// ---- mutations ---------------------------------------------------------------------------------

// Markers put into the tree and replaced in the encoded text by bytes a Json value cannot hold.
constexpr std::string_view kValueMarker = "\"@@sre-mutant-value@@\"";
constexpr std::string_view kBytesMarker = "@@sre-mutant-bytes@@";

void ReplaceFirst(std::string& text, std::string_view marker, std::string_view with) {
  size_t at = text.find(marker);
  if (at != std::string::npos) text.replace(at, marker.size(), with);
}

// Every value below the root, as JSON pointers (seeds are shallow).
void Paths(const Json& j, const Json::json_pointer& at, std::vector<Json::json_pointer>& out) {
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      out.push_back(at / it.key());
      Paths(it.value(), at / it.key(), out);
    }
  } else if (j.is_array()) {
    for (size_t i = 0; i < j.size(); ++i) {
      out.push_back(at / i);
      Paths(j[i], at / i, out);
    }
  }
}

std::vector<Json::json_pointer> PathsWhere(const Json& root,
                                           const std::function<bool(const Json&)>& pred) {
  std::vector<Json::json_pointer> all, out;
  Paths(root, Json::json_pointer(), all);
  for (auto& p : all)
    if (pred(root.at(p))) out.push_back(p);
  return out;
}

// A path, preferring those whose value satisfies `pred` when there are any.
Json::json_pointer PathPreferring(Rng& rng, const Json& root,
                                  const std::function<bool(const Json&)>& pred) {
  auto preferred = PathsWhere(root, pred);
  if (!preferred.empty() && Pick(rng, 4) != 0) return OneOf(rng, preferred);
  auto all = PathsWhere(root, [](const Json&) { return true; });
  return OneOf(rng, all);
}

bool ParentIsObject(const Json::json_pointer& p) {
  return !p.empty() && !std::all_of(p.back().begin(), p.back().end(), ::isdigit);
}

// The value's replacement by a different JSON type.
Json OtherType(Rng& rng, const Json& v) {
  const std::array<Json, 7> kValues = {
      Json("swapped"),  Json(42),      Json(-3.5), Json::array({1, "x"}),
      Json{{"k", "v"}}, Json(nullptr), Json(true)};
  for (;;) {
    const Json& c = OneOf(rng, kValues);
    if (c.type() != v.type() && !(c.is_number() && v.is_number())) return c;
  }
}

// Multi-byte text, so that every cut of it must respect UTF-8.
std::string HugeText(Rng& rng) {
  double u = Unit(rng);
  size_t size = u < 0.8    ? 65 * 1024 + Pick(rng, 55 * 1024)
                : u < 0.95 ? 120 * 1024 + Pick(rng, 180 * 1024)
                           : kMaxHugeStringBytes - Pick(rng, 300 * 1024);
  static const std::string kPattern = "mutant \u00e9t\u00e9 \u4e2d\u6587 \U0001F600 ";
  std::string out;
  out.reserve(size + kPattern.size());
  while (out.size() + kPattern.size() <= size) out += kPattern;
  return out;
}

std::string Nested(Rng& rng) {
  static const std::array<size_t, 8> kDepths = {8, 63, 64, 65, 66, 200, 1000, 10000};
  size_t depth = OneOf(rng, kDepths);
  bool arrays = Pick(rng, 2);
  std::string out;
  out.reserve(depth * 6 + 2);
  for (size_t i = 0; i < depth; ++i) out += arrays ? "[" : "{\"a\":";
  out += "1";
  for (size_t i = 0; i < depth; ++i) out += arrays ? "]" : "}";
  return out;
}

const std::set<std::string>& EnumFields() {
  static const std::set<std::string> kFields = {
      "level",    "change_type", "anomaly_type", "severity",   "root_cause_category",
      "category", "method",      "priority",     "risk_level", "phase"};
  return kFields;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

using Mutation = std::function<std::string(Rng&, const std::string& seed)>;

std::string BitFlip(Rng& rng, const std::string& seed) {
  std::string out = seed;
  for (size_t k = 1 + Pick(rng, 4); k > 0; --k)
    out[Pick(rng, out.size())] ^= static_cast<char>(1u << Pick(rng, 8));
  return out;
}

std::string Truncate(Rng& rng, const std::string& seed) {
  return seed.substr(0, Pick(rng, seed.size()));
}

std::string TypeSwap(Rng& rng, const std::string& seed) {
  Json j = Json::parse(seed);
  auto p = PathPreferring(rng, j, [](const Json&) { return true; });
  j[p] = OtherType(rng, j[p]);
  return Dump(j);
}

std::string HugeString(Rng& rng, const std::string& seed) {
  Json j = Json::parse(seed);
  auto p = PathPreferring(rng, j, [](const Json& v) { return v.is_string(); });
  j[p] = HugeText(rng);
  return Dump(j);
}

// A string value, or (sometimes) an object key, with `marker` inside; the encoding with it.
std::string MarkString(Rng& rng, const std::string& seed, const std::string& marker) {
  Json j = Json::parse(seed);
  auto keys = PathsWhere(j, [](const Json& v) { return v.is_object() && !v.empty(); });
  if (!keys.empty() && Pick(rng, 4) == 0) {
    Json& obj = j[OneOf(rng, keys)];
    auto it = obj.begin();
    std::advance(it, static_cast<long>(Pick(rng, obj.size())));
    std::string key = it.key();
    Json value = it.value();
    obj.erase(key);
    obj[key.substr(0, 1) + marker + key.substr(1)] = std::move(value);
    return Dump(j);
  }
  auto p = PathPreferring(rng, j, [](const Json& v) { return v.is_string(); });
  std::string s = j[p].is_string() ? j[p].get<std::string>() : "";
  size_t at = Pick(rng, s.size() + 1);
  j[p] = s.substr(0, at) + marker + s.substr(at);
  return Dump(j);
}

std::string NulChar(Rng& rng, const std::string& seed) {
  // The tree holds a real NUL; the encoder writes it as \u0000.
  return MarkString(rng, seed, std::string(1, '\0'));
}

std::string BadUtf8(Rng& rng, const std::string& seed) {
  static const std::array<std::string, 10> kBytes = {"\xC3\x28",     "\xFF",
                                                     "\xFE\xFE",     "\xED\xA0\x80",
                                                     "\xC0\xAF",     "\xE2\x82",
                                                     "\x80\x80",     "\xF8\x88\x80\x80\x80",
                                                     "\xF0\x9F\x98", "\xF4\x90\x80\x80"};
  std::string text = MarkString(rng, seed, std::string(kBytesMarker));
  ReplaceFirst(text, kBytesMarker, OneOf(rng, kBytes));
  return text;
}

// `seed` with one value (preferring those `pred` accepts) replaced by the raw JSON `literal`.
std::string ReplaceValue(Rng& rng, const std::string& seed,
                         const std::function<bool(const Json&)>& pred, const std::string& literal) {
  Json j = Json::parse(seed);
  j[PathPreferring(rng, j, pred)] = std::string(kValueMarker.substr(1, kValueMarker.size() - 2));
  std::string text = Dump(j);
  ReplaceFirst(text, kValueMarker, literal);
  return text;
}

std::string DeepNesting(Rng& rng, const std::string& seed) {
  return ReplaceValue(
      rng, seed, [](const Json& v) { return v.is_array() || v.is_object(); }, Nested(rng));
}

std::string ExtremeNumber(Rng& rng, const std::string& seed) {
  static const std::array<std::string, 12> kNumbers = {"1e308",
                                                       "-1e308",
                                                       "9.3e15",
                                                       "-9.3e15",
                                                       "18446744073709551616",
                                                       "-9223372036854775809",
                                                       "9223372036854775807",
                                                       "1e309",
                                                       "-0.0",
                                                       "5e-324",
                                                       "123456789012345678901234567890",
                                                       "1.7976931348623157e308"};
  return ReplaceValue(
      rng, seed, [](const Json& v) { return v.is_number(); }, OneOf(rng, kNumbers));
}

std::string MissingField(Rng& rng, const std::string& seed) {
  Json j = Json::parse(seed);
  auto fields = PathsWhere(j, [](const Json&) { return true; });
  std::vector<Json::json_pointer> in_objects, top;
  for (const auto& p : fields) {
    if (!ParentIsObject(p)) continue;
    in_objects.push_back(p);
    if (p.parent_pointer().empty()) top.push_back(p);
  }
  const auto& p = Pick(rng, 3) ? OneOf(rng, top) : OneOf(rng, in_objects);
  j[p.parent_pointer()].erase(p.back());
  return Dump(j);
}

std::string DuplicateField(Rng& rng, const std::string& seed) {
  Json j = Json::parse(seed);
  auto it = j.begin();
  std::advance(it, static_cast<long>(Pick(rng, j.size())));
  Json other = Pick(rng, 3) ? OtherType(rng, it.value()) : it.value();
  std::string pair = Dump(Json(it.key())) + ":" + Dump(other);
  std::string text = Dump(j);
  // Before the original (which parsers usually keep) or after it (which they then keep instead).
  if (Pick(rng, 2))
    text.insert(1, pair + ",");
  else
    text.insert(text.size() - 1, "," + pair);
  return text;
}

std::string UnknownEnum(Rng& rng, const std::string& seed) {
  Json j = Json::parse(seed);
  auto enums = PathsWhere(j, [](const Json&) { return true; });
  std::vector<Json::json_pointer> fields;
  for (const auto& p : enums)
    if (!p.empty() && EnumFields().count(p.back()) && j[p].is_string()) fields.push_back(p);
  if (fields.empty()) return TypeSwap(rng, seed);  // raw.metrics and incidents.resolved
  const auto& p = OneOf(rng, fields);
  const std::string was = j[p].get<std::string>();
  const std::array<std::string, 6> kValues = {"BOGUS", Lower(was),   was + " ",
                                              "",      "\u00c9RROR", "UNKNOWN_VALUE"};
  j[p] = OneOf(rng, kValues);
  return Dump(j);
}

std::string Empty(Rng&, const std::string&) { return ""; }

std::string NotJson(Rng& rng, const std::string& seed) {
  switch (Pick(rng, 12)) {
    case 0:
      return "hello, world";
    case 1:
      return "<?xml version=\"1.0\"?><metric name=\"cpu\">97</metric>";
    case 2:
      return "{";
    case 3:
      return "[" + seed + "]";
    case 4:
      return "null";
    case 5:
      return "42";
    case 6:
      return "\"just a string\"";
    case 7:
      return "{'single': 'quotes'}";
    case 8:
      return seed + "trailing garbage";
    case 9:
      return "\xEF\xBB\xBF" + seed;  // a byte-order mark before a valid message
    case 10:
      return "event_id=1&timestamp=2";
    default: {
      std::string out(16 + Pick(rng, 240), '\0');
      for (char& c : out) c = static_cast<char>(rng() & 0xFF);
      return out;
    }
  }
}

struct Kind {
  const char* name;
  Mutation fn;
  int weight;  // huge strings are rarer: the broker keeps only 5 MB per partition
};

const std::vector<Kind>& Kinds() {
  static const std::vector<Kind> kKinds = {
      {"bit_flip", BitFlip, 6},           {"truncate", Truncate, 6},
      {"type_swap", TypeSwap, 6},         {"huge_string", HugeString, 1},
      {"nul_char", NulChar, 6},           {"bad_utf8", BadUtf8, 6},
      {"deep_nesting", DeepNesting, 6},   {"extreme_number", ExtremeNumber, 6},
      {"missing_field", MissingField, 6}, {"duplicate_field", DuplicateField, 6},
      {"unknown_enum", UnknownEnum, 6},   {"empty", Empty, 3},
      {"not_json", NotJson, 6},
  };
  return kKinds;
}

template <typename T>
std::optional<std::string> ErrorOf(std::string_view payload) {
  auto r = Decode<T>(payload);
  if (r.ok()) return std::nullopt;
  return r.status().message();
}

}  // namespace

const std::vector<std::string>& InputTopics() {
  static const std::vector<std::string> kTopics = {
      topics::kRawMetrics,        topics::kRawLogs,           topics::kRawDeployments,
      topics::kAnomaliesDetected, topics::kIncidentsOpened,   topics::kRcaCompleted,
      topics::kRemediationPlans,  topics::kIncidentsResolved, topics::kPostmortemsGenerated};
  return kTopics;
}

const std::vector<std::string>& MutationNames() {
  static const std::vector<std::string> kNames = [] {
    std::vector<std::string> out;
    for (const auto& k : Kinds()) out.push_back(k.name);
    return out;
  }();
  return kNames;
}

std::string SeedPayload(const std::string& topic, uint64_t seed, uint64_t n, int64_t base_time_ms) {
  Rng rng = RngFor(seed, n, 1);
  return SeedJson(topic, rng, base_time_ms);
}

Mutant Generate(uint64_t seed, uint64_t n, int64_t base_time_ms) {
  const std::string& topic = InputTopics()[n % InputTopics().size()];
  std::string valid = SeedPayload(topic, seed, n, base_time_ms);
  Rng rng = RngFor(seed, n, 2);
  int total = 0;
  for (const auto& k : Kinds()) total += k.weight;
  int draw = static_cast<int>(Pick(rng, static_cast<size_t>(total)));
  for (const auto& k : Kinds()) {
    if ((draw -= k.weight) >= 0) continue;
    return {topic, k.name, k.fn(rng, valid)};
  }
  return {topic, "empty", ""};
}

std::optional<std::string> DecodeError(const std::string& topic, std::string_view payload) {
  if (topic == topics::kRawMetrics) return ErrorOf<RawMetric>(payload);
  if (topic == topics::kRawLogs) return ErrorOf<RawLog>(payload);
  if (topic == topics::kRawDeployments) return ErrorOf<RawDeployment>(payload);
  if (topic == topics::kAnomaliesDetected) return ErrorOf<AnomalyDetected>(payload);
  if (topic == topics::kIncidentsOpened) return ErrorOf<IncidentOpened>(payload);
  if (topic == topics::kRcaCompleted) return ErrorOf<RcaCompleted>(payload);
  if (topic == topics::kRemediationPlans) return ErrorOf<RemediationPlan>(payload);
  if (topic == topics::kIncidentsResolved) return ErrorOf<IncidentResolved>(payload);
  if (topic == topics::kPostmortemsGenerated) return ErrorOf<PostmortemGenerated>(payload);
  return "not an input topic: " + topic;
}

}  // namespace sre::mutate
