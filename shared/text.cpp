#include "shared/text.h"

#include <cstdint>

namespace sre {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD
constexpr std::string_view kEllipsis = "\xE2\x80\xA6";     // U+2026

// The well-formed sequence starting at s[i] (Unicode Table 3-7). Returns its length, or 0 when
// ill-formed, with `bad` set to the length of the maximal subpart to replace (at least 1).
size_t SequenceAt(std::string_view s, size_t i, size_t& bad) {
  auto b = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  uint8_t c = b(i);
  if (c < 0x80) return 1;
  size_t need;
  uint8_t lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    need = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    need = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    need = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    bad = 1;
    return 0;
  }
  for (size_t k = 1; k < need; ++k) {
    if (i + k >= s.size()) {
      bad = k;
      return 0;
    }
    uint8_t x = b(i + k);
    bool ok = k == 1 ? (x >= lo && x <= hi) : (x >= 0x80 && x <= 0xBF);
    if (!ok) {
      bad = k;
      return 0;
    }
  }
  return need;
}

}  // namespace

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    // ASCII runs dominate: skip them eight bytes at a time.
    while (i + 8 <= s.size()) {
      uint64_t w = 0;
      for (size_t k = 0; k < 8; ++k) w |= static_cast<uint64_t>(static_cast<uint8_t>(s[i + k])) << (8 * k);
      if (w & 0x8080808080808080ULL) break;
      i += 8;
    }
    if (i >= s.size()) break;
    size_t bad = 0, n = SequenceAt(s, i, bad);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string SanitizeUtf8(std::string_view s, bool replace_nul, TextRepairs* repairs) {
  std::string out;
  out.reserve(s.size());
  TextRepairs r;
  size_t i = 0;
  while (i < s.size()) {
    if (s[i] == '\0' && replace_nul) {
      out += kReplacement;
      ++r.nul;
      ++i;
      continue;
    }
    size_t bad = 0, n = SequenceAt(s, i, bad);
    if (n == 0) {
      out += kReplacement;
      ++r.invalid_utf8;
      i += bad;
      continue;
    }
    out.append(s.data() + i, n);
    i += n;
  }
  if (repairs) *repairs += r;
  return out;
}

TextRepairs SanitizeUtf8InPlace(std::string& s, bool replace_nul) {
  TextRepairs r;
  bool clean = IsValidUtf8(s) && (!replace_nul || s.find('\0') == std::string::npos);
  if (!clean) s = SanitizeUtf8(s, replace_nul, &r);
  return r;
}

size_t Utf8PrefixLength(std::string_view s, size_t max_bytes) {
  if (s.size() <= max_bytes) return s.size();
  size_t keep = max_bytes;
  // s[keep] is the first byte left out: back up while it continues a sequence begun before it,
  // at most three bytes (the longest sequence is four).
  for (int k = 0; k < 3 && keep > 0 && (static_cast<uint8_t>(s[keep]) & 0xC0) == 0x80; ++k) --keep;
  if ((static_cast<uint8_t>(s[keep]) & 0xC0) == 0x80) return max_bytes;  // not UTF-8 here anyway
  return keep;
}

std::string TruncateUtf8(std::string_view s, size_t max_bytes, bool ellipsis) {
  if (s.size() <= max_bytes) return std::string(s);
  const bool mark = ellipsis && max_bytes >= kEllipsis.size();
  std::string out(s.substr(0, Utf8PrefixLength(s, mark ? max_bytes - kEllipsis.size() : max_bytes)));
  if (mark) out += kEllipsis;
  return out;
}

}  // namespace sre
