#pragma once
// Text hygiene at the edges (issue 14): everything the pipeline reads from outside — Kafka
// payloads, HTTP bodies and query strings, LLM replies — becomes valid UTF-8 without NUL before
// it is used, and every cut of a string respects UTF-8. PostgreSQL rejects NUL in TEXT and JSONB
// and the JSON writer rejects ill-formed UTF-8: one such byte must not stop an agent.
// Pure functions; thread-safe.
#include <cstddef>
#include <string>
#include <string_view>

namespace sre {

// What a sanitising pass replaced.
struct TextRepairs {
  size_t invalid_utf8 = 0;  // ill-formed sequences replaced by U+FFFD
  size_t nul = 0;           // NUL characters replaced by U+FFFD
  bool any() const { return invalid_utf8 || nul; }
  TextRepairs& operator+=(const TextRepairs& o) {
    invalid_utf8 += o.invalid_utf8;
    nul += o.nul;
    return *this;
  }
};

// True when `s` is well-formed UTF-8 (RFC 3629: shortest form, no surrogates, at most U+10FFFF).
bool IsValidUtf8(std::string_view s);

// `s` with every ill-formed UTF-8 sequence replaced by U+FFFD (one per maximal ill-formed
// subpart, as Unicode §3.9 recommends) and, when `replace_nul`, every NUL byte too.
std::string SanitizeUtf8(std::string_view s, bool replace_nul = true, TextRepairs* repairs = nullptr);

// In place; returns what was replaced. Cheap when nothing needs replacing (one scan, no copy).
TextRepairs SanitizeUtf8InPlace(std::string& s, bool replace_nul = true);

// `s` unchanged when it fits in `max_bytes`; otherwise a prefix cut on a character boundary,
// followed by "…" when `ellipsis` (the whole at most `max_bytes` bytes). Ill-formed input is cut
// at a byte that does not continue a sequence, so a valid prefix stays valid.
std::string TruncateUtf8(std::string_view s, size_t max_bytes, bool ellipsis = true);

// The length of the longest prefix of `s` of at most `max_bytes` bytes that does not end inside
// a multi-byte sequence.
size_t Utf8PrefixLength(std::string_view s, size_t max_bytes);

}  // namespace sre
