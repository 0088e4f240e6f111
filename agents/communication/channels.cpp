#include "agents/communication/channels.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cstdio>
#include <ctime>

#include "shared/ids.h"
#include "shared/text.h"
#include "shared/time_format.h"

namespace sre::communication {
namespace {

// Slack's documented limits (https://api.slack.com/reference/block-kit/blocks). Counted in bytes:
// a byte count is never below the character count, so the bytes limit is a conservative one.
constexpr size_t kSlackMaxBlocks = 50;
constexpr size_t kSlackHeaderMax = 150;
constexpr size_t kSlackSectionTextMax = 3000;
constexpr size_t kSlackFieldMax = 2000;
constexpr size_t kSlackContextTextMax = 3000;
// The fallback text is what notifications and screen readers show; Slack cuts long ones itself,
// a shorter one keeps the request small.
constexpr size_t kSlackFallbackMax = 3000;
// One incident of a burst: its title is one line among up to 48, not the whole message.
constexpr size_t kGroupTitleMax = 200;

// Teams rejects a Workflows webhook body above 28 KB: the card's texts are capped well below it.
constexpr size_t kTeamsSummaryMax = 3000;
constexpr size_t kTeamsFactTitleMax = 200;
constexpr size_t kTeamsFactValueMax = 500;
constexpr size_t kTeamsMaxFacts = 20;
constexpr size_t kTeamsGroupMax = 30;

// PagerDuty: summary at most 1024 characters; the whole event at most 512 KB.
constexpr size_t kPagerDutySummaryMax = 1024;
constexpr size_t kPagerDutyDetailMax = 4096;
constexpr size_t kPagerDutyMaxFacts = 100;
constexpr size_t kPagerDutyGroupMax = 100;
constexpr size_t kPagerDutyGroupLinks = 10;

// Every string of a Notice is untrusted: nlohmann's dump() throws on ill-formed UTF-8, so each one
// is repaired before it enters a body.
std::string Clean(const std::string& s) { return SanitizeUtf8(s); }

std::string Number(const Notice& n) {
  return n.incident_number.empty() ? IncidentNumber(n.incident_id) : Clean(n.incident_number);
}

// Labels are shown bold on one line: a line break inside one would end the bold early.
std::string OneLine(const std::string& s) {
  std::string out = s;
  std::replace_if(out.begin(), out.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
  return out;
}

// The three characters Slack's mrkdwn gives meaning to: an unescaped "<!channel>" in a summary
// would page a whole channel, "<http://x|click>" would disguise a link.
std::string Escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : Clean(s)) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

// An escaped text cut to `max` bytes without leaving half an entity ("&am") at the cut.
std::string CutEscaped(const std::string& escaped, size_t max) {
  static const std::string kEllipsis = "…";
  if (escaped.size() <= max) return escaped;
  if (max < kEllipsis.size()) return "";
  size_t cut = Utf8PrefixLength(escaped, max - kEllipsis.size());
  size_t amp = escaped.rfind('&', cut ? cut - 1 : 0);
  if (amp != std::string::npos && cut - amp < 5 && escaped.find(';', amp) >= cut) cut = amp;
  return escaped.substr(0, cut) + kEllipsis;
}

std::string EscapeCut(const std::string& s, size_t max) { return CutEscaped(Escape(s), max); }

// A Slack link "<url|text>": the url escaped like any text, and "|" percent-encoded so it cannot
// end the url early and turn the rest into the link's text.
std::string SlackLink(const std::string& url, const std::string& text) {
  std::string u;
  for (char c : Escape(url)) {
    if (c == '|') u += "%7C";
    else u.push_back(c);
  }
  return "<" + u + "|" + Escape(text) + ">";
}

Json Mrkdwn(const std::string& text) { return Json{{"type", "mrkdwn"}, {"text", text}}; }

Json PlainText(const std::string& text) { return Json{{"type", "plain_text"}, {"text", text}, {"emoji", true}}; }

Json Section(const std::string& text) { return Json{{"type", "section"}, {"text", Mrkdwn(text)}}; }

Json Header(const std::string& text) {
  return Json{{"type", "header"}, {"text", PlainText(TruncateUtf8(Clean(text), kSlackHeaderMax))}};
}

const char* StageEmoji(NotificationType stage) {
  switch (stage) {
    case NotificationType::INCIDENT_ALERT: return "🚨";
    case NotificationType::RCA_COMPLETE: return "🔍";
    case NotificationType::REMEDIATION_PLAN: return "🛠️";
    case NotificationType::INCIDENT_RESOLVED: return "✅";
    case NotificationType::POSTMORTEM: return "📝";
  }
  return "🔔";
}

std::string Sev(Severity s) { return std::string(ToString(s)); }

// ISO 8601 UTC with milliseconds, "2026-11-23T14:05:09.123Z" (PagerDuty's and the webhook's).
std::string IsoTime(int64_t ms) {
  int64_t secs = ms / 1000, rem = ms % 1000;
  if (rem < 0) {  // before the epoch: floor, so the milliseconds stay positive
    rem += 1000;
    --secs;
  }
  std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char date[40];
  std::strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
  char out[64];
  std::snprintf(out, sizeof(out), "%s.%03dZ", date, static_cast<int>(rem));
  return out;
}

std::string SlackFallback(const Notice& n) {
  return EscapeCut(StageLabel(n.stage) + " " + Number(n) + " [" + Sev(n.severity) + "] " + n.service + ": " + n.title,
                   kSlackFallbackMax);
}

Json SlackField(const std::string& label, const std::string& value) {
  return Mrkdwn(CutEscaped("*" + label + "*\n" + Escape(value.empty() ? "—" : value), kSlackFieldMax));
}

// The "<time> · Open the incident" line that ends a message.
Json SlackContext(const Notice& n) {
  Json elements = Json::array({Mrkdwn(FormatTime(n.ts))});
  if (!n.link.empty()) {
    std::string link = SlackLink(n.link, "Open the incident");
    // A cut link would be a broken one: a link longer than the element is left out.
    if (link.size() <= kSlackContextTextMax) elements.push_back(Mrkdwn(link));
  }
  return Json{{"type", "context"}, {"elements", elements}};
}

std::string TeamsColor(const Notice& n) {
  if (n.stage == NotificationType::INCIDENT_RESOLVED) return "Good";
  switch (n.severity) {
    case Severity::CRITICAL:
    case Severity::HIGH: return "Attention";
    case Severity::MEDIUM: return "Warning";
    case Severity::LOW: return "Accent";
  }
  return "Default";
}

// Teams renders Markdown links in TextBlocks and facts: untrusted text (a log line, an LLM's
// summary) must not become a clickable "[your password reset](https://evil)". A zero-width space
// between ']' and '(' keeps the text readable and the link inert.
std::string Inert(std::string s) {
  for (size_t at = s.find("]("); at != std::string::npos; at = s.find("](", at + 4)) s.insert(at + 1, "\u200b");
  return s;
}

Json TextBlock(const std::string& text) {
  return Json{{"type", "TextBlock"}, {"text", Inert(text)}, {"wrap", true}};
}

Json Fact(const std::string& title, const std::string& value) {
  return Json{{"title", Inert(TruncateUtf8(Clean(title), kTeamsFactTitleMax))},
              {"value", Inert(TruncateUtf8(Clean(value.empty() ? "—" : value), kTeamsFactValueMax))}};
}

Json FactSet(const Json& facts) { return Json{{"type", "FactSet"}, {"facts", facts}}; }

Json TeamsEnvelope(const Json& body, const std::string& link) {
  Json content = {{"$schema", "http://adaptivecards.io/schemas/adaptive-card.json"},
                  {"type", "AdaptiveCard"},
                  {"version", "1.4"},
                  {"body", body}};
  if (!link.empty())
    content["actions"] =
        Json::array({{{"type", "Action.OpenUrl"}, {"title", "Open the incident"}, {"url", Clean(link)}}});
  return Json{{"type", "message"},
              {"attachments", Json::array({{{"contentType", "application/vnd.microsoft.card.adaptive"},
                                            {"contentUrl", nullptr},
                                            {"content", content}}})}};
}

Severity Highest(const std::vector<Notice>& notices) {
  Severity s = Severity::LOW;
  // The enum runs from CRITICAL (0) to LOW: the highest severity is the smallest value.
  for (const auto& n : notices)
    if (static_cast<int>(n.severity) < static_cast<int>(s)) s = n.severity;
  return s;
}

Json WebhookIncident(const Notice& n) {
  return Json{{"id", Clean(n.incident_id)},
              {"number", Number(n)},
              {"service", Clean(n.service)},
              {"team", Clean(n.team)},
              {"owner", Clean(n.owner)},
              {"severity", Sev(n.severity)},
              {"anomaly_type", Clean(n.anomaly_type)},
              {"status", Clean(n.status)},
              {"link", Clean(n.link)}};
}

}  // namespace

std::string StageLabel(NotificationType stage) {
  switch (stage) {
    case NotificationType::INCIDENT_ALERT: return "Incident alert";
    case NotificationType::RCA_COMPLETE: return "Root cause identified";
    case NotificationType::REMEDIATION_PLAN: return "Remediation plan";
    case NotificationType::INCIDENT_RESOLVED: return "Incident resolved";
    case NotificationType::POSTMORTEM: return "Postmortem";
  }
  return std::string(ToString(stage));
}

// ---- Slack ----

Json SlackMessage(const Notice& n) {
  Json blocks = Json::array();
  blocks.push_back(Header(std::string(StageEmoji(n.stage)) + " " + StageLabel(n.stage) + " · " + Number(n)));

  Json fields = Json::array({SlackField("Severity", Sev(n.severity)), SlackField("Service", n.service)});
  if (!n.team.empty()) fields.push_back(SlackField("Team", n.team));
  if (!n.owner.empty()) fields.push_back(SlackField("Owner", n.owner));
  fields.push_back(SlackField("Anomaly", n.anomaly_type));
  Json overview = {{"type", "section"}, {"fields", fields}};
  // A section's text must not be empty: the title goes in only when there is one.
  if (!n.title.empty()) overview["text"] = Mrkdwn("*" + EscapeCut(OneLine(n.title), kSlackSectionTextMax - 2) + "*");
  blocks.push_back(overview);

  if (!n.summary.empty()) blocks.push_back(Section(EscapeCut(n.summary, kSlackSectionTextMax)));

  if (!n.facts.empty()) {
    std::string lines;
    for (const auto& [label, value] : n.facts) {
      if (!lines.empty()) lines += "\n";
      lines += "*" + Escape(OneLine(label)) + "*: " + Escape(value);
      if (lines.size() > kSlackSectionTextMax) break;  // the rest would be cut anyway
    }
    blocks.push_back(Section(CutEscaped(lines, kSlackSectionTextMax)));
  }

  blocks.push_back(Json{{"type", "divider"}});
  blocks.push_back(SlackContext(n));
  return Json{{"text", SlackFallback(n)}, {"blocks", blocks}};
}

Json SlackPostMessage(const Notice& n, const std::string& channel, const std::optional<std::string>& thread_ts) {
  Json m = SlackMessage(n);
  m["channel"] = Clean(channel);
  if (thread_ts) m["thread_ts"] = Clean(*thread_ts);
  // The incident link would otherwise unfold into a preview card under every message.
  m["unfurl_links"] = false;
  return m;
}

Json SlackUpdate(const Notice& first, const Notice& now, const std::string& channel, const std::string& ts) {
  Json m = SlackMessage(first);
  std::string status = "Status: " + EscapeCut(now.status.empty() ? "unknown" : now.status, 200) +
                       " — latest: " + StageLabel(now.stage) + " (" + FormatTime(now.ts) + ")";
  Json blocks = m["blocks"];
  // Right under the header, where a reader of the first message looks first. SlackMessage uses
  // far fewer than 50 blocks, so one more stays within the limit.
  blocks.insert(blocks.begin() + 1, Section(status));
  return Json{{"channel", Clean(channel)},
              {"ts", Clean(ts)},
              {"text", CutEscaped(m["text"].get<std::string>() + " — " + status, kSlackFallbackMax)},
              {"blocks", blocks}};
}

Json SlackGroupMessage(const std::vector<Notice>& notices) {
  const std::string head = std::to_string(notices.size()) + " incidents opened together";
  Json blocks = Json::array({Header("🚨 " + head)});
  // The header takes one block; when every incident does not fit, the last block says how many
  // were left out.
  const size_t room = kSlackMaxBlocks - 1;
  const size_t shown = notices.size() <= room ? notices.size() : room - 1;
  std::string fallback = head + ":";
  for (size_t i = 0; i < notices.size(); ++i) {
    const Notice& n = notices[i];
    fallback += (i ? ", " : " ") + Number(n) + " (" + n.service + ")";
    if (i >= shown) continue;
    std::string number = n.link.empty() ? "*" + Escape(Number(n)) + "*" : SlackLink(n.link, Number(n));
    std::string text = "*" + Sev(n.severity) + "* · " + number + " · " + Escape(n.service) + "\n" +
                       EscapeCut(OneLine(n.title), kGroupTitleMax);
    blocks.push_back(Section(CutEscaped(text, kSlackSectionTextMax)));
  }
  if (shown < notices.size())
    blocks.push_back(Json{{"type", "context"},
                          {"elements", Json::array({Mrkdwn("… and " + std::to_string(notices.size() - shown) +
                                                           " more")})}});
  return Json{{"text", EscapeCut(fallback, kSlackFallbackMax)}, {"blocks", blocks}};
}

// ---- Microsoft Teams ----

Json TeamsMessage(const Notice& n) {
  Json body = Json::array();
  Json head = TextBlock(std::string(StageEmoji(n.stage)) + " " + StageLabel(n.stage) + " · " + Number(n));
  head["weight"] = "Bolder";
  head["size"] = "Medium";
  head["color"] = TeamsColor(n);
  body.push_back(head);
  if (!n.title.empty()) {
    Json title = TextBlock(TruncateUtf8(Clean(OneLine(n.title)), kTeamsSummaryMax));
    title["weight"] = "Bolder";
    body.push_back(title);
  }
  Json overview = Json::array({Fact("Severity", Sev(n.severity)), Fact("Service", n.service)});
  if (!n.team.empty()) overview.push_back(Fact("Team", n.team));
  if (!n.owner.empty()) overview.push_back(Fact("Owner", n.owner));
  overview.push_back(Fact("Anomaly", n.anomaly_type));
  if (!n.status.empty()) overview.push_back(Fact("Status", n.status));
  body.push_back(FactSet(overview));
  if (!n.summary.empty()) body.push_back(TextBlock(TruncateUtf8(Clean(n.summary), kTeamsSummaryMax)));
  if (!n.facts.empty()) {
    Json facts = Json::array();
    for (size_t i = 0; i < n.facts.size() && i < kTeamsMaxFacts; ++i)
      facts.push_back(Fact(n.facts[i].first, n.facts[i].second));
    if (n.facts.size() > kTeamsMaxFacts)
      facts.push_back(Fact("…", std::to_string(n.facts.size() - kTeamsMaxFacts) + " more on the incident page"));
    body.push_back(FactSet(facts));
  }
  body.push_back(TextBlock("Event time: " + FormatTime(n.ts)));
  return TeamsEnvelope(body, n.link);
}

Json TeamsGroupMessage(const std::vector<Notice>& notices) {
  Json body = Json::array();
  Json head = TextBlock("🚨 " + std::to_string(notices.size()) + " incidents opened together");
  head["weight"] = "Bolder";
  head["size"] = "Medium";
  head["color"] = "Attention";
  body.push_back(head);
  for (size_t i = 0; i < notices.size() && i < kTeamsGroupMax; ++i) {
    const Notice& n = notices[i];
    Json line = TextBlock(Number(n) + " · " + TruncateUtf8(Clean(OneLine(n.title)), kGroupTitleMax));
    line["weight"] = "Bolder";
    line["color"] = TeamsColor(n);
    body.push_back(line);
    Json facts = Json::array({Fact("Severity", Sev(n.severity)), Fact("Service", n.service)});
    if (!n.team.empty()) facts.push_back(Fact("Team", n.team));
    // A URL is not cut: a cut one would lead nowhere.
    if (!n.link.empty()) facts.push_back(Json{{"title", "Link"}, {"value", Clean(n.link)}});
    body.push_back(FactSet(facts));
  }
  if (notices.size() > kTeamsGroupMax)
    body.push_back(TextBlock("… and " + std::to_string(notices.size() - kTeamsGroupMax) + " more"));
  return TeamsEnvelope(body, "");
}

// ---- PagerDuty ----

std::string PagerDutyDedupKey(const std::string& incident_id) { return "sre-pipeline/" + incident_id; }

std::string PagerDutySeverity(Severity s) {
  switch (s) {
    case Severity::CRITICAL: return "critical";
    case Severity::HIGH: return "error";
    case Severity::MEDIUM: return "warning";
    case Severity::LOW: return "info";
  }
  return "info";
}

std::optional<Json> PagerDutyEvent(const Notice& n, const std::string& routing_key, const std::string& dedup_key) {
  if (n.stage == NotificationType::INCIDENT_RESOLVED)
    return Json{{"routing_key", Clean(routing_key)}, {"event_action", "resolve"}, {"dedup_key", Clean(dedup_key)}};
  if (n.stage != NotificationType::INCIDENT_ALERT) return std::nullopt;

  Json details = Json::object();
  for (size_t i = 0; i < n.facts.size() && i < kPagerDutyMaxFacts; ++i) {
    std::string key = Clean(n.facts[i].first);
    // An object keeps one value per key: a repeated label gets a suffix rather than erasing one.
    for (int k = 2; details.contains(key); ++k) key = Clean(n.facts[i].first) + " (" + std::to_string(k) + ")";
    details[key] = TruncateUtf8(Clean(n.facts[i].second), kPagerDutyDetailMax);
  }
  details["incident_number"] = Number(n);
  details["incident_id"] = Clean(n.incident_id);
  details["link"] = Clean(n.link);

  const std::string service = Clean(n.service);
  std::string summary = n.title.empty() ? Number(n) + " " + n.anomaly_type + " on " + n.service : n.title;
  // source is required and must not be empty: the pipeline stands in for an unknown service.
  Json payload = {{"summary", TruncateUtf8(Clean(OneLine(summary)), kPagerDutySummaryMax)},
                  {"source", service.empty() ? "sre-pipeline" : service},
                  {"severity", PagerDutySeverity(n.severity)},
                  {"timestamp", IsoTime(n.ts)},
                  {"component", service},
                  {"class", Clean(n.anomaly_type)},
                  {"custom_details", details}};
  if (!n.team.empty()) payload["group"] = Clean(n.team);

  Json event = {{"routing_key", Clean(routing_key)},
                {"event_action", "trigger"},
                {"dedup_key", Clean(dedup_key)},
                {"payload", payload},
                {"client", "sre-pipeline"}};
  if (!n.link.empty()) {
    event["client_url"] = Clean(n.link);
    event["links"] = Json::array({{{"href", Clean(n.link)}, {"text", "Incident page"}}});
  }
  return event;
}

Json PagerDutyGroupTrigger(const std::vector<Notice>& notices, const std::string& routing_key,
                           const std::string& dedup_key) {
  std::string summary = std::to_string(notices.size()) + " incidents opened together:";
  Json incidents = Json::array(), links = Json::array();
  for (size_t i = 0; i < notices.size(); ++i) {
    const Notice& n = notices[i];
    if (summary.size() <= kPagerDutySummaryMax)
      summary += (i ? ", " : " ") + Number(n) + " (" + Clean(n.service) + ")";
    if (i < kPagerDutyGroupMax)
      incidents.push_back({{"number", Number(n)},
                           {"id", Clean(n.incident_id)},
                           {"service", Clean(n.service)},
                           {"severity", Sev(n.severity)},
                           {"title", TruncateUtf8(Clean(n.title), kPagerDutySummaryMax)},
                           {"link", Clean(n.link)}});
    if (!n.link.empty() && links.size() < kPagerDutyGroupLinks)
      links.push_back({{"href", Clean(n.link)}, {"text", Number(n) + " (" + Clean(n.service) + ")"}});
  }
  Json details = {{"incidents", incidents}};
  if (notices.size() > kPagerDutyGroupMax) details["incidents_omitted"] = notices.size() - kPagerDutyGroupMax;

  // The burst is paged as its first incident's: its service, time and team.
  const std::string source = notices.empty() ? "" : Clean(notices.front().service);
  Json payload = {{"summary", TruncateUtf8(summary, kPagerDutySummaryMax)},
                  {"source", source.empty() ? "sre-pipeline" : source},
                  {"severity", PagerDutySeverity(Highest(notices))},
                  {"timestamp", IsoTime(notices.empty() ? 0 : notices.front().ts)},
                  {"component", source},
                  {"custom_details", details}};
  if (!notices.empty() && !notices.front().team.empty()) payload["group"] = Clean(notices.front().team);
  Json event = {{"routing_key", Clean(routing_key)},
                {"event_action", "trigger"},
                {"dedup_key", Clean(dedup_key)},
                {"payload", payload},
                {"client", "sre-pipeline"}};
  if (!links.empty()) event["links"] = links;
  return event;
}

// ---- Generic webhook ----

Json WebhookBody(const Notice& n, const std::string& delivery_id) {
  Json facts = Json::array();
  for (const auto& [label, value] : n.facts) facts.push_back({{"label", Clean(label)}, {"value", Clean(value)}});
  return Json{{"version", 1},
              {"delivery_id", Clean(delivery_id)},
              {"stage", ToString(n.stage)},
              {"incident", WebhookIncident(n)},
              {"title", Clean(n.title)},
              {"summary", Clean(n.summary)},
              {"facts", facts},
              {"ts", n.ts},
              {"time", IsoTime(n.ts)}};
}

Json WebhookGroupBody(const std::vector<Notice>& notices, const std::string& delivery_id) {
  Json incidents = Json::array();
  for (const auto& n : notices) {
    Json incident = WebhookIncident(n);
    incident["title"] = Clean(n.title);
    incidents.push_back(incident);
  }
  // The burst's time is its first incident's, as on the PagerDuty page.
  const int64_t ts = notices.empty() ? 0 : notices.front().ts;
  return Json{{"version", 1},
              {"delivery_id", Clean(delivery_id)},
              {"stage", ToString(NotificationType::INCIDENT_ALERT)},
              {"group", true},
              {"incidents", incidents},
              {"ts", ts},
              {"time", IsoTime(ts)}};
}

std::string HmacSha256Hex(const std::string& secret, const std::string& message) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), md, &len);
  return HexLower(md, len);
}

std::string WebhookSignature(const std::string& secret, int64_t unix_seconds, const std::string& body) {
  const std::string t = std::to_string(unix_seconds);
  return "t=" + t + ",v1=" + HmacSha256Hex(secret, t + "." + body);
}

}  // namespace sre::communication
