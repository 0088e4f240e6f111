#include "shared/llm/text.h"

#include <cctype>

#include "shared/text.h"

namespace sre::llm {
namespace {

std::optional<Json> ParseObject(std::string_view s) {
  Json j = Json::parse(s.begin(), s.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return j;
}

std::string_view TrimView(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// The end (one past the closing brace) of the balanced object starting at text[start] == '{',
// skipping braces inside strings; npos when it never closes.
size_t MatchBrace(std::string_view text, size_t start) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = start; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{') {
      ++depth;
    } else if (c == '}' && --depth == 0) {
      return i + 1;
    }
  }
  return std::string_view::npos;
}

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  }
  return true;
}

}  // namespace

std::optional<Json> ExtractJsonObject(std::string_view text) {
  if (auto whole = ParseObject(TrimView(text))) return whole;

  // Fenced blocks: ``` optionally followed by a language tag on the same line.
  for (size_t open = text.find("```"); open != std::string_view::npos;) {
    size_t body = text.find('\n', open + 3);
    if (body == std::string_view::npos) break;
    size_t close = text.find("```", body + 1);
    if (close == std::string_view::npos) break;
    if (auto j = ParseObject(TrimView(text.substr(body + 1, close - body - 1)))) return j;
    open = text.find("```", close + 3);
  }

  // Balanced braces in prose. Bounded so a reply full of braces stays cheap.
  constexpr int kMaxCandidates = 64;
  int candidates = 0;
  for (size_t pos = text.find('{'); pos != std::string_view::npos && candidates < kMaxCandidates;
       pos = text.find('{', pos + 1), ++candidates) {
    size_t end = MatchBrace(text, pos);
    if (end == std::string_view::npos) continue;
    if (auto j = ParseObject(text.substr(pos, end - pos))) return j;
  }
  return std::nullopt;
}

std::string Truncate(std::string_view text, size_t max_bytes) { return TruncateUtf8(text, max_bytes); }

std::string DelimitUntrusted(std::string_view label, std::string_view text, size_t max_len) {
  std::string tag = "untrusted_";
  for (char c : label) {
    auto u = static_cast<unsigned char>(c);
    tag.push_back(std::isalnum(u) ? static_cast<char>(std::tolower(u)) : '_');
  }

  std::string neutral;
  neutral.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '<') {
      // "<", optional blanks and slashes, then "untrusted": a tag the model could read as ours.
      size_t j = i + 1;
      while (j < text.size() && (text[j] == '/' || text[j] == ' ' || text[j] == '\t')) ++j;
      if (StartsWithNoCase(text.substr(j), "untrusted")) {
        neutral += "&lt;";
        continue;
      }
    }
    neutral.push_back(text[i]);
  }

  return "<" + tag + ">\n" + Truncate(neutral, max_len) + "\n</" + tag + ">";
}

std::string OutsideUntrusted(std::string_view prompt) {
  std::string out;
  size_t pos = 0;
  while (pos < prompt.size()) {
    size_t open = prompt.find("<untrusted_", pos);
    if (open == std::string_view::npos) break;
    size_t tag_end = prompt.find('>', open);
    if (tag_end == std::string_view::npos) break;
    std::string close = "</" + std::string(prompt.substr(open + 1, tag_end - open - 1)) + ">";
    size_t end = prompt.find(close, tag_end);
    if (end == std::string_view::npos) break;
    out.append(prompt.substr(pos, open - pos));
    pos = end + close.size();
  }
  out.append(prompt.substr(pos));
  return out;
}

}  // namespace sre::llm
