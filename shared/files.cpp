#include "shared/files.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#ifndef SRE_SOURCE_DIR
#define SRE_SOURCE_DIR "."
#endif

namespace sre {

std::string RepoFile(const std::string& relative) {
  if (std::filesystem::exists(relative)) return relative;
  return std::string(SRE_SOURCE_DIR) + "/" + relative;
}

Expected<std::string> ReadTextFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::Invalid("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Expected<Json> ReadJsonFile(const std::string& path) {
  auto text = ReadTextFile(path);
  if (!text.ok()) return text.status();
  Json j = Json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::Invalid(path + ": not valid JSON");
  return j;
}

}  // namespace sre
