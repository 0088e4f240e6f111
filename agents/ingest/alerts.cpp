#include "agents/ingest/alerts.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <ctime>

#include "shared/ids.h"
#include "shared/text.h"
#include "shared/time_format.h"
#include "shared/units.h"

namespace sre::ingest {
namespace {

constexpr size_t kMaxLabels = 64;
constexpr size_t kMaxLabelValue = 4096;
constexpr size_t kMaxEvidenceLine = 1000;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

Status Bad(const std::string& path, const std::string& what) { return Status::Invalid(path + ": " + what); }

// An optional string field; absent or null is empty.
Expected<std::string> Str(const Json& j, const char* key, const std::string& path) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::string();
  if (!it->is_string()) return Bad(path + key, "not a string");
  return it->get<std::string>();
}

Expected<Labels> LabelMap(const Json& j, const char* key, const std::string& path) {
  Labels out;
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return out;
  if (!it->is_object()) return Bad(path + key, "not an object of strings");
  if (it->size() > kMaxLabels) return Bad(path + key, "more than " + std::to_string(kMaxLabels) + " entries");
  for (const auto& [k, v] : it->items()) {
    if (!v.is_string()) return Bad(path + key + "." + k, "not a string");
    if (k.empty() || k.size() > 256) return Bad(path + key, "a name is empty or longer than 256 bytes");
    out[k] = TruncateUtf8(v.get<std::string>(), kMaxLabelValue);
  }
  return out;
}

bool Digits(std::string_view s, size_t pos, size_t n) {
  if (pos + n > s.size()) return false;
  for (size_t i = pos; i < pos + n; ++i)
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
  return true;
}

int Num(std::string_view s, size_t pos, size_t n) {
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) v = v * 10 + (s[i] - '0');
  return v;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string UrlDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 && HexValue(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

bool HasAny(const std::string& text, std::initializer_list<const char*> words) {
  for (const char* w : words)
    if (text.find(w) != std::string::npos) return true;
  return false;
}

std::optional<AnomalyType> TypeFromWords(const std::string& t) {
  if (t.empty()) return std::nullopt;
  // Most specific first: "ConsumerLagHigh" says lag before it says anything else.
  if (HasAny(t, {"lag", "consumer_group", "backlog"})) return AnomalyType::KAFKA_CONSUMER_LAG;
  if (HasAny(t, {"db_conn", "dbconn", "connection_pool", "connectionpool", "pg_stat_activity", "db_connections",
                 "hikari", "pool_exhaust", "poolexhaust", "too_many_connections", "toomanyconnections"}))
    return AnomalyType::DB_CONNECTION_EXHAUSTION;
  if (HasAny(t, {"latency", "duration", "p99", "p95", "slow", "response_time", "responsetime", "_seconds_bucket"}))
    return AnomalyType::LATENCY_SPIKE;
  if (HasAny(t, {"error", "5xx", "fail", "exception", "status=~\"5", "code=~\"5"})) return AnomalyType::ERROR_RATE_SPIKE;
  if (HasAny(t, {"cpu", "throttl"})) return AnomalyType::CPU_SATURATION;
  if (HasAny(t, {"memory", "oom", "heap", "rss", "resident"})) return AnomalyType::MEMORY_LEAK;
  if (HasAny(t, {"deploy", "rollout", "crashloop", "restart"})) return AnomalyType::DEPLOYMENT_FAILURE;
  if (HasAny(t, {"down", "unreachable", "unavailable", "probe_success", "up ==", "up==", "dependency"}))
    return AnomalyType::DEPENDENCY_OUTAGE;
  if (HasAny(t, {"traffic", "request_rate", "requestrate", "rps", "requests_total", "throughput"}))
    return AnomalyType::TRAFFIC_ANOMALY;
  return std::nullopt;
}

std::string LabelList(const Labels& labels) {
  std::string out;
  for (const auto& [k, v] : labels) {
    if (k == "alertname") continue;
    if (!out.empty()) out += ", ";
    out += k + "=" + v;
  }
  return out;
}

std::string Annotation(const Alert& a, const AlertNotification& n, const char* key) {
  auto it = a.annotations.find(key);
  if (it != a.annotations.end() && !it->second.empty()) return it->second;
  it = n.common_annotations.find(key);
  return it != n.common_annotations.end() ? it->second : std::string();
}

}  // namespace

const char* ToString(AlertSource s) { return s == AlertSource::kGrafana ? "grafana" : "alertmanager"; }

Expected<int64_t> ParseRfc3339Ms(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)
  if (!Digits(s, 0, 4) || s.size() < 20 || s[4] != '-' || !Digits(s, 5, 2) || s[7] != '-' || !Digits(s, 8, 2) ||
      (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !Digits(s, 11, 2) || s[13] != ':' || !Digits(s, 14, 2) ||
      s[16] != ':' || !Digits(s, 17, 2))
    return Status::Invalid("not an RFC 3339 time");
  std::tm tm{};
  tm.tm_year = Num(s, 0, 4) - 1900;
  tm.tm_mon = Num(s, 5, 2) - 1;
  tm.tm_mday = Num(s, 8, 2);
  tm.tm_hour = Num(s, 11, 2);
  tm.tm_min = Num(s, 14, 2);
  tm.tm_sec = Num(s, 17, 2);
  if (tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
    return Status::Invalid("not an RFC 3339 time");
  size_t i = 19;
  int64_t ms = 0;
  if (i < s.size() && s[i] == '.') {
    size_t start = ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
    if (i == start) return Status::Invalid("not an RFC 3339 time");
    for (size_t k = start; k < start + 3; ++k) ms = ms * 10 + (k < i ? s[k] - '0' : 0);
  }
  int64_t offset_s = 0;
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    ++i;
  } else if (i < s.size() && (s[i] == '+' || s[i] == '-') && Digits(s, i + 1, 2) && i + 3 < s.size() &&
             s[i + 3] == ':' && Digits(s, i + 4, 2)) {
    offset_s = (Num(s, i + 1, 2) * 3600 + Num(s, i + 4, 2) * 60) * (s[i] == '-' ? -1 : 1);
    i += 6;
  } else {
    return Status::Invalid("not an RFC 3339 time (no zone)");
  }
  if (i != s.size()) return Status::Invalid("not an RFC 3339 time (trailing text)");
  int64_t secs = static_cast<int64_t>(timegm(&tm)) - offset_s;
  return secs * 1000 + ms;
}

std::string ExprFromGeneratorUrl(std::string_view url) {
  size_t q = url.find('?');
  if (q == std::string_view::npos) return "";
  std::string_view query = url.substr(q + 1);
  if (size_t hash = query.find('#'); hash != std::string_view::npos) query = query.substr(0, hash);
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view part = query.substr(0, amp);
    if (part.substr(0, 8) == "g0.expr=") return UrlDecode(part.substr(8));
    if (amp == std::string_view::npos) break;
    query = query.substr(amp + 1);
  }
  return "";
}

Expected<AlertNotification> ParseAlertNotification(const Json& body, AlertSource source, size_t max_alerts) {
  if (!body.is_object()) return Status::Invalid("body: not a JSON object");
  AlertNotification n;
  n.source = source;
  auto str = [&](const char* key, std::string& out) -> Status {
    auto v = Str(body, key, "");
    if (!v.ok()) return v.status();
    out = *v;
    return Status::Ok();
  };
  for (auto [key, out] : {std::pair{"version", &n.version}, {"status", &n.status}, {"receiver", &n.receiver},
                          {"groupKey", &n.group_key}, {"externalURL", &n.external_url}, {"title", &n.title},
                          {"state", &n.state}, {"message", &n.message}})
    if (Status s = str(key, *out); !s.ok()) return s;
  if (source == AlertSource::kAlertmanager && !n.version.empty() && n.version != "4")
    return Bad("version", "\"" + TruncateUtf8(n.version, 16) + "\" is not a supported webhook version (4)");
  for (auto [key, out] : {std::pair{"groupLabels", &n.group_labels}, {"commonLabels", &n.common_labels},
                          {"commonAnnotations", &n.common_annotations}}) {
    auto m = LabelMap(body, key, "");
    if (!m.ok()) return m.status();
    *out = std::move(*m);
  }
  for (auto [key, out] : {std::pair{"truncatedAlerts", &n.truncated_alerts}, {"orgId", &n.org_id}}) {
    auto it = body.find(key);
    if (it == body.end() || it->is_null()) continue;
    if (!it->is_number_integer()) return Bad(key, "not an integer");
    *out = it->get<int64_t>();
  }
  auto alerts = body.find("alerts");
  if (alerts == body.end()) return Bad("alerts", "missing");
  if (!alerts->is_array()) return Bad("alerts", "not an array");
  if (alerts->size() > max_alerts) return Bad("alerts", "more than " + std::to_string(max_alerts) + " alerts");
  for (size_t i = 0; i < alerts->size(); ++i) {
    const Json& a = (*alerts)[i];
    std::string path = "alerts[" + std::to_string(i) + "].";
    if (!a.is_object()) return Bad(path.substr(0, path.size() - 1), "not an object");
    Alert alert;
    for (auto [key, out] : {std::pair{"status", &alert.status}, {"generatorURL", &alert.generator_url},
                            {"fingerprint", &alert.fingerprint}, {"dashboardURL", &alert.dashboard_url},
                            {"panelURL", &alert.panel_url}, {"silenceURL", &alert.silence_url}}) {
      auto v = Str(a, key, path);
      if (!v.ok()) return v.status();
      *out = std::move(*v);
    }
    if (alert.status.empty()) alert.status = n.status;
    if (alert.status != "firing" && alert.status != "resolved")
      return Bad(path + "status", "\"" + TruncateUtf8(alert.status, 32) + "\" is neither firing nor resolved");
    if (alert.fingerprint.size() > 256) return Bad(path + "fingerprint", "longer than 256 bytes");
    for (auto [key, out] : {std::pair{"labels", &alert.labels}, {"annotations", &alert.annotations}}) {
      auto m = LabelMap(a, key, path);
      if (!m.ok()) return m.status();
      *out = std::move(*m);
    }
    auto starts = Str(a, "startsAt", path);
    if (!starts.ok()) return starts.status();
    if (starts->empty()) return Bad(path + "startsAt", "missing");
    auto starts_ms = ParseRfc3339Ms(*starts);
    if (!starts_ms.ok()) return Bad(path + "startsAt", starts_ms.status().message());
    if (*starts_ms < kMinEventTimeMs || *starts_ms > kMaxEventTimeMs) return Bad(path + "startsAt", "out of range");
    alert.starts_at_ms = *starts_ms;
    auto ends = Str(a, "endsAt", path);
    if (!ends.ok()) return ends.status();
    if (!ends->empty()) {
      auto ends_ms = ParseRfc3339Ms(*ends);
      if (!ends_ms.ok()) return Bad(path + "endsAt", ends_ms.status().message());
      if (*ends_ms >= kMinEventTimeMs && *ends_ms <= kMaxEventTimeMs) alert.ends_at_ms = *ends_ms;
    }
    if (auto v = a.find("values"); v != a.end() && !v->is_null()) {
      if (!v->is_object()) return Bad(path + "values", "not an object of numbers");
      for (const auto& [k, x] : v->items()) {
        if (!x.is_number()) return Bad(path + "values." + k, "not a number");
        if (alert.values.size() < kMaxLabels) alert.values[k] = x.get<double>();
      }
    }
    n.alerts.push_back(std::move(alert));
  }
  return n;
}

std::string AlertService(const Alert& alert, const AlertNotification& n,
                         const std::vector<std::string>& service_labels) {
  for (const auto& name : service_labels) {
    auto it = alert.labels.find(name);
    if (it != alert.labels.end() && !it->second.empty()) return it->second;
  }
  for (const auto& name : service_labels) {
    auto it = n.common_labels.find(name);
    if (it != n.common_labels.end() && !it->second.empty()) return it->second;
  }
  return "";
}

Severity AlertSeverity(const Labels& labels) {
  auto it = labels.find("severity");
  if (it == labels.end()) return Severity::MEDIUM;
  std::string s = Lower(it->second);
  for (const char* w : {"critical", "crit", "page", "emergency", "fatal", "p1", "sev1", "p0", "sev0"})
    if (s == w) return Severity::CRITICAL;
  for (const char* w : {"high", "error", "major", "p2", "sev2"})
    if (s == w) return Severity::HIGH;
  for (const char* w : {"info", "informational", "low", "minor", "none", "p4", "p5", "sev4", "sev5", "debug"})
    if (s == w) return Severity::LOW;
  return Severity::MEDIUM;
}

AnomalyType AlertAnomalyType(const Alert& alert, std::string_view expr) {
  if (auto it = alert.labels.find("anomaly_type"); it != alert.labels.end()) {
    std::string upper = it->second;
    for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (auto t = ParseEnum<AnomalyType>(upper)) return *t;
  }
  auto name = alert.labels.find("alertname");
  if (name != alert.labels.end()) {
    // CamelCase names ("HighErrorRate") become words so "error" is found.
    if (auto t = TypeFromWords(Lower(name->second))) return *t;
  }
  if (auto t = TypeFromWords(Lower(expr))) return *t;
  return AnomalyType::UNKNOWN;
}

std::string AlertFingerprint(const Alert& alert) {
  if (!alert.fingerprint.empty()) return alert.fingerprint;
  std::string identity;
  for (const auto& [k, v] : alert.labels) identity += k + "\x1f" + v + "\x1e";
  std::string uuid = UuidFromName("alert-labels/" + identity);
  uuid.erase(std::remove(uuid.begin(), uuid.end(), '-'), uuid.end());
  return uuid.substr(0, 16);
}

Expected<AlertAnomaly> ToAnomaly(const Alert& alert, const AlertNotification& n,
                                 const std::vector<std::string>& service_labels) {
  AlertAnomaly out;
  out.service = AlertService(alert, n, service_labels);
  if (out.service.empty()) {
    std::string names;
    for (const auto& l : service_labels) names += (names.empty() ? "" : ", ") + l;
    return Status::Invalid("labels: none of the service labels (" + names + ") is set");
  }
  if (out.service.size() > 128) return Status::Invalid("labels: the service name is longer than 128 bytes");
  auto name_it = alert.labels.find("alertname");
  std::string alertname = name_it != alert.labels.end() && !name_it->second.empty() ? name_it->second : "alert";
  out.trigger = TruncateUtf8("alert:" + alertname, 128, false);
  std::string fingerprint = AlertFingerprint(alert);
  out.dedup_key = fingerprint + "/" + std::to_string(alert.starts_at_ms);
  out.candidate_id = UuidFromName("incident/" + out.service + "/alert/" + out.dedup_key);
  out.expr = TruncateUtf8(ExprFromGeneratorUrl(alert.generator_url), 4000, false);

  AnomalyDetected& a = out.anomaly;
  a.event_id = UuidFromName("anomaly/alert/" + out.dedup_key);
  a.timestamp = alert.starts_at_ms;
  a.incident_id = out.candidate_id;
  a.anomaly_type = AlertAnomalyType(alert, out.expr);
  a.severity = AlertSeverity(alert.labels);
  a.service = out.service;
  a.trigger_metric = out.trigger;
  // Prometheus alerts carry no value unless a rule puts one in an annotation; Grafana sends
  // the values of its expressions.
  if (!alert.values.empty()) {
    a.observed_value = alert.values.begin()->second;
  } else if (auto v = alert.annotations.find("value"); v != alert.annotations.end()) {
    char* end = nullptr;
    double x = std::strtod(v->second.c_str(), &end);
    if (end != v->second.c_str() && std::isfinite(x)) a.observed_value = x;
  }
  a.anomaly_score = 0.9;  // a rule someone wrote decided, the same confidence as a log pattern
  a.detection_time = alert.starts_at_ms;
  std::string summary = Annotation(alert, n, "summary");
  if (summary.empty()) summary = Annotation(alert, n, "description");
  if (summary.empty()) summary = Annotation(alert, n, "message");
  if (summary.empty() && n.source == AlertSource::kGrafana) summary = n.title;
  a.description = TruncateUtf8("Alert " + alertname + " firing on " + out.service +
                                   (summary.empty() ? std::string() : ": " + summary),
                               2000);
  auto line = [&](std::string s) { a.evidence.push_back(TruncateUtf8(s, kMaxEvidenceLine)); };
  line("alert " + alertname + " firing since " + FormatTime(alert.starts_at_ms) + " (" + ToString(n.source) +
       (n.receiver.empty() ? std::string() : ", receiver " + n.receiver) + ")");
  if (!out.expr.empty()) line("expr: " + out.expr);
  if (std::string d = Annotation(alert, n, "description"); !d.empty() && d != summary) line("description: " + d);
  if (!summary.empty()) line("summary: " + summary);
  if (std::string labels = LabelList(alert.labels); !labels.empty()) line("labels: " + labels);
  if (!alert.values.empty()) {
    std::string values;
    for (const auto& [k, v] : alert.values) values += (values.empty() ? "" : ", ") + k + "=" + WithUnit(v, "");
    line("values: " + values);
  }
  if (!alert.generator_url.empty()) line("source: " + alert.generator_url);
  if (!alert.dashboard_url.empty()) line("dashboard: " + alert.dashboard_url);
  if (std::string runbook = Annotation(alert, n, "runbook_url"); !runbook.empty()) line("runbook: " + runbook);

  Labels kept = alert.labels;
  out.baseline.fingerprint = fingerprint;
  out.baseline.source = std::string(ToString(n.source));
  out.baseline.alertname = alertname;
  out.baseline.expr = out.expr;
  out.baseline.since = alert.starts_at_ms;
  out.baseline.labels = kept;
  out.baseline.generator_url = TruncateUtf8(alert.generator_url, 2000, false);
  return out;
}

}  // namespace sre::ingest
