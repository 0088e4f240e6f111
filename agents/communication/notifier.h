#pragma once
// The communication core: who gets which email, its subject, its deterministic Message-ID, the
// view model each template renders, Markdown → safe HTML, and the MIME message. Pure: templates
// are passed in as text; nothing here sends or reads anything.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "shared/messages.h"

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
Email PlanEmail(const RemediationPlan& p, Severity severity, const std::string& service, AnomalyType type,
                const std::string& dashboard_url);
struct TimelineLine {
  std::string time, line;
};
Email ResolvedEmail(const IncidentResolved& r, Severity severity, const std::string& service, AnomalyType type,
                    const std::vector<TimelineLine>& timeline, const std::string& root_cause,
                    const std::string& dashboard_url);
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
Expected<Rendered> Render(const Templates& t, const Email& email);

// An RFC 5322 multipart/alternative message (text, then HTML), UTF-8, base64 bodies.
std::string ComposeMime(const std::string& from, const std::vector<std::string>& to, const Email& email,
                        const Rendered& body, int64_t date_ms);

}  // namespace sre::communication
