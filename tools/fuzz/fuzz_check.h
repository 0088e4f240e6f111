#pragma once
// Property checks for the libFuzzer targets of tools/fuzz. A broken property prints what broke
// and aborts, which libFuzzer reports as a crash with the input that caused it.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "shared/json_codec.h"
#include "shared/text.h"

namespace sre::fuzz {

[[noreturn]] inline void Broken(const std::string& what) {
  std::fprintf(stderr, "\n*** fuzz property broken: %s\n", what.c_str());
  std::fflush(stderr);
  std::abort();
}

inline void Require(bool ok, const std::string& what) {
  if (!ok) Broken(what);
}

// Well-formed UTF-8 without NUL: what every decoded string must be (shared/text.h).
inline bool CleanText(std::string_view s) {
  return IsValidUtf8(s) && s.find('\0') == std::string_view::npos;
}

// Every string and object key in `root` is CleanText. Iterative: a json member may nest deeply.
inline void RequireCleanJson(const Json& root, const std::string& where) {
  std::vector<const Json*> stack{&root};
  while (!stack.empty()) {
    const Json* j = stack.back();
    stack.pop_back();
    if (j->is_string()) {
      Require(CleanText(j->get_ref<const std::string&>()),
              where + ": a decoded string is not valid UTF-8 or holds NUL");
    } else if (j->is_array()) {
      for (const auto& e : *j) stack.push_back(&e);
    } else if (j->is_object()) {
      for (auto it = j->begin(); it != j->end(); ++it) {
        Require(CleanText(it.key()), where + ": a decoded key is not valid UTF-8 or holds NUL");
        stack.push_back(&it.value());
      }
    }
  }
}

}  // namespace sre::fuzz
