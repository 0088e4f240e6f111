#include "simulator/custom_scenario.h"

#include <spdlog/fmt/fmt.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>

#include "shared/json_codec.h"
#include "shared/text.h"

namespace sre::sim {
namespace {

struct MetricSpec {
  std::string metric;
  double peak = 0;
  std::optional<Shape> shape;
  std::optional<double> ramp_s;
  template <class V>
  void Visit(V& v) {
    v("metric", metric, Check::NonEmpty(64));
    v("peak", peak);
    v("shape", shape);
    v("ramp_s", ramp_s, Check::Min(0));
  }
};

struct LogSpec {
  LogLevel level = LogLevel::ERROR;
  std::string message;
  template <class V>
  void Visit(V& v) {
    v("level", level);
    v("message", message, Check::NonEmpty(kMaxLogMessageBytes));
  }
};

struct DeploymentRequest {
  ChangeType change_type = ChangeType::CODE;
  std::string version;
  std::optional<std::string> description;
  std::optional<double> lead_s;
  template <class V>
  void Visit(V& v) {
    v("change_type", change_type);
    v("version", version, Check::NonEmpty(kMaxVersionBytes));
    v("description", description,
      Check{std::nullopt, std::nullopt, kMaxDescriptionBytes, false, false});
    v("lead_s", lead_s, Check::Range(0, kMaxCustomLeadS));
  }
};

struct GroundTruthSpec {
  std::string root_cause_service;
  RootCauseCategory root_cause_category = RootCauseCategory::UNKNOWN;
  template <class V>
  void Visit(V& v) {
    v("root_cause_service", root_cause_service, Check::NonEmpty(128));
    v("root_cause_category", root_cause_category);
  }
};

struct Request {
  std::string name;
  std::optional<std::string> description;
  std::string service;
  double duration_s = 0;
  std::vector<MetricSpec> metrics;
  std::optional<std::vector<LogSpec>> logs;
  std::optional<DeploymentRequest> deployment;
  std::optional<bool> cascade;
  GroundTruthSpec ground_truth;
  template <class V>
  void Visit(V& v) {
    v("name", name, Check::NonEmpty(64));
    v("description", description,
      Check{std::nullopt, std::nullopt, kMaxDescriptionBytes, false, false});
    v("service", service, Check::NonEmpty(128));
    v("duration_s", duration_s, Check::Range(kMinCustomDurationS, kMaxCustomDurationS));
    v("metrics", metrics, Check::NonEmpty());
    v("logs", logs);
    v("deployment", deployment);
    v("cascade", cascade);
    v("ground_truth", ground_truth);
  }
};

// The fields each object may carry (checked before decoding, so typos are caught).
const std::set<std::string> kTopFields = {"name",       "description", "service",
                                          "duration_s", "metrics",     "logs",
                                          "deployment", "cascade",     "ground_truth"};
const std::set<std::string> kMetricFields = {"metric", "peak", "shape", "ramp_s"};
const std::set<std::string> kLogFields = {"level", "message"};
const std::set<std::string> kDeploymentFields = {"change_type", "version", "description", "lead_s"};
const std::set<std::string> kGroundTruthFields = {"root_cause_service", "root_cause_category"};

std::string Join(const std::set<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

CustomScenarioResult Fail(std::string field, const std::string& what) {
  CustomScenarioResult r;
  r.error = field.empty() ? what : "field '" + field + "': " + what;
  r.field = std::move(field);
  return r;
}

// The first field of `obj` (an object) that is not in `allowed`.
std::optional<std::string> UnknownField(const Json& obj, const std::set<std::string>& allowed) {
  if (!obj.is_object()) return std::nullopt;
  for (auto it = obj.begin(); it != obj.end(); ++it)
    if (!allowed.count(it.key())) return it.key();
  return std::nullopt;
}

std::optional<CustomScenarioResult> CheckUnknownFields(const Json& j) {
  auto fail = [](const std::string& path, const std::string& key,
                 const std::set<std::string>& allowed) {
    // A key can be as long as the body; the reply names it, cut short.
    std::string cut = TruncateUtf8(key, 64, /*ellipsis=*/false);
    std::string field = path.empty() ? cut : path + "." + cut;
    return Fail(field, "unknown field (expected one of " + Join(allowed) + ")");
  };
  if (auto k = UnknownField(j, kTopFields)) return fail("", *k, kTopFields);
  for (const auto& [name, allowed] :
       {std::pair<const char*, const std::set<std::string>*>{"metrics", &kMetricFields},
        {"logs", &kLogFields}}) {
    auto it = j.find(name);
    if (it == j.end() || !it->is_array()) continue;
    for (size_t i = 0; i < it->size(); ++i)
      if (auto k = UnknownField((*it)[i], *allowed))
        return fail(fmt::format("{}[{}]", name, i), *k, *allowed);
  }
  if (auto it = j.find("deployment"); it != j.end())
    if (auto k = UnknownField(*it, kDeploymentFields))
      return fail("deployment", *k, kDeploymentFields);
  if (auto it = j.find("ground_truth"); it != j.end())
    if (auto k = UnknownField(*it, kGroundTruthFields))
      return fail("ground_truth", *k, kGroundTruthFields);
  return std::nullopt;
}

// "field 'metrics[0].shape': unknown value ..." -> "metrics[0].shape".
std::string FieldOfCodecError(const std::string& message) {
  static const std::string kPrefix = "field '";
  if (message.rfind(kPrefix, 0) != 0) return "";
  size_t end = message.find("': ", kPrefix.size());
  return end == std::string::npos ? "" : message.substr(kPrefix.size(), end - kPrefix.size());
}

bool ValidName(const std::string& name) {
  return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
  });
}

std::string ServiceNames(const ServiceCatalog& services) {
  std::string out;
  for (const auto& s : services.services()) out += (out.empty() ? "" : ", ") + s.name;
  return out;
}

int64_t Ms(double seconds) { return std::llround(seconds * 1000.0); }

CustomScenarioResult Parse(std::string_view body, const ServiceCatalog& services,
                           const std::vector<std::string>& reserved_names) {
  if (body.size() > kMaxCustomScenarioBytes)
    return Fail("",
                fmt::format("body is {} bytes; at most {}", body.size(), kMaxCustomScenarioBytes));
  Json j = Json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Fail("", "body is not valid JSON");
  if (!j.is_object()) return Fail("", "body must be a JSON object, got " + codec::TypeName(j));
  if (auto unknown = CheckUnknownFields(j)) return *unknown;
  if (auto logs = j.find("logs");
      logs != j.end() && logs->is_array() && logs->size() > kMaxCustomLogs)
    return Fail("logs", fmt::format("{} entries; at most {}", logs->size(), kMaxCustomLogs));
  auto decoded = FromJson<Request>(j);
  if (!decoded.ok()) {
    Status status = decoded.status();
    CustomScenarioResult r;
    r.error = status.message();
    r.field = FieldOfCodecError(r.error);
    return r;
  }
  const Request& req = *decoded;

  if (!ValidName(req.name))
    return Fail("name", "'" + req.name + "' must be 1-64 letters, digits, '_', '-' or '.'");
  if (std::find(reserved_names.begin(), reserved_names.end(), req.name) != reserved_names.end())
    return Fail("name", "'" + req.name + "' is a built-in scenario; POST /api/scenarios/" +
                            req.name + " to inject it, or choose another name");
  const ServiceInfo* service = services.Find(req.service);
  if (!service)
    return Fail("service", "unknown service '" + req.service + "' (expected one of " +
                               ServiceNames(services) + ")");
  if (!services.Find(req.ground_truth.root_cause_service))
    return Fail("ground_truth.root_cause_service",
                "unknown service '" + req.ground_truth.root_cause_service + "' (expected one of " +
                    ServiceNames(services) + ")");

  ScenarioDef def;
  def.name = req.name;
  def.service = req.service;
  def.description = req.description.value_or("Custom scenario on " + req.service);
  def.duration_ms = Ms(req.duration_s);
  def.recovery_ms = std::llround(static_cast<double>(def.duration_ms) * kRecoveryFraction);
  def.custom = true;
  def.cascade = req.cascade.value_or(false);
  def.root_cause_service = req.ground_truth.root_cause_service;
  def.root_cause_category = req.ground_truth.root_cause_category;

  const double max_ramp_s = req.duration_s * (1.0 - kRecoveryFraction);
  std::set<std::string> seen;
  for (size_t i = 0; i < req.metrics.size(); ++i) {
    const MetricSpec& m = req.metrics[i];
    std::string at = fmt::format("metrics[{}]", i);
    auto metric = FindMetric(m.metric);
    if (!metric)
      return Fail(at + ".metric", "unknown metric '" + m.metric +
                                      "' (expected one of request_rate, error_rate, "
                                      "latency_p99_ms, cpu_percent, memory_percent, "
                                      "db_connections, kafka_consumer_lag)");
    if (!seen.insert(m.metric).second)
      return Fail(at + ".metric", "'" + m.metric + "' appears more than once");
    double max = MetricMax(*metric, static_cast<double>(service->db_pool_size));
    if (m.peak < 0 || m.peak > max) {
      std::string why = fmt::format("{} is outside [0, {}]", m.peak, max);
      if (*metric == kDbConnections)
        why += fmt::format(" ({}'s db_pool_size is {})", service->name, service->db_pool_size);
      return Fail(at + ".peak", why);
    }
    Shape shape = m.shape.value_or(Shape::kSigmoid);
    double ramp_s =
        m.ramp_s.value_or(shape == Shape::kStep ? 0.0 : req.duration_s * kDefaultRampFraction);
    if (ramp_s > max_ramp_s)
      return Fail(at + ".ramp_s",
                  fmt::format("{} s is longer than {} s (85 % of duration_s; the last 15 % "
                              "recovers)",
                              ramp_s, max_ramp_s));
    def.effects.push_back({*metric, m.peak, shape, 0, Ms(ramp_s), true});
  }
  if (req.logs) {
    for (const auto& l : *req.logs) {
      std::string text = l.message;
      def.error_logs.push_back({l.level, [text](const LogContext&) { return text; }, 0});
    }
  }
  if (req.deployment) {
    const DeploymentRequest& d = *req.deployment;
    int64_t lead = Ms(d.lead_s.value_or(kDefaultCustomLeadS));
    def.deployment = DeploymentSpec{d.change_type, d.version,
                                    d.description.value_or("Deployment of " + d.version +
                                                           " (custom scenario " + req.name + ")"),
                                    lead, lead};
  }
  CustomScenarioResult r;
  r.scenario = std::move(def);
  return r;
}

}  // namespace

CustomScenarioResult ParseCustomScenario(std::string_view body, const ServiceCatalog& services,
                                         const std::vector<std::string>& reserved_names) {
  try {
    return Parse(body, services, reserved_names);
  } catch (const std::exception& e) {
    return Fail("", std::string("cannot process the body: ") + e.what());
  } catch (...) {
    return Fail("", "cannot process the body");
  }
}

}  // namespace sre::sim
