#pragma once
// `sre-detection backtest`: the detection core over a file, offline (no Redis, no Kafka), so an
// operator can tune thresholds on their own history before deploying.
#include <istream>
#include <string>
#include <utility>
#include <vector>

#include "shared/status.h"

namespace sre::detection {

// Reads `timestamp,value` CSV (an optional header line) or JSONL of raw.metrics payloads (the
// format is detected from the first non-blank character). JSONL lines for other metrics than
// `metric` or another service than `service` (the first line's when empty) are skipped, and so
// are lines whose "topic" is not raw.metrics. Status::Invalid names the line of a bad row.
Expected<std::vector<std::pair<int64_t, double>>> ReadSeries(std::istream& in, const std::string& metric,
                                                             std::string* detected_metric,
                                                             const std::string& service = "");

// argv[0] is "backtest". Returns the exit code.
int BacktestMain(int argc, char** argv);

}  // namespace sre::detection
