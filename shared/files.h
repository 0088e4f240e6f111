#pragma once
// The configuration files the agents read at start-up (policy, mapping, routing, detection
// settings): where the default one is, and reading one as JSON with an error that names the file.
#include <string>

#include "shared/json_codec.h"
#include "shared/status.h"

namespace sre {

// `relative` (e.g. "infra/remediation/policy.json") when it exists under the working directory
// (the repository, the image's /app), else the same file in the source tree (compiled in).
std::string RepoFile(const std::string& relative);

// The file's text; Status::Invalid "cannot read <path>" when it cannot be read.
Expected<std::string> ReadTextFile(const std::string& path);
// The file parsed as JSON; Status::Invalid "cannot read <path>" or "<path>: not valid JSON".
Expected<Json> ReadJsonFile(const std::string& path);

}  // namespace sre
