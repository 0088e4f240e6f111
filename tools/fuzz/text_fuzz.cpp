// Text hygiene (shared/text.h): the first two bytes are a length limit, the rest arbitrary bytes.
// Properties: sanitised text is valid UTF-8 (without NUL when asked), equal to the input when
// nothing needed replacing, and the repair count says whether anything was replaced; a
// truncation is never longer than asked, is a prefix of its input (plus the ellipsis), and keeps
// valid UTF-8 valid.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "shared/text.h"
#include "tools/fuzz/fuzz_check.h"

namespace sre::fuzz {
namespace {

constexpr std::string_view kEllipsis = "\xE2\x80\xA6";

void CheckSanitize(std::string_view s) {
  const bool valid = IsValidUtf8(s);
  const bool has_nul = s.find('\0') != std::string_view::npos;
  for (bool replace_nul : {true, false}) {
    TextRepairs r;
    std::string out = SanitizeUtf8(s, replace_nul, &r);
    Require(IsValidUtf8(out), "SanitizeUtf8 output is not valid UTF-8");
    if (replace_nul) Require(out.find('\0') == std::string::npos, "SanitizeUtf8 kept a NUL");
    const bool clean = valid && (!replace_nul || !has_nul);
    Require(clean == (out == s), "SanitizeUtf8 changed clean text or kept dirty text");
    Require(r.any() == !clean, "SanitizeUtf8 repair count disagrees with its output");
    Require(!replace_nul || r.nul == 0 || has_nul, "NUL repairs counted without a NUL");
    std::string in_place(s);
    TextRepairs r2 = SanitizeUtf8InPlace(in_place, replace_nul);
    Require(in_place == out, "SanitizeUtf8InPlace differs from SanitizeUtf8");
    Require(r2.invalid_utf8 == r.invalid_utf8 && r2.nul == r.nul, "in-place repair counts differ");
  }
}

void CheckTruncate(std::string_view s, size_t max_bytes) {
  const bool valid = IsValidUtf8(s);
  size_t prefix = Utf8PrefixLength(s, max_bytes);
  Require(prefix <= max_bytes && prefix <= s.size(), "Utf8PrefixLength beyond its limit");
  if (valid) Require(IsValidUtf8(s.substr(0, prefix)), "Utf8PrefixLength cut a character");
  for (bool ellipsis : {true, false}) {
    std::string out = TruncateUtf8(s, max_bytes, ellipsis);
    Require(out.size() <= max_bytes, "TruncateUtf8 returned " + std::to_string(out.size()) +
                                         " bytes for a limit of " + std::to_string(max_bytes));
    if (s.size() <= max_bytes) {
      Require(out == s, "TruncateUtf8 changed text that fits");
      continue;
    }
    std::string_view body = out;
    if (ellipsis && body.ends_with(kEllipsis) && max_bytes >= kEllipsis.size())
      body.remove_suffix(kEllipsis.size());
    Require(s.starts_with(body), "TruncateUtf8 output is not a prefix of its input");
    if (valid) Require(IsValidUtf8(out), "TruncateUtf8 made valid UTF-8 ill-formed");
  }
  // What the pipeline does with outside text: sanitise, then cut.
  Require(IsValidUtf8(TruncateUtf8(SanitizeUtf8(s), max_bytes)), "a cut of clean text is unclean");
}

}  // namespace
}  // namespace sre::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  size_t max_bytes = static_cast<size_t>(data[0]) | (static_cast<size_t>(data[1] & 0x0F) << 8);
  std::string_view s(reinterpret_cast<const char*>(data) + 2, size - 2);
  sre::fuzz::CheckSanitize(s);
  sre::fuzz::CheckTruncate(s, max_bytes);
  return 0;
}
