#pragma once
// The communication core: who gets which email, its subject, its deterministic Message-ID, the
// view model each template renders, Markdown → safe HTML, the MIME message, and when to speak
// about an SMTP outage. Pure: templates are passed in as text, time is passed in; nothing here
// sends or reads anything.
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agents/postmortem/writer.h"
#include "shared/messages.h"
#include "shared/remediation_actions.h"

namespace sre::communication {

struct Routing {
  std::string from = "sre-agent@example.com";
  std::vector<std::string> oncall = {"oncall@example.com"};
  std::vector<std::string> team = {"sre-team@example.com"};
  std::vector<std::string> management = {"engineering-managers@example.com"};
};

// CRITICAL → on-call, team and management; HIGH → on-call and team; MEDIUM/LOW → team;
// resolution and postmortem → all three. De-duplicated, in that order.
std::vector<std::string> Recipients(NotificationType type, Severity severity, const Routing& routing);

// "<incident uuid>.<type lower-case>@sre-pipeline": the same for every attempt and redelivery.
std::string MessageId(const std::string& incident_id, NotificationType type);

struct Email {
  NotificationType type = NotificationType::INCIDENT_ALERT;
  std::string incident_id;
  Severity severity = Severity::LOW;
  std::string subject;
  Json view;  // the template's data
};

// Subjects carry the incident number; the RCA subject carries the confidence.
Email AlertEmail(const AnomalyDetected& a, const std::string& dashboard_url);
Email RcaEmail(const RcaCompleted& r, Severity severity, const std::string& service, AnomalyType type,
               const std::string& dashboard_url);
// The plan's guarded actions (`p.actions`, when present) are listed with what happens to each
// (PlannedActionStatus); approving happens on the incident page only: the email carries the page's
// link, never a link that decides (mail scanners follow links). `recorded`: the incident's
// remediation_actions rows (ListActions), for what the plan message does not carry (the mode,
// the approval deadline); empty when unknown.
Email PlanEmail(const RemediationPlan& p, Severity severity, const std::string& service, AnomalyType type,
                const std::string& dashboard_url, const std::vector<ActionRecord>& recorded = {});
// What happens to a planned action, for the plan email: "will run automatically", "awaiting
// approval — approve or reject it on the incident page", "blocked: <reason>", "dry run: ...".
// `recorded`: its row, when known (a dry run is APPROVED with mode dry-run).
std::string PlannedActionStatus(const PlannedAction& a, const ActionRecord* recorded = nullptr);
struct TimelineLine {
  std::string time, line;
};
// `cascade`: the incidents of its cascade (postmortem::LoadCascade), empty when it stands alone.
// `actions`: its remediation actions (ListActions) for the "Automated actions" section: what ran,
// whether it was verified, what failed, was undone or escalated; none: no section.
Email ResolvedEmail(const IncidentResolved& r, Severity severity, const std::string& service, AnomalyType type,
                    const std::vector<TimelineLine>& timeline, const std::string& root_cause,
                    const std::vector<postmortem::CascadeMember>& cascade, const std::string& dashboard_url,
                    const std::vector<ActionRecord>& actions = {});
Email PostmortemEmail(const PostmortemGenerated& p, Severity severity, const std::string& service, AnomalyType type,
                      const std::string& dashboard_url);

// HTML-escapes & < > " '.
std::string EscapeHtml(const std::string& s);
// A small Markdown subset (headings, paragraphs, bullet lists, tables, *emphasis*, `code`) to
// HTML with inline styles. Every piece of text is escaped first, so the output is safe to embed.
std::string MarkdownToHtml(const std::string& markdown);

struct Templates {
  std::string layout_html;
  std::map<NotificationType, std::pair<std::string, std::string>> stage;  // html, text
};
// Loads <dir>/layout.html.mustache and <stage>.{html,txt}.mustache for the five stages.
Expected<Templates> LoadTemplates(const std::string& dir);
std::string DefaultTemplatesDir();

struct Rendered {
  std::string html, text;
};
// Renders the stage templates (HTML escaped, text not) and wraps the HTML in the layout.
// `sent_ms` (wall clock) is the "sent at" of the footer: the time of this attempt.
Expected<Rendered> Render(const Templates& t, const Email& email, int64_t sent_ms);

// An RFC 5322 multipart/alternative message (text, then HTML), UTF-8, base64 bodies. `date_ms`
// is the Date header: the wall-clock time of the attempt, as for "sent at". Every stage after the
// alert carries In-Reply-To and References naming the alert's Message-ID, so an incident's five
// emails are one thread in mail clients.
std::string ComposeMime(const std::string& from, const std::vector<std::string>& to, const Email& email,
                        const Rendered& body, int64_t date_ms);

// When to log about SMTP failures that hold emails back: at the first failed attempt, then at
// most once per `every` while they last (and when the reason changes), and once when the server
// answers again. Not thread-safe.
class OutageLog {
 public:
  using Clock = std::chrono::steady_clock;
  explicit OutageLog(std::chrono::milliseconds every = std::chrono::minutes(1)) : every_(every) {}
  enum class Say { kNothing, kStarted, kContinues, kOver };
  // A failed attempt, with its reason (sre_smtp_failures_total's label).
  Say Failed(const std::string& reason, Clock::time_point now);
  // An attempt the server answered: the message was taken or refused for good.
  Say Answered(Clock::time_point now);
  bool ongoing() const { return failures_ > 0; }
  // Failed attempts of the current (or, after kOver, the last) outage, and its length.
  int failures() const { return failures_ ? failures_ : last_failures_; }
  Clock::duration duration(Clock::time_point now) const { return now - since_; }

 private:
  std::chrono::milliseconds every_;
  int failures_ = 0, last_failures_ = 0;
  std::string reason_;
  Clock::time_point since_, said_;
};

}  // namespace sre::communication
