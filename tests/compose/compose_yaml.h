#pragma once
// A reader for the block-style YAML that `docker-compose config` prints (normalised: no anchors,
// no flow collections, one key per line), enough to check docker-compose.yml without PyYAML or a
// Docker engine. Not a general YAML parser.
#include <map>
#include <string>
#include <vector>

namespace sre::compose {

// A volume of a service: "SOURCE:TARGET[:MODE]" or the long syntax. A bind mount's source is
// an absolute host path in normalised output; a named volume's is its name.
struct Volume {
  std::string source, target, mode;
  bool bind() const { return !source.empty() && (source[0] == '/' || source[0] == '.'); }
};

struct Service {
  std::string name, image;
  bool has_build = false;
  std::vector<std::string> command, entrypoint, healthcheck_test;
  bool healthcheck_disabled = false;  // `disable: true` prints as test: [NONE]
  std::map<std::string, std::string> environment;
  std::vector<std::pair<int, int>> ports;         // (published, target)
  std::map<std::string, std::string> depends_on;  // service -> condition
  std::string restart;
  std::vector<std::string> profiles;
  std::vector<Volume> volumes;
};

// Every (path, scalar) of the document in order; sequence items carry "[]" in the path
// ("services.api.command[]", "services.api.ports[].published").
std::vector<std::pair<std::string, std::string>> FlattenYaml(const std::string& text);

// The services of a normalised compose file.
std::map<std::string, Service> ParseServices(const std::string& text);

}  // namespace sre::compose
