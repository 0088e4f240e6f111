#include "agents/detection/settings.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "shared/files.h"
#include "shared/json_codec.h"
#include "shared/messages.h"

#ifndef SRE_SOURCE_DIR
#define SRE_SOURCE_DIR "."
#endif

namespace sre::detection {
namespace {

Status ApplyMetric(const std::string& path, const Json& j, MetricSettings& m) {
  if (!j.is_object()) return Status::Invalid(path + ": expected an object");
  auto num = [&](const char* key, double& out, double lo, double hi) -> Status {
    if (!j.contains(key)) return Status::Ok();
    if (!j[key].is_number()) return Status::Invalid(path + "." + key + ": expected a number");
    double v = j[key].get<double>();
    if (v < lo || v > hi)
      return Status::Invalid(path + "." + key + ": " + j[key].dump() + " is outside [" + std::to_string(lo) + ", " +
                             std::to_string(hi) + "]");
    out = v;
    return Status::Ok();
  };
  auto integer = [&](const char* key, int& out, int lo, int hi) -> Status {
    double v = out;
    if (auto s = num(key, v, lo, hi); !s.ok()) return s;
    out = static_cast<int>(v);
    return Status::Ok();
  };
  if (j.contains("direction")) {
    std::string d = j["direction"].is_string() ? j["direction"].get<std::string>() : "";
    if (d == "up") m.direction = Direction::kUp;
    else if (d == "down") m.direction = Direction::kDown;
    else if (d == "both") m.direction = Direction::kBoth;
    else return Status::Invalid(path + ".direction: expected up, down or both");
  }
  auto boolean = [&](const char* key, bool& out) -> Status {
    if (!j.contains(key)) return Status::Ok();
    if (!j[key].is_boolean()) return Status::Invalid(path + "." + key + ": expected true or false");
    out = j[key].get<bool>();
    return Status::Ok();
  };
  for (auto s : {num("threshold_sigma", m.threshold_sigma, 0.5, 100), integer("min_consecutive", m.min_consecutive, 1, 16),
                 integer("warmup_samples", m.warmup_samples, 2, 10000), integer("window", m.window, 2, 100000),
                 integer("spread_window", m.spread_window, 2, 1000000), integer("rearm_samples", m.rearm_samples, 1, 10000),
                 boolean("seasonal", m.seasonal), boolean("adaptive", m.adaptive),
                 num("std_floor_abs", m.std_floor_abs, 0, 1e12), num("std_floor_rel", m.std_floor_rel, 0, 10),
                 integer("level_shift_samples", m.level_shift_samples, 2, 100000)}) {
    if (!s.ok()) return s;
  }
  if (m.warmup_samples > m.window) return Status::Invalid(path + ".warmup_samples: must not exceed window");
  if (j.contains("saturation_limit")) {
    const auto& v = j["saturation_limit"];
    if (v.is_null()) {
      m.saturation_limit.reset();
      m.pool_limit = false;
    } else if (v.is_string() && v.get<std::string>() == "pool") {
      m.pool_limit = true;
    } else if (v.is_number() && v.get<double>() > 0) {
      m.saturation_limit = v.get<double>();
    } else {
      return Status::Invalid(path + ".saturation_limit: expected a positive number, \"pool\" or null");
    }
  }
  if (j.contains("anomaly_type")) {
    auto t = j["anomaly_type"].is_string() ? ParseEnum<AnomalyType>(j["anomaly_type"].get<std::string>()) : std::nullopt;
    if (!t) return Status::Invalid(path + ".anomaly_type: expected one of " + EnumChoices<AnomalyType>());
    m.anomaly_type = *t;
  }
  return Status::Ok();
}

}  // namespace

const MetricSettings& DetectionSettings::For(const std::string& metric) const {
  auto it = metrics.find(metric);
  return it == metrics.end() ? defaults : it->second;
}

Expected<DetectionSettings> DetectionSettings::Parse(const std::string& json_text) {
  Json j = Json::parse(json_text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::Invalid("detection settings: not a JSON object");
  DetectionSettings s;
  if (j.contains("defaults"))
    if (auto st = ApplyMetric("defaults", j["defaults"], s.defaults); !st.ok()) return st;
  if (j.contains("metrics")) {
    if (!j["metrics"].is_object()) return Status::Invalid("metrics: expected an object");
    for (auto it = j["metrics"].begin(); it != j["metrics"].end(); ++it) {
      MetricSettings m = s.defaults;
      if (auto st = ApplyMetric("metrics." + it.key(), it.value(), m); !st.ok()) return st;
      s.metrics[it.key()] = m;
    }
  }
  for (const char* name : metrics::kAll)
    if (!s.metrics.count(name)) return Status::Invalid(std::string("metrics.") + name + ": missing");
  if (j.contains("log_patterns")) {
    if (!j["log_patterns"].is_array()) return Status::Invalid("log_patterns: expected an array");
    for (size_t i = 0; i < j["log_patterns"].size(); ++i) {
      const auto& p = j["log_patterns"][i];
      std::string path = "log_patterns[" + std::to_string(i) + "]";
      if (!p.is_object() || !p.contains("name") || !p["name"].is_string() || !p.contains("regex") ||
          !p["regex"].is_string())
        return Status::Invalid(path + ": needs string fields name and regex");
      LogPattern lp;
      lp.name = p["name"].get<std::string>();
      lp.regex_text = p["regex"].get<std::string>();
      try {
        lp.regex = std::regex(lp.regex_text, std::regex::ECMAScript | std::regex::icase | std::regex::optimize);
      } catch (const std::regex_error& e) {
        return Status::Invalid(path + ".regex: " + e.what());
      }
      auto t = p.contains("anomaly_type") && p["anomaly_type"].is_string()
                   ? ParseEnum<AnomalyType>(p["anomaly_type"].get<std::string>())
                   : std::nullopt;
      if (!t) return Status::Invalid(path + ".anomaly_type: expected one of " + EnumChoices<AnomalyType>());
      lp.anomaly_type = *t;
      s.log_patterns.push_back(std::move(lp));
    }
  }
  return s;
}

Expected<DetectionSettings> DetectionSettings::Load(const std::string& path) {
  auto text = ReadTextFile(path);
  if (!text.ok()) return text.status();
  auto s = Parse(*text);
  if (!s.ok()) return Status::Invalid(path + ": " + s.status().message());
  return s;
}

std::string DefaultSettingsPath() { return RepoFile("infra/detection/detection.json"); }

}  // namespace sre::detection
