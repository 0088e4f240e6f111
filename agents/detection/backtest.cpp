#include "agents/detection/backtest.h"

#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "agents/detection/detector.h"
#include "agents/detection/evaluation.h"
#include "agents/detection/settings.h"
#include "shared/messages.h"

namespace sre::detection {
namespace {

constexpr const char* kHelp = R"(Usage: sre-detection backtest --input FILE [--metric NAME] [--service NAME] [--config PATH]
       sre-detection backtest --labelled FILE [--config PATH] [--json]

Runs the detection scoring core over one series, offline (no Redis, no Kafka), and prints one CSV
row per sample: timestamp,value,expectation,spread,z,threshold,score,decision,anomaly
(expectation: the level, plus the time-of-day term once two days of history exist; spread: the
robust standard deviation; threshold: the effective threshold in sigmas, adapted to the series'
tail; score in [0,1], 0.5 where a raise happens; decision: warmup, normal, breach, raise or
level_shift; anomaly is 1 on the sample that would raise an incident).

  --input FILE    CSV "timestamp,value" (header optional; timestamp in Unix ms) or JSONL of
                  raw.metrics payloads (lines with another "topic" are skipped, so the output of
                  `sre-simulator generate` works)
  --metric NAME   which metric's settings to use (and, for JSONL, which metric to read);
                  default: the JSONL's first metric, or the defaults section for CSV
  --service NAME  JSONL: read only this service's samples (default: the first line's service)
  --labelled FILE JSONL with ground truth, as `sre-simulator generate` writes it: scores every
                  series of its raw.metrics lines and prints, against its eval.episode lines,
                  the false raises per day, precision, recall and delay after the 3-sigma crossing
  --json          with --labelled: the scorecard as JSON instead of Markdown
  --config PATH   detection settings (default: $DETECTION_CONFIG or infra/detection/detection.json)
)";

// The labelled mode: every series of the file through the core, raises scored against the
// failures. Lines are processed as they are read (a month of 42 series is ~11 M lines).
int Labelled(const std::string& path, const DetectionSettings& settings, bool json) {
  std::ifstream f(path);
  if (!f) {
    std::cerr << "sre-detection backtest: cannot read " << path << "\n";
    return 2;
  }
  std::map<std::string, SeriesState> states;
  std::vector<Raise> raises;
  std::vector<LabelledFailure> failures;
  int64_t first = INT64_MAX, last = INT64_MIN;
  std::string line;
  int line_no = 0;
  while (std::getline(f, line)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    Json j = Json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      std::cerr << "sre-detection backtest: " << path << ": line " << line_no << ": not a JSON object\n";
      return 2;
    }
    std::string topic = j.value("topic", std::string(topics::kRawMetrics));
    if (topic == "eval.episode") {
      auto failure = ParseLabelledFailure(j);
      if (!failure.ok()) {
        std::cerr << "sre-detection backtest: " << path << ": line " << line_no << ": " << failure.status().message() << "\n";
        return 2;
      }
      failures.push_back(std::move(*failure));
      continue;
    }
    if (topic != topics::kRawMetrics) continue;
    auto m = Decode<RawMetric>(line);
    if (!m.ok()) {
      std::cerr << "sre-detection backtest: " << path << ": line " << line_no << ": " << m.status().message() << "\n";
      return 2;
    }
    first = std::min(first, m->timestamp);
    last = std::max(last, m->timestamp);
    Verdict v = Observe(states[m->source_service + "/" + m->metric_name], m->timestamp, m->metric_value,
                        settings.For(m->metric_name));
    if (v.kind == VerdictKind::kRaise) raises.push_back({m->source_service, m->metric_name, m->timestamp, v.score});
  }
  if (states.empty()) {
    std::cerr << "sre-detection backtest: " << path << ": no raw.metrics lines\n";
    return 2;
  }
  double days = static_cast<double>(last - first + 10000) / 86400000.0;
  Scorecard card = ScoreRaises(raises, failures, days, static_cast<int>(states.size()));
  if (json)
    std::cout << ScorecardJson(card).dump(2) << "\n";
  else
    std::cout << FormatScorecard(card, "Detection on " + path);
  return 0;
}

}  // namespace

Expected<std::vector<std::pair<int64_t, double>>> ReadSeries(std::istream& in, const std::string& metric,
                                                             std::string* detected_metric, const std::string& service) {
  std::vector<std::pair<int64_t, double>> out;
  std::string line;
  int line_no = 0;
  bool jsonl = false, decided = false;
  std::string want = metric, want_service = service;
  while (std::getline(in, line)) {
    ++line_no;
    size_t first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos) continue;
    if (!decided) {
      jsonl = line[first] == '{';
      decided = true;
    }
    if (jsonl) {
      if (line.find("\"topic\"") != std::string::npos) {
        Json j = Json::parse(line, nullptr, false);
        if (j.is_object() && j.value("topic", std::string(topics::kRawMetrics)) != topics::kRawMetrics) continue;
      }
      auto m = Decode<RawMetric>(line);
      if (!m.ok()) return Status::Invalid("line " + std::to_string(line_no) + ": " + m.status().message());
      if (want.empty()) want = m->metric_name;
      if (want_service.empty()) want_service = m->source_service;
      if (m->metric_name != want || m->source_service != want_service) continue;
      out.emplace_back(m->timestamp, m->metric_value);
      continue;
    }
    std::istringstream row(line);
    std::string ts, value;
    if (!std::getline(row, ts, ',') || !std::getline(row, value)) {
      return Status::Invalid("line " + std::to_string(line_no) + ": expected timestamp,value");
    }
    try {
      size_t used_ts = 0, used_v = 0;
      int64_t t = std::stoll(ts, &used_ts);
      double v = std::stod(value, &used_v);
      out.emplace_back(t, v);
    } catch (const std::exception&) {
      if (line_no == 1 && out.empty()) continue;  // a header
      return Status::Invalid("line " + std::to_string(line_no) + ": '" + line + "' is not timestamp,value");
    }
  }
  if (detected_metric) *detected_metric = want;
  return out;
}

int BacktestMain(int argc, char** argv) {
  std::string input, metric, config, service, labelled;
  bool json = false;
  if (const char* env = std::getenv("DETECTION_CONFIG")) config = env;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--help" || a == "-h") {
      std::cout << kHelp;
      return 0;
    } else if (a == "--input") {
      input = next();
    } else if (a == "--metric") {
      metric = next();
    } else if (a == "--service") {
      service = next();
    } else if (a == "--labelled") {
      labelled = next();
    } else if (a == "--json") {
      json = true;
    } else if (a == "--config") {
      config = next();
    } else {
      std::cerr << "sre-detection backtest: unknown argument '" << a << "' (see --help)\n";
      return 2;
    }
  }
  if (input.empty() == labelled.empty()) {
    std::cerr << "sre-detection backtest: give --input FILE or --labelled FILE (see --help)\n";
    return 2;
  }
  if (config.empty()) config = DefaultSettingsPath();
  auto settings = DetectionSettings::Load(config);
  if (!settings.ok()) {
    std::cerr << "sre-detection backtest: " << settings.status().message() << "\n";
    return 2;
  }
  if (!labelled.empty()) return Labelled(labelled, *settings, json);
  std::ifstream f(input);
  if (!f) {
    std::cerr << "sre-detection backtest: cannot read " << input << "\n";
    return 2;
  }
  std::string used_metric;
  auto series = ReadSeries(f, metric, &used_metric, service);
  if (!series.ok()) {
    std::cerr << "sre-detection backtest: " << input << ": " << series.status().message() << "\n";
    return 2;
  }
  std::cout << "timestamp,value,expectation,spread,z,threshold,score,decision,anomaly\n";
  for (const auto& row : Backtest(*series, settings->For(used_metric))) {
    std::printf("%lld,%.6g,%.6g,%.6g,%.3f,%.3f,%.4f,%s,%d\n", static_cast<long long>(row.timestamp), row.value,
                row.verdict.mean, row.verdict.std, row.verdict.z, row.verdict.threshold, row.verdict.score,
                std::string(ToString(row.verdict.kind)).c_str(), row.anomaly ? 1 : 0);
  }
  return 0;
}

}  // namespace sre::detection
