#include "agents/detection/backtest.h"

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "agents/detection/detector.h"
#include "agents/detection/settings.h"
#include "shared/messages.h"

namespace sre::detection {
namespace {

constexpr const char* kHelp = R"(Usage: sre-detection backtest --input FILE [--metric NAME] [--config PATH]

Runs the detection scoring core over one series, offline (no Redis, no Kafka), and prints one CSV
row per sample: timestamp,value,baseline_mean,baseline_std,z,score,anomaly
(anomaly is 1 on the sample that would raise an incident).

  --input FILE   CSV "timestamp,value" (header optional; timestamp in Unix ms) or JSONL of
                 raw.metrics payloads
  --metric NAME  which metric's settings to use (and, for JSONL, which metric to read);
                 default: the JSONL's first metric, or the defaults section for CSV
  --config PATH  detection settings (default: $DETECTION_CONFIG or infra/detection/detection.json)
)";

}  // namespace

Expected<std::vector<std::pair<int64_t, double>>> ReadSeries(std::istream& in, const std::string& metric,
                                                             std::string* detected_metric) {
  std::vector<std::pair<int64_t, double>> out;
  std::string line;
  int line_no = 0;
  bool jsonl = false, decided = false;
  std::string want = metric;
  while (std::getline(in, line)) {
    ++line_no;
    size_t first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos) continue;
    if (!decided) {
      jsonl = line[first] == '{';
      decided = true;
    }
    if (jsonl) {
      auto m = Decode<RawMetric>(line);
      if (!m.ok()) return Status::Invalid("line " + std::to_string(line_no) + ": " + m.status().message());
      if (want.empty()) want = m->metric_name;
      if (m->metric_name != want) continue;
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
  std::string input, metric, config;
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
    } else if (a == "--config") {
      config = next();
    } else {
      std::cerr << "sre-detection backtest: unknown argument '" << a << "' (see --help)\n";
      return 2;
    }
  }
  if (input.empty()) {
    std::cerr << "sre-detection backtest: --input FILE is required\n";
    return 2;
  }
  if (config.empty()) config = DefaultSettingsPath();
  auto settings = DetectionSettings::Load(config);
  if (!settings.ok()) {
    std::cerr << "sre-detection backtest: " << settings.status().message() << "\n";
    return 2;
  }
  std::ifstream f(input);
  if (!f) {
    std::cerr << "sre-detection backtest: cannot read " << input << "\n";
    return 2;
  }
  std::string used_metric;
  auto series = ReadSeries(f, metric, &used_metric);
  if (!series.ok()) {
    std::cerr << "sre-detection backtest: " << input << ": " << series.status().message() << "\n";
    return 2;
  }
  std::cout << "timestamp,value,baseline_mean,baseline_std,z,score,anomaly\n";
  for (const auto& row : Backtest(*series, settings->For(used_metric))) {
    std::printf("%lld,%.6g,%.6g,%.6g,%.3f,%.3f,%d\n", static_cast<long long>(row.timestamp), row.value,
                row.verdict.mean, row.verdict.std, row.verdict.z, row.score, row.anomaly ? 1 : 0);
  }
  return 0;
}

}  // namespace sre::detection
