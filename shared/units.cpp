#include "shared/units.h"

#include <cctype>
#include <cmath>
#include <cstdio>

namespace sre {
namespace {

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

std::string DefaultUnit(std::string_view m) {
  if (m.rfind("log:", 0) == 0) return "lines";
  if (m == "error_rate" || m == "cpu_percent" || m == "memory_percent") return "%";
  if (m == "request_rate") return "req/s";
  if (m == "latency_p99_ms") return "ms";
  if (m == "db_connections") return "connections";
  if (m == "kafka_consumer_lag") return "messages";
  if (EndsWith(m, "_ms") || EndsWith(m, "_milliseconds")) return "ms";
  if (EndsWith(m, "_seconds")) return "s";
  if (EndsWith(m, "_percent") || EndsWith(m, "_pct") || EndsWith(m, "_ratio_pct")) return "%";
  if (EndsWith(m, "_bytes")) return "bytes";
  return "";
}

std::string NormalizeUnit(std::string_view unit) {
  std::string u;
  for (char c : unit) {
    if (c < 0x20 || c > 0x7e) return "";
    u.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  while (!u.empty() && u.back() == ' ') u.pop_back();
  while (!u.empty() && u.front() == ' ') u.erase(0, 1);
  if (u.size() > 24) return "";
  if (u == "percent" || u == "pct") return "%";
  if (u == "rps" || u == "requests/s" || u == "requests_per_second") return "req/s";
  if (u == "seconds" || u == "second" || u == "sec") return "s";
  if (u == "milliseconds") return "ms";
  return u;
}

std::string WithUnit(double value, std::string_view unit) {
  char buf[64];
  double a = std::fabs(value);
  if (!std::isfinite(value)) {
    std::snprintf(buf, sizeof(buf), "%f", value);
  } else if (a >= 1e9) {
    std::snprintf(buf, sizeof(buf), "%.3g", value);
  } else if (a >= 100 || a == std::floor(a)) {
    std::snprintf(buf, sizeof(buf), "%.0f", value);
  } else if (a >= 1) {
    std::snprintf(buf, sizeof(buf), "%.*f", a >= 10 ? 1 : 2, value);
    // 16.40 → 16.4, 2.00 → 2
    std::string s(buf);
    while (s.find('.') != std::string::npos && (s.back() == '0' || s.back() == '.')) {
      bool dot = s.back() == '.';
      s.pop_back();
      if (dot) break;
    }
    std::snprintf(buf, sizeof(buf), "%s", s.c_str());
  } else {
    std::snprintf(buf, sizeof(buf), "%.3g", value);
  }
  std::string u = NormalizeUnit(unit);
  if (u.empty()) return buf;
  if (u == "%") return std::string(buf) + "%";
  if (u == "lines" && value == 1) return std::string(buf) + " line";
  return std::string(buf) + " " + u;
}

}  // namespace sre
