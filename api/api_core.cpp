#include "api/api_core.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <functional>
#include <set>
#include <string_view>

#include "shared/ids.h"
#include "shared/incident.h"
#include "shared/messages.h"
#include "shared/metrics.h"
#include "shared/text.h"
#include "shared/time_format.h"
#include "shared/units.h"

namespace sre::api {
namespace {

const std::set<std::string> kStatuses = {"DETECTING",    "CORRELATING", "INVESTIGATING",
                                         "RCA_COMPLETE", "REMEDIATING", "RESOLVED",
                                         "CLOSED",       "OPEN"};
const std::set<std::string> kSeverities = {"CRITICAL", "HIGH", "MEDIUM", "LOW"};
const std::vector<std::string> kPriorities = {"IMMEDIATE", "WITHIN_15MIN", "WITHIN_1HOUR"};

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

bool IsDigits(const std::string& s, size_t max_len = 19) {
  return !s.empty() && s.size() <= max_len &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// The value of at most `max_len` decimal digits (no sign); nullopt for anything else or when it
// does not fit T. No exceptions, unlike std::stoi.
template <typename T>
std::optional<T> ParseDigits(const std::string& s, size_t max_len) {
  if (!IsDigits(s, max_len)) return std::nullopt;
  T v{};
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

ApiError Err(int status, std::string message, std::string field = "") {
  ApiError e;
  e.status = status;
  e.message = std::move(message);
  e.field = std::move(field);
  return e;
}

ApiError Bad(std::string message) { return Err(400, std::move(message)); }

// A value from outside for an error message: quoted, cut to 64 bytes, valid UTF-8 without NUL.
std::string Quote(std::string_view s) { return "'" + SanitizeUtf8(TruncateUtf8(s, 64)) + "'"; }

bool CleanText(const std::string& s) { return s.find('\0') == std::string::npos && IsValidUtf8(s); }

// Typed reads of a JSON member that never throw: "" / nullopt when absent or of another type.
std::string StrOf(const Json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>()
                                                                : std::string();
}
std::optional<double> NumOf(const Json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_number()) return std::nullopt;
  double v = j[key].get<double>();
  return std::isfinite(v) ? std::optional<double>(v) : std::nullopt;
}
std::optional<int64_t> IntOf(const Json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_number_integer()) return std::nullopt;
  return j[key].get<int64_t>();
}
const Json& MemberOf(const Json& j, const char* key) {
  static const Json kNull;
  return j.is_object() && j.contains(key) ? j[key] : kNull;
}

std::string Fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", digits, v);
  return buf;
}

std::string Plural(size_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

// An incident number for a stored id, or "" when it is not an id.
std::string NumberOf(const std::string& id) {
  return id.empty() ? std::string() : IncidentNumber(id);
}

int64_t FloorTo(int64_t v, int64_t unit) {
  int64_t q = v / unit;
  if (v % unit != 0 && v < 0) --q;
  return q * unit;
}

constexpr int64_t kHourMs = 3600 * 1000;
constexpr int64_t kDayMs = 24 * kHourMs;

// The fields every lifecycle payload shares (shared/messages.h), checked by the shared codec.
struct LifecycleHead : Envelope {
  std::string incident_id;
  template <class V>
  void Visit(V& v) {
    VisitEnvelope(v);
    v("incident_id", incident_id, Check::Uuid());
  }
};

// ISO timestamps from row_to_json ("2026-12-02T05:00:00.123+00:00") are kept; the *_ms fields
// computed in SQL are what the dashboard uses.
Json Summarise(const std::string& topic, const Json& p) {
  auto s = [&](const char* k) {
    return p.contains(k) && p[k].is_string() ? p[k].get<std::string>() : std::string();
  };
  Json out = Json::object();
  if (topic == "anomalies.detected" || topic == "incidents.opened") {
    out = {{"service", s("service")},
           {"severity", s("severity")},
           {"anomaly_type", s("anomaly_type")},
           {"description", s("description")}};
  } else if (topic == "rca.completed") {
    out = {{"root_cause_service", s("root_cause_service")},
           {"root_cause_category", s("root_cause_category")},
           {"top_root_cause", s("top_root_cause")},
           {"top_confidence", p.contains("top_confidence") && p["top_confidence"].is_number()
                                  ? p["top_confidence"]
                                  : Json()}};
  } else if (topic == "remediation.plans") {
    out = {
        {"steps",
         p.contains("action_steps") && p["action_steps"].is_array() ? p["action_steps"].size() : 0},
        {"estimated_resolution_time", s("estimated_resolution_time")}};
  } else if (topic == "incidents.resolved") {
    out = {
        {"mttr_seconds",
         p.contains("mttr_seconds") && p["mttr_seconds"].is_number() ? p["mttr_seconds"] : Json()},
        {"resolution_method", s("resolution_method")}};
  } else if (topic == "postmortems.generated") {
    out = {{"method", s("method")}};
  }
  return out;
}

// A one-line account of a stream event's summary (Summarise), as the dashboard shows it.
std::string DescribeStreamSummary(const std::string& topic, const Json& summary) {
  std::string out;
  if (topic == "anomalies.detected" || topic == "incidents.opened") {
    out = topic == "incidents.opened" ? "correlated: " : "";
    out += StrOf(summary, "severity") + " " + StrOf(summary, "anomaly_type");
    if (auto svc = StrOf(summary, "service"); !svc.empty()) out += " on " + svc;
    if (auto d = StrOf(summary, "description"); !d.empty()) out += ": " + d;
  } else if (topic == "rca.completed") {
    out = "root cause " + StrOf(summary, "root_cause_category");
    if (auto svc = StrOf(summary, "root_cause_service"); !svc.empty()) out += " in " + svc;
    if (auto c = NumOf(summary, "top_confidence"))
      out += " (" + Fixed(*c * 100, 0) + " % confidence)";
  } else if (topic == "remediation.plans") {
    auto steps = IntOf(summary, "steps");
    out = (steps ? std::to_string(*steps) + "-step " : std::string()) + "remediation plan";
  } else if (topic == "incidents.resolved") {
    out = "resolved";
    if (auto s = NumOf(summary, "mttr_seconds")) out += " after " + FormatDuration(*s) + " (event time)";
    if (auto m = StrOf(summary, "resolution_method"); !m.empty()) out += ", " + m;
  } else if (topic == "postmortems.generated") {
    out = "postmortem written";
    if (auto m = StrOf(summary, "method"); !m.empty()) out += " (" + m + ")";
  }
  return SanitizeUtf8(TruncateUtf8(out, 400));
}

}  // namespace

std::optional<ApiError> CheckQueryParameters(
    const std::multimap<std::string, std::string>& params) {
  for (const auto& [key, value] : params) {
    if (!CleanText(key))
      return Bad("parameter name " + Quote(key) + " contains NUL or is not valid UTF-8");
    if (!CleanText(value))
      return Bad("parameter " + Quote(key) + " contains NUL or is not valid UTF-8");
  }
  return std::nullopt;
}

std::variant<IncidentQuery, ApiError> ParseIncidentQuery(
    const std::multimap<std::string, std::string>& params) {
  if (auto err = CheckQueryParameters(params)) return *err;
  IncidentQuery q;
  std::set<std::string> seen;
  for (const auto& [key, value] : params) {
    if (!seen.insert(key).second) return Bad("parameter " + Quote(key) + " given more than once");
    if (key == "status") {
      if (value.empty()) continue;
      q.status = Upper(value);
      if (!kStatuses.count(q.status))
        return Bad(
            "status must be one of DETECTING, CORRELATING, INVESTIGATING, "
            "RCA_COMPLETE, REMEDIATING, RESOLVED, CLOSED, OPEN");
    } else if (key == "severity") {
      if (value.empty()) continue;
      q.severity = Upper(value);
      if (!kSeverities.count(q.severity))
        return Bad("severity must be one of CRITICAL, HIGH, MEDIUM, LOW");
    } else if (key == "service") {
      if (value.empty()) continue;
      bool ok = value.size() <= 128 && std::all_of(value.begin(), value.end(), [](char c) {
                  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
                         c == '.';
                });
      if (!ok) return Bad("service must be a service name ([a-z0-9-_.], at most 128 characters)");
      q.service = value;
    } else if (key == "limit") {
      auto v = ParseDigits<int>(value, 6);
      if (!v || *v < 1 || *v > kMaxLimit)
        return Bad("limit must be an integer between 1 and " + std::to_string(kMaxLimit));
      q.limit = *v;
    } else if (key == "before") {
      if (value.empty()) continue;
      if (IsUuid(value)) {
        q.before_id = value;
      } else if (auto ms = ParseDigits<int64_t>(value, 15)) {
        q.before_ms = *ms;
      } else {
        return Bad("before must be an incident id (UUID) or a time in Unix milliseconds");
      }
    } else if (key == "group") {
      if (value.empty()) continue;
      if (Upper(value) != "CASCADE") return Bad("group must be 'cascade'");
      q.group_cascades = true;
    } else if (key == "access_token") {
      continue;
    } else {
      return Bad("unknown parameter " + Quote(key));
    }
  }
  return q;
}

bool IsUuid(const std::string& s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return true;
}

namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view TrimSpace(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

struct Authority {
  std::string host;  // lower case; an IPv6 literal keeps its brackets
  std::optional<uint32_t> port;
};

// "host", "host:port", "[v6]" or "[v6]:port"; nullopt when malformed.
std::optional<Authority> ParseAuthority(std::string_view s) {
  Authority a;
  std::string_view rest;
  if (!s.empty() && s.front() == '[') {
    size_t close = s.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    a.host = Lower(s.substr(0, close + 1));
    rest = s.substr(close + 1);
  } else {
    size_t colon = s.find(':');
    a.host = Lower(s.substr(0, colon));
    rest = colon == std::string_view::npos ? std::string_view() : s.substr(colon);
  }
  if (a.host.empty() || a.host.find_first_of("/?#@ \t") != std::string::npos) return std::nullopt;
  if (rest.empty()) return a;
  if (rest.front() != ':') return std::nullopt;
  rest.remove_prefix(1);
  if (rest.empty() || rest.size() > 5 ||
      !std::all_of(rest.begin(), rest.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  uint32_t port = 0;
  for (char c : rest) port = port * 10 + static_cast<uint32_t>(c - '0');
  if (port > 65535) return std::nullopt;
  a.port = port;
  return a;
}

bool IsJsonMediaType(const std::string& content_type) {
  std::string_view v = content_type;
  return Lower(TrimSpace(v.substr(0, v.find(';')))) == "application/json";
}

// The code points of valid UTF-8 `s`, or nullopt when one is not printable: C0 and C1 controls,
// DEL, line and paragraph separators, and the bidirectional controls that can make a name read
// as another (U+200E/F, U+202A–U+202E, U+2066–U+2069).
std::optional<size_t> PrintableLength(std::string_view s) {
  size_t count = 0;
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    uint32_t cp = 0;
    size_t n = 1;
    if (c < 0x80) {
      cp = c;
    } else if ((c & 0xE0) == 0xC0) {
      n = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 3;
      cp = c & 0x0F;
    } else {
      n = 4;
      cp = c & 0x07;
    }
    if (i + n > s.size()) return std::nullopt;
    for (size_t k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    i += n;
    ++count;
    if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0x2028 || cp == 0x2029 || cp == 0x200E ||
        cp == 0x200F || (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069))
      return std::nullopt;
  }
  return count;
}

// A decision's text member: trimmed, printable, at most `max_chars` characters.
std::variant<std::string, ApiError> DecisionText(const Json& body, const char* field,
                                                 size_t max_chars, bool required) {
  auto bad = [&](std::string message) { return Err(400, std::move(message), field); };
  if (!body.contains(field) || body[field].is_null()) {
    if (required)
      return bad(std::string("'") + field +
                 "' is required: who decides (a name or an e-mail address)");
    return std::string();
  }
  if (!body[field].is_string()) return bad(std::string("'") + field + "' must be a string");
  const std::string raw = body[field].get<std::string>();
  if (!CleanText(raw))
    return bad(std::string("'") + field + "' contains NUL or is not valid UTF-8");
  std::string value(TrimSpace(raw));
  if (value.empty() && required) return bad(std::string("'") + field + "' must not be empty");
  auto length = PrintableLength(value);
  if (!length)
    return bad(std::string("'") + field + "' must be printable text (no control characters)");
  if (*length > max_chars)
    return bad(std::string("'") + field + "' is longer than " + std::to_string(max_chars) +
               " characters");
  return value;
}

}  // namespace

bool SameOrigin(const std::string& origin, const std::string& host) {
  std::string_view o = TrimSpace(origin);
  if (o.empty()) return true;
  size_t sep = o.find("://");
  if (sep == std::string_view::npos) return false;  // "null" among others
  std::string scheme = Lower(o.substr(0, sep));
  uint32_t default_port = 0;
  if (scheme == "http") {
    default_port = 80;
  } else if (scheme == "https") {
    default_port = 443;
  } else {
    return false;
  }
  auto from = ParseAuthority(o.substr(sep + 3));
  auto to = ParseAuthority(TrimSpace(host));
  return from && to && from->host == to->host &&
         from->port.value_or(default_port) == to->port.value_or(default_port);
}

std::optional<ApiError> ScreenPost(const PostHeaders& h, size_t body_bytes,
                                   const std::string& token) {
  try {
    if (!SameOrigin(h.origin, h.host))
      return Err(403, "Origin " + Quote(h.origin) + " is not this server (Host " + Quote(h.host) +
                          "): cross-site requests are refused");
    if (!token.empty() && !Authorized(token, h.authorization, ""))
      return Err(401, "missing or wrong bearer token: send \"Authorization: Bearer <API_TOKEN>\"");
    if (body_bytes > 0 && !IsJsonMediaType(h.content_type))
      return Err(415, "Content-Type must be application/json, got " +
                          (h.content_type.empty() ? std::string("none") : Quote(h.content_type)));
  } catch (const std::exception&) {
    return Err(400, "bad request headers");
  }
  return std::nullopt;
}

std::variant<DecisionRequest, ApiError> ParseDecisionBody(const std::string& body) {
  try {
    Json j = Json::object();
    if (!TrimSpace(body).empty()) {
      if (!CleanText(body)) return Err(400, "the body contains NUL or is not valid UTF-8");
      auto parsed = ParseJsonObject(body);
      if (!parsed.ok())
        return Err(400, "the body must be a JSON object {\"by\": ..., \"note\": ...}: " +
                            SanitizeUtf8(TruncateUtf8(parsed.status().message(), 128)));
      j = std::move(*parsed);
    }
    for (const auto& [key, value] : j.items())
      if (key != "by" && key != "note")
        return Err(400, "unknown field " + Quote(key) + " (a decision takes \"by\" and \"note\")",
                   SanitizeUtf8(TruncateUtf8(key, 64)));
    DecisionRequest out;
    auto by = DecisionText(j, "by", kMaxDecidedByChars, /*required=*/true);
    if (auto* err = std::get_if<ApiError>(&by)) return *err;
    out.by = std::get<std::string>(by);
    auto note = DecisionText(j, "note", kMaxDecisionNoteChars, /*required=*/false);
    if (auto* err = std::get_if<ApiError>(&note)) return *err;
    out.note = std::get<std::string>(note);
    return out;
  } catch (const std::exception&) {
    return Err(400, "the body could not be read");
  }
}

DecisionAnswer AnswerDecision(DecisionOutcome outcome, const Json& action,
                              const std::string& incident_id, const std::string& action_id) {
  const Json shaped = action.is_object() ? ShapeAction(action) : Json();
  switch (outcome) {
    case DecisionOutcome::kDecided:
      return {200, shaped};
    case DecisionOutcome::kNotFound:
      return {404, Json{{"error", "no action " + action_id + " on incident " + incident_id}}};
    case DecisionOutcome::kConflict: {
      std::string status = StrOf(action, "status");
      if (status.empty()) status = "not awaiting approval";
      return {409, Json{{"error", "action is " + status}, {"status", status}, {"action", shaped}}};
    }
    case DecisionOutcome::kExpired:
      return {410, Json{{"error", "approval expired; escalated"},
                        {"status", "ESCALATED"},
                        {"action", shaped}}};
  }
  return {500, Json{{"error", "unexpected decision outcome"}}};
}

namespace {

// "kill long queries" for kill_long_queries: the wire name, read as words.
std::string ActionWords(std::string name) {
  std::replace(name.begin(), name.end(), '_', ' ');
  return name;
}

// "rollback on user-service via simulator" from an action row or an ACTION_* payload.
std::string ActionHead(const Json& a) {
  std::string out = ActionWords(StrOf(a, "action"));
  if (out.empty()) out = "action";
  if (auto svc = StrOf(a, "service"); !svc.empty()) out += " on " + svc;
  if (auto ex = StrOf(a, "executor"); !ex.empty() && ex != "none") out += " via " + ex;
  return out;
}

// The ACTION_* events (shared/remediation_actions.h): "<head>: <what happened> — <detail>", e.g.
// "rollback on user-service via simulator: executed — HTTP 200: matched"; "" for another type.
std::string DescribeActionEvent(const std::string& type, const Json& p) {
  static const std::vector<std::pair<std::string, std::string>> kVerbs = {
      {"ACTION_PROPOSED", "proposed"}, {"ACTION_APPROVAL_REQUESTED", "awaiting approval"},
      {"ACTION_APPROVED", "approved"}, {"ACTION_REJECTED", "rejected"},
      {"ACTION_BLOCKED", "blocked"},   {"ACTION_EXECUTED", "executed"},
      {"ACTION_DRY_RUN", "dry run"},   {"ACTION_VERIFIED", "verified"},
      {"ACTION_FAILED", "failed"},     {"ACTION_ESCALATED", "escalated"}};
  std::string verb;
  for (const auto& [t, v] : kVerbs)
    if (t == type) verb = v;
  if (verb.empty()) return "";
  std::string detail = StrOf(p, "reason");
  auto strip = [&detail](const std::string& prefix) {
    if (detail.rfind(prefix, 0) != 0) return false;
    detail.erase(0, prefix.size());
    while (!detail.empty() && (detail.front() == ':' || detail.front() == ' ')) detail.erase(0, 1);
    return true;
  };
  if (type == "ACTION_DRY_RUN" && strip("dry run failed")) verb = "dry run failed";
  if (auto by = StrOf(p, "by");
      !by.empty() && (type == "ACTION_APPROVED" || type == "ACTION_REJECTED")) {
    strip(verb + " by " + by);
    verb += " by " + by;
  } else if (detail == verb || detail.rfind(verb + ":", 0) == 0) {
    strip(verb);
  }
  if (type == "ACTION_DRY_RUN" && verb == "dry run") verb = "dry run (nothing changed)";
  std::string out = ActionHead(p) + ": " + verb;
  if (!detail.empty()) out += " — " + detail;
  return out;
}

}  // namespace

Json ShapeAction(Json action) {
  if (!action.is_object()) return Json::object();
  try {
    action["summary"] = SanitizeUtf8(TruncateUtf8(ActionHead(action), 200));
    action["awaiting_approval"] = StrOf(action, "status") == "AWAITING_APPROVAL";
  } catch (const std::exception&) {
  }
  return action;
}

Json ShapeActions(const std::string& incident_id, Json actions) {
  Json out = Json::array();
  if (actions.is_array())
    for (auto& a : actions)
      if (a.is_object()) out.push_back(ShapeAction(std::move(a)));
  return {{"incident_id", incident_id}, {"actions", std::move(out)}};
}

Json ShapeIncidentList(Json rows, int limit, bool group_cascades) {
  Json out = {{"incidents", Json::array()}, {"next_before", nullptr}};
  if (!rows.is_array()) return out;
  bool more = rows.size() > static_cast<size_t>(limit);
  for (size_t i = 0; i < rows.size() && i < static_cast<size_t>(limit); ++i) {
    Json row = rows[i];
    if (row.is_object()) {
      if (auto id = StrOf(row, "id"); !id.empty()) row["incident_number"] = IncidentNumber(id);
      auto related = StrOf(row, "related_incident_id");
      row["related_incident_number"] = related.empty() ? Json() : Json(IncidentNumber(related));
    }
    out["incidents"].push_back(std::move(row));
  }
  if (more && !out["incidents"].empty()) {
    const Json& last = out["incidents"].back();
    if (last.contains("id") && last["id"].is_string()) out["next_before"] = last["id"];
  }
  if (group_cascades) out["incidents"] = GroupCascades(std::move(out["incidents"]));
  return out;
}

Json GroupCascades(Json incidents) {
  if (!incidents.is_array()) return Json::array();
  const size_t n = incidents.size();
  std::map<std::string, size_t> at;  // id -> position (the first row with that id)
  for (size_t i = 0; i < n; ++i)
    if (auto id = StrOf(incidents[i], "id"); !id.empty()) at.emplace(id, i);
  // parent[i]: the position of i's origin on the page, or n when none.
  std::vector<size_t> parent(n, n);
  std::vector<std::vector<size_t>> children(n);
  for (size_t i = 0; i < n; ++i) {
    auto it = at.find(StrOf(incidents[i], "related_incident_id"));
    if (it == at.end() || it->second == i) continue;
    parent[i] = it->second;
    children[it->second].push_back(i);  // in page order: newest first
  }
  std::vector<bool> emitted(n, false);
  Json out = Json::array();
  std::function<void(size_t, int)> emit = [&](size_t i, int depth) {
    if (emitted[i]) return;
    emitted[i] = true;
    Json row = std::move(incidents[i]);
    if (row.is_object()) row["cascade_depth"] = depth;
    out.push_back(std::move(row));
    for (size_t c : children[i]) emit(c, depth + 1);
  };
  for (size_t i = 0; i < n; ++i) {
    if (emitted[i]) continue;
    // The top of i's chain on the page; a cycle stops at the last incident not yet visited.
    std::vector<bool> seen(n, false);
    size_t top = i;
    seen[top] = true;
    while (parent[top] != n && !seen[parent[top]] && !emitted[parent[top]]) {
      top = parent[top];
      seen[top] = true;
    }
    emit(top, 0);
    if (!emitted[i]) emit(i, 0);  // only when its chain was cut above it
  }
  return out;
}

Json ShapeIncidentDetail(Json incident, Json emails, Json related, Json linked, Json actions) {
  if (!incident.is_object()) return Json::object();
  incident["actions"] = ShapeActions(StrOf(incident, "id"), std::move(actions))["actions"];
  if (incident.contains("id") && incident["id"].is_string())
    incident["incident_number"] = IncidentNumber(incident["id"].get<std::string>());
  incident["emails"] = emails.is_array() ? std::move(emails) : Json::array();
  const std::string related_id = StrOf(incident, "related_incident_id");
  incident["related_incident_number"] =
      related_id.empty() ? Json() : Json(IncidentNumber(related_id));
  if (related.is_object() && !related_id.empty() && StrOf(related, "id") == related_id) {
    related["incident_number"] = IncidentNumber(related_id);
    incident["related_incident"] = std::move(related);
  } else {
    incident["related_incident"] = nullptr;
  }
  Json linked_out = Json::array();
  if (linked.is_array()) {
    for (auto& row : linked) {
      if (!row.is_object()) continue;
      if (auto id = StrOf(row, "id"); !id.empty()) row["incident_number"] = IncidentNumber(id);
      linked_out.push_back(std::move(row));
    }
  }
  incident["linked_incidents"] = std::move(linked_out);
  auto detected = IntOf(incident, "detection_time_ms");
  auto recorded = IntOf(incident, "created_at_ms");
  std::optional<double> delay;
  if (detected && recorded) delay = PipelineDelaySeconds(*detected, *recorded);
  incident["pipeline_delay_seconds"] = delay ? Json(*delay) : Json();
  Json grouped = Json::object();
  for (const auto& p : kPriorities) grouped[p] = Json::array();
  const Json& plan = incident.contains("remediation_plan") ? incident["remediation_plan"] : Json();
  if (plan.is_object() && plan.contains("action_steps") && plan["action_steps"].is_array()) {
    for (const auto& step : plan["action_steps"]) {
      std::string priority =
          step.is_object() && step.contains("priority") && step["priority"].is_string()
              ? step["priority"].get<std::string>()
              : std::string();
      if (priority.empty()) priority = "UNSPECIFIED";
      if (!grouped.contains(priority)) grouped[priority] = Json::array();
      grouped[priority].push_back(step);
    }
  }
  incident["plan_by_priority"] = grouped;
  // correlation_context is shared/incident.h's CorrelationContext, decoded strictly: a row that
  // does not decode shows no signals and says why, instead of guessing.
  incident["correlation_signals"] = Json::array();
  incident["correlation_summary"] = Json();
  if (incident.contains("correlation_context") && incident["correlation_context"].is_object()) {
    auto ctx = FromJson<CorrelationContext>(incident["correlation_context"]);
    if (ctx.ok()) {
      incident["correlation_signals"] = ToJson(ctx->signals);
      incident["correlation_summary"] = ctx->summary;
    } else {
      incident["correlation_context_error"] = ctx.status().message();
    }
  }
  return incident;
}

namespace {
Json Summary(const std::vector<double>& v) {
  Json out = {{"count", v.size()}, {"mean", nullptr}, {"p90", nullptr}};
  if (v.empty()) return out;
  double sum = 0;
  for (double x : v) sum += x;
  out["mean"] = sum / static_cast<double>(v.size());
  out["p90"] = *Percentile(v, 90);
  return out;
}
}  // namespace

std::optional<double> PipelineDelaySeconds(int64_t detection_ms, int64_t recorded_ms) {
  if (recorded_ms < detection_ms) return std::nullopt;
  return static_cast<double>(recorded_ms - detection_ms) / 1000.0;
}

Json IncidentActivity(const std::vector<int64_t>& detection_ms, int64_t now_ms) {
  int64_t end = now_ms;
  for (int64_t t : detection_ms) end = std::max(end, t);
  int64_t oldest = end;
  for (int64_t t : detection_ms) oldest = std::min(oldest, t);
  const int64_t last_hour = FloorTo(end, kHourMs);
  int64_t bucket = kHourMs, first = last_hour - 23 * kHourMs;
  size_t count = 24;
  if (oldest < first) {
    first = last_hour - 47 * kHourMs;
    count = 48;
  }
  if (oldest < first) {
    bucket = kDayMs;
    first = FloorTo(end, kDayMs) - 6 * kDayMs;
    count = 7;
  }
  std::vector<int64_t> counts(count, 0);
  int64_t earlier = 0;
  for (int64_t t : detection_ms) {
    if (t < first) {
      ++earlier;
      continue;
    }
    size_t k = static_cast<size_t>((t - first) / bucket);
    ++counts[std::min(k, count - 1)];
  }
  Json buckets = Json::array();
  for (size_t k = 0; k < count; ++k)
    buckets.push_back(
        {{"start_ms", first + static_cast<int64_t>(k) * bucket}, {"count", counts[k]}});
  return {{"bucket", bucket == kHourMs ? "hour" : "day"},
          {"bucket_ms", bucket},
          {"from_ms", first},
          {"to_ms", first + static_cast<int64_t>(count) * bucket},
          {"clock", "event"},
          {"buckets", buckets},
          {"earlier", earlier}};
}

Json ComputeStats(const std::vector<StatsRow>& rows, int64_t now_ms) {
  Json by_status = Json::object(), by_type = Json::object(), by_severity = Json::object();
  for (const auto& s : kSeverities) by_severity[s] = 0;
  std::vector<double> mttr, delay;
  std::vector<int64_t> detected;
  int64_t skipped = 0;
  std::map<int64_t, std::pair<int, std::vector<double>>> days;
  int open = 0;
  for (const auto& r : rows) {
    by_status[r.status] = by_status.value(r.status, 0) + 1;
    by_type[r.anomaly_type] = by_type.value(r.anomaly_type, 0) + 1;
    by_severity[r.severity] = by_severity.value(r.severity, 0) + 1;
    if (r.status != "RESOLVED" && r.status != "CLOSED") ++open;
    auto& day = days[FloorTo(r.detection_ms, kDayMs)];
    ++day.first;
    if (r.mttr_seconds) {
      mttr.push_back(*r.mttr_seconds);
      day.second.push_back(*r.mttr_seconds);
    }
    if (auto d = PipelineDelaySeconds(r.detection_ms, r.recorded_ms))
      delay.push_back(*d);
    else
      ++skipped;
    detected.push_back(r.detection_ms);
  }
  Json per_day = Json::array();
  for (const auto& [day_ms, d] : days) {
    Json mean = nullptr;
    if (!d.second.empty()) {
      double sum = 0;
      for (double x : d.second) sum += x;
      mean = sum / static_cast<double>(d.second.size());
    }
    per_day.push_back({{"day_ms", day_ms}, {"count", d.first}, {"mttr_mean", mean}});
  }
  Json pipeline_delay = Summary(delay);
  pipeline_delay["skipped_event_time_ahead"] = skipped;
  return {{"total", rows.size()},
          {"open", open},
          {"by_status", by_status},
          {"by_type", by_type},
          {"by_severity", by_severity},
          {"mttr_seconds", Summary(mttr)},
          {"pipeline_delay_seconds", pipeline_delay},
          {"detection_delay_seconds", pipeline_delay},
          {"per_day", per_day},
          {"incident_activity", IncidentActivity(detected, now_ms)}};
}

namespace {

std::string DescribeUnchecked(const std::string& type, const Json& p) {
  if (type.rfind("ACTION_", 0) == 0)
    if (auto line = DescribeActionEvent(type, p); !line.empty()) return line;
  if (type == "EMAIL_SENT") {
    std::string kind = StrOf(p, "notification_type");
    const Json& to = MemberOf(p, "recipients");
    std::string out = (kind.empty() ? std::string("an") : kind) + " email sent";
    if (to.is_array()) out += " to " + Plural(to.size(), "recipient", "recipients");
    const Json& refused = MemberOf(p, "rejected_recipients");
    if (refused.is_array() && !refused.empty())
      out += " (" + Plural(refused.size(), "recipient", "recipients") + " refused)";
    if (auto subject = StrOf(p, "subject"); !subject.empty()) out += " — " + subject;
    return out;
  }
  if (type == "ANOMALY_DETECTED") {
    const Json& a = MemberOf(p, "anomaly");
    std::string out = StrOf(a, "anomaly_type");
    if (out.empty()) out = "anomaly";
    if (auto sev = StrOf(a, "severity"); !sev.empty()) out += " (" + sev + ")";
    if (auto svc = StrOf(a, "service"); !svc.empty()) out += " on " + svc;
    std::string trigger = StrOf(a, "trigger_metric");
    if (trigger.rfind("log:", 0) == 0) {
      out += ": log pattern " + trigger.substr(4);
      if (auto v = NumOf(a, "observed_value"); v && StrOf(a, "unit") == "lines") out += ", " + WithUnit(*v, "lines");
    } else if (!trigger.empty()) {
      out += ": " + trigger;
      std::string unit = StrOf(a, "unit");
      if (unit.empty()) unit = DefaultUnit(trigger);
      if (auto v = NumOf(a, "observed_value")) out += " " + WithUnit(*v, unit);
      if (auto m = NumOf(a, "baseline_mean")) out += " vs baseline " + WithUnit(*m, unit);
      if (auto z = NumOf(a, "deviation_sigma")) out += " (" + Fixed(*z, 1) + "σ)";
    }
    if (auto how = StrOf(p, "classification_method"); !how.empty())
      out += "; classified by " + how;
    return out;
  }
  if (type == "METRIC_ATTACHED") {
    std::string out = StrOf(p, "trigger");
    if (out.empty()) out = "another metric";
    if (auto svc = StrOf(p, "service"); !svc.empty()) out += " on " + svc;
    out += " also breached";
    if (auto v = NumOf(p, "observed_value")) out += ": " + WithUnit(*v, DefaultUnit(StrOf(p, "trigger")));
    if (auto z = NumOf(p, "deviation_sigma")) out += " (" + Fixed(*z, 1) + "σ)";
    return out;
  }
  if (type == "LOG_PATTERN_ATTACHED") {
    std::string trigger = StrOf(p, "trigger");
    if (trigger.rfind("log:", 0) == 0) trigger = trigger.substr(4);
    std::string out = trigger.empty() ? "another log pattern" : "log pattern " + trigger;
    if (auto svc = StrOf(p, "service"); !svc.empty()) out += " on " + svc;
    if (auto line = StrOf(p, "log_line"); !line.empty()) out += ": " + TruncateUtf8(line, 200);
    return out;
  }
  if (type == "CORRELATION_COMPLETE") {
    std::string out = StrOf(p, "summary");
    if (out.empty()) {
      const Json& signals = MemberOf(p, "signals");
      if (signals.is_array())
        out = Plural(signals.size(), "correlation signal", "correlation signals");
    }
    if (auto origin = StrOf(p, "related_incident_id"); !origin.empty())
      out += "; part of " + NumberOf(origin);
    if (out.empty()) out = "correlation complete";
    const Json& adopted = MemberOf(p, "adopted_incident_ids");
    if (adopted.is_array() && !adopted.empty())
      out += "; origin of " + Plural(adopted.size(), "linked incident", "linked incidents");
    return out;
  }
  if (type == "LINKED_TO_ORIGIN") {
    std::string origin = NumberOf(StrOf(p, "related_incident_id"));
    std::string out =
        "linked to " + (origin.empty() ? std::string("its origin") : "origin " + origin);
    if (auto svc = StrOf(p, "origin_service"); !svc.empty()) out += " on " + svc;
    return out;
  }
  if (type == "RCA_COMPLETED") {
    std::string category = StrOf(p, "root_cause_category");
    std::string out = category.empty() ? "root cause analysis complete" : "root cause " + category;
    if (auto svc = StrOf(p, "root_cause_service"); !svc.empty()) out += " in " + svc;
    std::vector<std::string> notes;
    if (auto c = NumOf(p, "confidence")) notes.push_back(Fixed(*c * 100, 0) + " % confidence");
    if (auto m = StrOf(p, "method"); !m.empty()) notes.push_back(m);
    const Json& calls = MemberOf(p, "tool_calls");
    if (calls.is_array() && !calls.empty())
      notes.push_back(Plural(calls.size(), "tool call", "tool calls"));
    for (size_t i = 0; i < notes.size(); ++i) out += (i == 0 ? " (" : ", ") + notes[i];
    if (!notes.empty()) out += ")";
    return out;
  }
  if (type == "PLAN_CREATED") {
    auto steps = IntOf(p, "steps");
    std::string out =
        steps ? std::to_string(*steps) + "-step remediation plan" : "remediation plan";
    if (auto m = StrOf(p, "method"); !m.empty()) out += " (" + m + ")";
    const Json& runbooks = MemberOf(p, "runbooks");
    if (runbooks.is_array() && !runbooks.empty()) {
      out += "; runbooks:";
      size_t shown = 0;
      for (const auto& r : runbooks) {
        if (!r.is_string()) continue;
        out += (shown++ ? ", " : " ") + r.get<std::string>();
        if (shown == 3) break;
      }
    }
    return out;
  }
  if (type == "INCIDENT_RESOLVED") {
    std::string out = "resolved";
    if (auto s = NumOf(p, "mttr_seconds")) out += " after " + FormatDuration(*s) + " (event time)";
    if (auto m = StrOf(p, "method"); !m.empty()) out += ", " + m;
    if (auto reason = StrOf(p, "reason"); !reason.empty()) out += ": " + reason;
    return out;
  }
  if (type == "POSTMORTEM_GENERATED") {
    std::string out = "postmortem written";
    if (auto m = StrOf(p, "method"); !m.empty()) out += " (" + m + ")";
    if (auto n = IntOf(p, "action_items"))
      out += ", " + Plural(static_cast<size_t>(std::max<int64_t>(*n, 0)), "action item",
                          "action items");
    return out;
  }
  for (const char* key : {"summary", "description", "message"})
    if (auto text = StrOf(p, key); !text.empty()) return text;
  return "";
}

const std::vector<std::pair<std::string, std::string>>& TopicEventTypes() {
  static const std::vector<std::pair<std::string, std::string>> kPairs = {
      {"anomalies.detected", "ANOMALY_DETECTED"},
      {"incidents.opened", "CORRELATION_COMPLETE"},
      {"rca.completed", "RCA_COMPLETED"},
      {"remediation.plans", "PLAN_CREATED"},
      {"incidents.resolved", "INCIDENT_RESOLVED"},
      {"postmortems.generated", "POSTMORTEM_GENERATED"}};
  return kPairs;
}

}  // namespace

std::string DescribeAgentEvent(const std::string& event_type, const Json& payload) {
  std::string out;
  try {
    out = DescribeUnchecked(event_type, payload);
  } catch (const std::exception&) {
    out.clear();
  }
  return SanitizeUtf8(TruncateUtf8(out, 400));
}

std::string TopicOfAgentEvent(const std::string& event_type) {
  for (const auto& [topic, type] : TopicEventTypes())
    if (type == event_type) return topic;
  return "";
}

std::string AgentEventTypeOf(const std::string& topic) {
  for (const auto& [t, type] : TopicEventTypes())
    if (t == topic) return type;
  return "";
}

Json ShapeTimeline(const std::string& incident_id, Json events) {
  Json out = Json::array();
  if (events.is_array()) {
    for (auto& e : events) {
      if (!e.is_object()) continue;
      e["summary"] = DescribeAgentEvent(StrOf(e, "event_type"), MemberOf(e, "payload"));
      out.push_back(std::move(e));
    }
  }
  return {{"incident_id", incident_id}, {"events", std::move(out)}};
}

std::variant<EventsQuery, ApiError> ParseEventsQuery(
    const std::multimap<std::string, std::string>& params) {
  if (auto err = CheckQueryParameters(params)) return *err;
  EventsQuery q;
  std::set<std::string> seen;
  for (const auto& [key, value] : params) {
    if (!seen.insert(key).second) return Bad("parameter " + Quote(key) + " given more than once");
    if (key == "limit") {
      auto v = ParseDigits<int>(value, 6);
      if (!v || *v < 1 || *v > kMaxEventsLimit)
        return Bad("limit must be an integer between 1 and " + std::to_string(kMaxEventsLimit));
      q.limit = *v;
    } else if (key != "access_token") {
      return Bad("unknown parameter " + Quote(key));
    }
  }
  return q;
}

Json ShapeRecentEvents(Json rows) {
  Json out = Json::array();
  if (rows.is_array()) {
    for (auto& e : rows) {
      if (!e.is_object()) continue;
      const std::string type = StrOf(e, "event_type");
      e["summary"] = DescribeAgentEvent(type, MemberOf(e, "payload"));
      e.erase("payload");
      e["incident_number"] = NumberOf(StrOf(e, "incident_id"));
      const std::string topic = TopicOfAgentEvent(type);
      e["topic"] = topic.empty() ? Json() : Json(topic);
      out.push_back(std::move(e));
    }
  }
  return {{"events", std::move(out)}};
}

std::string ServiceHealth(bool open_incident, const std::map<std::string, double>& latest,
                          double sla_latency_p99_ms, double sla_error_rate_pct) {
  if (open_incident) return "incident";
  if (latest.empty()) return "unknown";
  auto over = [&](const char* metric, double limit) {
    auto it = latest.find(metric);
    return limit > 0 && it != latest.end() && it->second > limit;
  };
  if (over("latency_p99_ms", sla_latency_p99_ms) || over("error_rate", sla_error_rate_pct))
    return "degraded";
  return "ok";
}

const std::vector<std::string>& LifecycleTopics() {
  static const std::vector<std::string> kTopics = {"anomalies.detected", "incidents.opened",
                                                   "rca.completed",      "remediation.plans",
                                                   "incidents.resolved", "postmortems.generated"};
  return kTopics;
}

std::variant<LifecycleEvent, ApiError> MakeStreamEvent(const std::string& topic,
                                                       const std::string& payload) {
  // The same decoder the agents use for the topic, so the stream shows exactly what the pipeline
  // accepts (and text arrives cleaned the same way).
  Json p;
  Status decoded = Status::Invalid("not a lifecycle topic: " + SanitizeUtf8(TruncateUtf8(topic, 64)));
  auto decode = [&]<typename T>() {
    auto d = Decode<T>(payload);
    decoded = d.status();
    if (d.ok()) p = ToJson(*d);
  };
  if (topic == topics::kAnomaliesDetected) decode.operator()<AnomalyDetected>();
  else if (topic == topics::kIncidentsOpened) decode.operator()<IncidentOpened>();
  else if (topic == topics::kRcaCompleted) decode.operator()<RcaCompleted>();
  else if (topic == topics::kRemediationPlans) decode.operator()<RemediationPlan>();
  else if (topic == topics::kIncidentsResolved) decode.operator()<IncidentResolved>();
  else if (topic == topics::kPostmortemsGenerated) decode.operator()<PostmortemGenerated>();
  if (!decoded.ok())
    return Bad("payload does not match the lifecycle contract: " + SanitizeUtf8(TruncateUtf8(decoded.message(), 256)));
  auto head = FromJson<LifecycleHead>(p);
  if (!head.ok()) return Bad("payload does not match the lifecycle contract: " + head.status().message());
  std::string id = head->incident_id;
  for (char& c : id) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  LifecycleEvent out;
  out.event_id = head->event_id;
  out.event.type = topic;
  Json summary = Summarise(topic, p);
  Json data = {{"topic", topic},
               {"incident_id", id},
               {"incident_number", IncidentNumber(id)},
               {"event_id", head->event_id},
               {"timestamp", head->timestamp},
               {"summary", summary},
               {"event_type", AgentEventTypeOf(topic)},
               {"text", DescribeStreamSummary(topic, summary)}};
  out.event.data = data.dump(-1, ' ', false, Json::error_handler_t::replace);
  return out;
}

EventRing::EventRing(size_t capacity, uint64_t first_id)
    : capacity_(std::max<size_t>(capacity, 1)), next_id_(first_id) {}

uint64_t EventRing::Push(StreamEvent event) {
  std::lock_guard<std::mutex> lock(mu_);
  event.id = next_id_++;
  // The id goes into the data too, so a client reading only `data` can resume.
  Json data = Json::parse(event.data, nullptr, false);
  if (data.is_object()) {
    data["id"] = event.id;
    event.data = data.dump();
  }
  events_.push_back(std::move(event));
  while (events_.size() > capacity_) events_.pop_front();
  return events_.back().id;
}

EventRing::Replay EventRing::Since(uint64_t since) const {
  std::lock_guard<std::mutex> lock(mu_);
  Replay r;
  r.last_id = next_id_ > 1 && !events_.empty() ? events_.back().id : 0;
  if (events_.empty()) return r;
  // An id the ring never issued (from an earlier process, or the future): replay all we hold.
  if (since >= next_id_) since = 0;
  if (since > 0 && since + 1 < events_.front().id) r.gap = true;
  for (const auto& e : events_)
    if (e.id > since) r.events.push_back(e);
  return r;
}

uint64_t EventRing::last_id() const {
  std::lock_guard<std::mutex> lock(mu_);
  return events_.empty() ? 0 : events_.back().id;
}

size_t EventRing::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return events_.size();
}

std::variant<std::optional<uint64_t>, ApiError> ResumePoint(const std::string& last_event_id_header,
                                                            const std::string& since_param) {
  const std::string& v = !last_event_id_header.empty() ? last_event_id_header : since_param;
  if (v.empty()) return std::optional<uint64_t>();
  auto id = ParseDigits<uint64_t>(v, 19);
  if (!id) return Bad("Last-Event-ID / since must be a non-negative integer event id");
  return std::optional<uint64_t>(*id);
}

std::string SseFrame(const StreamEvent& e) {
  std::string out = "id: " + std::to_string(e.id) + "\nevent: " + e.type + "\n";
  size_t start = 0;
  while (true) {
    size_t nl = e.data.find('\n', start);
    std::string line =
        e.data.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    out += "data: " + line + "\n";
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  return out + "\n";
}

std::string SseComment(const std::string& text) { return ": " + text + "\n\n"; }

bool Authorized(const std::string& token, const std::string& authorization_header,
                const std::string& access_token_param) {
  if (token.empty()) return true;
  auto equal = [&](const std::string& given) {
    unsigned char diff = given.size() == token.size() ? 0 : 1;
    for (size_t i = 0; i < token.size(); ++i)
      diff |= static_cast<unsigned char>(token[i] ^ (i < given.size() ? given[i] : 0));
    return diff == 0;
  };
  const std::string prefix = "Bearer ";
  if (authorization_header.size() > prefix.size() &&
      authorization_header.compare(0, prefix.size(), prefix) == 0 &&
      equal(authorization_header.substr(prefix.size())))
    return true;
  return !access_token_param.empty() && equal(access_token_param);
}

std::optional<std::string> StaticRelativePath(const std::string& request_path) {
  if (request_path.empty() || request_path[0] != '/') return std::nullopt;
  std::string rel = request_path.substr(1);
  if (rel.empty()) return std::string("index.html");
  if (rel.find('\\') != std::string::npos || rel.find('\0') != std::string::npos || rel[0] == '/')
    return std::nullopt;
  size_t start = 0;
  while (start <= rel.size()) {
    size_t slash = rel.find('/', start);
    std::string part =
        rel.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (part.empty() || part == "." || part == "..") return std::nullopt;
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return rel;
}

std::string ContentTypeFor(const std::string& path) {
  auto dot = path.rfind('.');
  std::string ext = dot == std::string::npos ? "" : path.substr(dot + 1);
  static const std::map<std::string, std::string> kTypes = {
      {"html", "text/html; charset=utf-8"},
      {"css", "text/css; charset=utf-8"},
      {"js", "text/javascript; charset=utf-8"},
      {"svg", "image/svg+xml"},
      {"png", "image/png"},
      {"json", "application/json"},
      {"ico", "image/x-icon"}};
  auto it = kTypes.find(ext);
  return it == kTypes.end() ? "application/octet-stream" : it->second;
}

std::string RouteTemplate(const std::string& path) {
  if (path == "/healthz" || path == "/metrics") return path;
  constexpr std::string_view kApi = "/api/";
  std::string_view p = path;
  if (!p.starts_with(kApi)) return "static";
  std::string_view rest = p.substr(kApi.size());
  for (std::string_view exact : {"incidents", "stats", "services", "stream", "events"})
    if (rest == exact) return std::string(kApi) + std::string(exact);
  constexpr std::string_view kIncident = "incidents/";
  if (rest.starts_with(kIncident)) {
    rest.remove_prefix(kIncident.size());
    size_t slash = rest.find('/');
    if (slash != 0 && !rest.empty()) {
      if (slash == std::string_view::npos) return "/api/incidents/{id}";
      std::string_view tail = rest.substr(slash);
      if (tail == "/timeline") return "/api/incidents/{id}/timeline";
      if (tail == "/postmortem") return "/api/incidents/{id}/postmortem";
      if (tail == "/actions") return "/api/incidents/{id}/actions";
      constexpr std::string_view kActions = "/actions/";
      if (tail.starts_with(kActions)) {
        std::string_view decided = tail.substr(kActions.size());
        size_t cut = decided.find('/');
        if (cut != 0 && cut != std::string_view::npos &&
            (decided.substr(cut) == "/approve" || decided.substr(cut) == "/reject"))
          return "/api/incidents/{id}/actions/{action_id}/{decision}";
      }
    }
  }
  return "/api/unknown";
}

void StreamSlots::Slot::Release() {
  if (owner_) owner_->used_.fetch_sub(1);
  owner_ = nullptr;
}

std::optional<StreamSlots::Slot> StreamSlots::TryAcquire() {
  size_t n = used_.load();
  do {
    if (n >= max_) return std::nullopt;
  } while (!used_.compare_exchange_weak(n, n + 1));
  return Slot(this);
}

}  // namespace sre::api
