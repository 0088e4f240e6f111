#include "shared/config.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>

extern char** environ;

namespace sre {
namespace {

std::string Trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace

bool BearerMatches(const Secret& token, std::string_view v) {
  auto space = [](char c) { return c == ' ' || c == '\t'; };
  while (!v.empty() && space(v.front())) v.remove_prefix(1);
  while (!v.empty() && space(v.back())) v.remove_suffix(1);
  size_t gap = v.find(' ');
  if (gap != 6 || !std::equal(v.begin(), v.begin() + 6, "bearer", [](char a, char b) {
        return std::tolower(static_cast<unsigned char>(a)) == b;
      }))
    return false;
  std::string_view given = v.substr(gap + 1);
  while (!given.empty() && space(given.front())) given.remove_prefix(1);
  const std::string& want = token.reveal();
  unsigned char diff = given.size() == want.size() ? 0 : 1;
  for (size_t i = 0; i < want.size(); ++i)
    diff |= static_cast<unsigned char>(want[i] ^ (i < given.size() ? given[i] : 0));
  return diff == 0 && !want.empty();
}

std::map<std::string, std::string> ParseDotEnv(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    line = Trim(line);
    if (line.empty() || line[0] == '#') continue;
    if (line.rfind("export ", 0) == 0) line = Trim(line.substr(7));
    auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string key = Trim(line.substr(0, eq));
    std::string value = Trim(line.substr(eq + 1));
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
        value.back() == value.front()) {
      value = value.substr(1, value.size() - 2);
    } else if (auto hash = value.find(" #"); hash != std::string::npos) {
      value = Trim(value.substr(0, hash));
    }
    if (!key.empty()) out[key] = value;
  }
  return out;
}

Config Config::FromEnvironment(const std::string& dotenv_path) {
  std::map<std::string, std::string> vars;
  if (std::ifstream f(dotenv_path); f) {
    std::stringstream ss;
    ss << f.rdbuf();
    vars = ParseDotEnv(ss.str());
  }
  for (char** e = environ; e && *e; ++e) {
    std::string kv(*e);
    auto eq = kv.find('=');
    if (eq != std::string::npos) vars[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return FromMap(std::move(vars));
}

Config Config::FromMap(std::map<std::string, std::string> vars) {
  Config c;
  c.vars_ = std::move(vars);
  return c;
}

std::optional<std::string> Config::Raw(const std::string& name) const {
  auto it = vars_.find(name);
  if (it == vars_.end() || it->second.empty()) return std::nullopt;
  return it->second;
}

void Config::Fail(const std::string& name, const std::string& value, const std::string& why,
                  bool secret) {
  errors_.push_back(name + "=" + (secret ? std::string("***") : "\"" + value + "\"") + ": " + why);
}

void Config::Note(const std::string& name, const std::string& value, bool secret) {
  for (auto& d : described_)
    if (d.first == name) return;
  described_.emplace_back(name, secret && !value.empty() ? "***" : value);
}

std::string Config::String(const std::string& name, const std::string& def) {
  std::string v = Raw(name).value_or(def);
  Note(name, v, false);
  return v;
}

std::optional<std::string> Config::OptionalString(const std::string& name) {
  auto v = Raw(name);
  Note(name, v.value_or(""), false);
  return v;
}

Secret Config::SecretValue(const std::string& name) {
  auto v = Raw(name);
  Note(name, v.value_or(""), true);
  return Secret(v.value_or(""));
}

int64_t Config::Int(const std::string& name, int64_t def, int64_t min, int64_t max) {
  auto raw = Raw(name);
  if (!raw) {
    Note(name, std::to_string(def), false);
    return def;
  }
  Note(name, *raw, false);
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(raw->c_str(), &end, 10);
  if (errno != 0 || end == raw->c_str() || *end != '\0') {
    Fail(name, *raw, "expected an integer", false);
    return def;
  }
  if (v < min || v > max) {
    Fail(name, *raw, "must be between " + std::to_string(min) + " and " + std::to_string(max),
         false);
    return def;
  }
  return v;
}

double Config::Double(const std::string& name, double def, double min, double max) {
  auto raw = Raw(name);
  if (!raw) {
    Note(name, std::to_string(def), false);
    return def;
  }
  Note(name, *raw, false);
  errno = 0;
  char* end = nullptr;
  double v = std::strtod(raw->c_str(), &end);
  if (errno != 0 || end == raw->c_str() || *end != '\0') {
    Fail(name, *raw, "expected a number", false);
    return def;
  }
  if (v < min || v > max) {
    std::ostringstream os;
    os << "must be between " << min << " and " << max;
    Fail(name, *raw, os.str(), false);
    return def;
  }
  return v;
}

bool Config::Bool(const std::string& name, bool def) {
  auto raw = Raw(name);
  if (!raw) {
    Note(name, def ? "true" : "false", false);
    return def;
  }
  Note(name, *raw, false);
  std::string v = Lower(*raw);
  if (v == "1" || v == "true" || v == "yes" || v == "on") return true;
  if (v == "0" || v == "false" || v == "no" || v == "off") return false;
  Fail(name, *raw, "expected true or false", false);
  return def;
}

std::string Config::Choice(const std::string& name, const std::string& def,
                           const std::vector<std::string>& allowed) {
  auto raw = Raw(name);
  if (!raw) {
    Note(name, def, false);
    return def;
  }
  Note(name, *raw, false);
  std::string v = Lower(*raw);
  for (const auto& a : allowed)
    if (Lower(a) == v) return a;
  std::string list;
  for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
  Fail(name, *raw, "expected one of: " + list, false);
  return def;
}

std::string Config::Url(const std::string& name, const std::string& def,
                        const std::vector<std::string>& schemes) {
  std::string v = Raw(name).value_or(def);
  // URLs may embed a password: describe them with it masked.
  std::string shown = v;
  if (auto at = v.find('@'), colon = v.find(':', v.find("://") + 3);
      at != std::string::npos && colon != std::string::npos && colon < at) {
    shown = v.substr(0, colon + 1) + "***" + v.substr(at);
  }
  Note(name, shown, false);
  auto sep = v.find("://");
  if (sep == std::string::npos || sep + 3 >= v.size()) {
    Fail(name, shown, "expected a URL like " + schemes.front() + "://host:port", false);
    return def;
  }
  std::string scheme = Lower(v.substr(0, sep));
  if (std::find(schemes.begin(), schemes.end(), scheme) == schemes.end()) {
    std::string list;
    for (const auto& s : schemes) list += (list.empty() ? "" : ", ") + s + "://";
    Fail(name, shown, "scheme must be one of: " + list, false);
    return def;
  }
  return v;
}

int Config::Port(const std::string& name, int def, bool allow_zero) {
  return static_cast<int>(Int(name, def, allow_zero ? 0 : 1, 65535));
}

void Config::Validate() const {
  if (errors_.empty()) return;
  std::string msg = "invalid configuration:";
  for (const auto& e : errors_) msg += "\n  " + e;
  throw ConfigError(msg);
}

std::vector<std::pair<std::string, std::string>> Config::Described() const { return described_; }

}  // namespace sre
