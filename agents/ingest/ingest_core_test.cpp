#include <gtest/gtest.h>
#include <snappy.h>

#include <bit>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "agents/ingest/mapping.h"
#include "agents/ingest/otlp.h"
#include "agents/ingest/remote_write.h"
#include "shared/ids.h"
#include "shared/messages.h"
#include "shared/text.h"
#include "shared/units.h"

namespace sre::ingest {
namespace {

using namespace std::string_literals;

constexpr int64_t kT0 = 1700000000000;  // 2023-11-14, inside the event-time range
constexpr size_t kLimit = 1 << 20;

std::string Snappy(const std::string& raw) {
  std::string out;
  snappy::Compress(raw.data(), raw.size(), &out);
  return out;
}

std::string Unsnappy(const std::string& compressed) {
  std::string out;
  EXPECT_TRUE(snappy::Uncompress(compressed.data(), compressed.size(), &out));
  return out;
}

// A protobuf writer independent of the one under test, for hand-built requests.
std::string Varint(uint64_t v) {
  std::string out;
  do {
    uint8_t b = v & 0x7f;
    v >>= 7;
    out.push_back(static_cast<char>(v ? b | 0x80 : b));
  } while (v);
  return out;
}
std::string Tag(uint32_t field, uint32_t wire) { return Varint((uint64_t{field} << 3) | wire); }
std::string Len(uint32_t field, const std::string& payload) {
  return Tag(field, 2) + Varint(payload.size()) + payload;
}
std::string Fixed64(uint32_t field, uint64_t v) {
  std::string out = Tag(field, 1);
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  return out;
}
std::string Label(const std::string& name, const std::string& value) {
  return Len(1, name) + Len(2, value);
}
std::string Sample(double value, int64_t ts) {
  return Fixed64(1, std::bit_cast<uint64_t>(value)) + Tag(2, 0) + Varint(static_cast<uint64_t>(ts));
}

// --- remote write ---------------------------------------------------------------------------

TEST(RemoteWriteTest, EncodesTheDocumentedFieldNumbersByteForByte) {
  // WriteRequest{timeseries(1): TimeSeries{labels(1): {name(1) "__name__", value(2) "up"},
  // labels(1): {"job", "a"}, samples(2): Sample{value(1) fixed64 1.0, timestamp(2) varint 1000}}}
  // clang-format off
  const std::string expected =
      "\x0a\x28"                                         // WriteRequest.timeseries, 40 bytes
      "\x0a\x0e" "\x0a\x08__name__" "\x12\x02up"         // TimeSeries.labels {1: name, 2: value}
      "\x0a\x08" "\x0a\x03job" "\x12\x01" "a"            // TimeSeries.labels
      "\x12\x0c" "\x09\x00\x00\x00\x00\x00\x00\xf0\x3f"  // TimeSeries.samples: value 1.0 (fixed64)
      "\x10\xe8\x07"s;                                   //   timestamp 1000 (varint)
  // clang-format on
  PromSeries s{{{"__name__", "up"}, {"job", "a"}}, {{1000, 1.0}}};
  EXPECT_EQ(Unsnappy(EncodeRemoteWrite({s})), expected);

  auto decoded = DecodeRemoteWrite(Snappy(expected), kLimit);
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  ASSERT_EQ(decoded->series.size(), 1u);
  EXPECT_EQ(decoded->series[0].labels, (Labels{{"__name__", "up"}, {"job", "a"}}));
  ASSERT_EQ(decoded->series[0].samples.size(), 1u);
  EXPECT_EQ(decoded->series[0].samples[0].first, 1000);
  EXPECT_EQ(decoded->series[0].samples[0].second, 1.0);
}

TEST(RemoteWriteTest, RoundTripsSeriesAndEdgeValues) {
  std::vector<PromSeries> in = {
      {{{"__name__", "sim_metric_value"}, {"metric", "error_rate"}, {"service", "payment-service"}},
       {{kT0, 0.5}, {kT0 + 10000, 16.4}, {kT0 + 20000, 0.0}}},
      {{{"__name__", "x"}, {"ünïcødé", "値"}},
       {{-5, -0.0},
        {0, std::numeric_limits<double>::infinity()},
        {std::numeric_limits<int64_t>::max(), 1e308}}},
      {{{"__name__", "no_samples"}}, {}},
  };
  auto out = DecodeRemoteWrite(EncodeRemoteWrite(in), kLimit);
  ASSERT_TRUE(out.ok()) << out.status().message();
  ASSERT_EQ(out->series.size(), in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    EXPECT_EQ(out->series[i].labels, in[i].labels);
    ASSERT_EQ(out->series[i].samples.size(), in[i].samples.size());
    for (size_t k = 0; k < in[i].samples.size(); ++k) {
      EXPECT_EQ(out->series[i].samples[k].first, in[i].samples[k].first);
      EXPECT_EQ(std::bit_cast<uint64_t>(out->series[i].samples[k].second),
                std::bit_cast<uint64_t>(in[i].samples[k].second));
    }
  }
  EXPECT_EQ(out->histograms + out->exemplars + out->metadata, 0u);
}

TEST(RemoteWriteTest, NaNStalenessMarkerSurvivesTheRoundTrip) {
  const double stale = std::bit_cast<double>(uint64_t{0x7ff0000000000002});  // Prometheus' marker
  auto out = DecodeRemoteWrite(EncodeRemoteWrite({{{{"__name__", "up"}}, {{kT0, stale}}}}), kLimit);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(std::bit_cast<uint64_t>(out->series[0].samples[0].second), 0x7ff0000000000002u);
}

TEST(RemoteWriteTest, SkipsUnknownFieldsAndCountsWhatItDoesNotForward) {
  const std::string label = Label("__name__", "up") + Tag(3, 0) + Varint(7);  // Label: unknown 3
  const std::string sample = Sample(2.5, kT0) + Len(3, "\x01\x02");           // identifyingLabels
  const std::string series = Len(1, label) + Len(2, sample) + Len(3, "exemplar") +
                             Len(4, "histogram") + Len(4, "histogram2") + Len(9, "future") +
                             Tag(10, 5) + "\x01\x02\x03\x04"s;
  const std::string request = Tag(2, 0) + Varint(300) +  // reserved 2 (Cortex' source)
                              Len(1, series) + Len(3, "metadata") + Fixed64(16, 42) + Tag(15, 5) +
                              "abcd";
  auto out = DecodeRemoteWrite(Snappy(request), kLimit);
  ASSERT_TRUE(out.ok()) << out.status().message();
  ASSERT_EQ(out->series.size(), 1u);
  EXPECT_EQ(out->series[0].labels, (Labels{{"__name__", "up"}}));
  ASSERT_EQ(out->series[0].samples.size(), 1u);
  EXPECT_EQ(out->series[0].samples[0], (std::pair<int64_t, double>{kT0, 2.5}));
  EXPECT_EQ(out->exemplars, 1u);
  EXPECT_EQ(out->histograms, 2u);
  EXPECT_EQ(out->metadata, 1u);
}

TEST(RemoteWriteTest, DropsEmptyLabelValuesAndReplacesNul) {
  const std::string series = Len(1, Label("__name__", "up")) + Len(1, Label("env", "")) +
                             Len(1, Label("note", "a\0b"s)) + Len(2, Sample(1, kT0));
  auto out = DecodeRemoteWrite(Snappy(Len(1, series)), kLimit);
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(out->series[0].labels, (Labels{{"__name__", "up"},
                                           {"note",
                                            "a\xEF\xBF\xBD"
                                            "b"}}));
}

struct InvalidCase {
  const char* name;
  std::string raw;  // the decompressed protobuf
  std::string message;
};

TEST(RemoteWriteTest, RejectsMalformedProtobufSayingWhere) {
  const std::string ok_label = Len(1, Label("__name__", "up"));
  const std::vector<InvalidCase> cases = {
      {"length varint missing", "\x0a", "remote write: truncated varint at byte 1"},
      {"varint cut in the middle", "\x0a\x80", "remote write: truncated varint at byte 1"},
      {"length past the end", "\x0a\x05\x0a",
       "remote write: length 5 at byte 1 runs past the end of its message (1 bytes left)"},
      {"varint over 10 bytes", std::string(11, '\xff'),
       "remote write: varint longer than 10 bytes at byte 0"},
      {"start group", "\x0b", "remote write: group (wire type 3) at byte 0 is not supported"},
      {"end group", "\x14", "remote write: group (wire type 4) at byte 0 is not supported"},
      {"wire type 7", "\x0f", "remote write: invalid wire type 7 at byte 0"},
      {"field number 0", "\x02\x00", "remote write: invalid field number 0 at byte 0"},
      {"timeseries as a varint", "\x08\x01",
       "remote write: WriteRequest.timeseries at byte 0 has wire type 0, expected 2"},
      {"truncated fixed32", Tag(5, 5) + "\x00\x00"s, "remote write: truncated fixed32 at byte 1"},
      {"truncated fixed64 value", Len(1, ok_label + Len(2, "\x09\x00\x00"s)),
       "remote write: truncated fixed64 at byte 21"},
      {"sample value as a varint", Len(1, ok_label + Len(2, "\x08\x01")),
       "remote write: Sample.value at byte 20 has wire type 0, expected 1"},
      {"timestamp as fixed64", Len(1, ok_label + Len(2, Fixed64(2, 1))),
       "remote write: Sample.timestamp at byte 20 has wire type 1, expected 0"},
      {"label longer than its series", "\x0a\x04\x0a\x09\x0a\x07",
       "remote write: length 9 at byte 3 runs past the end of its message (2 bytes left)"},
      {"bad UTF-8 value", Len(1, ok_label + Len(1, Label("job", "\xff"))),
       "remote write: timeseries[0].labels[1]: the value of label 'job' is not valid UTF-8"},
      {"bad UTF-8 name", Len(1, Len(1, Label("j\xc3", "x"))),
       "remote write: timeseries[0].labels[0]: label name 'j\xEF\xBF\xBD' is not valid UTF-8"},
      {"empty label name", Len(1, Len(1, Label("", "x"))),
       "remote write: timeseries[0].labels[0]: empty label name"},
      {"label twice", Len(1, ok_label) + Len(1, ok_label + Len(1, Label("__name__", "down"))),
       "remote write: timeseries[1].labels[1]: label '__name__' appears twice"},
  };
  for (const auto& c : cases) {
    auto r = DecodeRemoteWrite(Snappy(c.raw), kLimit);
    ASSERT_FALSE(r.ok()) << c.name;
    EXPECT_TRUE(r.status().invalid()) << c.name;
    EXPECT_EQ(r.status().message(), c.message) << c.name;
  }
}

TEST(RemoteWriteTest, RejectsBadSnappyAndOversizedBodiesBeforeDecompressing) {
  struct Case {
    const char* name;
    std::string body;
    size_t limit;
    std::string message;
  };
  const std::string big = EncodeRemoteWrite({{{{"__name__", std::string(5000, 'a')}}, {{kT0, 1}}}});
  const size_t big_size = Unsnappy(big).size();
  const std::vector<Case> cases = {
      {"empty body", "", kLimit,
       "remote write: the body is not a snappy block (bad length header)"},
      {"length header overflows", std::string(6, '\xff'), kLimit,
       "remote write: the body is not a snappy block (bad length header)"},
      {"framed snappy stream", "\xff\x06\x00\x00sNaPpY"s, kLimit,
       "remote write: corrupt snappy block"},
      {"header fine, data corrupt", "\x0a\xff\xff\xff"s, kLimit,
       "remote write: corrupt snappy block"},
      {"over the limit", big, 4096,
       "remote write: the body decompresses to " + std::to_string(big_size) +
           " bytes; at most 4096"},
      // Claims almost 4 GiB in five bytes: rejected from the header alone, nothing is allocated.
      {"bomb header", "\x80\x80\x80\x80\x0f"s, kLimit,
       "remote write: the body decompresses to 4026531840 bytes; at most 1048576"},
  };
  for (const auto& c : cases) {
    auto r = DecodeRemoteWrite(c.body, c.limit);
    ASSERT_FALSE(r.ok()) << c.name;
    EXPECT_TRUE(r.status().invalid()) << c.name;
    EXPECT_EQ(r.status().message().rfind(c.message, 0), 0u)
        << c.name << ": " << r.status().message();
  }
  EXPECT_TRUE(DecodeRemoteWrite(big, big_size).ok());  // the limit is inclusive
}

TEST(RemoteWriteTest, EmptyRequestDecodesToNothing) {
  auto r = DecodeRemoteWrite(Snappy(""), kLimit);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->series.empty());
}

// --- mapping --------------------------------------------------------------------------------

IngestMapping MustParse(const std::string& text) {
  auto m = ParseMapping(Json::parse(text));
  EXPECT_TRUE(m.ok()) << m.status().message();
  return m.ok() ? *m : IngestMapping{};
}

TEST(MappingTest, ParsesEveryFieldAndIgnoresUnderscoreKeys) {
  IngestMapping m = MustParse(R"({
    "_doc": "comment", "service_labels": ["app"], "drop_labels": ["pod"],
    "rules": [
      {"_doc": "x", "metric": "a_total", "match": {"env": "prod"}, "rename": "request_rate",
       "counter": true, "scale": 2.5, "unit": "percent"},
      {"metric": "sim_metric_value", "name_from_label": "metric"}
    ]})");
  EXPECT_EQ(m.service_labels, std::vector<std::string>{"app"});
  EXPECT_EQ(m.drop_labels, std::vector<std::string>{"pod"});
  ASSERT_EQ(m.rules.size(), 2u);
  EXPECT_EQ(m.rules[0].metric, "a_total");
  EXPECT_EQ(m.rules[0].match, (Labels{{"env", "prod"}}));
  EXPECT_EQ(m.rules[0].rename, "request_rate");
  EXPECT_TRUE(m.rules[0].counter);
  EXPECT_EQ(m.rules[0].scale, 2.5);
  EXPECT_EQ(m.rules[0].unit, "%");  // normalised
  EXPECT_EQ(m.rules[1].name_from_label, "metric");
  EXPECT_FALSE(m.rules[1].counter);
  EXPECT_EQ(m.rules[1].scale, 1);
  EXPECT_EQ(MustParse(R"({"rules": [{"metric": "a"}]})").service_labels,
            (std::vector<std::string>{"service", "job"}));
}

TEST(MappingTest, RejectsBadFieldsNamingTheirPath) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"([])", "mapping: expected a JSON object, got an array"},
      {R"({})", "rules: missing required field"},
      {R"({"rules": {}})", "rules: expected an array, got an object"},
      {R"({"rules": []})", "rules: must hold at least one rule"},
      {R"({"rules": [{"metric": "a"}], "servce_labels": ["x"]})", "servce_labels: unknown key"},
      {R"({"rules": [{"metric": "a"}, {"metric": "b", "renme": "c"}]})",
       "rules[1].renme: unknown key"},
      {R"({"rules": [3]})", "rules[0]: expected an object, got a number"},
      {R"({"rules": [{"rename": "a"}]})", "rules[0].metric: missing required field"},
      {R"({"rules": [{"metric": ""}]})", "rules[0].metric: must not be empty"},
      {R"({"rules": [{"metric": "my.gauge"}]})",
       "rules[0].metric: 'my.gauge' is not a valid metric name"},
      {R"({"rules": [{"metric": "a"}, {"metric": "a"}, {"metric": "a"}, {"metric": "b", "rename": "1bad"}]})",
       "rules[3].rename: '1bad' is not a valid metric name"},
      {R"({"rules": [{"metric": "b", "rename": "has space"}]})",
       "rules[0].rename: 'has space' is not a valid metric name"},
      {R"({"rules": [{"metric": "b", "rename": ")" + std::string(129, 'a') + R"("}]})",
       "rules[0].rename: longer than 128 bytes"},
      {R"({"rules": [{"metric": "b", "rename": 7}]})",
       "rules[0].rename: expected a string, got a number"},
      {R"({"rules": [{"metric": "b", "rename": "x", "name_from_label": "m"}]})",
       "rules[0]: rename and name_from_label exclude each other"},
      {R"({"rules": [{"metric": "b", "counter": "yes"}]})",
       "rules[0].counter: expected true or false, got a string"},
      {R"({"rules": [{"metric": "b", "scale": "2"}]})",
       "rules[0].scale: expected a number, got a string"},
      {R"({"rules": [{"metric": "b", "scale": 0}]})",
       "rules[0].scale: must be a finite number above 0"},
      {R"({"rules": [{"metric": "b", "scale": -1}]})",
       "rules[0].scale: must be a finite number above 0"},
      {R"({"rules": [{"metric": "b", "unit": ""}]})", "rules[0].unit: must not be empty"},
      {R"({"rules": [{"metric": "b", "unit": "\u00e9"}]})",
       "rules[0].unit: expected at most 24 bytes of printable ASCII"},
      {R"({"rules": [{"metric": "b", "match": []}]})",
       "rules[0].match: expected an object of strings, got an array"},
      {R"({"rules": [{"metric": "b", "match": {"env": 1}}]})",
       "rules[0].match.env: expected a string, got a number"},
      {R"({"rules": [{"metric": "b", "match": {"env": ""}}]})",
       "rules[0].match.env: must not be empty"},
      {R"({"rules": [{"metric": "b", "match": {"__name__": "c"}}]})",
       "rules[0].match.__name__: match on a label other than __name__"},
      {R"({"rules": [{"metric": "b"}], "service_labels": []})",
       "service_labels: must name at least one label"},
      {R"({"rules": [{"metric": "b"}], "service_labels": ["a", 3]})",
       "service_labels[1]: expected a string, got a number"},
      {R"({"rules": [{"metric": "b"}], "drop_labels": "pod"})",
       "drop_labels: expected an array of strings, got a string"},
  };
  for (const auto& [text, message] : cases) {
    auto m = ParseMapping(Json::parse(text));
    ASSERT_FALSE(m.ok()) << text;
    EXPECT_TRUE(m.status().invalid());
    EXPECT_EQ(m.status().message().rfind(message, 0), 0u)
        << text << "\n  got: " << m.status().message();
  }
}

TEST(MappingTest, TheShippedMappingLoadsAndMapsTheSimulatorsGauge) {
  const std::string path = std::string(SRE_TEST_SOURCE_DIR) + "/infra/ingest/mapping.json";
  auto m = LoadMapping(path);
  ASSERT_TRUE(m.ok()) << m.status().message();
  ASSERT_FALSE(m->rules.empty());
  // Every rename to a standard name means what detection expects of it (unit included).
  for (const auto& r : m->rules) {
    if (!r.rename) continue;
    for (const char* known : metrics::kAll)
      if (*r.rename == known) {
        EXPECT_EQ(r.unit, DefaultUnit(known)) << r.metric;
      }
  }

  SeriesMapper mapper(*m);
  auto out = mapper.Map({{"__name__", "sim_metric_value"},
                         {"metric", "error_rate"},
                         {"service", "payment-service"},
                         {"job", "simulator"},
                         {"instance", "simulator:8100"}},
                        kT0, 16.4, "remote_write");
  ASSERT_TRUE(std::holds_alternative<Mapped>(out)) << ToString(std::get<DropReason>(out));
  const auto& s = std::get<Mapped>(out);
  EXPECT_EQ(s.service, "payment-service");
  EXPECT_EQ(s.metric, "error_rate");
  EXPECT_EQ(s.value, 16.4);
  EXPECT_EQ(s.ts_ms, kT0);
  EXPECT_EQ(s.labels, (Labels{{"job", "simulator"}, {"source", "remote_write"}, {"unit", "%"}}));

  auto cpu = [&](int64_t ts, double v) {
    return mapper.Map({{"__name__", "process_cpu_seconds_total"}, {"job", "checkout"}}, ts, v,
                      "remote_write");
  };
  EXPECT_EQ(std::get<DropReason>(cpu(kT0, 100)), DropReason::kCounterFirstSample);
  auto rate = cpu(kT0 + 10000, 105);  // 0.5 CPU-seconds per second = 50% of a core
  ASSERT_TRUE(std::holds_alternative<Mapped>(rate));
  EXPECT_EQ(std::get<Mapped>(rate).metric, "cpu_percent");
  EXPECT_EQ(std::get<Mapped>(rate).service, "checkout");
  EXPECT_DOUBLE_EQ(std::get<Mapped>(rate).value, 50.0);
}

TEST(MappingTest, LoadMappingNamesTheFileOnError) {
  auto missing = LoadMapping("/nonexistent/mapping.json");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message(), "cannot read /nonexistent/mapping.json");

  const auto dir = std::filesystem::temp_directory_path() / ("ingest_core_test_" + NewUuid());
  std::filesystem::create_directories(dir);
  const std::string bad_json = (dir / "bad.json").string(), bad_rule = (dir / "rule.json").string();
  std::ofstream(bad_json) << "{\"rules\": [";
  std::ofstream(bad_rule) << R"({"rules": [{"metric": "a", "counter": 1}]})";
  auto a = LoadMapping(bad_json);
  auto b = LoadMapping(bad_rule);
  std::filesystem::remove_all(dir);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().message(), bad_json + ": not valid JSON");
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().message(),
            bad_rule + ": rules[0].counter: expected true or false, got a number");
}

TEST(MappingTest, DropReasonNamesAreSnakeCase) {
  const std::vector<std::pair<DropReason, std::string>> names = {
      {DropReason::kNoRule, "no_rule"},
      {DropReason::kNoService, "no_service"},
      {DropReason::kNotFinite, "not_finite"},
      {DropReason::kCounterFirstSample, "counter_first_sample"},
      {DropReason::kCounterReset, "counter_reset"},
      {DropReason::kStale, "stale"},
      {DropReason::kBadName, "bad_name"},
      {DropReason::kBadTimestamp, "bad_timestamp"},
  };
  ASSERT_EQ(names.size(), std::size(kAllDropReasons));
  for (size_t i = 0; i < names.size(); ++i) {
    EXPECT_EQ(kAllDropReasons[i], names[i].first);
    EXPECT_EQ(ToString(names[i].first), names[i].second);
  }
}

const char* kTestMapping = R"({
  "service_labels": ["service", "job"],
  "drop_labels": ["instance"],
  "rules": [
    {"metric": "sim_metric_value", "name_from_label": "metric"},
    {"metric": "http_requests_total", "match": {"code": "500"}, "rename": "errors_per_second", "counter": true},
    {"metric": "http_requests_total", "rename": "request_rate", "counter": true, "unit": "req/s"},
    {"metric": "latency_seconds", "rename": "latency_p99_ms", "scale": 1000},
    {"metric": "huge", "scale": 1e10},
    {"metric": "queue_depth"}
  ]})";

TEST(SeriesMapperTest, MapsGaugesWithRenameScaleUnitAndLabels) {
  SeriesMapper m(MustParse(kTestMapping));
  auto out = m.Map({{"__name__", "latency_seconds"},
                    {"service", "api"},
                    {"job", "api-job"},
                    {"instance", "h:1"},
                    {"route", "/pay"}},
                   kT0, 0.25, "otlp");
  ASSERT_TRUE(std::holds_alternative<Mapped>(out));
  const auto& s = std::get<Mapped>(out);
  EXPECT_EQ(s.service, "api");
  EXPECT_EQ(s.metric, "latency_p99_ms");
  EXPECT_EQ(s.value, 250);
  EXPECT_EQ(s.labels,
            (Labels{{"job", "api-job"}, {"route", "/pay"}, {"source", "otlp"}, {"unit", "ms"}}));

  // Kept under its own name; no unit is known for it; the service from the second service label.
  auto q = m.Map({{"__name__", "queue_depth"}, {"job", "worker"}}, kT0, 7, "remote_write");
  ASSERT_TRUE(std::holds_alternative<Mapped>(q));
  EXPECT_EQ(std::get<Mapped>(q).metric, "queue_depth");
  EXPECT_EQ(std::get<Mapped>(q).service, "worker");
  EXPECT_EQ(std::get<Mapped>(q).labels, (Labels{{"source", "remote_write"}}));
}

TEST(SeriesMapperTest, FirstMatchingRuleWins) {
  SeriesMapper m(MustParse(kTestMapping));
  const Labels errors = {{"__name__", "http_requests_total"}, {"service", "api"}, {"code", "500"}};
  const Labels ok = {{"__name__", "http_requests_total"}, {"service", "api"}, {"code", "200"}};
  ASSERT_NE(m.Match(errors), nullptr);
  EXPECT_EQ(m.Match(errors)->rename, "errors_per_second");
  ASSERT_NE(m.Match(ok), nullptr);
  EXPECT_EQ(m.Match(ok)->rename, "request_rate");
  EXPECT_EQ(m.Match({{"__name__", "other"}}), nullptr);
  EXPECT_EQ(m.Match({{"service", "api"}}), nullptr);
}

TEST(SeriesMapperTest, CounterRateResetAndStale) {
  SeriesMapper m(MustParse(kTestMapping));
  const Labels l = {{"__name__", "http_requests_total"}, {"service", "api"}, {"code", "200"}};
  struct Step {
    int64_t ts;
    double value;
    std::variant<double, DropReason> expected;
  };
  const std::vector<Step> steps = {
      {kT0, 1000, DropReason::kCounterFirstSample},
      {kT0 + 10000, 1500, 50.0},                // 500 in 10 s
      {kT0 + 10000, 1600, DropReason::kStale},  // same timestamp
      {kT0 + 5000, 1600, DropReason::kStale},   // older
      {kT0 + 20000, 1500, 0.0},                 // state not moved by the stale ones: flat
      {kT0 + 30000, 20, DropReason::kCounterReset},
      {kT0 + 32000, 60, 20.0},  // the rate restarts from the reset sample
      {kT0 + 33000, std::nan(""), DropReason::kNotFinite},
      {kT0 + 34000, 100, 20.0},  // NaN did not touch the state: 40 in 2 s
  };
  for (size_t i = 0; i < steps.size(); ++i) {
    auto out = m.Map(l, steps[i].ts, steps[i].value, "remote_write");
    if (auto* reason = std::get_if<DropReason>(&steps[i].expected)) {
      ASSERT_TRUE(std::holds_alternative<DropReason>(out)) << "step " << i;
      EXPECT_EQ(std::get<DropReason>(out), *reason) << "step " << i;
    } else {
      ASSERT_TRUE(std::holds_alternative<Mapped>(out))
          << "step " << i << ": " << ToString(std::get<DropReason>(out));
      EXPECT_DOUBLE_EQ(std::get<Mapped>(out).value, std::get<double>(steps[i].expected))
          << "step " << i;
      EXPECT_EQ(std::get<Mapped>(out).labels.at("unit"), "req/s");
    }
  }
  // The same series from another source has a state of its own.
  EXPECT_EQ(std::get<DropReason>(m.Map(l, kT0 + 40000, 200, "otlp")),
            DropReason::kCounterFirstSample);
  EXPECT_EQ(m.tracked_series(), 2u);
}

TEST(SeriesMapperTest, EvictsTheLeastRecentlySeenCounter) {
  SeriesMapper m(MustParse(kTestMapping), /*max_series=*/2);
  auto counter = [](const char* service) {
    return Labels{{"__name__", "http_requests_total"}, {"service", service}};
  };
  auto map = [&](const char* service, int64_t ts, double v) {
    return m.Map(counter(service), ts, v, "rw");
  };
  EXPECT_EQ(std::get<DropReason>(map("a", kT0, 0)), DropReason::kCounterFirstSample);
  EXPECT_EQ(std::get<DropReason>(map("b", kT0, 0)), DropReason::kCounterFirstSample);
  EXPECT_TRUE(std::holds_alternative<Mapped>(map("a", kT0 + 1000, 1)));  // a is now the most recent
  EXPECT_EQ(std::get<DropReason>(map("c", kT0, 0)), DropReason::kCounterFirstSample);  // evicts b
  EXPECT_EQ(m.tracked_series(), 2u);
  EXPECT_TRUE(std::holds_alternative<Mapped>(map("a", kT0 + 2000, 2)));
  EXPECT_TRUE(std::holds_alternative<Mapped>(map("c", kT0 + 1000, 1)));
  EXPECT_EQ(std::get<DropReason>(map("b", kT0 + 1000, 1)),
            DropReason::kCounterFirstSample);  // forgotten
  EXPECT_EQ(m.tracked_series(), 2u);
}

TEST(SeriesMapperTest, EveryDropReason) {
  SeriesMapper m(MustParse(kTestMapping));
  const Labels counter = {{"__name__", "http_requests_total"}, {"service", "api"}};
  ASSERT_TRUE(
      std::holds_alternative<DropReason>(m.Map(counter, kT0 + 10000, 5, "rw")));  // first sample
  struct Case {
    const char* name;
    Labels labels;
    int64_t ts;
    double value;
    DropReason expected;
  };
  const std::vector<Case> cases = {
      {"no rule", {{"__name__", "unmapped"}, {"service", "api"}}, kT0, 1, DropReason::kNoRule},
      {"no __name__", {{"service", "api"}}, kT0, 1, DropReason::kNoRule},
      {"name nearly a rule's",
       {{"__name__", "sim_metric_valu"}, {"service", "api"}},
       kT0,
       1,
       DropReason::kNoRule},
      {"no service",
       {{"__name__", "queue_depth"}, {"instance", "h"}},
       kT0,
       1,
       DropReason::kNoService},
      {"empty service",
       {{"__name__", "queue_depth"}, {"service", ""}},
       kT0,
       1,
       DropReason::kNoService},
      {"service too long",
       {{"__name__", "queue_depth"}, {"service", std::string(129, 's')}},
       kT0,
       1,
       DropReason::kNoService},
      {"NaN",
       {{"__name__", "queue_depth"}, {"service", "api"}},
       kT0,
       std::nan(""),
       DropReason::kNotFinite},
      {"inf",
       {{"__name__", "queue_depth"}, {"service", "api"}},
       kT0,
       -std::numeric_limits<double>::infinity(),
       DropReason::kNotFinite},
      {"overflow after scale",
       {{"__name__", "huge"}, {"service", "api"}},
       kT0,
       1e300,
       DropReason::kNotFinite},
      {"counter first sample",
       {{"__name__", "http_requests_total"}, {"service", "web"}},
       kT0,
       1,
       DropReason::kCounterFirstSample},
      {"counter reset", counter, kT0 + 20000, 1, DropReason::kCounterReset},
      {"stale", counter, kT0 + 20000, 9, DropReason::kStale},
      {"bad name from label",
       {{"__name__", "sim_metric_value"}, {"metric", "1x"}, {"service", "api"}},
       kT0,
       1,
       DropReason::kBadName},
      {"name label missing",
       {{"__name__", "sim_metric_value"}, {"service", "api"}},
       kT0,
       1,
       DropReason::kBadName},
      {"before 2000",
       {{"__name__", "queue_depth"}, {"service", "api"}},
       946684799999,
       1,
       DropReason::kBadTimestamp},
      {"after 2100",
       {{"__name__", "queue_depth"}, {"service", "api"}},
       kMaxEventTimeMs,
       1,
       DropReason::kBadTimestamp},
  };
  std::set<DropReason> seen;
  for (const auto& c : cases) {
    auto out = m.Map(c.labels, c.ts, c.value, "rw");
    ASSERT_TRUE(std::holds_alternative<DropReason>(out)) << c.name;
    EXPECT_EQ(std::get<DropReason>(out), c.expected)
        << c.name << ": " << ToString(std::get<DropReason>(out));
    seen.insert(c.expected);
  }
  EXPECT_EQ(seen.size(), std::size(kAllDropReasons));
}

TEST(SeriesMapperTest, ConcurrentCallersGetConsistentRates) {
  SeriesMapper m(MustParse(kTestMapping), /*max_series=*/1000);
  constexpr int kThreads = 4, kSamples = 500;
  std::vector<int> bad(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      const Labels l = {{"__name__", "http_requests_total"},
                        {"service", "svc" + std::to_string(t)}};
      for (int i = 0; i < kSamples; ++i) {
        auto out = m.Map(l, kT0 + i * 1000, i * 3.0, "rw");
        if (i > 0 && (!std::holds_alternative<Mapped>(out) || std::get<Mapped>(out).value != 3.0))
          ++bad[t];
      }
    });
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(bad[t], 0) << "thread " << t;
  EXPECT_EQ(m.tracked_series(), static_cast<size_t>(kThreads));
}

TEST(SeriesMapperTest, ToRawMetricBuildsAValidPayload) {
  Mapped s{"payment-service", "error_rate", 16.4, kT0, {{"source", "remote_write"}, {"unit", "%"}}};
  RawMetric r = ToRawMetric(s);
  EXPECT_EQ(r.event_id, UuidFromName("ingest/payment-service/error_rate/" + std::to_string(kT0)));
  EXPECT_EQ(r.timestamp, kT0);
  EXPECT_EQ(r.source_service, "payment-service");
  EXPECT_EQ(r.metric_name, "error_rate");
  EXPECT_EQ(r.metric_value, 16.4);
  EXPECT_EQ(r.labels, s.labels);
  auto decoded = Decode<RawMetric>(Encode(r));
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(decoded->event_id, r.event_id);
}

// --- OTLP logs --------------------------------------------------------------------------------

// opentelemetry-proto examples/logs.json, as published.
const char* kSpecLogs = R"({
  "resourceLogs": [{
    "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "my.service"}}]},
    "scopeLogs": [{
      "scope": {"name": "my.library", "version": "1.0.0",
                "attributes": [{"key": "my.scope.attribute", "value": {"stringValue": "some scope attribute"}}]},
      "logRecords": [{
        "timeUnixNano": 1544712660300000000,
        "observedTimeUnixNano": 1544712660300000000,
        "severityText": "Information",
        "traceId": "5B8EFFF798038103D269B633813FC60C",
        "spanId": "EEE19B7EC3C1B174",
        "body": {"stringValue": "Example log record"},
        "attributes": [
          {"key": "string.attribute", "value": {"stringValue": "some string"}},
          {"key": "boolean.attribute", "value": {"boolValue": true}},
          {"key": "int.attribute", "value": {"intValue": 10}},
          {"key": "double.attribute", "value": {"doubleValue": 637.704}},
          {"key": "array.attribute", "value": {"arrayValue": {"values": [{"stringValue": "many"}, {"stringValue": "values"}]}}},
          {"key": "map.attribute", "value": {"kvlistValue": {"values": [{"key": "some.map.key", "value": {"stringValue": "some value"}}]}}}
        ]
      }]
    }]
  }]
})";

TEST(OtlpLogsTest, DecodesTheSpecExample) {
  auto r = DecodeOtlpLogs(Json::parse(kSpecLogs));
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->logs.size(), 1u);
  EXPECT_TRUE(r->dropped.empty());
  const RawLog& l = r->logs[0];
  EXPECT_EQ(l.source_service, "my.service");
  EXPECT_EQ(l.timestamp, 1544712660300);
  EXPECT_EQ(l.level, LogLevel::INFO);
  EXPECT_EQ(l.message, "Example log record");
  EXPECT_EQ(l.trace_id, "5b8efff798038103d269b633813fc60c");
  EXPECT_EQ(l.labels, (Labels{{"string.attribute", "some string"},
                              {"boolean.attribute", "true"},
                              {"int.attribute", "10"},
                              {"double.attribute", "637.704"},
                              {"array.attribute", R"(["many","values"])"},
                              {"map.attribute", R"({"some.map.key":"some value"})"},
                              {"source", "otlp"}}));
  EXPECT_TRUE(IsUuid(l.event_id));
  auto decoded = Decode<RawLog>(Encode(l));
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  // Re-sending the same batch publishes the same ids.
  EXPECT_EQ(DecodeOtlpLogs(Json::parse(kSpecLogs))->logs[0].event_id, l.event_id);
}

Json OneLog(Json record,
            Json resource_attrs =
                Json::parse(R"([{"key": "service.name", "value": {"stringValue": "checkout"}}])")) {
  return Json{{"resourceLogs",
               Json::array({Json{
                   {"resource", Json{{"attributes", resource_attrs}}},
                   {"scopeLogs", Json::array({Json{{"logRecords", Json::array({record})}}})}}})}};
}

TEST(OtlpLogsTest, SeverityFromNumberThenTextThenInfo) {
  struct Case {
    Json number, text;
    LogLevel expected;
  };
  const std::vector<Case> cases = {
      {1, nullptr, LogLevel::DEBUG},          {8, nullptr, LogLevel::DEBUG},
      {9, nullptr, LogLevel::INFO},           {12, nullptr, LogLevel::INFO},
      {13, nullptr, LogLevel::WARN},          {16, "ERROR", LogLevel::WARN},
      {17, nullptr, LogLevel::ERROR},         {"20", nullptr, LogLevel::ERROR},
      {21, nullptr, LogLevel::FATAL},         {24, nullptr, LogLevel::FATAL},
      {0, "ERROR", LogLevel::ERROR},          {25, "warning", LogLevel::WARN},
      {nullptr, "Critical", LogLevel::FATAL}, {nullptr, "debug", LogLevel::DEBUG},
      {nullptr, "TRACE", LogLevel::DEBUG},    {nullptr, "err", LogLevel::ERROR},
      {nullptr, "notice", LogLevel::INFO},    {nullptr, "whatever", LogLevel::INFO},
      {nullptr, nullptr, LogLevel::INFO},
  };
  for (const auto& c : cases) {
    Json rec = {{"timeUnixNano", "1700000000000000000"}, {"body", {{"stringValue", "x"}}}};
    if (!c.number.is_null()) rec["severityNumber"] = c.number;
    if (!c.text.is_null()) rec["severityText"] = c.text;
    auto r = DecodeOtlpLogs(OneLog(rec));
    ASSERT_TRUE(r.ok()) << rec.dump() << ": " << r.status().message();
    ASSERT_EQ(r->logs.size(), 1u) << rec.dump();
    EXPECT_EQ(r->logs[0].level, c.expected) << rec.dump();
  }
}

TEST(OtlpLogsTest, TimestampsBodiesAndLabels) {
  auto one = [](Json rec) {
    auto r = DecodeOtlpLogs(OneLog(rec));
    EXPECT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(r->logs.size(), 1u) << rec.dump();
    return r->logs.empty() ? RawLog{} : r->logs[0];
  };
  // observedTimeUnixNano when timeUnixNano is 0; strings or numbers.
  EXPECT_EQ(one({{"timeUnixNano", "0"},
                 {"observedTimeUnixNano", "1700000000123456789"},
                 {"body", {{"stringValue", "x"}}}})
                .timestamp,
            1700000000123);
  EXPECT_EQ(one({{"observedTimeUnixNano", 1700000000999000000u}, {"body", {{"stringValue", "x"}}}})
                .timestamp,
            1700000000999);
  // Bodies that are not strings become JSON.
  EXPECT_EQ(one({{"timeUnixNano", "1700000000000000000"}, {"body", {{"intValue", "42"}}}}).message,
            "42");
  EXPECT_EQ(
      one({{"timeUnixNano", "1700000000000000000"},
           {"body",
            Json::parse(
                R"({"kvlistValue": {"values": [{"key": "a", "value": {"boolValue": false}}]}})")}})
          .message,
      R"({"a":false})");
  // Long bodies are cut on a character boundary.
  std::string long_body;
  while (long_body.size() < 20000) long_body += "é";
  RawLog cut =
      one({{"timeUnixNano", "1700000000000000000"}, {"body", {{"stringValue", long_body}}}});
  EXPECT_LE(cut.message.size(), kMaxLogMessageBytes);
  EXPECT_GT(cut.message.size(), kMaxLogMessageBytes - 4);
  EXPECT_TRUE(IsValidUtf8(cut.message));
  EXPECT_TRUE(Decode<RawLog>(Encode(cut)).ok());
  // At most 32 attributes (the first ones), values cut at 256 bytes; all-zero trace id is none.
  Json attrs = Json::array();
  for (int i = 0; i < 40; ++i)
    attrs.push_back({{"key", "k" + std::to_string(100 + i)},
                     {"value", {{"stringValue", std::string(300, 'v')}}}});
  RawLog many = one({{"timeUnixNano", "1700000000000000000"},
                     {"body", {{"stringValue", "x"}}},
                     {"attributes", attrs},
                     {"traceId", "00000000000000000000000000000000"}});
  EXPECT_EQ(many.labels.size(), kMaxOtlpLabels + 1);  // + source
  EXPECT_TRUE(many.labels.count("k131"));
  EXPECT_FALSE(many.labels.count("k132"));
  EXPECT_LE(many.labels["k100"].size(), kMaxLabelValueBytes);
  EXPECT_EQ(many.trace_id, "");
  // NUL in text is replaced, never forwarded.
  EXPECT_EQ(
      one({{"timeUnixNano", "1700000000000000000"}, {"body", {{"stringValue", "a\0b"s}}}}).message,
      "a\xEF\xBF\xBD"
      "b");
}

TEST(OtlpLogsTest, DropsRecordsItCannotPublishByReason) {
  Json body = Json::parse(R"({"resourceLogs": [
    {"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "checkout"}}]},
     "scopeLogs": [{"logRecords": [
       {"timeUnixNano": "1700000000000000000", "body": {"stringValue": "kept"}},
       {"body": {"stringValue": "no time at all"}},
       {"timeUnixNano": "0", "observedTimeUnixNano": 0, "body": {"stringValue": "zero times"}},
       {"timeUnixNano": "1000", "body": {"stringValue": "1970"}},
       {"timeUnixNano": "1700000000000000000"},
       {"timeUnixNano": "1700000000000000000", "body": {"stringValue": ""}},
       {"timeUnixNano": "1700000000000000000", "body": {}}
     ]}]},
    {"resource": {"attributes": [{"key": "host.name", "value": {"stringValue": "h1"}}]},
     "scopeLogs": [{"logRecords": [{"timeUnixNano": "1700000000000000000", "body": {"stringValue": "whose?"}}]}]},
    {"scopeLogs": [{"logRecords": [{"timeUnixNano": "1700000000000000000", "body": {"stringValue": "no resource"}}]}]}
  ]})");
  auto r = DecodeOtlpLogs(body);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->logs.size(), 1u);
  EXPECT_EQ(r->logs[0].message, "kept");
  EXPECT_EQ(r->dropped,
            (std::map<std::string, size_t>{
                {"no_timestamp", 2}, {"bad_timestamp", 1}, {"empty_body", 3}, {"no_service", 2}}));
}

TEST(OtlpLogsTest, EmptyRequestsAreFine) {
  for (const char* text : {R"({})", R"({"resourceLogs": []})", R"({"resourceLogs": [{}]})",
                           R"({"resourceLogs": [{"scopeLogs": [{}]}], "unknownField": 1})"}) {
    auto r = DecodeOtlpLogs(Json::parse(text));
    ASSERT_TRUE(r.ok()) << text << ": " << r.status().message();
    EXPECT_TRUE(r->logs.empty());
    EXPECT_TRUE(r->dropped.empty());
  }
}

TEST(OtlpLogsTest, StructuralErrorsNameThePath) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"([])", "request: expected a JSON object, got an array"},
      {R"({"resourceLogs": {}})", "resourceLogs: expected an array, got an object"},
      {R"({"resourceLogs": [3]})", "resourceLogs[0]: expected an object, got a number"},
      {R"({"resourceLogs": [{"scopeLogs": [{}, {"logRecords": [{}, {}, {"timeUnixNano": "abc"}]}]}]})",
       "resourceLogs[0].scopeLogs[1].logRecords[2].timeUnixNano: not an integer"},
      {R"({"resourceLogs": [{"scopeLogs": [{"logRecords": [{"timeUnixNano": -5}]}]}]})",
       "resourceLogs[0].scopeLogs[0].logRecords[0].timeUnixNano: not an integer"},
      {R"({"resourceLogs": [{"scopeLogs": [{"logRecords": [{"timeUnixNano": "1.5"}]}]}]})",
       "resourceLogs[0].scopeLogs[0].logRecords[0].timeUnixNano: not an integer"},
      {R"({"resourceLogs": [{"scopeLogs": [{"logRecords": [{"severityNumber": "SEVERITY_NUMBER_ERROR"}]}]}]})",
       "resourceLogs[0].scopeLogs[0].logRecords[0].severityNumber: not an integer"},
      {R"({"resourceLogs": [{"scopeLogs": [{"logRecords": [{"body": "text"}]}]}]})",
       "resourceLogs[0].scopeLogs[0].logRecords[0].body: expected an object, got a string"},
      {R"({"resourceLogs": [{"scopeLogs": [{"logRecords": [{"traceId": "xyz"}]}]}]})",
       "resourceLogs[0].scopeLogs[0].logRecords[0].traceId: not a hex trace id"},
      {R"({"resourceLogs": [{"scopeLogs": [{"logRecords": [{"attributes": [{"key": "a", "value": {"intValue": "x"}}]}]}]}]})",
       "resourceLogs[0].scopeLogs[0].logRecords[0].attributes[0].value.intValue: not an integer"},
      {R"({"resourceLogs": [{"resource": {"attributes": [{"key": 1}]}}]})",
       "resourceLogs[0].resource.attributes[0].key: expected a string, got a number"},
      {R"({"resourceLogs": [{"scopeLogs": "x"}]})",
       "resourceLogs[0].scopeLogs: expected an array, got a string"},
  };
  for (const auto& [text, message] : cases) {
    auto r = DecodeOtlpLogs(Json::parse(text));
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_TRUE(r.status().invalid());
    EXPECT_EQ(r.status().message(), message) << text;
  }
  // Deeply nested AnyValues are refused rather than recursed into without bound.
  Json v = {{"stringValue", "leaf"}};
  for (int i = 0; i < 40; ++i) v = {{"arrayValue", {{"values", Json::array({v})}}}};
  auto deep = DecodeOtlpLogs(OneLog({{"timeUnixNano", "1700000000000000000"}, {"body", v}}));
  ASSERT_FALSE(deep.ok());
  EXPECT_NE(deep.status().message().find("nested deeper than 16 levels"), std::string::npos)
      << deep.status().message();
}

// --- OTLP metrics -------------------------------------------------------------------------------

// opentelemetry-proto examples/metrics.json, as published.
const char* kSpecMetrics = R"({
  "resourceMetrics": [{
    "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "my.service"}}]},
    "scopeMetrics": [{
      "scope": {"name": "my.library", "version": "1.0.0",
                "attributes": [{"key": "my.scope.attribute", "value": {"stringValue": "some scope attribute"}}]},
      "metrics": [
        {"name": "my.counter", "unit": "1", "description": "I am a Counter",
         "sum": {"aggregationTemporality": 1, "isMonotonic": true,
                 "dataPoints": [{"asDouble": 5, "startTimeUnixNano": 1544712660300000000, "timeUnixNano": 1544712660300000000,
                                 "attributes": [{"key": "my.counter.attr", "value": {"stringValue": "some value"}}]}]}},
        {"name": "my.gauge", "unit": "1", "description": "I am a Gauge",
         "gauge": {"dataPoints": [{"asDouble": 10, "timeUnixNano": 1544712660300000000,
                                   "attributes": [{"key": "my.gauge.attr", "value": {"stringValue": "some value"}}]}]}},
        {"name": "my.histogram", "unit": "1", "description": "I am a Histogram",
         "histogram": {"aggregationTemporality": 1,
                       "dataPoints": [{"startTimeUnixNano": 1544712660300000000, "timeUnixNano": 1544712660300000000,
                                       "count": 3, "sum": 3, "bucketCounts": [1,1,1], "explicitBounds": [1], "min": 1, "max": 1,
                                       "attributes": [{"key": "my.histogram.attr", "value": {"stringValue": "some value"}}]}]}}
      ]
    }]
  }]
})";

TEST(OtlpMetricsTest, DecodesTheSpecExample) {
  SeriesMapper mapper(MustParse(R"({"rules": [
    {"metric": "my.gauge", "rename": "my_gauge", "unit": "1"},
    {"metric": "my.counter", "rename": "my_counter_rate", "counter": true}]})"));
  auto r = DecodeOtlpMetrics(Json::parse(kSpecMetrics), mapper);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->samples.size(), 1u);
  const Mapped& g = r->samples[0];
  EXPECT_EQ(g.service, "my.service");
  EXPECT_EQ(g.metric, "my_gauge");
  EXPECT_EQ(g.value, 10);
  EXPECT_EQ(g.ts_ms, 1544712660300);
  EXPECT_EQ(g.labels, (Labels{{"my.gauge.attr", "some value"}, {"source", "otlp"}, {"unit", "1"}}));
  // The example's counter is a delta sum: a counter rule cannot take it. The histogram is skipped.
  EXPECT_EQ(r->dropped,
            (std::map<std::string, size_t>{{"delta_temporality", 1}, {"unsupported_type", 1}}));

  // Without a counter rule, a sum is forwarded as it is.
  SeriesMapper raw(MustParse(R"({"rules": [{"metric": "my.counter", "rename": "my_counter"}]})"));
  auto r2 = DecodeOtlpMetrics(Json::parse(kSpecMetrics), raw);
  ASSERT_TRUE(r2.ok());
  ASSERT_EQ(r2->samples.size(), 1u);
  EXPECT_EQ(r2->samples[0].metric, "my_counter");
  EXPECT_EQ(r2->samples[0].value, 5);
  EXPECT_EQ(r2->dropped, (std::map<std::string, size_t>{{"no_rule", 1}, {"unsupported_type", 1}}));
}

Json OneMetric(Json metric, const std::string& service = "checkout") {
  Json resource = Json::object();
  if (!service.empty())
    resource["attributes"] =
        Json::array({{{"key", "service.name"}, {"value", {{"stringValue", service}}}}});
  return {{"resourceMetrics",
           Json::array({{{"resource", resource},
                         {"scopeMetrics", Json::array({{{"metrics", Json::array({metric})}}})}}})}};
}

Json CumulativeSum(const std::string& name, Json points) {
  return {{"name", name},
          {"sum", {{"aggregationTemporality", 2}, {"isMonotonic", true}, {"dataPoints", points}}}};
}

TEST(OtlpMetricsTest, CumulativeSumsBecomeRates) {
  SeriesMapper mapper(MustParse(
      R"({"rules": [{"metric": "http.server.requests", "rename": "request_rate", "counter": true}]})"));
  auto point = [](const char* ns, Json value) {
    Json p = {
        {"timeUnixNano", ns},
        {"attributes", Json::parse(R"([{"key": "route", "value": {"stringValue": "/pay"}}])")}};
    p[value.is_string() ? "asInt" : "asDouble"] = value;
    return p;
  };
  auto first = DecodeOtlpMetrics(
      OneMetric(CumulativeSum("http.server.requests", {point("1700000000000000000", "100")})),
      mapper);
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_TRUE(first->samples.empty());
  EXPECT_EQ(first->dropped, (std::map<std::string, size_t>{{"counter_first_sample", 1}}));

  auto second = DecodeOtlpMetrics(
      OneMetric(CumulativeSum("http.server.requests", {point("1700000010000000000", 400.0)})),
      mapper);
  ASSERT_TRUE(second.ok()) << second.status().message();
  ASSERT_EQ(second->samples.size(), 1u);
  EXPECT_EQ(second->samples[0].metric, "request_rate");
  EXPECT_EQ(second->samples[0].service, "checkout");
  EXPECT_DOUBLE_EQ(second->samples[0].value, 30.0);  // 300 requests in 10 s
  EXPECT_EQ(second->samples[0].labels,
            (Labels{{"route", "/pay"}, {"source", "otlp"}, {"unit", "req/s"}}));
}

TEST(OtlpMetricsTest, DropsPointsItCannotPublishByReason) {
  SeriesMapper mapper(
      MustParse(R"({"rules": [{"metric": "queue_depth"}, {"metric": "c", "counter": true}]})"));
  const char* t = "1700000000000000000";
  Json metrics = Json::array({
      {{"name", "queue_depth"},
       {"gauge",
        {{"dataPoints",
          Json::array({
              {{"timeUnixNano", t}, {"asInt", "7"}},                   // kept
              {{"timeUnixNano", t}, {"asDouble", "NaN"}},              // not_finite
              {{"timeUnixNano", t}, {"asDouble", "-Infinity"}},        // not_finite
              {{"timeUnixNano", t}, {"asDouble", 1.0}, {"flags", 1}},  // no_recorded_value
              {{"timeUnixNano", t}},                                   // no_value
              {{"asDouble", 1.0}},                                     // no_timestamp
              {{"timeUnixNano", "1000000"}, {"asDouble", 1.0}},        // bad_timestamp
          })}}}},
      {{"name", "unmapped"},
       {"gauge", {{"dataPoints", Json::array({{{"timeUnixNano", t}, {"asDouble", 1}}})}}}},
      {{"name", "c"},
       {"sum",
        {{"aggregationTemporality", 1},
         {"dataPoints", Json::array({{{"timeUnixNano", t}, {"asInt", 1}}})}}}},
      {{"name", "c"},
       {"sum",
        {{"aggregationTemporality", 2},
         {"dataPoints", Json::array({{{"timeUnixNano", t}, {"asInt", 1}}})}}}},
      {{"name", "s"}, {"summary", {{"dataPoints", Json::array({Json::object(), Json::object()})}}}},
      {{"name", "e"}, {"exponentialHistogram", {{"dataPoints", Json::array({Json::object()})}}}},
      {{"name", "nothing"}},
  });
  Json body = {
      {"resourceMetrics",
       Json::array({{{"resource",
                      {{"attributes", Json::array({{{"key", "service.name"},
                                                    {"value", {{"stringValue", "svc"}}}}})}}},
                     {"scopeMetrics", Json::array({{{"metrics", metrics}}})}}})}};
  auto r = DecodeOtlpMetrics(body, mapper);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->samples.size(), 1u);
  EXPECT_EQ(r->samples[0].value, 7);
  EXPECT_EQ(r->dropped, (std::map<std::string, size_t>{{"not_finite", 2},
                                                       {"no_recorded_value", 1},
                                                       {"no_value", 1},
                                                       {"no_timestamp", 1},
                                                       {"bad_timestamp", 1},
                                                       {"no_rule", 1},
                                                       {"delta_temporality", 1},
                                                       {"counter_first_sample", 1},
                                                       {"unsupported_type", 4}}));

  // No service.name, and no service or job attribute either.
  auto orphan = DecodeOtlpMetrics(
      OneMetric(
          {{"name", "queue_depth"},
           {"gauge", {{"dataPoints", Json::array({{{"timeUnixNano", t}, {"asDouble", 1}}})}}}},
          ""),
      mapper);
  ASSERT_TRUE(orphan.ok());
  EXPECT_EQ(orphan->dropped, (std::map<std::string, size_t>{{"no_service", 1}}));
  // ... but a job attribute names it (service_labels defaults to service, job).
  auto job = DecodeOtlpMetrics(
      OneMetric(
          {{"name", "queue_depth"},
           {"gauge",
            {{"dataPoints",
              Json::array(
                  {{{"timeUnixNano", t},
                    {"asDouble", 1},
                    {"attributes",
                     Json::parse(R"([{"key": "job", "value": {"stringValue": "worker"}}])")}}})}}}},
          ""),
      mapper);
  ASSERT_TRUE(job.ok()) << job.status().message();
  ASSERT_EQ(job->samples.size(), 1u);
  EXPECT_EQ(job->samples[0].service, "worker");
}

TEST(OtlpMetricsTest, StructuralErrorsNameThePath) {
  SeriesMapper mapper(MustParse(R"({"rules": [{"metric": "g"}]})"));
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"("x")", "request: expected a JSON object, got a string"},
      {R"({"resourceMetrics": 1})", "resourceMetrics: expected an array, got a number"},
      {R"({"resourceMetrics": [{"scopeMetrics": [{"metrics": [{"name": 5}]}]}]})",
       "resourceMetrics[0].scopeMetrics[0].metrics[0].name: expected a string, got a number"},
      {R"({"resourceMetrics": [{"scopeMetrics": [{"metrics": [{"name": "g", "gauge": []}]}]}]})",
       "resourceMetrics[0].scopeMetrics[0].metrics[0].gauge: expected an object, got an array"},
      {R"({"resourceMetrics": [{"scopeMetrics": [{"metrics": [{"name": "g", "gauge": {"dataPoints": [{"asDouble": "abc"}]}}]}]}]})",
       "resourceMetrics[0].scopeMetrics[0].metrics[0].gauge.dataPoints[0].asDouble: not a number"},
      {R"({"resourceMetrics": [{"scopeMetrics": [{"metrics": [{"name": "g", "gauge": {"dataPoints": [{"asInt": "1.5"}]}}]}]}]})",
       "resourceMetrics[0].scopeMetrics[0].metrics[0].gauge.dataPoints[0].asInt: not an integer"},
      {R"({"resourceMetrics": [{"scopeMetrics": [{"metrics": [{"name": "g", "sum": {"aggregationTemporality": "DELTA"}}]}]}]})",
       "resourceMetrics[0].scopeMetrics[0].metrics[0].sum.aggregationTemporality: not an integer"},
      {R"({"resourceMetrics": [{"scopeMetrics": [{"metrics": [{"name": "g", "gauge": {"dataPoints": {}}}]}]}]})",
       "resourceMetrics[0].scopeMetrics[0].metrics[0].gauge.dataPoints: expected an array, got an "
       "object"},
      {R"({"resourceMetrics": [{"resource": []}]})",
       "resourceMetrics[0].resource: expected an object, got an array"},
  };
  for (const auto& [text, message] : cases) {
    auto r = DecodeOtlpMetrics(Json::parse(text), mapper);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_TRUE(r.status().invalid());
    EXPECT_EQ(r.status().message(), message) << text;
  }
}

}  // namespace
}  // namespace sre::ingest
