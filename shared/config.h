#pragma once
// Configuration from environment variables plus an optional `.env` file in the working directory
// (the environment wins). Typed accessors validate as they read; every problem is collected and
// Validate() throws one ConfigError naming each offending variable, so an executable stops at
// start-up with a clear message instead of misbehaving later. Secret values are never printed.
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace sre {

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A secret string: it formats as "***" everywhere except through reveal().
class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string v) : value_(std::move(v)) {}
  const std::string& reveal() const { return value_; }
  bool empty() const { return value_.empty(); }
  std::string masked() const { return value_.empty() ? "" : "***"; }

 private:
  std::string value_;
};

// True when `authorization` is "Bearer <token>" (scheme case-insensitive) and the token is set.
// Compares in time that depends only on the token's length.
bool BearerMatches(const Secret& token, std::string_view authorization);

class Config {
 public:
  // Reads the process environment and, when present, `dotenv_path` (KEY=VALUE lines, `#`
  // comments, optional `export ` prefix and quotes).
  static Config FromEnvironment(const std::string& dotenv_path = ".env");
  // For tests: exactly these variables, nothing from the process.
  static Config FromMap(std::map<std::string, std::string> vars);

  std::string String(const std::string& name, const std::string& def);
  // Empty when unset.
  std::optional<std::string> OptionalString(const std::string& name);
  Secret SecretValue(const std::string& name);
  int64_t Int(const std::string& name, int64_t def, int64_t min, int64_t max);
  double Double(const std::string& name, double def, double min, double max);
  bool Bool(const std::string& name, bool def);
  // One of `allowed` (case-insensitive; returned lower-case as listed in `allowed`).
  std::string Choice(const std::string& name, const std::string& def,
                     const std::vector<std::string>& allowed);
  // A URL whose scheme is one of `schemes` ("redis", "postgresql", ...).
  std::string Url(const std::string& name, const std::string& def,
                  const std::vector<std::string>& schemes);
  // A TCP port 1..65535 (0 allowed when allow_zero: "pick a free one").
  int Port(const std::string& name, int def, bool allow_zero = false);

  // Throws ConfigError listing every invalid variable seen so far.
  void Validate() const;
  // name=value lines for every variable read, secrets masked; for the start-up log.
  std::vector<std::pair<std::string, std::string>> Described() const;

 private:
  std::optional<std::string> Raw(const std::string& name) const;
  void Fail(const std::string& name, const std::string& value, const std::string& why, bool secret);
  void Note(const std::string& name, const std::string& value, bool secret);

  std::map<std::string, std::string> vars_;
  std::vector<std::string> errors_;
  std::vector<std::pair<std::string, std::string>> described_;
};

// Parses a `.env` file body. Exposed for tests.
std::map<std::string, std::string> ParseDotEnv(const std::string& text);

}  // namespace sre
