#include "shared/time_format.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>

namespace sre {

std::string FormatTime(int64_t ms) {
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

std::string FormatDate(int64_t ms) { return FormatTime(ms).substr(0, 10); }

std::string FormatDuration(double seconds) {
  long total = std::lround(seconds > 0 ? std::min(seconds, 1e12) : 0.0);  // NaN and negatives: 0
  long h = total / 3600, m = (total % 3600) / 60, s = total % 60;
  char buf[48];
  if (h) std::snprintf(buf, sizeof(buf), "%ld h %ld min", h, m);
  else if (m) std::snprintf(buf, sizeof(buf), "%ld min %ld s", m, s);
  else std::snprintf(buf, sizeof(buf), "%ld s", s);
  return buf;
}

}  // namespace sre
