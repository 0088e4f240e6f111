// OTLP/HTTP JSON (agents/ingest/otlp.h): the first byte picks logs (even) or metrics (odd), the
// rest is the request body, parsed as sre-ingest does (depth bounded first). Properties: nothing
// throws; a rejection is Invalid with a reason in clean text; every log record and every forwarded
// sample makes a raw.logs / raw.metrics payload the agents' decoder accepts, with at most
// kMaxOtlpLabels attribute labels of at most kMaxLabelValueBytes each.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "agents/ingest/mapping.h"
#include "agents/ingest/otlp.h"
#include "shared/messages.h"
#include "tools/fuzz/fuzz_check.h"

namespace sre::fuzz {
namespace {

const ingest::IngestMapping& Mapping() {
  static const ingest::IngestMapping m = [] {
    auto parsed = ingest::ParseMapping(Json::parse(R"({
      "rules": [
        {"metric": "my.gauge", "rename": "my_gauge"},
        {"metric": "my.counter", "rename": "request_rate", "counter": true},
        {"metric": "g"}, {"metric": "c", "counter": true, "scale": 100},
        {"metric": "sim_metric_value", "name_from_label": "metric"}
      ]})"));
    if (!parsed.ok()) Broken("the fuzz mapping does not parse: " + parsed.status().message());
    return *parsed;
  }();
  return m;
}

template <typename T>
void RequireValid(const T& payload, const char* what) {
  auto decoded = Decode<T>(Encode(payload));
  Require(decoded.ok(),
          std::string(what) + " is not a valid payload: " + decoded.status().message());
  RequireCleanJson(ToJson(payload), what);
}

void RequireRejection(const Status& s) {
  Require(s.invalid(), "a rejection that is not Invalid: " + s.ToString());
  Require(!s.message().empty() && CleanText(s.message()), "a rejection without a clean reason");
}

void CheckLogs(const Json& body) {
  Expected<ingest::OtlpLogsResult> r = Status::Internal("not run");
  try {
    r = ingest::DecodeOtlpLogs(body);
  } catch (const std::exception& e) {
    Broken(std::string("DecodeOtlpLogs threw ") + e.what());
  }
  if (!r.ok()) return RequireRejection(r.status());
  for (const auto& log : r->logs) {
    RequireValid(log, "a raw.logs record");
    Require(log.labels.size() <= ingest::kMaxOtlpLabels + 1, "more labels than kMaxOtlpLabels");
    for (const auto& [k, v] : log.labels)
      Require(v.size() <= ingest::kMaxLabelValueBytes, "a label value over kMaxLabelValueBytes");
  }
}

void CheckMetrics(const Json& body) {
  ingest::SeriesMapper mapper(Mapping(), /*max_series=*/64);
  Expected<ingest::OtlpMetricsResult> r = Status::Internal("not run");
  try {
    r = ingest::DecodeOtlpMetrics(body, mapper);
  } catch (const std::exception& e) {
    Broken(std::string("DecodeOtlpMetrics threw ") + e.what());
  }
  if (!r.ok()) return RequireRejection(r.status());
  for (const auto& s : r->samples) {
    const RawMetric raw = ingest::ToRawMetric(s);
    RequireValid(raw, "a raw.metrics sample");
    Require(std::isfinite(raw.metric_value), "a forwarded value is not finite");
  }
  for (const auto& [reason, n] : r->dropped)
    Require(n > 0, "a drop reason counted zero times: " + reason);
}

}  // namespace
}  // namespace sre::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (sre::codec::JsonDepth(text, sre::kMaxJsonDepth) > sre::kMaxJsonDepth) return 0;
  sre::Json body = sre::Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) return 0;
  if (data[0] % 2 == 0)
    sre::fuzz::CheckLogs(body);
  else
    sre::fuzz::CheckMetrics(body);
  return 0;
}
