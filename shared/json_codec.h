#pragma once
// Strict JSON <-> struct conversion driven by one Visit() per struct:
//
//   struct Step { int64_t step_id; Priority priority; std::string action;
//     template <class V> void Visit(V& v) {
//       v("step_id", step_id, Check::Min(1)); v("priority", priority); v("action", action);
//     } };
//
// Supported members: std::string, double, int64_t, int, bool, enums with EnumNames, nested
// structs with Visit, std::optional<T> (absent or null), std::vector<T>,
// std::map<std::string, T>, nlohmann::json (any value). Decoding reports the first problem with
// its path ("root_cause_candidates[1].confidence: 1.7 is outside [0, 1]") and never throws past
// FromJson/Decode. Unknown fields are ignored (forward compatibility).
//
// Text hygiene (issue 14), once, here: Decode() replaces ill-formed UTF-8 in the payload and every
// decoded string (members, map keys, strings inside nlohmann::json members) has NUL replaced by
// U+FFFD, counted in sre_input_repairs_total{kind}; payloads nested deeper than kMaxJsonDepth are
// invalid; Check::EventTime() bounds event times. Encoding never emits a non-finite number:
// ±inf become ±DBL_MAX and NaN 0, counted in sre_nonfinite_numbers_total.
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "shared/enums.h"
#include "shared/status.h"
#include "shared/text.h"

namespace sre {

using Json = nlohmann::json;

// Constraints on one field, checked on decode.
// Event times (Unix ms) accepted on input: from 2000-01-01 to 2100-01-01 UTC. Anything outside is
// a broken clock or a hostile value (PostgreSQL's to_timestamp overflows near 9.2e15).
inline constexpr int64_t kMinEventTimeMs = 946684800000;
inline constexpr int64_t kMaxEventTimeMs = 4102444800000;
// Deepest nesting of objects and arrays Decode() accepts.
inline constexpr int kMaxJsonDepth = 64;

struct Check {
  std::optional<double> min, max;
  size_t max_len = 0;      // 0: unlimited
  bool non_empty = false;  // strings and arrays
  bool uuid = false;
  static Check Range(double lo, double hi) { return Check{lo, hi, 0, false, false}; }
  static Check EventTime() {
    return Check{static_cast<double>(kMinEventTimeMs), static_cast<double>(kMaxEventTimeMs), 0, false, false};
  }
  static Check Min(double lo) { return Check{lo, std::nullopt, 0, false, false}; }
  static Check NonEmpty(size_t max_len = 0) {
    return Check{std::nullopt, std::nullopt, max_len, true, false};
  }
  static Check MaxLen(size_t max_len) { return Check{std::nullopt, std::nullopt, max_len, false, false}; }
  static Check Uuid() { return Check{std::nullopt, std::nullopt, 0, true, true}; }
};

bool IsUuid(std::string_view s);

class DecodeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace codec {

template <typename T, typename = void>
struct HasVisit : std::false_type {};
template <typename T>
struct HasVisit<T, std::void_t<decltype(&T::template Visit<int>)>> : std::true_type {};

template <typename T>
struct IsOptional : std::false_type {};
template <typename T>
struct IsOptional<std::optional<T>> : std::true_type {};

template <typename T, typename = void>
struct IsEnum : std::false_type {};
template <typename T>
struct IsEnum<T, std::void_t<decltype(EnumNames<T>::kList)>> : std::true_type {};

[[noreturn]] void Fail(const std::string& path, const std::string& what);
std::string TypeName(const Json& j);
void ApplyCheck(const std::string& path, const Json& j, const Check& c);
// Counts repairs in sre_input_repairs_total.
void CountRepairs(const TextRepairs& r);
// NUL (and ill-formed UTF-8) replaced in a decoded string; counted.
inline void CleanString(std::string& s) {
  if (auto r = SanitizeUtf8InPlace(s); r.any()) CountRepairs(r);
}
// Every string and key inside `j` cleaned like CleanString.
void CleanJson(Json& j);
// A finite stand-in for a non-finite double, counted in sre_nonfinite_numbers_total.
double FiniteOrClamped(double v);
// Depth of the deepest nesting of objects/arrays in JSON text, stopping early past `limit`.
int JsonDepth(std::string_view text, int limit);

template <typename T>
void Read(const Json& j, T& out, const std::string& path);

class Reader {
 public:
  Reader(const Json& obj, std::string path) : obj_(obj), path_(std::move(path)) {}
  template <typename T>
  void operator()(const char* name, T& member, const Check& check = {}) {
    std::string path = path_.empty() ? name : path_ + "." + name;
    auto it = obj_.find(name);
    if constexpr (IsOptional<T>::value) {
      if (it == obj_.end() || it->is_null()) {
        member.reset();
        return;
      }
      ApplyCheck(path, *it, check);
      typename T::value_type v{};
      Read(*it, v, path);
      member = std::move(v);
    } else {
      if (it == obj_.end()) Fail(path, "missing required field");
      if (it->is_null() && !std::is_same_v<T, Json>) Fail(path, "must not be null");
      ApplyCheck(path, *it, check);
      Read(*it, member, path);
    }
  }

 private:
  const Json& obj_;
  std::string path_;
};

template <typename T>
void Read(const Json& j, T& out, const std::string& path) {
  if constexpr (std::is_same_v<T, Json>) {
    out = j;
    CleanJson(out);
  } else if constexpr (std::is_same_v<T, std::string>) {
    if (!j.is_string()) Fail(path, "expected a string, got " + TypeName(j));
    out = j.template get<std::string>();
    CleanString(out);
  } else if constexpr (std::is_same_v<T, bool>) {
    if (!j.is_boolean()) Fail(path, "expected true or false, got " + TypeName(j));
    out = j.template get<bool>();
  } else if constexpr (std::is_integral_v<T>) {
    if (j.is_number_unsigned()) {
      if (!std::in_range<T>(j.template get<uint64_t>())) Fail(path, "integer out of range");
      out = static_cast<T>(j.template get<uint64_t>());
    } else if (j.is_number_integer()) {
      if (!std::in_range<T>(j.template get<int64_t>())) Fail(path, "integer out of range");
      out = static_cast<T>(j.template get<int64_t>());
    } else if (j.is_number_float() &&
               std::floor(j.template get<double>()) == j.template get<double>() &&
               std::abs(j.template get<double>()) < 9.0e15) {
      out = static_cast<T>(j.template get<double>());
    } else {
      Fail(path, "expected an integer, got " + TypeName(j));
    }
  } else if constexpr (std::is_floating_point_v<T>) {
    if (!j.is_number()) Fail(path, "expected a number, got " + TypeName(j));
    out = j.template get<T>();
    if (!std::isfinite(out)) Fail(path, "must be a finite number");
  } else if constexpr (IsEnum<T>::value) {
    if (!j.is_string()) Fail(path, "expected one of " + EnumChoices<T>() + ", got " + TypeName(j));
    auto e = ParseEnum<T>(j.template get<std::string>());
    if (!e)
      Fail(path, "unknown value '" + TruncateUtf8(j.template get<std::string>(), 64) + "' (expected one of " +
                     EnumChoices<T>() + ")");
    out = *e;
  } else if constexpr (HasVisit<T>::value) {
    if (!j.is_object()) Fail(path, "expected an object, got " + TypeName(j));
    Reader r(j, path);
    out.Visit(r);
  } else if constexpr (IsOptional<T>::value) {
    if (j.is_null()) {
      out.reset();
    } else {
      typename T::value_type v{};
      Read(j, v, path);
      out = std::move(v);
    }
  } else if constexpr (std::is_same_v<T, std::vector<typename T::value_type>>) {
    if (!j.is_array()) Fail(path, "expected an array, got " + TypeName(j));
    out.clear();
    out.reserve(j.size());
    for (size_t i = 0; i < j.size(); ++i) {
      typename T::value_type v{};
      Read(j[i], v, path + "[" + std::to_string(i) + "]");
      out.push_back(std::move(v));
    }
  } else {
    static_assert(std::is_same_v<typename T::key_type, std::string>, "unsupported member type");
    if (!j.is_object()) Fail(path, "expected an object, got " + TypeName(j));
    out.clear();
    for (auto it = j.begin(); it != j.end(); ++it) {
      std::string key = it.key();
      CleanString(key);
      typename T::mapped_type v{};
      Read(it.value(), v, path + "." + key);
      out.emplace(std::move(key), std::move(v));
    }
  }
}

template <typename T>
Json Write(const T& v);

class Writer {
 public:
  explicit Writer(Json& obj) : obj_(obj) {}
  template <typename T>
  void operator()(const char* name, const T& member, const Check& = {}) {
    obj_[name] = Write(member);
  }

 private:
  Json& obj_;
};

template <typename T>
Json Write(const T& v) {
  if constexpr (std::is_same_v<T, Json>) {
    return v;
  } else if constexpr (IsEnum<T>::value) {
    return std::string(ToString(v));
  } else if constexpr (HasVisit<T>::value) {
    Json obj = Json::object();
    Writer w(obj);
    const_cast<T&>(v).Visit(w);  // Visit is not const-overloaded; Writer only reads.
    return obj;
  } else if constexpr (IsOptional<T>::value) {
    return v ? Write(*v) : Json(nullptr);
  } else if constexpr (std::is_floating_point_v<T>) {
    return Json(std::isfinite(v) ? v : FiniteOrClamped(v));
  } else if constexpr (std::is_same_v<T, std::string> || std::is_arithmetic_v<T>) {
    return Json(v);
  } else if constexpr (std::is_same_v<T, std::vector<typename T::value_type>>) {
    Json arr = Json::array();
    for (const auto& e : v) arr.push_back(Write(e));
    return arr;
  } else {
    Json obj = Json::object();
    for (const auto& [k, e] : v) obj[k] = Write(e);
    return obj;
  }
}

}  // namespace codec

template <typename T>
Json ToJson(const T& v) {
  return codec::Write(v);
}

// Validating conversion; Status::Invalid with the path of the first problem.
template <typename T>
Expected<T> FromJson(const Json& j) {
  try {
    T out{};
    codec::Read(j, out, "");
    return out;
  } catch (const DecodeError& e) {
    return Status::Invalid(e.what());
  } catch (const Json::exception& e) {
    return Status::Invalid(e.what());
  }
}

// Parses and validates a payload. Status::Invalid for bad JSON, nesting deeper than
// kMaxJsonDepth, or a bad field. Ill-formed UTF-8 is replaced (and counted) before parsing.
// A JSON object from outside (a payload, an HTTP body), with Decode's protections: ill-formed
// UTF-8 replaced (and counted), nesting deeper than kMaxJsonDepth refused before parsing.
inline Expected<Json> ParseJsonObject(std::string_view payload) {
  std::string repaired;
  if (!IsValidUtf8(payload)) {
    TextRepairs r;
    repaired = SanitizeUtf8(payload, /*replace_nul=*/false, &r);
    codec::CountRepairs(r);
    payload = repaired;
  }
  if (codec::JsonDepth(payload, kMaxJsonDepth) > kMaxJsonDepth)
    return Status::Invalid("payload is nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  Json j = Json::parse(payload.begin(), payload.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::Invalid("payload is not valid JSON");
  if (!j.is_object())
    return Status::Invalid("payload must be a JSON object, got " + codec::TypeName(j));
  return j;
}

template <typename T>
Expected<T> Decode(std::string_view payload) {
  auto j = ParseJsonObject(payload);
  if (!j.ok()) return j.status();
  return FromJson<T>(*j);
}

template <typename T>
std::string Encode(const T& v) {
  return ToJson(v).dump(-1, ' ', false, Json::error_handler_t::replace);
}

// j.dump() that never throws on ill-formed UTF-8 (replaced by U+FFFD): for every document that
// may hold outside text and goes to a store or a topic.
inline std::string Dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

}  // namespace sre
