#include "shared/json_codec.h"

#include <sstream>

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
    if (c.uuid && !IsUuid(s)) Fail(path, "'" + s + "' is not a UUID");
  }
  if (j.is_array() && c.non_empty && j.empty()) Fail(path, "must not be empty");
}

}  // namespace codec
}  // namespace sre
