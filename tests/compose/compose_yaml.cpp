#include "tests/compose/compose_yaml.h"

#include <sstream>

namespace sre::compose {
namespace {

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(' ');
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \r");
  return s.substr(b, e - b + 1);
}

// Counts the double quotes that are not escaped.
int OpenQuotes(const std::string& s) {
  int n = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\') {
      ++i;
    } else if (s[i] == '"') {
      ++n;
    }
  }
  return n;
}

std::string Unquote(std::string v) {
  if (v.size() >= 2 &&
      ((v.front() == '\'' && v.back() == '\'') || (v.front() == '"' && v.back() == '"')))
    return v.substr(1, v.size() - 2);
  return v;
}

// Splits "key: value" (value may be empty); false when the line is not a mapping entry.
// `opens` is true for "key:" alone (a nested mapping or sequence follows).
bool SplitKey(const std::string& s, std::string* key, std::string* value, bool* opens) {
  size_t colon = s.find(": ");
  *opens = false;
  if (colon == std::string::npos) {
    if (!s.empty() && s.back() == ':') {
      *key = Unquote(s.substr(0, s.size() - 1));
      value->clear();
      *opens = true;
      return true;
    }
    return false;
  }
  if (s.front() == '"' || s.front() == '\'') {  // a quoted scalar that happens to contain ": "
    size_t close = s.find(s.front(), 1);
    if (close == std::string::npos || close + 1 != colon) return false;
  }
  *key = Unquote(s.substr(0, colon));
  *value = Unquote(Trim(s.substr(colon + 2)));
  return true;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> FlattenYaml(const std::string& text) {
  struct Frame {
    int indent;
    std::string key;
  };
  std::vector<Frame> stack;
  std::vector<std::pair<std::string, std::string>> out;
  auto path = [&stack](const std::string& leaf) {
    std::string p;
    for (const auto& f : stack) p += (p.empty() || f.key == "[]" ? "" : ".") + f.key;
    if (leaf.empty()) return p;
    return p + (p.empty() || leaf == "[]" ? "" : ".") + leaf;
  };

  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::string body = Trim(line);
    if (body.empty() || body.front() == '#') continue;
    // A double-quoted scalar folded over several lines: consume its continuation lines.
    if (OpenQuotes(body) % 2 == 1) {
      std::string more;
      while (std::getline(in, more)) {
        body += " " + Trim(more);
        if (OpenQuotes(Trim(more)) % 2 == 1) break;
      }
    }
    int indent = static_cast<int>(line.find_first_not_of(' '));
    if (body.rfind("- ", 0) == 0 || body == "-") {
      // A sequence item belongs to the nearest key at this indent or less (compose prints
      // sequences at their key's indent).
      while (!stack.empty() && stack.back().indent > indent) stack.pop_back();
      std::string item = body == "-" ? "" : Trim(body.substr(2));
      std::string key, value;
      bool opens = false;
      if (SplitKey(item, &key, &value, &opens)) {
        stack.push_back({indent + 1, "[]"});
        if (opens) {
          stack.push_back({indent + 2, key});
        } else {
          out.emplace_back(path(key), value);
        }
      } else {
        out.emplace_back(path("[]"), Unquote(item));
      }
      continue;
    }
    while (!stack.empty() && stack.back().indent >= indent) stack.pop_back();
    std::string key, value;
    bool opens = false;
    if (!SplitKey(body, &key, &value, &opens)) continue;
    if (opens) {
      stack.push_back({indent, key});
      out.emplace_back(path(""), "");
    } else {
      out.emplace_back(path(key), value);
    }
  }
  return out;
}

std::map<std::string, Service> ParseServices(const std::string& text) {
  std::map<std::string, Service> services;
  for (const auto& [p, value] : FlattenYaml(text)) {
    if (p.rfind("services.", 0) != 0) continue;
    std::string rest = p.substr(9);
    size_t dot = rest.find('.');
    std::string name = rest.substr(0, dot);
    Service& s = services[name];
    s.name = name;
    if (dot == std::string::npos) continue;
    std::string field = rest.substr(dot + 1);
    auto sub = [&field](const std::string& prefix) {
      return field.rfind(prefix, 0) == 0 ? field.substr(prefix.size()) : std::string("\x01");
    };
    if (field == "image") {
      s.image = value;
    } else if (field.rfind("build", 0) == 0) {
      s.has_build = true;
    } else if (field == "command[]") {
      s.command.push_back(value);
    } else if (field == "command") {
      if (!value.empty()) s.command.push_back(value);
    } else if (field == "entrypoint[]") {
      s.entrypoint.push_back(value);
    } else if (field == "healthcheck.test[]") {
      s.healthcheck_test.push_back(value);
      if (value == "NONE") s.healthcheck_disabled = true;
    } else if (field == "healthcheck.disable") {
      s.healthcheck_disabled = value == "true";
    } else if (std::string k = sub("environment."); k != "\x01") {
      if (!k.empty()) s.environment[k] = value;
    } else if (field == "ports[].published") {
      s.ports.emplace_back(std::stoi(value), 0);
    } else if (field == "ports[].target") {
      if (s.ports.empty() || s.ports.back().second != 0) s.ports.emplace_back(0, 0);
      s.ports.back().second = std::stoi(value);
    } else if (field == "ports[]") {  // short syntax "[ip:]published:target[/proto]"
      std::vector<std::string> parts;
      std::stringstream ss(value.substr(0, value.find('/')));
      for (std::string part; std::getline(ss, part, ':');) parts.push_back(part);
      int target = std::stoi(parts.back());
      s.ports.emplace_back(parts.size() > 1 ? std::stoi(parts[parts.size() - 2]) : target, target);
    } else if (std::string d = sub("depends_on."); d != "\x01") {
      size_t cdot = d.find(".condition");
      if (cdot != std::string::npos) {
        s.depends_on[d.substr(0, cdot)] = value;
      } else if (!d.empty() && d.find('.') == std::string::npos) {
        s.depends_on.emplace(d, "");
      }
    } else if (field == "depends_on[]") {
      s.depends_on.emplace(value, "service_started");
    } else if (field == "restart") {
      s.restart = value;
    } else if (field == "profiles[]") {
      s.profiles.push_back(value);
    } else if (field == "volumes[]") {  // short syntax "source:target[:mode]"
      Volume v;
      std::vector<std::string> parts;
      std::stringstream ss(value);
      for (std::string part; std::getline(ss, part, ':');) parts.push_back(part);
      if (parts.size() == 1) {
        v.target = parts[0];  // an anonymous volume
      } else {
        v.source = parts[0];
        v.target = parts[1];
        if (parts.size() > 2) v.mode = parts[2];
      }
      s.volumes.push_back(v);
    } else if (field == "volumes[].type") {  // long syntax: a new item starts with its type
      s.volumes.emplace_back();
    } else if (field == "volumes[].source" || field == "volumes[].target" ||
               field == "volumes[].read_only") {
      if (s.volumes.empty()) s.volumes.emplace_back();
      Volume& v = s.volumes.back();
      if (field == "volumes[].source") v.source = value;
      if (field == "volumes[].target") v.target = value;
      if (field == "volumes[].read_only" && value == "true") v.mode = "ro";
    }
  }
  return services;
}

}  // namespace sre::compose
