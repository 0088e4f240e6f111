#pragma once
// Executors carry out a remediation action (docs/architecture.md "Remediation actions"). One
// interface, three kinds, chosen per action in the policy file (REMEDIATION_POLICY):
//   simulator — POST <SIMULATOR_URL>/api/actions of sre-simulator (the demo's closed loop);
//   webhook   — a JSON POST to the user's runbook automation, with timeout and response check;
//   command   — a configured argv per action, run without a shell, placeholders filled only from
//               validated fields, allowlisted actions only, with a dry-run form of each command.
// Every call carries the action's id as its idempotency key. Execute() is thread-compatible (one
// runner thread calls it) and never throws.
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "shared/enums.h"
#include "shared/json_codec.h"
#include "shared/status.h"

namespace sre::remediation {

struct ActionRequest {
  std::string action_id;  // the idempotency key
  std::string incident_id;
  RemediationAction action = RemediationAction::ESCALATE;
  std::string service;
  // Validated string fields only (IsSafeParam): deployment_version, previous_version, team.
  std::map<std::string, std::string> params;
  bool undo = false;     // undo a reversible action whose verification failed
  bool dry_run = false;  // say what would run; change nothing
};

struct ExecResult {
  enum class Outcome {
    kSucceeded,  // the executor confirmed the action (or, dry run, what it would do)
    kFailed,     // the executor refused or reported failure: nothing (known) happened
    kUnknown     // no answer in time (timeout, connection dropped after sending): it may have run
  };
  Outcome outcome = Outcome::kFailed;
  std::string detail;                 // one line for the timeline: "HTTP 200", "exit 0", the error
  Json response = Json::object();     // what the executor answered (bounded), for the audit row
  std::vector<std::string> argv;      // command executor: the argv it ran, or would run
  bool ok() const { return outcome == Outcome::kSucceeded; }
};

class Executor {
 public:
  virtual ~Executor() = default;
  virtual std::string kind() const = 0;  // "simulator", "webhook", "command"
  // Whether this executor can carry out `action` at all (the command executor: an argv is
  // configured for it). An action it does not support is blocked before it is ever approved.
  virtual bool Supports(RemediationAction action) const = 0;
  virtual ExecResult Execute(const ActionRequest& request) = 0;
};

// True for a value that may fill a placeholder or travel as a parameter: 1–128 characters of
// [A-Za-z0-9._:/@+-], starting with a letter or digit (no spaces, quotes, shell text, or a
// leading '-' that a command would read as an option).
bool IsSafeParam(const std::string& value);

struct SimulatorExecutorConfig {
  std::string url = "http://localhost:8100";  // SIMULATOR_URL
  std::string token;                          // SIM_API_TOKEN, when the simulator has one
  std::chrono::milliseconds timeout{10000};
};
std::unique_ptr<Executor> MakeSimulatorExecutor(const SimulatorExecutorConfig& config);

struct WebhookExecutorConfig {
  std::string url;                     // http(s)://...
  std::string token;                   // optional: "Authorization: Bearer <token>"
  std::chrono::milliseconds timeout{10000};
  // The response check: a status in `accept_status`, and when `expect_field` is set, a JSON
  // body whose member `expect_field` equals `expect_value` (e.g. "status" == "ok").
  std::vector<int> accept_status{200, 201, 202, 204};
  std::string expect_field, expect_value;
};
// The webhook POSTs {"action_id", "idempotency_key", "incident_id", "action", "service",
// "params": {...}, "undo", "dry_run"} with the Idempotency-Key header. A dry run IS sent, with
// "dry_run": true: the receiver decides what a dry run means (and must change nothing).
// From the policy file's executor object ({"type": "webhook", "url", "token_env", "timeout_s",
// "accept_status", "expect": {"field", "value"}}); the error names the field ("<path>.url").
// token_env names the environment variable holding the token (unset: an error); a non-string
// expect.value is compared with the member's JSON text (true matches true). Unknown fields are
// errors.
Expected<WebhookExecutorConfig> ParseWebhookConfig(const Json& j, const std::string& path);
std::unique_ptr<Executor> MakeWebhookExecutor(const WebhookExecutorConfig& config);

struct CommandTemplate {
  std::vector<std::string> argv;          // e.g. {"kubectl", "-n", "{team}", "rollout", "undo", "deployment/{service}"}
  std::vector<std::string> dry_run_argv;  // the same with --dry-run=server; empty: not run in dry-run, only shown
  std::vector<std::string> undo_argv;     // empty: no undo
};
struct CommandExecutorConfig {
  std::map<RemediationAction, CommandTemplate> commands;  // the allowlist
  std::chrono::milliseconds timeout{60000};
  size_t max_output = 4096;  // bytes of stdout+stderr kept
};
// From {"type": "command", "timeout_s", "commands": {"rollback": {"argv": [...], "dry_run_argv":
// [...], "undo_argv": [...]}}}. Placeholders: {service}, {action}, {incident_id}, {action_id}
// and the request's params ({deployment_version}, {previous_version}, {team}); an unknown
// placeholder or an action outside the vocabulary is an error naming the field. "{{" and "}}"
// are literal braces. argv[0] is neither a placeholder nor a shell or launcher (sh, bash, env,
// busybox, ...). Unknown fields are errors.
Expected<CommandExecutorConfig> ParseCommandConfig(const Json& j, const std::string& path);
std::unique_ptr<Executor> MakeCommandExecutor(const CommandExecutorConfig& config);

}  // namespace sre::remediation
