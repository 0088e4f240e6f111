#include "shared/llm/schema.h"

#include <cmath>
#include <sstream>

namespace sre::llm {
namespace {

std::string Where(const std::string& path) { return path.empty() ? "(root)" : path; }

std::string Num(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

// Characters, not bytes: continuation bytes (10xxxxxx) do not start a character.
size_t Utf8Length(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

std::string Shown(const Json& v) {
  std::string s = v.dump(-1, ' ', false, Json::error_handler_t::replace);
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}

bool IsType(const Json& v, const std::string& type) {
  if (type == "object") return v.is_object();
  if (type == "array") return v.is_array();
  if (type == "string") return v.is_string();
  if (type == "boolean") return v.is_boolean();
  if (type == "null") return v.is_null();
  if (type == "number") return v.is_number();
  if (type == "integer") {
    if (v.is_number_integer() || v.is_number_unsigned()) return true;
    if (!v.is_number_float()) return false;
    double d = v.get<double>();
    return std::isfinite(d) && std::floor(d) == d;
  }
  return true;  // an unknown type name constrains nothing
}

std::string Check(const Json& v, const Json& schema, const std::string& path);

std::string CheckType(const Json& v, const Json& type, const std::string& path) {
  if (type.is_string()) {
    if (IsType(v, type.get<std::string>())) return "";
    return Where(path) + ": expected " + type.get<std::string>() + ", got " + codec::TypeName(v);
  }
  if (type.is_array()) {
    std::string names;
    for (const auto& t : type) {
      if (t.is_string() && IsType(v, t.get<std::string>())) return "";
      if (t.is_string()) names += (names.empty() ? "" : " or ") + t.get<std::string>();
    }
    return Where(path) + ": expected " + names + ", got " + codec::TypeName(v);
  }
  return "";
}

std::string CheckNumber(const Json& v, const Json& schema, const std::string& path) {
  double d = v.get<double>();
  if (!std::isfinite(d)) return Where(path) + ": must be a finite number";
  if (auto it = schema.find("minimum");
      it != schema.end() && it->is_number() && d < it->get<double>())
    return Where(path) + ": " + Shown(v) + " is below the minimum " + Num(it->get<double>());
  if (auto it = schema.find("maximum");
      it != schema.end() && it->is_number() && d > it->get<double>())
    return Where(path) + ": " + Shown(v) + " is above the maximum " + Num(it->get<double>());
  if (auto it = schema.find("exclusiveMinimum");
      it != schema.end() && it->is_number() && d <= it->get<double>())
    return Where(path) + ": " + Shown(v) + " must be greater than " + Num(it->get<double>());
  if (auto it = schema.find("exclusiveMaximum");
      it != schema.end() && it->is_number() && d >= it->get<double>())
    return Where(path) + ": " + Shown(v) + " must be less than " + Num(it->get<double>());
  return "";
}

std::string CheckString(const Json& v, const Json& schema, const std::string& path) {
  size_t len = Utf8Length(v.get_ref<const std::string&>());
  if (auto it = schema.find("maxLength");
      it != schema.end() && it->is_number() && static_cast<double>(len) > it->get<double>())
    return Where(path) + ": longer than " + Num(it->get<double>()) + " characters (" +
           std::to_string(len) + ")";
  if (auto it = schema.find("minLength");
      it != schema.end() && it->is_number() && static_cast<double>(len) < it->get<double>())
    return Where(path) + ": shorter than " + Num(it->get<double>()) + " characters";
  return "";
}

std::string CheckArray(const Json& v, const Json& schema, const std::string& path) {
  double n = static_cast<double>(v.size());
  if (auto it = schema.find("minItems");
      it != schema.end() && it->is_number() && n < it->get<double>())
    return Where(path) + ": needs at least " + Num(it->get<double>()) + " items, got " +
           std::to_string(v.size());
  if (auto it = schema.find("maxItems");
      it != schema.end() && it->is_number() && n > it->get<double>())
    return Where(path) + ": at most " + Num(it->get<double>()) + " items allowed, got " +
           std::to_string(v.size());
  if (auto it = schema.find("items"); it != schema.end() && it->is_object()) {
    for (size_t i = 0; i < v.size(); ++i) {
      std::string err = Check(v[i], *it, path + "[" + std::to_string(i) + "]");
      if (!err.empty()) return err;
    }
  }
  return "";
}

std::string CheckObject(const Json& v, const Json& schema, const std::string& path) {
  auto prefix = [&](const std::string& key) { return path.empty() ? key : path + "." + key; };
  if (auto it = schema.find("required"); it != schema.end() && it->is_array()) {
    for (const auto& key : *it) {
      if (key.is_string() && !v.contains(key.get<std::string>()))
        return prefix(key.get<std::string>()) + ": missing required field";
    }
  }
  const Json* properties = nullptr;
  if (auto it = schema.find("properties"); it != schema.end() && it->is_object()) properties = &*it;
  const Json* additional = nullptr;
  if (auto it = schema.find("additionalProperties"); it != schema.end()) additional = &*it;
  for (auto it = v.begin(); it != v.end(); ++it) {
    if (properties && properties->contains(it.key())) {
      std::string err = Check(it.value(), (*properties)[it.key()], prefix(it.key()));
      if (!err.empty()) return err;
    } else if (additional && additional->is_boolean() && !additional->get<bool>()) {
      return prefix(it.key()) + ": unexpected field";
    } else if (additional && additional->is_object()) {
      std::string err = Check(it.value(), *additional, prefix(it.key()));
      if (!err.empty()) return err;
    }
  }
  return "";
}

std::string Check(const Json& v, const Json& schema, const std::string& path) {
  if (!schema.is_object()) return "";
  if (auto it = schema.find("type"); it != schema.end()) {
    std::string err = CheckType(v, *it, path);
    if (!err.empty()) return err;
  }
  if (auto it = schema.find("enum"); it != schema.end() && it->is_array()) {
    bool found = false;
    for (const auto& allowed : *it) found = found || allowed == v;
    if (!found) {
      std::string list;
      for (const auto& allowed : *it) list += (list.empty() ? "" : ", ") + Shown(allowed);
      return Where(path) + ": " + Shown(v) + " is not one of " + list;
    }
  }
  if (v.is_number()) return CheckNumber(v, schema, path);
  if (v.is_string()) return CheckString(v, schema, path);
  if (v.is_array()) return CheckArray(v, schema, path);
  if (v.is_object()) return CheckObject(v, schema, path);
  return "";
}

}  // namespace

std::string ValidateAgainstSchema(const Json& value, const Json& schema) {
  return Check(value, schema, "");
}

}  // namespace sre::llm
