#pragma once
// Times and durations for people (emails, postmortems, logs). Pure; thread-safe.
#include <cstdint>
#include <string>

namespace sre {

// "2026-11-23 14:05:09 UTC" for Unix milliseconds.
std::string FormatTime(int64_t ms);
// "2026-11-23".
std::string FormatDate(int64_t ms);
// "45 s", "12 min 30 s", "2 h 1 min".
std::string FormatDuration(double seconds);

}  // namespace sre
