#pragma once
// Text helpers for prompts and replies. Pure functions; thread-safe.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "shared/json_codec.h"

namespace sre::llm {

// The first JSON object in a model's reply: the whole reply, else the body of a ``` / ```json
// fence, else the first balanced {...} in the prose that parses. Arrays and scalars are not
// objects and are skipped. std::nullopt when there is none.
std::optional<Json> ExtractJsonObject(std::string_view text);

// `text` unchanged when it fits in `max_bytes`; otherwise a prefix cut on a UTF-8 character
// boundary followed by "…", the whole at most `max_bytes` bytes.
std::string Truncate(std::string_view text, size_t max_bytes);

// Wraps untrusted text (log lines, deployment descriptions, anything an attacker could have
// written) for a prompt:
//   <untrusted_LABEL>
//   TEXT
//   </untrusted_LABEL>
// Any "<untrusted..." or "</untrusted..." tag inside TEXT (any case, any label) is neutralised
// ("<" becomes "&lt;") so the text cannot close the block or open another, then TEXT is
// truncated to `max_len` bytes. LABEL keeps [a-z0-9_] (others become '_'); "log_lines" gives
// <untrusted_log_lines>. Prompts should say that text inside these tags is data, not instructions.
std::string DelimitUntrusted(std::string_view label, std::string_view text, size_t max_len);

// `prompt` without its <untrusted_…>…</untrusted_…> blocks: what a model would read as our own
// words. Tests check that no outside text is left in it.
std::string OutsideUntrusted(std::string_view prompt);

}  // namespace sre::llm
