#include "shared/services.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "shared/messages.h"

#ifndef SRE_SOURCE_DIR
#define SRE_SOURCE_DIR "."
#endif

namespace sre {
namespace {

struct CatalogFile {
  int64_t schema_version = 1;
  std::vector<ServiceInfo> services;
  template <class V>
  void Visit(V& v) {
    v("schema_version", schema_version, Check::Range(1, 1));
    v("services", services, Check::NonEmpty());
  }
};

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace

Expected<ServiceCatalog> ServiceCatalog::Parse(const std::string& json_text) {
  auto file = Decode<CatalogFile>(json_text);
  if (!file.ok()) return Status::Invalid("services.json: " + file.status().message());
  std::set<std::string> names;
  for (const auto& s : file->services)
    if (!names.insert(s.name).second)
      return Status::Invalid("services.json: duplicate service " + s.name);
  for (const auto& s : file->services) {
    if (CriticalityRank(s.criticality) < 0)
      return Status::Invalid("services.json: " + s.name + ": criticality must be P0, P1 or P2");
    for (const char* m : metrics::kAll) {
      if (!s.baseline.count(m))
        return Status::Invalid("services.json: " + s.name + ": no baseline for " + m);
      if (!s.noise.count(m))
        return Status::Invalid("services.json: " + s.name + ": no noise for " + m);
    }
    for (const auto& d : s.downstream) {
      if (!names.count(d))
        return Status::Invalid("services.json: " + s.name + ": unknown downstream " + d);
      auto callee = std::find_if(file->services.begin(), file->services.end(),
                                 [&](const ServiceInfo& x) { return x.name == d; });
      if (!Contains(callee->upstream, s.name))
        return Status::Invalid("services.json: " + d + ".upstream must list " + s.name);
    }
    for (const auto& u : s.upstream)
      if (!names.count(u))
        return Status::Invalid("services.json: " + s.name + ": unknown upstream " + u);
  }
  ServiceCatalog c;
  c.services_ = std::move(file->services);
  return c;
}

Expected<ServiceCatalog> ServiceCatalog::Load(const std::string& path) {
  std::ifstream f(path);
  if (!f) return Status::Invalid("cannot read " + path);
  std::stringstream ss;
  ss << f.rdbuf();
  return Parse(ss.str());
}

const ServiceInfo* ServiceCatalog::Find(const std::string& name) const {
  for (const auto& s : services_)
    if (s.name == name) return &s;
  return nullptr;
}

int ServiceCatalog::CriticalityRank(const std::string& c) {
  if (c == "P0") return 0;
  if (c == "P1") return 1;
  if (c == "P2") return 2;
  return -1;
}

std::string KnowledgeDir() {
  if (const char* env = std::getenv("KNOWLEDGE_DIR"); env && *env) return env;
  if (std::filesystem::is_directory("knowledge/architecture")) return "knowledge";
  return std::string(SRE_SOURCE_DIR) + "/knowledge";
}

}  // namespace sre
