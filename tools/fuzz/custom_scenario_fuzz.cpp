// The simulator's custom-scenario parser (simulator/custom_scenario.h), fed the bytes a client
// POSTs to /api/scenarios. Properties: it never throws; an accepted scenario respects the limits
// the header documents; a rejection says why, and names a field only when the message does.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "shared/services.h"
#include "simulator/custom_scenario.h"
#include "simulator/scenarios.h"
#include "tools/fuzz/fuzz_check.h"

namespace sre::fuzz {
namespace {

const ServiceCatalog& Catalog() {
  static const ServiceCatalog catalog = [] {
    auto c = ServiceCatalog::Load(std::string(SRE_FUZZ_SOURCE_DIR) +
                                  "/knowledge/architecture/services.json");
    Require(c.ok(), "cannot load services.json: " + c.status().message());
    return *c;
  }();
  return catalog;
}

const std::vector<std::string>& Reserved() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const auto& s : sim::BuiltInScenarios(Catalog())) out.push_back(s.name);
    return out;
  }();
  return names;
}

void Check(std::string_view body) {
  sim::CustomScenarioResult r;
  try {
    r = sim::ParseCustomScenario(body, Catalog(), Reserved());
  } catch (const std::exception& e) {
    Broken(std::string("ParseCustomScenario threw ") + e.what());
  } catch (...) {
    Broken("ParseCustomScenario threw");
  }
  if (!r.ok()) {
    Require(!r.error.empty(), "a rejection without a reason");
    Require(IsValidUtf8(r.error), "the error is not valid UTF-8");
    Require(r.field.empty() || r.error.find(r.field) != std::string::npos,
            "field '" + r.field + "' is not named in the error: " + r.error);
    return;
  }
  Require(body.size() <= sim::kMaxCustomScenarioBytes, "accepted a body over the limit");
  const sim::ScenarioDef& s = *r.scenario;
  Require(s.custom, "an accepted scenario is not marked custom");
  Require(!s.name.empty() && s.name.size() <= 64, "name length");
  for (const auto& reserved : Reserved()) Require(s.name != reserved, "a built-in name reused");
  Require(Catalog().Find(s.service) != nullptr, "unknown service accepted: " + s.service);
  Require(Catalog().Find(s.root_cause_service) != nullptr, "unknown root cause service accepted");
  Require(s.duration_ms >= sim::kMinCustomDurationS * 1000 &&
              s.duration_ms <= sim::kMaxCustomDurationS * 1000,
          "duration out of range: " + std::to_string(s.duration_ms));
  Require(s.recovery_ms >= 0 && s.recovery_ms <= s.duration_ms, "recovery longer than duration");
  Require(!s.effects.empty(), "a scenario without effects");
  std::set<int> metrics;
  for (const auto& e : s.effects) {
    Require(std::isfinite(e.peak) && e.peak >= 0, "peak out of range");
    Require(e.ramp_ms >= 0 && e.ramp_ms <= s.duration_ms, "ramp out of range");
    Require(metrics.insert(static_cast<int>(e.metric)).second, "a metric appears twice");
  }
  Require(s.error_logs.size() <= sim::kMaxCustomLogs, "too many logs accepted");
  if (s.deployment) {
    Require(!s.deployment->version.empty() && s.deployment->version.size() <= sim::kMaxVersionBytes,
            "deployment version length");
    Require(
        s.deployment->lead_min_ms >= 0 && s.deployment->lead_min_ms <= sim::kMaxCustomLeadS * 1000,
        "deployment lead out of range");
  }
}

}  // namespace
}  // namespace sre::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  sre::fuzz::Check(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
