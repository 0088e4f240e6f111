#include "tests/support/fake_channels.h"

#include <httplib.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <random>
#include <regex>
#include <set>
#include <string_view>
#include <utility>

#include "tests/support/local_http_server.h"

namespace sre::testing {
namespace {

constexpr char kSlackChannel[] = "C0SREPIPE";
constexpr char kSlackChannelName[] = "#sre-incidents";
constexpr char kSlackHookPrefix[] = "/services/T0001/B0001/";
constexpr char kSlackApiPrefix[] = "/slack/api/";
constexpr char kPagerDutyPath[] = "/v2/enqueue";
constexpr char kWebhookPath[] = "/hooks/sre";
constexpr std::string_view kAlnum =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
constexpr std::string_view kUrlSafe =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr std::string_view kHex = "0123456789abcdef";
// How far a webhook signature's timestamp may be from now: a receiver bounds it so a captured
// request cannot be replayed later; 5 minutes is the usual tolerance (Stripe, Slack).
constexpr int64_t kSignatureToleranceS = 300;

std::string RandomChars(size_t n, std::string_view alphabet) {
  static std::mutex mu;
  static std::mt19937_64 rng{std::random_device{}()};
  std::lock_guard<std::mutex> lock(mu);
  std::uniform_int_distribution<size_t> pick(0, alphabet.size() - 1);
  std::string out;
  for (size_t i = 0; i < n; ++i) out += alphabet[pick(rng)];
  return out;
}

std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool StartsWith(const std::string& s, std::string_view prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

// The media type of a Content-Type, lower-cased, without parameters ("application/json;
// charset=utf-8" → "application/json").
std::string MediaType(const std::string& content_type) {
  std::string t = content_type.substr(0, content_type.find(';'));
  auto not_space = [](unsigned char c) { return !std::isspace(c); };
  t.erase(t.begin(), std::find_if(t.begin(), t.end(), not_space));
  t.erase(std::find_if(t.rbegin(), t.rend(), not_space).base(), t.end());
  return Lower(t);
}

bool IsJsonType(const std::string& content_type) {
  return MediaType(content_type) == "application/json";
}

// Slack and Teams count characters, not bytes: UTF-8 code points (every byte but continuation
// bytes).
size_t CodePoints(const std::string& s) {
  return static_cast<size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

// The member `key` of an object, or nullptr when absent or null (JSON null means "not given").
const Json* Member(const Json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

bool NonEmptyString(const Json* j) {
  return j != nullptr && j->is_string() && !j->get_ref<const std::string&>().empty();
}

std::string Str(const Json* j) {
  return j != nullptr && j->is_string() ? j->get<std::string>() : std::string();
}

bool Is2xx(int status) { return status >= 200 && status < 300; }

// ---- Slack Block Kit ----

// Slack's wording for a bad block (response_metadata.messages of invalid_blocks).
std::string SlackProblem(const std::string& why, const std::string& pointer) {
  return "[ERROR] " + why + " [json-pointer:" + pointer + "]";
}

// A composition text object: {"type": "plain_text" | "mrkdwn", "text": 1..max characters}.
std::string TextObjectProblem(const Json& t, const std::string& ptr, size_t max, bool plain_only) {
  if (!t.is_object()) return SlackProblem("must be a text object", ptr);
  const Json* type = Member(t, "type");
  if (type == nullptr || !type->is_string())
    return SlackProblem("must provide a type", ptr + "/type");
  if (*type != "plain_text" && (plain_only || *type != "mrkdwn"))
    return SlackProblem(plain_only ? "must be plain_text" : "must be plain_text or mrkdwn",
                        ptr + "/type");
  const Json* text = Member(t, "text");
  if (text == nullptr || !text->is_string())
    return SlackProblem("must provide a string", ptr + "/text");
  size_t n = CodePoints(text->get<std::string>());
  if (n == 0) return SlackProblem("must be more than 0 characters", ptr + "/text");
  if (n > max)
    return SlackProblem("must be less than " + std::to_string(max + 1) + " characters",
                        ptr + "/text");
  return "";
}

std::string ElementsArrayProblem(const Json* elements, const std::string& ptr, size_t max) {
  if (elements == nullptr || !elements->is_array())
    return SlackProblem("must provide an array", ptr);
  if (elements->empty()) return SlackProblem("must provide at least 1 item", ptr);
  if (elements->size() > max)
    return SlackProblem("no more than " + std::to_string(max) + " items allowed", ptr);
  return "";
}

std::string BlockProblem(const Json& b, const std::string& ptr) {
  if (!b.is_object()) return SlackProblem("must be an object", ptr);
  const Json* type = Member(b, "type");
  if (type == nullptr || !type->is_string())
    return SlackProblem("must provide a type", ptr + "/type");
  const std::string t = type->get<std::string>();
  if (const Json* id = Member(b, "block_id");
      id != nullptr && (!id->is_string() || CodePoints(Str(id)) > 255))
    return SlackProblem("must be a string of at most 255 characters", ptr + "/block_id");
  if (t == "divider") return "";
  if (t == "header") {
    const Json* text = Member(b, "text");
    if (text == nullptr) return SlackProblem("must provide an object", ptr + "/text");
    return TextObjectProblem(*text, ptr + "/text", 150, true);
  }
  if (t == "section") {
    const Json* text = Member(b, "text");
    const Json* fields = Member(b, "fields");
    if (text == nullptr && fields == nullptr)
      return SlackProblem("must provide either text or fields", ptr);
    if (text != nullptr) {
      if (auto p = TextObjectProblem(*text, ptr + "/text", 3000, false); !p.empty()) return p;
    }
    if (fields != nullptr) {
      if (auto p = ElementsArrayProblem(fields, ptr + "/fields", 10); !p.empty()) return p;
      for (size_t i = 0; i < fields->size(); ++i) {
        auto p = TextObjectProblem((*fields)[i], ptr + "/fields/" + std::to_string(i), 2000, false);
        if (!p.empty()) return p;
      }
    }
    if (const Json* acc = Member(b, "accessory");
        acc != nullptr && (!acc->is_object() || !NonEmptyString(Member(*acc, "type"))))
      return SlackProblem("must provide an element with a type", ptr + "/accessory");
    return "";
  }
  if (t == "context") {
    const Json* elements = Member(b, "elements");
    if (auto p = ElementsArrayProblem(elements, ptr + "/elements", 10); !p.empty()) return p;
    for (size_t i = 0; i < elements->size(); ++i) {
      const Json& e = (*elements)[i];
      const std::string ep = ptr + "/elements/" + std::to_string(i);
      if (e.is_object() && Str(Member(e, "type")) == "image") {
        if (!NonEmptyString(Member(e, "image_url")))
          return SlackProblem("must provide a string", ep + "/image_url");
        if (!NonEmptyString(Member(e, "alt_text")))
          return SlackProblem("must provide a string", ep + "/alt_text");
        continue;
      }
      if (auto p = TextObjectProblem(e, ep, 3000, false); !p.empty()) return p;
    }
    return "";
  }
  if (t == "actions") {
    const Json* elements = Member(b, "elements");
    if (auto p = ElementsArrayProblem(elements, ptr + "/elements", 25); !p.empty()) return p;
    for (size_t i = 0; i < elements->size(); ++i) {
      const Json& e = (*elements)[i];
      const std::string ep = ptr + "/elements/" + std::to_string(i);
      if (!e.is_object() || !NonEmptyString(Member(e, "type")))
        return SlackProblem("must provide a type", ep + "/type");
      if (Str(Member(e, "type")) == "button") {
        const Json* text = Member(e, "text");
        if (text == nullptr) return SlackProblem("must provide an object", ep + "/text");
        if (auto p = TextObjectProblem(*text, ep + "/text", 75, true); !p.empty()) return p;
        if (const Json* url = Member(e, "url");
            url != nullptr && (!NonEmptyString(url) || CodePoints(Str(url)) > 3000))
          return SlackProblem("must be a string of at most 3000 characters", ep + "/url");
      }
    }
    return "";
  }
  if (t == "image") {
    const Json* url = Member(b, "image_url");
    if (!NonEmptyString(url) || CodePoints(Str(url)) > 3000)
      return SlackProblem("must provide a string of at most 3000 characters", ptr + "/image_url");
    const Json* alt = Member(b, "alt_text");
    if (!NonEmptyString(alt) || CodePoints(Str(alt)) > 2000)
      return SlackProblem("must provide a string of at most 2000 characters", ptr + "/alt_text");
    if (const Json* title = Member(b, "title"); title != nullptr)
      return TextObjectProblem(*title, ptr + "/title", 2000, true);
    return "";
  }
  return SlackProblem("unsupported type: " + t, ptr + "/type");
}

// Empty when `blocks` is a valid Block Kit array.
std::string BlocksProblem(const Json& blocks) {
  if (!blocks.is_array()) return SlackProblem("must provide an array", "/blocks");
  if (blocks.size() > 50) return SlackProblem("no more than 50 items allowed", "/blocks");
  for (size_t i = 0; i < blocks.size(); ++i) {
    if (auto p = BlockProblem(blocks[i], "/blocks/" + std::to_string(i)); !p.empty()) return p;
  }
  return "";
}

// ---- Adaptive Cards 1.4 ----

std::string CardElementsProblem(const Json& items, const std::string& ptr);

std::string CardActionsProblem(const Json& actions, const std::string& ptr) {
  static const std::set<std::string> kActions = {"Action.OpenUrl", "Action.Submit",
                                                 "Action.ShowCard", "Action.ToggleVisibility",
                                                 "Action.Execute"};
  if (!actions.is_array()) return ptr + " must be an array";
  for (size_t i = 0; i < actions.size(); ++i) {
    const Json& a = actions[i];
    const std::string ap = ptr + "[" + std::to_string(i) + "]";
    if (!a.is_object()) return ap + " must be an object";
    const std::string type = Str(Member(a, "type"));
    if (!kActions.count(type))
      return ap + ".type '" + type + "' is not an Adaptive Card 1.4 action";
    if (type == "Action.OpenUrl" && !NonEmptyString(Member(a, "url")))
      return ap + ": Action.OpenUrl needs a url";
    if (type == "Action.ShowCard") {
      const Json* card = Member(a, "card");
      if (card == nullptr || Str(Member(*card, "type")) != "AdaptiveCard")
        return ap + ".card must be an AdaptiveCard";
    }
  }
  return "";
}

std::string CardElementProblem(const Json& e, const std::string& ptr) {
  static const std::set<std::string> kElements = {
      "TextBlock",    "FactSet",    "ColumnSet",  "Column",        "Container",
      "Image",        "ImageSet",   "ActionSet",  "RichTextBlock", "Input.Text",
      "Input.Number", "Input.Date", "Input.Time", "Input.Toggle",  "Input.ChoiceSet"};
  if (!e.is_object()) return ptr + " must be an object";
  const std::string type = Str(Member(e, "type"));
  if (!kElements.count(type))
    return ptr + ".type '" + type + "' is not an Adaptive Card 1.4 element";
  if (type == "TextBlock") {
    const Json* text = Member(e, "text");
    if (text == nullptr || !text->is_string()) return ptr + ": TextBlock needs a string text";
  } else if (type == "FactSet") {
    const Json* facts = Member(e, "facts");
    if (facts == nullptr || !facts->is_array()) return ptr + ".facts must be an array";
    for (size_t i = 0; i < facts->size(); ++i) {
      const Json& f = (*facts)[i];
      const std::string fp = ptr + ".facts[" + std::to_string(i) + "]";
      const Json* title = Member(f, "title");
      const Json* value = Member(f, "value");
      if (title == nullptr || !title->is_string()) return fp + ".title must be a string";
      if (value == nullptr || !value->is_string()) return fp + ".value must be a string";
    }
  } else if (type == "ColumnSet") {
    if (const Json* columns = Member(e, "columns"); columns != nullptr) {
      if (!columns->is_array()) return ptr + ".columns must be an array";
      for (size_t i = 0; i < columns->size(); ++i) {
        const Json& c = (*columns)[i];
        const std::string cp = ptr + ".columns[" + std::to_string(i) + "]";
        if (!c.is_object()) return cp + " must be an object";
        // "type" may be left out of a column (it can only be a Column).
        if (const Json* t = Member(c, "type"); t != nullptr && *t != "Column")
          return cp + ".type must be Column";
        if (const Json* items = Member(c, "items"); items != nullptr) {
          if (auto p = CardElementsProblem(*items, cp + ".items"); !p.empty()) return p;
        }
      }
    }
  } else if (type == "Column" || type == "Container") {
    const Json* items = Member(e, "items");
    if (items == nullptr && type == "Container") return ptr + ": Container needs items";
    if (items != nullptr) {
      if (auto p = CardElementsProblem(*items, ptr + ".items"); !p.empty()) return p;
    }
  } else if (type == "Image") {
    if (!NonEmptyString(Member(e, "url"))) return ptr + ": Image needs a url";
  } else if (type == "ImageSet") {
    const Json* images = Member(e, "images");
    if (images == nullptr || !images->is_array()) return ptr + ".images must be an array";
    for (size_t i = 0; i < images->size(); ++i) {
      if (!NonEmptyString(Member((*images)[i], "url")))
        return ptr + ".images[" + std::to_string(i) + "] needs a url";
    }
  } else if (type == "ActionSet") {
    const Json* actions = Member(e, "actions");
    if (actions == nullptr) return ptr + ": ActionSet needs actions";
    if (auto p = CardActionsProblem(*actions, ptr + ".actions"); !p.empty()) return p;
  } else if (type == "RichTextBlock") {
    const Json* inlines = Member(e, "inlines");
    if (inlines == nullptr || !inlines->is_array()) return ptr + ".inlines must be an array";
    for (size_t i = 0; i < inlines->size(); ++i) {
      const Json& in = (*inlines)[i];
      if (in.is_string()) continue;
      if (Str(Member(in, "type")) != "TextRun" || !Member(in, "text") || !in["text"].is_string())
        return ptr + ".inlines[" + std::to_string(i) + "] must be a string or a TextRun with text";
    }
  } else if (StartsWith(type, "Input.")) {
    if (!NonEmptyString(Member(e, "id"))) return ptr + ": " + type + " needs an id";
  }
  return "";
}

std::string CardElementsProblem(const Json& items, const std::string& ptr) {
  if (!items.is_array()) return ptr + " must be an array";
  for (size_t i = 0; i < items.size(); ++i) {
    if (auto p = CardElementProblem(items[i], ptr + "[" + std::to_string(i) + "]"); !p.empty())
      return p;
  }
  return "";
}

// Teams renders Adaptive Cards up to 1.4 in Workflows posts (1.5+ fails): "major.minor", compared
// numerically so "1.10" is later than "1.4".
bool CardVersionSupported(const std::string& v) {
  static const std::regex kVersion(R"(^(\d+)\.(\d+)$)");
  std::smatch m;
  if (!std::regex_match(v, m, kVersion) || m[1].length() > 3 || m[2].length() > 3) return false;
  int major = std::stoi(m[1]);
  int minor = std::stoi(m[2]);
  return major == 1 && minor <= 4;
}

std::string TeamsMessageProblem(const Json& body) {
  if (!body.is_object()) return "the request body must be a JSON object";
  if (Str(Member(body, "type")) != "message") return "'type' must be \"message\"";
  const Json* attachments = Member(body, "attachments");
  if (attachments == nullptr || !attachments->is_array() || attachments->empty())
    return "'attachments' must be a non-empty array";
  for (size_t i = 0; i < attachments->size(); ++i) {
    const Json& a = (*attachments)[i];
    const std::string ap = "attachments[" + std::to_string(i) + "]";
    if (!a.is_object()) return ap + " must be an object";
    if (Str(Member(a, "contentType")) != "application/vnd.microsoft.card.adaptive")
      return ap + ".contentType must be application/vnd.microsoft.card.adaptive";
    const Json* card = Member(a, "content");
    if (card == nullptr || !card->is_object()) return ap + ".content must be an object";
    const std::string cp = ap + ".content";
    if (Str(Member(*card, "type")) != "AdaptiveCard") return cp + ".type must be \"AdaptiveCard\"";
    const Json* version = Member(*card, "version");
    if (version == nullptr || !version->is_string()) return cp + ".version must be a string";
    if (!CardVersionSupported(version->get<std::string>()))
      return cp + ".version '" + version->get<std::string>() + "' is not supported (at most 1.4)";
    const Json* items = Member(*card, "body");
    if (items == nullptr) return cp + ".body must be an array";
    if (auto p = CardElementsProblem(*items, cp + ".body"); !p.empty()) return p;
    if (const Json* actions = Member(*card, "actions"); actions != nullptr) {
      if (auto p = CardActionsProblem(*actions, cp + ".actions"); !p.empty()) return p;
    }
  }
  return "";
}

// ---- PagerDuty ----

int DaysIn(int year, int month) {
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[month - 1];
}

// ISO 8601 date-time with a zone: 2026-11-23T14:05:09Z, 2026-11-23T14:05:09.123Z, ...+01:00.
bool IsIso8601(const std::string& s) {
  static const std::regex kTime(
      R"(^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})$)");
  std::smatch m;
  if (!std::regex_match(s, m, kTime)) return false;
  int y = std::stoi(m[1]), mo = std::stoi(m[2]), d = std::stoi(m[3]);
  int h = std::stoi(m[4]), mi = std::stoi(m[5]), sec = std::stoi(m[6]);
  if (mo < 1 || mo > 12 || d < 1 || d > DaysIn(y, mo) || h > 23 || mi > 59 || sec > 60)
    return false;
  const std::string zone = m[8];
  if (zone != "Z") {
    int zh = std::stoi(zone.substr(1, 2));
    int zm = std::stoi(zone.substr(zone.size() - 2));
    if (zh > 23 || zm > 59) return false;
  }
  return true;
}

std::vector<std::string> PagerDutyErrors(const Json& e, const std::string& routing_key) {
  std::vector<std::string> errors;
  const Json* key = Member(e, "routing_key");
  if (!NonEmptyString(key)) {
    errors.push_back("'routing_key' is missing or blank");
  } else if (key->get_ref<const std::string&>().size() != 32) {
    errors.push_back("Length of 'routing_key' is incorrect (should be 32 characters)");
  } else if (*key != routing_key) {
    errors.push_back("Invalid routing key");
  }
  const Json* action = Member(e, "event_action");
  const std::string act = Str(action);
  if (!NonEmptyString(action)) {
    errors.push_back("'event_action' is missing or blank");
  } else if (act != "trigger" && act != "acknowledge" && act != "resolve") {
    errors.push_back(
        "'event_action' is invalid (must be one of the following: 'trigger', 'acknowledge' or "
        "'resolve')");
  }
  const Json* dedup = Member(e, "dedup_key");
  if (dedup != nullptr && !dedup->is_string()) {
    errors.push_back("'dedup_key' must be a string");
  } else if (dedup != nullptr && CodePoints(dedup->get<std::string>()) > 255) {
    errors.push_back("'dedup_key' is too long (maximum is 255 characters)");
  } else if ((act == "acknowledge" || act == "resolve") && !NonEmptyString(dedup)) {
    errors.push_back("'dedup_key' is missing or blank");
  }
  if (act == "trigger") {
    const Json* payload = Member(e, "payload");
    if (payload == nullptr || !payload->is_object()) {
      errors.push_back("'payload' is missing or not an object");
    } else {
      const Json* summary = Member(*payload, "summary");
      if (!NonEmptyString(summary)) {
        errors.push_back("'payload.summary' is missing or blank");
      } else if (CodePoints(summary->get<std::string>()) > 1024) {
        errors.push_back("'payload.summary' is too long (maximum is 1024 characters)");
      }
      if (!NonEmptyString(Member(*payload, "source")))
        errors.push_back("'payload.source' is missing or blank");
      const Json* severity = Member(*payload, "severity");
      const std::string sev = Str(severity);
      if (!NonEmptyString(severity)) {
        errors.push_back("'payload.severity' is missing or blank");
      } else if (sev != "critical" && sev != "error" && sev != "warning" && sev != "info") {
        errors.push_back(
            "'payload.severity' is invalid (must be one of the following: 'critical', 'warning', "
            "'error' or 'info')");
      }
      if (const Json* ts = Member(*payload, "timestamp");
          ts != nullptr && (!ts->is_string() || !IsIso8601(Str(ts))))
        errors.push_back("'payload.timestamp' is not a valid ISO 8601 timestamp");
      for (const char* field : {"component", "group", "class"}) {
        if (const Json* f = Member(*payload, field); f != nullptr && !f->is_string())
          errors.push_back("'payload." + std::string(field) + "' must be a string");
      }
    }
  }
  auto check_list = [&](const char* list, const char* field) {
    const Json* items = Member(e, list);
    if (items == nullptr) return;
    if (!items->is_array()) {
      errors.push_back("'" + std::string(list) + "' must be an array");
      return;
    }
    for (size_t i = 0; i < items->size(); ++i) {
      if (!NonEmptyString(Member((*items)[i], field)))
        errors.push_back("'" + std::string(list) + "[" + std::to_string(i) + "]." + field +
                         "' is missing or blank");
    }
  };
  check_list("links", "href");
  check_list("images", "src");
  return errors;
}

std::string PagerDutyInvalid(const std::vector<std::string>& errors) {
  return Dump(Json{
      {"status", "invalid event"}, {"message", "Event object is invalid"}, {"errors", errors}});
}

// ---- Generic webhook ----

std::string HmacSha256Hex(const std::string& key, const std::string& message) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &len);
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) {
    hex += kHex[mac[i] >> 4];
    hex += kHex[mac[i] & 0xF];
  }
  return hex;
}

// Empty when X-SRE-Signature ("t=<unix s>,v1=<hex>"; several v1 allowed, for secret rotation) signs
// `body` under `secret` within the tolerance; else why not.
std::string SignatureProblem(const std::string& header, const std::string& secret,
                             const std::string& body) {
  if (header.empty()) return "X-SRE-Signature is missing";
  std::string t;
  std::vector<std::string> v1;
  size_t start = 0;
  while (start <= header.size()) {
    size_t end = header.find(',', start);
    if (end == std::string::npos) end = header.size();
    std::string item = header.substr(start, end - start);
    item.erase(0, item.find_first_not_of(' '));
    size_t eq = item.find('=');
    if (eq != std::string::npos) {
      std::string k = item.substr(0, eq), v = item.substr(eq + 1);
      if (k == "t") t = v;
      if (k == "v1") v1.push_back(v);
    }
    start = end + 1;
  }
  if (t.empty() || t.size() > 12 ||
      !std::all_of(t.begin(), t.end(), [](unsigned char c) { return std::isdigit(c); }))
    return "X-SRE-Signature has no valid t=<unix seconds>";
  if (v1.empty()) return "X-SRE-Signature has no v1=";
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  if (std::llabs(now - std::stoll(t)) > kSignatureToleranceS)
    return "X-SRE-Signature t=" + t + " is more than " + std::to_string(kSignatureToleranceS) +
           " s from now";
  const std::string expected = HmacSha256Hex(secret, t + "." + body);
  for (const auto& sig : v1) {
    if (sig.size() == expected.size() &&
        CRYPTO_memcmp(sig.data(), expected.data(), sig.size()) == 0)
      return "";
  }
  return "X-SRE-Signature v1 does not match HMAC-SHA256(secret, \"<t>.\" + body)";
}

std::string WebhookIncidentProblem(const Json& inc, const std::string& ptr) {
  if (!inc.is_object()) return ptr + " must be an object";
  for (const char* field : {"id", "service", "severity"}) {
    if (!NonEmptyString(Member(inc, field)))
      return ptr + "." + field + " must be a non-empty string";
  }
  return "";
}

std::string WebhookBodyProblem(const Json& body, const std::string& delivery) {
  if (!body.is_object()) return "the body must be a JSON object";
  const Json* version = Member(body, "version");
  if (version == nullptr || !version->is_number_integer() || *version != 1)
    return "version must be 1";
  if (Str(Member(body, "delivery_id")) != delivery)
    return "delivery_id must equal the X-SRE-Delivery header";
  if (!NonEmptyString(Member(body, "stage"))) return "stage must be a non-empty string";
  const Json* group = Member(body, "group");
  if (group != nullptr && *group == true) {
    const Json* incidents = Member(body, "incidents");
    if (incidents == nullptr || !incidents->is_array() || incidents->empty())
      return "a group needs a non-empty incidents array";
    for (size_t i = 0; i < incidents->size(); ++i) {
      if (auto p = WebhookIncidentProblem((*incidents)[i], "incidents[" + std::to_string(i) + "]");
          !p.empty())
        return p;
    }
    return "";
  }
  const Json* incident = Member(body, "incident");
  if (incident == nullptr) return "incident (or group: true with incidents) is required";
  return WebhookIncidentProblem(*incident, "incident");
}

std::string WebhookError(const std::string& why) { return Dump(Json{{"error", why}}); }

std::string TeamsError(const std::string& code, const std::string& message) {
  return Dump(Json{{"error", {{"code", code}, {"message", message}}}});
}

std::string ReasonPhrase(int status) {
  static const std::map<int, std::string> kReasons = {
      {400, "Bad Request"},       {401, "Unauthorized"},        {403, "Forbidden"},
      {404, "Not Found"},         {408, "Request Timeout"},     {409, "Conflict"},
      {413, "Payload Too Large"}, {429, "Too Many Requests"},   {500, "Internal Server Error"},
      {502, "Bad Gateway"},       {503, "Service Unavailable"}, {504, "Gateway Timeout"}};
  auto it = kReasons.find(status);
  return it == kReasons.end() ? "HTTP " + std::to_string(status) : it->second;
}

}  // namespace

FakeChannels::FakeChannels()
    : slack_hook_path_(kSlackHookPrefix + RandomChars(24, kAlnum)),
      slack_token_("xoxb-1000000001-2000000002-" + RandomChars(24, kAlnum)),
      teams_id_(RandomChars(32, kHex)),
      teams_sig_(RandomChars(43, kUrlSafe)),
      pd_key_(RandomChars(32, kHex)),
      webhook_secret_(RandomChars(40, kAlnum)),
      http_(std::make_unique<LocalHttpServer>("FakeChannels")) {
  teams_query_ = "api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=" + teams_sig_;
  auto handler = [this](const httplib::Request& req, httplib::Response& res) {
    ReceivedRequest r;
    r.at = std::chrono::steady_clock::now();
    r.method = req.method;
    r.path = req.path;
    // The raw target, not req.params: Teams' sig must be compared exactly as it was sent.
    if (size_t q = req.target.find('?'); q != std::string::npos) r.query = req.target.substr(q + 1);
    r.content_type = req.get_header_value("Content-Type");
    r.body = req.body;
    for (const auto& [name, value] : req.headers) {
      // cpp-httplib adds the peer's address as pseudo-headers; they were not sent.
      if (name == "REMOTE_ADDR" || name == "REMOTE_PORT" || name == "LOCAL_ADDR" ||
          name == "LOCAL_PORT")
        continue;
      auto& slot = r.headers[Lower(name)];
      slot = slot.empty() ? value : slot + ", " + value;
    }
    r.json = Json::parse(r.body, nullptr, false);
    if (r.json.is_discarded()) r.json = nullptr;

    if (StartsWith(r.path, "/services/")) {
      r.receiver = Receiver::kSlackWebhook;
    } else if (StartsWith(r.path, "/slack/api")) {
      r.receiver = Receiver::kSlackApi;
    } else if (StartsWith(r.path, "/workflows/")) {
      r.receiver = Receiver::kTeams;
    } else if (StartsWith(r.path, "/v2/")) {
      r.receiver = Receiver::kPagerDuty;
    } else if (StartsWith(r.path, "/hooks/")) {
      r.receiver = Receiver::kWebhook;
    } else {
      // No receiver lives here: nothing to record it under.
      res.status = 404;
      res.set_content("404 page not found\n", "text/plain; charset=utf-8");
      return;
    }

    std::unique_lock<std::mutex> lock(mu_);
    std::optional<Fault> fault;
    if (auto& queue = faults_[r.receiver]; !queue.empty()) {
      fault = std::move(queue.front());
      queue.pop_front();
    }
    Answer a;
    if (!fault || (Is2xx(fault->status) && fault->body.empty())) {
      // Normal handling; a 2xx fault without a body only delays it.
      a = Handle(r, true);
      r.delivered = a.problem.empty() && Is2xx(a.status);
    } else if (fault->after_accepting) {
      a = Handle(r, true);
      if (a.problem.empty()) {
        r.delivered = true;
        r.faulted = true;
        a = FaultAnswer(r.receiver, *fault);
      }
    } else {
      // Validated without effect, so Requests() still tells whether the refused request was well
      // formed.
      std::string problem = Handle(r, false).problem;
      a = FaultAnswer(r.receiver, *fault);
      a.problem = std::move(problem);
      r.faulted = true;
    }
    r.status = a.status;
    r.problem = a.problem;
    requests_.push_back(r);
    if (fault && fault->delay.count() > 0)
      cv_.wait_for(lock, fault->delay, [this] { return stopping_; });
    lock.unlock();

    res.status = a.status;
    if (!a.body.empty() || !a.content_type.empty()) res.set_content(a.body, a.content_type.c_str());
    if (fault && fault->retry_after_s)
      res.set_header("Retry-After", std::to_string(*fault->retry_after_s));
  };
  http_->routes().Get(".*", handler);
  http_->routes().Post(".*", handler);
  http_->routes().Put(".*", handler);
  http_->routes().Patch(".*", handler);
  http_->routes().Delete(".*", handler);
  http_->Start();
}

FakeChannels::~FakeChannels() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  http_->Stop();
}

int FakeChannels::port() const { return http_->port(); }

std::string FakeChannels::slack_webhook_url() const {
  return "http://127.0.0.1:" + std::to_string(port()) + slack_hook_path_;
}
std::string FakeChannels::slack_api_url() const {
  return "http://127.0.0.1:" + std::to_string(port()) + "/slack/api";
}
std::string FakeChannels::slack_token() const { return slack_token_; }
std::string FakeChannels::slack_channel() const { return kSlackChannel; }
std::string FakeChannels::teams_url() const {
  return "http://127.0.0.1:" + std::to_string(port()) + "/workflows/" + teams_id_ +
         "/triggers/manual/paths/invoke?" + teams_query_;
}
std::string FakeChannels::pagerduty_url() const {
  return "http://127.0.0.1:" + std::to_string(port()) + kPagerDutyPath;
}
std::string FakeChannels::pagerduty_routing_key() const { return pd_key_; }
std::string FakeChannels::webhook_url() const {
  return "http://127.0.0.1:" + std::to_string(port()) + kWebhookPath;
}
std::string FakeChannels::webhook_secret() const { return webhook_secret_; }

void FakeChannels::PushFault(Receiver r, Fault f) {
  std::lock_guard<std::mutex> lock(mu_);
  faults_[r].push_back(std::move(f));
}

std::vector<ReceivedRequest> FakeChannels::Requests(Receiver r) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<ReceivedRequest> out;
  std::copy_if(requests_.begin(), requests_.end(), std::back_inserter(out),
               [r](const ReceivedRequest& q) { return q.receiver == r; });
  return out;
}

std::vector<ReceivedRequest> FakeChannels::Accepted(Receiver r) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<ReceivedRequest> out;
  std::copy_if(requests_.begin(), requests_.end(), std::back_inserter(out),
               [r](const ReceivedRequest& q) { return q.receiver == r && q.delivered; });
  return out;
}

std::vector<FakeChannels::SlackMessage> FakeChannels::SlackMessages() const {
  std::lock_guard<std::mutex> lock(mu_);
  return slack_messages_;
}

void FakeChannels::Reset() {
  std::lock_guard<std::mutex> lock(mu_);
  requests_.clear();
  faults_.clear();
  slack_messages_.clear();
  // last_ts_us_ stays: a ts issued before the reset is never issued again.
}

std::string FakeChannels::NextSlackTs() {
  const int64_t now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  last_ts_us_ = std::max(last_ts_us_ + 1, now_us);
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%lld.%06lld", static_cast<long long>(last_ts_us_ / 1000000),
                static_cast<long long>(last_ts_us_ % 1000000));
  return buf;
}

FakeChannels::Answer FakeChannels::Handle(const ReceivedRequest& r, bool commit) {
  switch (r.receiver) {
    case Receiver::kSlackWebhook:
      return SlackWebhook(r);
    case Receiver::kSlackApi:
      return SlackApi(r, commit);
    case Receiver::kTeams:
      return Teams(r);
    case Receiver::kPagerDuty:
      return PagerDuty(r);
    case Receiver::kWebhook:
      return Webhook(r);
  }
  return {500, "", "", "unknown receiver"};
}

FakeChannels::Answer FakeChannels::SlackWebhook(const ReceivedRequest& r) {
  // Slack answers webhook errors as a bare code in a text body, with the documented status.
  auto fail = [](int status, const std::string& code, const std::string& why) {
    return Answer{status, code, "text/plain", code + ": " + why};
  };
  if (r.path != slack_hook_path_) return fail(404, "no_service", "no webhook at " + r.path);
  if (r.method != "POST") return fail(400, "invalid_payload", r.method + " carries no payload");
  if (!IsJsonType(r.content_type))
    return fail(400, "invalid_payload", "Content-Type '" + r.content_type + "'");
  if (!r.json.is_object()) return fail(400, "invalid_payload", "the body is not a JSON object");
  const Json* blocks = Member(r.json, "blocks");
  if (blocks != nullptr) {
    if (auto p = BlocksProblem(*blocks); !p.empty()) return fail(400, "invalid_blocks", p);
  }
  const bool has_blocks = blocks != nullptr && !blocks->empty();
  if (!NonEmptyString(Member(r.json, "text")) && !has_blocks)
    return fail(400, "no_text", "neither text nor blocks");
  return {200, "ok", "text/html", ""};
}

FakeChannels::Answer FakeChannels::SlackApi(const ReceivedRequest& r, bool commit) {
  // The Web API answers HTTP 200 with {"ok": false, "error": <code>} for everything it understood.
  // JSON posts without a charset get Slack's "missing_charset" warning (as the real API does).
  const bool charset = Lower(r.content_type).find("charset=") != std::string::npos;
  auto reply = [&](Json body, const std::string& problem, int status = 200) {
    if (!charset && IsJsonType(r.content_type)) {
      body["warning"] = "missing_charset";
      body["response_metadata"]["warnings"] = Json::array({"missing_charset"});
    }
    return Answer{status, Dump(body), "application/json; charset=utf-8", problem};
  };
  auto fail = [&](const std::string& error, const std::string& why, int status = 200) {
    Json body = {{"ok", false}, {"error", error}};
    if (error == "invalid_blocks") body["response_metadata"]["messages"] = Json::array({why});
    return reply(std::move(body), error + ": " + why, status);
  };
  const std::string method =
      StartsWith(r.path, kSlackApiPrefix) ? r.path.substr(sizeof(kSlackApiPrefix) - 1) : "";
  if (method != "chat.postMessage" && method != "chat.update") {
    Json body = {{"ok", false}, {"error", "unknown_method"}, {"req_method", method}};
    return reply(std::move(body), "unknown_method: " + r.path, 404);
  }
  if (r.method != "POST")
    return fail("invalid_request", "only POST with a JSON body is served here", 405);
  auto auth = r.headers.find("authorization");
  if (auth == r.headers.end() || auth->second.empty())
    return fail("not_authed", "no Authorization header");
  if (auth->second != "Bearer " + slack_token_)
    return fail("invalid_auth", "Authorization is not Bearer <token>");
  if (r.content_type.empty()) return fail("missing_post_type", "no Content-Type");
  if (!IsJsonType(r.content_type))
    return fail("invalid_post_type", "Content-Type '" + r.content_type + "'");
  if (r.json.is_null()) return fail("invalid_json", "the body is not JSON");
  if (!r.json.is_object()) return fail("json_not_object", "the body is not a JSON object");
  const std::string channel = Str(Member(r.json, "channel"));
  if (channel != kSlackChannel && channel != kSlackChannelName)
    return fail("channel_not_found", "channel '" + channel + "'");
  const Json* blocks = Member(r.json, "blocks");
  if (blocks != nullptr) {
    if (auto p = BlocksProblem(*blocks); !p.empty()) return fail("invalid_blocks", p);
  }
  const Json* text = Member(r.json, "text");
  if (!NonEmptyString(text) && (blocks == nullptr || blocks->empty()))
    return fail("no_text", "neither text nor blocks");
  if (CodePoints(Str(text)) > 40000) return fail("msg_too_long", "text is over 40,000 characters");

  if (method == "chat.postMessage") {
    std::string thread_ts;
    if (const Json* thread = Member(r.json, "thread_ts"); thread != nullptr) {
      thread_ts = thread->is_string() ? thread->get<std::string>() : thread->dump();
      bool known = std::any_of(slack_messages_.begin(), slack_messages_.end(),
                               [&](const SlackMessage& m) { return m.ts == thread_ts; });
      if (!known)
        return fail("thread_not_found",
                    "thread_ts " + thread_ts + " is not a message of this channel");
    }
    if (!commit) return {200, "", "", ""};
    SlackMessage m{NextSlackTs(), thread_ts, r.json, 0};
    slack_messages_.push_back(m);
    Json message = {{"type", "message"},    {"user", "U0SREBOT"}, {"bot_id", "B0SREBOT"},
                    {"app_id", "A0SREAPP"}, {"text", Str(text)},  {"ts", m.ts}};
    if (blocks != nullptr) message["blocks"] = *blocks;
    if (!thread_ts.empty()) message["thread_ts"] = thread_ts;
    return reply({{"ok", true}, {"channel", kSlackChannel}, {"ts", m.ts}, {"message", message}},
                 "");
  }

  // chat.update
  const std::string ts = Str(Member(r.json, "ts"));
  auto it = std::find_if(slack_messages_.begin(), slack_messages_.end(),
                         [&](const SlackMessage& m) { return !ts.empty() && m.ts == ts; });
  if (it == slack_messages_.end())
    return fail("message_not_found", "no message with ts '" + ts + "'");
  if (!commit) return {200, "", "", ""};
  // chat.update replaces what it is given and keeps the rest (blocks left out stay).
  for (const char* field : {"text", "blocks", "attachments"}) {
    if (r.json.contains(field)) it->body[field] = r.json[field];
  }
  ++it->updates;
  const std::string now_text = Str(Member(it->body, "text"));
  Json message = {{"type", "message"},
                  {"user", "U0SREBOT"},
                  {"bot_id", "B0SREBOT"},
                  {"text", now_text},
                  {"edited", {{"user", "U0SREBOT"}, {"ts", NextSlackTs()}}}};
  if (const Json* now_blocks = Member(it->body, "blocks"); now_blocks != nullptr)
    message["blocks"] = *now_blocks;
  return reply({{"ok", true},
                {"channel", kSlackChannel},
                {"ts", ts},
                {"text", now_text},
                {"message", message}},
               "");
}

FakeChannels::Answer FakeChannels::Teams(const ReceivedRequest& r) {
  auto fail = [](int status, const std::string& code, const std::string& message) {
    return Answer{status, TeamsError(code, message), "application/json; charset=utf-8",
                  code + ": " + message};
  };
  const std::string path = "/workflows/" + teams_id_ + "/triggers/manual/paths/invoke";
  if (r.path != path)
    return fail(404, "WorkflowNotFound", "The workflow for '" + r.path + "' could not be found.");
  if (r.method != "POST")
    return fail(405, "TriggerRequestMethodNotValid",
                "The HTTP method for this request is not valid: expected 'Post' and actual '" +
                    r.method + "'.");
  // The shared access signature authorises exactly the query it was issued with: each parameter
  // must arrive once, byte for byte (a client that decodes %2F or re-encodes the sig is refused).
  std::map<std::string, std::vector<std::string>> sent;
  for (size_t start = 0; start <= r.query.size() && !r.query.empty();) {
    size_t end = r.query.find('&', start);
    if (end == std::string::npos) end = r.query.size();
    std::string pair = r.query.substr(start, end - start);
    size_t eq = pair.find('=');
    sent[pair.substr(0, eq)].push_back(eq == std::string::npos ? "" : pair.substr(eq + 1));
    start = end + 1;
  }
  for (size_t start = 0; start < teams_query_.size();) {
    size_t end = teams_query_.find('&', start);
    if (end == std::string::npos) end = teams_query_.size();
    std::string pair = teams_query_.substr(start, end - start);
    size_t eq = pair.find('=');
    const std::string key = pair.substr(0, eq), value = pair.substr(eq + 1);
    auto got = sent.find(key);
    if (got == sent.end())
      return fail(401, "DirectApiAuthorizationRequired",
                  "The request must be authenticated only by Shared Access scheme: '" + key +
                      "' is missing.");
    if (got->second.size() != 1 || got->second[0] != value)
      return fail(401, "DirectApiAuthorizationRequired",
                  "The provided shared access signature is not valid: '" + key +
                      "' differs from the issued URL.");
    start = end + 1;
  }
  if (!IsJsonType(r.content_type))
    return fail(400, "InvalidRequestContent",
                "The request content type '" + r.content_type + "' is not application/json.");
  if (r.json.is_null())
    return fail(400, "InvalidRequestContent", "The request content is not valid JSON.");
  if (auto p = TeamsMessageProblem(r.json); !p.empty())
    return fail(400, "InvalidRequestContent", p);
  return {202, "", "", ""};
}

FakeChannels::Answer FakeChannels::PagerDuty(const ReceivedRequest& r) {
  auto fail = [](const std::vector<std::string>& errors) {
    std::string problem;
    for (const auto& e : errors) problem += (problem.empty() ? "" : "; ") + e;
    return Answer{400, PagerDutyInvalid(errors), "application/json", problem};
  };
  if (r.path != kPagerDutyPath)
    return {404, Dump(Json{{"status", "Not Found"}, {"message", "Not Found"}}), "application/json",
            "no route " + r.path};
  if (r.method != "POST")
    return {405, Dump(Json{{"status", "Method Not Allowed"}, {"message", "Method Not Allowed"}}),
            "application/json", r.method + " is not allowed"};
  if (!IsJsonType(r.content_type)) return fail({"Content-Type must be application/json"});
  if (!r.json.is_object()) return fail({"The request body is not a JSON object"});
  if (auto errors = PagerDutyErrors(r.json, pd_key_); !errors.empty()) return fail(errors);
  std::string dedup = Str(Member(r.json, "dedup_key"));
  // PagerDuty makes up a key for a trigger without one, and the client must use it to resolve.
  if (dedup.empty()) dedup = RandomChars(32, kHex);
  return {202,
          Dump(Json{{"status", "success"}, {"message", "Event processed"}, {"dedup_key", dedup}}),
          "application/json", ""};
}

FakeChannels::Answer FakeChannels::Webhook(const ReceivedRequest& r) {
  auto fail = [](int status, const std::string& error, const std::string& why) {
    return Answer{status, WebhookError(error), "application/json", why};
  };
  if (r.path != kWebhookPath) return fail(404, "not found", "no webhook at " + r.path);
  if (r.method != "POST") return fail(405, "method not allowed", r.method + " is not allowed");
  auto header = [&](const char* name) {
    auto it = r.headers.find(name);
    return it == r.headers.end() ? std::string() : it->second;
  };
  if (auto p = SignatureProblem(header("x-sre-signature"), webhook_secret_, r.body); !p.empty())
    return fail(401, "bad signature", p);
  const std::string delivery = header("x-sre-delivery");
  if (delivery.empty()) return fail(400, "missing X-SRE-Delivery", "X-SRE-Delivery is missing");
  if (!IsJsonType(r.content_type)) {
    std::string why = "Content-Type must be application/json";
    return fail(400, why, why + ", not '" + r.content_type + "'");
  }
  if (auto p = WebhookBodyProblem(r.json, delivery); !p.empty()) return fail(400, p, p);
  return {200, Dump(Json{{"ok", true}}), "application/json", ""};
}

FakeChannels::Answer FakeChannels::FaultAnswer(Receiver r, const Fault& f) const {
  if (!f.body.empty()) {
    const char first = f.body.find_first_not_of(" \t\r\n") == std::string::npos
                           ? ' '
                           : f.body[f.body.find_first_not_of(" \t\r\n")];
    return {f.status, f.body, first == '{' || first == '[' ? "application/json" : "text/plain", ""};
  }
  const int s = f.status;
  switch (r) {
    case Receiver::kSlackWebhook: {
      static const std::map<int, std::string> kCodes = {{400, "invalid_payload"},
                                                        {403, "action_prohibited"},
                                                        {404, "no_service"},
                                                        {410, "channel_is_archived"},
                                                        {429, "rate_limited"}};
      auto it = kCodes.find(s);
      return {s, it == kCodes.end() ? "internal_error" : it->second, "text/plain", ""};
    }
    case Receiver::kSlackApi: {
      std::string error = s == 429   ? "ratelimited"
                          : s == 503 ? "service_unavailable"
                          : s == 504 ? "request_timeout"
                          : s >= 500 ? "internal_error"
                                     : "invalid_request";
      return {s, Dump(Json{{"ok", false}, {"error", error}}), "application/json; charset=utf-8",
              ""};
    }
    case Receiver::kTeams: {
      std::string code = s == 429   ? "WorkflowRequestsThrottled"
                         : s == 401 ? "DirectApiAuthorizationRequired"
                         : s == 400 ? "InvalidRequestContent"
                         : s == 404 ? "WorkflowNotFound"
                         : s >= 502 ? "ServiceUnavailable"
                                    : "InternalServerError";
      std::string message =
          s == 429 ? "Rate limit is exceeded. Try again later." : ReasonPhrase(s) + ".";
      return {s, TeamsError(code, message), "application/json; charset=utf-8", ""};
    }
    case Receiver::kPagerDuty: {
      if (s == 429)
        return {s,
                Dump(Json{
                    {"status", "throttle exceeded"},
                    {"message",
                     "Requests for this service are arriving too quickly.  Please retry later."}}),
                "application/json", ""};
      if (s == 400)
        return {s, PagerDutyInvalid({"Event object is invalid"}), "application/json", ""};
      return {s, Dump(Json{{"status", "error"}, {"message", ReasonPhrase(s)}}), "application/json",
              ""};
    }
    case Receiver::kWebhook:
      return {s, WebhookError(Lower(ReasonPhrase(s))), "application/json", ""};
  }
  return {s, "", "", ""};
}

}  // namespace sre::testing
