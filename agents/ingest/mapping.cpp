#include "agents/ingest/mapping.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "shared/files.h"
#include "shared/ids.h"
#include "shared/text.h"
#include "shared/units.h"

#ifndef SRE_SOURCE_DIR
#define SRE_SOURCE_DIR "."
#endif

namespace sre::ingest {
namespace {

constexpr size_t kMaxServiceBytes = 128;  // raw.metrics source_service
constexpr size_t kMaxMatchKeyBytes = 256;

Status Bad(const std::string& path, const std::string& what) {
  return Status::Invalid(path + ": " + what);
}

std::string Quoted(const std::string& s) { return "'" + TruncateUtf8(s, 64) + "'"; }

// Rejects keys that are neither allowed nor comments ("_doc").
Status CheckKeys(const Json& obj, const std::string& path, const std::set<std::string>& allowed) {
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (!it.key().empty() && it.key()[0] == '_') continue;
    if (allowed.count(it.key())) continue;
    std::string names;
    for (const auto& a : allowed) names += (names.empty() ? "" : ", ") + a;
    return Bad(path.empty() ? TruncateUtf8(it.key(), 64) : path + "." + TruncateUtf8(it.key(), 64),
               "unknown key (expected one of " + names + "; keys starting with '_' are comments)");
  }
  return Status::Ok();
}

Status ReadString(const Json& j, const std::string& path, size_t max_bytes, std::string& out) {
  if (!j.is_string()) return Bad(path, "expected a string, got " + codec::TypeName(j));
  out = j.get<std::string>();
  if (out.empty()) return Bad(path, "must not be empty");
  if (out.size() > max_bytes)
    return Bad(path, "longer than " + std::to_string(max_bytes) + " bytes");
  if (!IsValidUtf8(out) || out.find('\0') != std::string::npos)
    return Bad(path, "not valid UTF-8 text");
  return Status::Ok();
}

Status ReadStringList(const Json& j, const std::string& path, std::vector<std::string>& out) {
  if (!j.is_array()) return Bad(path, "expected an array of strings, got " + codec::TypeName(j));
  out.clear();
  for (size_t i = 0; i < j.size(); ++i) {
    std::string s;
    if (Status st = ReadString(j[i], path + "[" + std::to_string(i) + "]", kMaxMatchKeyBytes, s);
        !st.ok())
      return st;
    out.push_back(std::move(s));
  }
  return Status::Ok();
}

Status ParseRule(const Json& j, const std::string& path, MappingRule& r) {
  if (!j.is_object()) return Bad(path, "expected an object, got " + codec::TypeName(j));
  static const std::set<std::string> kKeys = {"metric",  "match", "rename", "name_from_label",
                                              "counter", "scale", "unit"};
  if (Status st = CheckKeys(j, path, kKeys); !st.ok()) return st;
  if (!j.contains("metric")) return Bad(path + ".metric", "missing required field");
  if (Status st = ReadString(j["metric"], path + ".metric", kMaxMatchKeyBytes, r.metric); !st.ok())
    return st;
  if (j.contains("match")) {
    const Json& m = j["match"];
    if (!m.is_object())
      return Bad(path + ".match", "expected an object of strings, got " + codec::TypeName(m));
    for (auto it = m.begin(); it != m.end(); ++it) {
      const std::string p = path + ".match." + TruncateUtf8(it.key(), 64);
      if (it.key().empty() || it.key() == "__name__")
        return Bad(p, "match on a label other than __name__ (the rule's metric names the series)");
      if (!it.value().is_string())
        return Bad(p, "expected a string, got " + codec::TypeName(it.value()));
      // An empty value would never match: remote write drops empty labels as Prometheus does.
      std::string v;
      if (Status st = ReadString(it.value(), p, kMaxMatchKeyBytes, v); !st.ok()) return st;
      r.match.emplace(it.key(), std::move(v));
    }
  }
  if (j.contains("rename") && j.contains("name_from_label"))
    return Bad(path, "rename and name_from_label exclude each other");
  if (j.contains("rename")) {
    std::string name;
    if (Status st = ReadString(j["rename"], path + ".rename", 128, name); !st.ok()) return st;
    if (!IsValidMetricName(name))
      return Bad(path + ".rename",
                 Quoted(name) + " is not a valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)");
    r.rename = std::move(name);
  }
  if (j.contains("name_from_label")) {
    std::string label;
    if (Status st =
            ReadString(j["name_from_label"], path + ".name_from_label", kMaxMatchKeyBytes, label);
        !st.ok())
      return st;
    r.name_from_label = std::move(label);
  }
  if (!r.rename && !r.name_from_label && !IsValidMetricName(r.metric))
    return Bad(
        path + ".metric",
        Quoted(r.metric) + " is not a valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*); add a rename");
  if (j.contains("counter")) {
    if (!j["counter"].is_boolean())
      return Bad(path + ".counter", "expected true or false, got " + codec::TypeName(j["counter"]));
    r.counter = j["counter"].get<bool>();
  }
  if (j.contains("scale")) {
    if (!j["scale"].is_number())
      return Bad(path + ".scale", "expected a number, got " + codec::TypeName(j["scale"]));
    r.scale = j["scale"].get<double>();
    if (!std::isfinite(r.scale) || r.scale <= 0)
      return Bad(path + ".scale", "must be a finite number above 0");
  }
  if (j.contains("unit")) {
    std::string unit;
    if (Status st = ReadString(j["unit"], path + ".unit", 32, unit); !st.ok()) return st;
    r.unit = NormalizeUnit(unit);
    if (r.unit.empty()) return Bad(path + ".unit", "expected at most 24 bytes of printable ASCII");
  }
  return Status::Ok();
}

// Unambiguous whatever bytes the labels hold: each part is length-prefixed.
std::string SeriesKey(const Labels& labels, std::string_view source) {
  std::string key;
  auto put = [&key](std::string_view s) {
    key += std::to_string(s.size());
    key += ':';
    key += s;
  };
  put(source);
  for (const auto& [k, v] : labels) {
    put(k);
    put(v);
  }
  return key;
}

}  // namespace

bool IsValidMetricName(std::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  auto alpha = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
  };
  if (!alpha(name[0])) return false;
  return std::all_of(name.begin() + 1, name.end(),
                     [&](char c) { return alpha(c) || (c >= '0' && c <= '9'); });
}

Expected<IngestMapping> ParseMapping(const Json& j) {
  if (!j.is_object())
    return Status::Invalid("mapping: expected a JSON object, got " + codec::TypeName(j));
  if (Status st = CheckKeys(j, "", {"service_labels", "rules", "drop_labels"}); !st.ok()) return st;
  IngestMapping m;
  if (j.contains("service_labels")) {
    if (Status st = ReadStringList(j["service_labels"], "service_labels", m.service_labels);
        !st.ok())
      return st;
    if (m.service_labels.empty()) return Bad("service_labels", "must name at least one label");
  }
  if (!j.contains("rules")) return Bad("rules", "missing required field");
  const Json& rules = j["rules"];
  if (!rules.is_array()) return Bad("rules", "expected an array, got " + codec::TypeName(rules));
  if (rules.empty())
    return Bad("rules", "must hold at least one rule (without one, every series is dropped)");
  for (size_t i = 0; i < rules.size(); ++i) {
    MappingRule r;
    if (Status st = ParseRule(rules[i], "rules[" + std::to_string(i) + "]", r); !st.ok()) return st;
    m.rules.push_back(std::move(r));
  }
  if (j.contains("drop_labels"))
    if (Status st = ReadStringList(j["drop_labels"], "drop_labels", m.drop_labels); !st.ok())
      return st;
  return m;
}

Expected<IngestMapping> LoadMapping(const std::string& path) {
  auto j = ReadJsonFile(path);
  if (!j.ok()) return j.status();
  auto m = ParseMapping(*j);
  if (!m.ok()) return Status::Invalid(path + ": " + m.status().message());
  return m;
}

std::string DefaultMappingPath() { return RepoFile("infra/ingest/mapping.json"); }

const char* ToString(DropReason reason) {
  switch (reason) {
    case DropReason::kNoRule:
      return "no_rule";
    case DropReason::kNoService:
      return "no_service";
    case DropReason::kNotFinite:
      return "not_finite";
    case DropReason::kCounterFirstSample:
      return "counter_first_sample";
    case DropReason::kCounterReset:
      return "counter_reset";
    case DropReason::kStale:
      return "stale";
    case DropReason::kBadName:
      return "bad_name";
    case DropReason::kBadTimestamp:
      return "bad_timestamp";
  }
  return "unknown";
}

SeriesMapper::SeriesMapper(IngestMapping mapping, size_t max_series)
    : mapping_(std::move(mapping)), max_series_(std::max<size_t>(max_series, 1)) {
  for (size_t i = 0; i < mapping_.rules.size(); ++i)
    rules_by_metric_[mapping_.rules[i].metric].push_back(i);
}

const MappingRule* SeriesMapper::Match(const Labels& labels) const {
  auto name = labels.find("__name__");
  if (name == labels.end()) return nullptr;
  auto candidates = rules_by_metric_.find(name->second);
  if (candidates == rules_by_metric_.end()) return nullptr;
  for (size_t i : candidates->second) {
    const MappingRule& r = mapping_.rules[i];
    bool all = std::all_of(r.match.begin(), r.match.end(), [&](const auto& kv) {
      auto it = labels.find(kv.first);
      return it != labels.end() && it->second == kv.second;
    });
    if (all) return &r;
  }
  return nullptr;
}

size_t SeriesMapper::tracked_series() const {
  std::lock_guard lock(mu_);
  return counters_.size();
}

std::variant<double, DropReason> SeriesMapper::CounterRate(const Labels& labels,
                                                           std::string_view source, int64_t ts_ms,
                                                           double value, double scale) {
  std::string key = SeriesKey(labels, source);
  std::lock_guard lock(mu_);
  auto it = counters_.find(key);
  if (it == counters_.end()) {
    lru_.push_front(key);
    counters_.emplace(std::move(key), CounterState{ts_ms, value, lru_.begin()});
    while (counters_.size() > max_series_) {
      counters_.erase(lru_.back());
      lru_.pop_back();
    }
    return DropReason::kCounterFirstSample;
  }
  CounterState& s = it->second;
  lru_.splice(lru_.begin(), lru_, s.lru);
  // A replayed or out-of-order sample must not move the state back: the next rate would span the
  // wrong interval.
  if (ts_ms <= s.ts_ms) return DropReason::kStale;
  const double previous = s.value;
  const int64_t previous_ts = s.ts_ms;
  s.ts_ms = ts_ms;
  s.value = value;
  if (value < previous) return DropReason::kCounterReset;
  const double rate =
      (value - previous) / (static_cast<double>(ts_ms - previous_ts) / 1000.0) * scale;
  if (!std::isfinite(rate)) return DropReason::kNotFinite;
  return rate;
}

std::variant<Mapped, DropReason> SeriesMapper::Map(const Labels& labels, int64_t ts_ms,
                                                   double value, std::string_view source) {
  const MappingRule* rule = Match(labels);
  if (!rule) return DropReason::kNoRule;

  Mapped out;
  if (rule->rename) {
    out.metric = *rule->rename;
  } else if (rule->name_from_label) {
    auto it = labels.find(*rule->name_from_label);
    if (it == labels.end() || !IsValidMetricName(it->second)) return DropReason::kBadName;
    out.metric = it->second;
  } else {
    out.metric = rule->metric;  // a valid name: ParseMapping checked it
  }

  const std::string* service_label = nullptr;
  for (const auto& name : mapping_.service_labels) {
    auto it = labels.find(name);
    if (it != labels.end() && !it->second.empty()) {
      if (it->second.size() > kMaxServiceBytes) return DropReason::kNoService;
      out.service = it->second;
      service_label = &it->first;
      break;
    }
  }
  if (!service_label) return DropReason::kNoService;
  if (ts_ms < kMinEventTimeMs || ts_ms >= kMaxEventTimeMs) return DropReason::kBadTimestamp;
  if (!std::isfinite(value)) return DropReason::kNotFinite;

  if (rule->counter) {
    auto rate = CounterRate(labels, source, ts_ms, value, rule->scale);
    if (auto* reason = std::get_if<DropReason>(&rate)) return *reason;
    out.value = std::get<double>(rate);
  } else {
    out.value = value * rule->scale;
    if (!std::isfinite(out.value)) return DropReason::kNotFinite;
  }
  out.ts_ms = ts_ms;

  for (const auto& [k, v] : labels) {
    if (k == "__name__" || &k == service_label) continue;
    if (rule->name_from_label && k == *rule->name_from_label) continue;
    if (std::find(mapping_.drop_labels.begin(), mapping_.drop_labels.end(), k) !=
        mapping_.drop_labels.end())
      continue;
    out.labels.emplace(k, v);
  }
  out.labels["source"] = std::string(source);
  std::string unit = rule->unit.empty() ? DefaultUnit(out.metric) : rule->unit;
  if (!unit.empty()) out.labels["unit"] = std::move(unit);
  return out;
}

RawMetric ToRawMetric(const Mapped& m) {
  RawMetric r;
  r.event_id = UuidFromName("ingest/" + m.service + "/" + m.metric + "/" + std::to_string(m.ts_ms));
  r.timestamp = m.ts_ms;
  r.source_service = m.service;
  r.metric_name = m.metric;
  r.metric_value = m.value;
  r.labels = m.labels;
  return r;
}

}  // namespace sre::ingest
