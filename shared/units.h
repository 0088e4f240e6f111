#pragma once
// Units of the figures people read: an alert saying "error_rate 16.4 against a baseline of 0.514"
// leaves the reader to guess. The unit comes from the sample (raw.metrics' `labels.unit`, carried
// in anomalies.detected's `unit`), else from the metric's name. Pure functions.
#include <string>
#include <string_view>

namespace sre {

// The unit of a metric known by its name: the seven standard metrics, then suffixes (_ms, _seconds,
// _percent/_pct, _bytes, _total); "" when the name says nothing. "log:<pattern>" triggers count
// log lines.
std::string DefaultUnit(std::string_view metric);

// The unit as people write it: "percent"/"pct" → "%", "rps" → "req/s", "seconds" → "s"; others
// unchanged (lower-cased, at most 24 bytes of printable ASCII, else "").
std::string NormalizeUnit(std::string_view unit);

// `value` with 3 significant digits (no exponent below 1e9, at most 2 decimals when |value| >= 1)
// and its unit: "16.4%", "0.514%", "1250 ms", "3 lines", "42". `unit` is normalised first.
std::string WithUnit(double value, std::string_view unit);

}  // namespace sre
