#include "shared/json_codec.h"

#include <cfloat>
#include <sstream>
#include <vector>

#include "shared/metrics.h"

namespace sre {

bool IsUuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!std::isxdigit(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return true;
}

namespace codec {

void Fail(const std::string& path, const std::string& what) {
  throw DecodeError((path.empty() ? std::string("payload") : "field '" + path + "'") + ": " + what);
}

std::string TypeName(const Json& j) {
  switch (j.type()) {
    case Json::value_t::null:
      return "null";
    case Json::value_t::boolean:
      return "a boolean";
    case Json::value_t::string:
      return "a string";
    case Json::value_t::array:
      return "an array";
    case Json::value_t::object:
      return "an object";
    case Json::value_t::number_float:
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
      return "a number";
    default:
      return "an unsupported value";
  }
}

void ApplyCheck(const std::string& path, const Json& j, const Check& c) {
  if (j.is_number() && (c.min || c.max)) {
    double v = j.get<double>();
    if ((c.min && v < *c.min) || (c.max && v > *c.max)) {
      std::ostringstream os;
      os << j.dump() << " is outside [" << (c.min ? std::to_string(*c.min) : "-inf") << ", "
         << (c.max ? std::to_string(*c.max) : "inf") << "]";
      std::string msg = os.str();
      // Prefer "[0, 1]" to "[0.000000, 1.000000]".
      for (const char* z : {".000000"}) {
        for (size_t p; (p = msg.find(z)) != std::string::npos;) msg.erase(p, 7);
      }
      Fail(path, msg);
    }
  }
  if (j.is_string()) {
    const auto& s = j.get_ref<const std::string&>();
    if (c.non_empty && s.empty()) Fail(path, "must not be empty");
    if (c.max_len && s.size() > c.max_len)
      Fail(path, "longer than " + std::to_string(c.max_len) + " characters");
    if (c.uuid && !IsUuid(s)) Fail(path, "'" + TruncateUtf8(s, 64) + "' is not a UUID");
  }
  if (j.is_array() && c.non_empty && j.empty()) Fail(path, "must not be empty");
}

void CountRepairs(const TextRepairs& r) {
  static Counter& nul = Metrics().GetCounter("sre_input_repairs_total",
                                             "Characters replaced by U+FFFD in input text, by kind", {{"kind", "nul"}});
  static Counter& utf8 = Metrics().GetCounter(
      "sre_input_repairs_total", "Characters replaced by U+FFFD in input text, by kind", {{"kind", "invalid_utf8"}});
  if (r.nul) nul.Inc(static_cast<double>(r.nul));
  if (r.invalid_utf8) utf8.Inc(static_cast<double>(r.invalid_utf8));
}

void CleanJson(Json& root) {
  // Iterative: the depth of an nlohmann::json member is not bounded by the struct definitions.
  std::vector<Json*> stack{&root};
  while (!stack.empty()) {
    Json* j = stack.back();
    stack.pop_back();
    if (j->is_string()) {
      CleanString(j->get_ref<std::string&>());
    } else if (j->is_array()) {
      for (auto& e : *j) stack.push_back(&e);
    } else if (j->is_object()) {
      bool dirty_keys = false;
      for (auto it = j->begin(); it != j->end(); ++it) {
        std::string_view k = it.key();
        dirty_keys = dirty_keys || k.find('\0') != std::string_view::npos || !IsValidUtf8(k);
      }
      if (dirty_keys) {
        Json cleaned = Json::object();
        for (auto it = j->begin(); it != j->end(); ++it) {
          std::string k = it.key();
          CleanString(k);
          cleaned[k] = std::move(it.value());
        }
        *j = std::move(cleaned);
      }
      for (auto it = j->begin(); it != j->end(); ++it) stack.push_back(&it.value());
    }
  }
}

double FiniteOrClamped(double v) {
  static Counter& clamped = Metrics().GetCounter(
      "sre_nonfinite_numbers_total", "Non-finite numbers replaced by finite ones before they left the process");
  clamped.Inc();
  if (std::isnan(v)) return 0;
  return v > 0 ? DBL_MAX : -DBL_MAX;
}

int JsonDepth(std::string_view text, int limit) {
  int depth = 0, deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > deepest && (deepest = depth) > limit) return deepest;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return deepest;
}

}  // namespace codec
}  // namespace sre
