#include "agents/communication/routes.h"

#include <algorithm>
#include <cmath>

#include "shared/files.h"

namespace sre::communication {
namespace {

Status FieldError(const std::string& path, const std::string& what) { return Status::Invalid(path + ": " + what); }

template <class T>
bool Contains(const std::vector<T>& list, const T& v) {
  return list.empty() || std::find(list.begin(), list.end(), v) != list.end();
}

Status ReadStrings(const Json& j, const std::string& path, std::vector<std::string>& out) {
  if (!j.is_array()) return FieldError(path, "expected an array of strings");
  for (size_t i = 0; i < j.size(); ++i) {
    if (!j[i].is_string() || j[i].get<std::string>().empty())
      return FieldError(path + "[" + std::to_string(i) + "]", "expected a non-empty string");
    out.push_back(j[i].get<std::string>());
  }
  return Status::Ok();
}

template <class E>
Status ReadEnums(const Json& j, const std::string& path, const char* what, std::vector<E>& out) {
  std::vector<std::string> names;
  if (Status s = ReadStrings(j, path, names); !s.ok()) return s;
  for (size_t i = 0; i < names.size(); ++i) {
    auto e = ParseEnum<E>(names[i]);
    if (!e) return FieldError(path + "[" + std::to_string(i) + "]", "unknown " + std::string(what) + " \"" + names[i] + "\"");
    out.push_back(*e);
  }
  return Status::Ok();
}

bool IsAudience(const std::string& s) {
  return s == "oncall" || s == "team" || s == "management" || s == "service-oncall";
}

}  // namespace

std::string ChannelName(Channel c) {
  switch (c) {
    case Channel::kEmail: return "email";
    case Channel::kSlack: return "slack";
    case Channel::kTeams: return "teams";
    case Channel::kPagerDuty: return "pagerduty";
    case Channel::kWebhook: return "webhook";
  }
  return "email";
}

std::optional<Channel> ParseChannel(std::string_view name) {
  for (Channel c : {Channel::kEmail, Channel::kSlack, Channel::kTeams, Channel::kPagerDuty, Channel::kWebhook})
    if (ChannelName(c) == name) return c;
  return std::nullopt;
}

RouteDecision Route(const RouteTable& table, const RouteInput& in) {
  RouteDecision d;
  for (const auto& r : table.rules) {
    const RouteMatch& m = r.match;
    if (!Contains(m.severity, in.severity) || !Contains(m.service, in.service) || !Contains(m.team, in.team) ||
        !Contains(m.stage, in.stage))
      continue;
    d.matched_rules.push_back(r.name);
    d.channels.insert(r.channels.begin(), r.channels.end());
    for (const auto& e : r.email)
      if (std::find(d.email.begin(), d.email.end(), e) == d.email.end()) d.email.push_back(e);
    if (r.stop) break;
  }
  return d;
}

Expected<RouteTable> ParseRoutes(const Json& j) {
  const std::string root = "routing";
  if (!j.is_object()) return FieldError(root, "expected a JSON object");
  RouteTable t;
  if (j.contains("group_wait_s")) {
    const Json& v = j["group_wait_s"];
    if (!v.is_number() || v.get<double>() < 0 || v.get<double>() > 600)
      return FieldError(root + ".group_wait_s", "expected a number of seconds between 0 and 600");
    t.group_wait_ms = std::llround(v.get<double>() * 1000.0);
  }
  if (j.contains("rate_limits")) {
    const Json& rl = j["rate_limits"];
    if (!rl.is_object()) return FieldError(root + ".rate_limits", "expected an object {channel: messages per second}");
    for (auto it = rl.begin(); it != rl.end(); ++it) {
      const std::string path = root + ".rate_limits." + it.key();
      auto c = ParseChannel(it.key());
      if (!c || *c == Channel::kEmail) return FieldError(path, "not a chat, paging or webhook channel");
      if (!it.value().is_number() || it.value().get<double>() < 0 || it.value().get<double>() > 1000)
        return FieldError(path, "expected messages per second between 0 (no limit) and 1000");
      t.per_second[*c] = it.value().get<double>();
    }
  }
  if (!j.contains("rules") || !j["rules"].is_array() || j["rules"].empty())
    return FieldError(root + ".rules", "expected a non-empty array of rules");
  const Json& rules = j["rules"];
  for (size_t i = 0; i < rules.size(); ++i) {
    const std::string path = root + ".rules[" + std::to_string(i) + "]";
    const Json& r = rules[i];
    if (!r.is_object()) return FieldError(path, "expected an object {name, match, channels, email, stop}");
    RouteRule rule;
    rule.name = r.value("name", "rule " + std::to_string(i));
    if (r.contains("match")) {
      const Json& m = r["match"];
      if (!m.is_object()) return FieldError(path + ".match", "expected an object {severity, service, team, stage}");
      for (auto it = m.begin(); it != m.end(); ++it) {
        const std::string mp = path + ".match." + it.key();
        Status s = Status::Ok();
        if (it.key() == "severity")
          s = ReadEnums(it.value(), mp, "severity", rule.match.severity);
        else if (it.key() == "stage")
          s = ReadEnums(it.value(), mp, "stage", rule.match.stage);
        else if (it.key() == "service")
          s = ReadStrings(it.value(), mp, rule.match.service);
        else if (it.key() == "team")
          s = ReadStrings(it.value(), mp, rule.match.team);
        else
          s = FieldError(mp, "unknown key (severity, service, team, stage)");
        if (!s.ok()) return s;
      }
    }
    if (!r.contains("channels")) return FieldError(path + ".channels", "missing (an empty list is a quiet rule)");
    std::vector<std::string> names;
    if (Status s = ReadStrings(r["channels"], path + ".channels", names); !s.ok()) return s;
    for (size_t k = 0; k < names.size(); ++k) {
      auto c = ParseChannel(names[k]);
      if (!c)
        return FieldError(path + ".channels[" + std::to_string(k) + "]",
                          "unknown channel \"" + names[k] + "\" (email, slack, teams, pagerduty, webhook)");
      rule.channels.push_back(*c);
    }
    if (r.contains("email")) {
      if (Status s = ReadStrings(r["email"], path + ".email", rule.email); !s.ok()) return s;
      for (size_t k = 0; k < rule.email.size(); ++k)
        if (!IsAudience(rule.email[k]) && rule.email[k].find('@') == std::string::npos)
          return FieldError(path + ".email[" + std::to_string(k) + "]",
                            "\"" + rule.email[k] + "\" is neither an address nor oncall, team, management, service-oncall");
    }
    if (r.contains("stop")) {
      if (!r["stop"].is_boolean()) return FieldError(path + ".stop", "expected true or false");
      rule.stop = r["stop"].get<bool>();
    }
    for (auto it = r.begin(); it != r.end(); ++it)
      if (it.key() != "name" && it.key() != "match" && it.key() != "channels" && it.key() != "email" &&
          it.key() != "stop" && it.key() != "comment")
        return FieldError(path + "." + it.key(), "unknown key (name, match, channels, email, stop, comment)");
    t.rules.push_back(std::move(rule));
  }
  return t;
}

Expected<RouteTable> LoadRoutes(const std::string& path) {
  auto j = ReadJsonFile(path);
  if (!j.ok()) return j.status();
  auto t = ParseRoutes(*j);
  if (!t.ok()) return Status::Invalid(path + ": " + t.status().message());
  return t;
}

std::string DefaultRoutesPath() { return RepoFile("infra/communication/routing.json"); }

}  // namespace sre::communication
