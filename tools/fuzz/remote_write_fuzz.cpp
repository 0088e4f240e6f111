// Prometheus remote write (agents/ingest/remote_write.h) and the mapping that follows it. The first
// byte picks the input: even, the rest is an HTTP body as it arrives (snappy block); odd, the rest
// is protobuf that is compressed first, so that mutations reach the protobuf decoder instead of
// dying in snappy. Properties: nothing throws; a rejection says "remote write: ..."; a decoded
// request has only non-empty, clean label text, re-encodes to a request that decodes to the same
// series (samples bit for bit); every sample the shipped-style mapping forwards makes a raw.metrics
// payload the agents' decoder accepts.
#include <snappy.h>

#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "agents/ingest/mapping.h"
#include "agents/ingest/remote_write.h"
#include "shared/messages.h"
#include "tools/fuzz/fuzz_check.h"

namespace sre::fuzz {
namespace {

constexpr size_t kMaxDecompressed = 1 << 20;

const ingest::IngestMapping& Mapping() {
  static const ingest::IngestMapping m = [] {
    auto parsed = ingest::ParseMapping(Json::parse(R"({
      "service_labels": ["service", "job"], "drop_labels": ["instance"],
      "rules": [
        {"metric": "sim_metric_value", "name_from_label": "metric"},
        {"metric": "http_requests_total", "rename": "request_rate", "counter": true},
        {"metric": "process_cpu_seconds_total", "rename": "cpu_percent", "counter": true, "scale": 100},
        {"metric": "latency_seconds", "match": {"quantile": "0.99"}, "rename": "latency_p99_ms", "scale": 1000},
        {"metric": "up"}, {"metric": "a"}
      ]})"));
    if (!parsed.ok()) Broken("the fuzz mapping does not parse: " + parsed.status().message());
    return *parsed;
  }();
  return m;
}

bool SameSeries(const ingest::PromSeries& a, const ingest::PromSeries& b) {
  if (a.labels != b.labels || a.samples.size() != b.samples.size()) return false;
  for (size_t i = 0; i < a.samples.size(); ++i)
    if (a.samples[i].first != b.samples[i].first ||
        std::bit_cast<uint64_t>(a.samples[i].second) !=
            std::bit_cast<uint64_t>(b.samples[i].second))
      return false;
  return true;
}

void Check(std::string_view body) {
  Expected<ingest::RemoteWriteRequest> req = Status::Internal("not run");
  try {
    req = ingest::DecodeRemoteWrite(body, kMaxDecompressed);
  } catch (const std::exception& e) {
    Broken(std::string("DecodeRemoteWrite threw ") + e.what());
  }
  if (!req.ok()) {
    Require(req.status().invalid(), "a rejection that is not Invalid: " + req.status().ToString());
    Require(req.status().message().rfind("remote write: ", 0) == 0,
            "an unprefixed rejection: " + req.status().message());
    Require(CleanText(req.status().message()), "a rejection message that is not clean text");
    return;
  }
  for (const auto& s : req->series)
    for (const auto& [name, value] : s.labels) {
      Require(!name.empty() && !value.empty(), "an empty label name or value was kept");
      Require(CleanText(name) && CleanText(value), "label text is not valid UTF-8 or holds NUL");
    }

  const std::string again = ingest::EncodeRemoteWrite(req->series);
  auto second = ingest::DecodeRemoteWrite(again, SIZE_MAX);
  Require(second.ok(), "its own encoding does not decode: " + second.status().message());
  Require(second->series.size() == req->series.size(),
          "the number of series changed in a round trip");
  for (size_t i = 0; i < req->series.size(); ++i)
    Require(SameSeries(req->series[i], second->series[i]),
            "series " + std::to_string(i) + " changed in a round trip");

  ingest::SeriesMapper mapper(Mapping(), /*max_series=*/64);
  for (const auto& s : req->series)
    for (const auto& [ts, value] : s.samples) {
      auto out = mapper.Map(s.labels, ts, value, "remote_write");
      if (!std::holds_alternative<ingest::Mapped>(out)) continue;
      const RawMetric raw = ingest::ToRawMetric(std::get<ingest::Mapped>(out));
      auto decoded = Decode<RawMetric>(Encode(raw));
      Require(decoded.ok(), "a forwarded sample is not a valid raw.metrics payload: " +
                                decoded.status().message());
      Require(std::isfinite(raw.metric_value), "a forwarded value is not finite");
    }
}

}  // namespace
}  // namespace sre::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 0) {
    sre::fuzz::Check(rest);
  } else {
    std::string body;
    snappy::Compress(rest.data(), rest.size(), &body);
    sre::fuzz::Check(body);
  }
  return 0;
}
