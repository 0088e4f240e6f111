#include "shared/status.h"

namespace sre {

std::string Status::ToString() const {
  if (ok()) return "ok";
  switch (*kind_) {
    case ErrorKind::kTransient:
      return "transient: " + message_;
    case ErrorKind::kInvalid:
      return "invalid: " + message_;
    case ErrorKind::kInternal:
      return "internal: " + message_;
    case ErrorKind::kFatal:
      return "fatal: " + message_;
  }
  return message_;
}

}  // namespace sre
