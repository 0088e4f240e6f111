#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <set>
#include <string_view>
#include <utility>

#include "agents/remediation/executor.h"
#include "shared/llm/transport.h"
#include "shared/text.h"

namespace sre::remediation {
namespace {

using Outcome = ExecResult::Outcome;
using Clock = std::chrono::steady_clock;

// The most text of an answer kept in ExecResult::response (the audit row).
constexpr size_t kMaxResponseText = 4096;
// The longest `detail` (one timeline line).
constexpr size_t kMaxDetail = 300;
// After SIGTERM to a command's process group, how long it has before SIGKILL.
constexpr std::chrono::milliseconds kTermGrace{2000};
// How often a running command is checked for exit while its output is quiet.
constexpr int kPollStepMs = 20;

ExecResult Result(Outcome outcome, std::string detail) {
  ExecResult r;
  r.outcome = outcome;
  r.detail = std::move(detail);
  return r;
}

// `s` as one bounded line of valid UTF-8: control characters become spaces, ends trimmed.
std::string OneLine(std::string_view s, size_t max_bytes = kMaxDetail) {
  std::string out = SanitizeUtf8(s);
  for (char& c : out) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) c = ' ';
  }
  auto b = out.find_first_not_of(' ');
  if (b == std::string::npos) return "";
  out = out.substr(b, out.find_last_not_of(' ') - b + 1);
  return TruncateUtf8(out, max_bytes);
}

// The first line of `s` that is not blank, as OneLine.
std::string FirstLine(std::string_view s, size_t max_bytes = 200) {
  size_t pos = 0;
  while (pos <= s.size()) {
    size_t end = s.find('\n', pos);
    if (end == std::string_view::npos) end = s.size();
    std::string line = OneLine(s.substr(pos, end - pos), max_bytes);
    if (!line.empty()) return line;
    pos = end + 1;
  }
  return "";
}

// An HTTP answer for the audit row: the JSON object when the body is one (and its text fits in
// kMaxResponseText), else {"text": <at most kMaxResponseText bytes>, "truncated": bool}.
Json BoundedResponse(const std::string& body) {
  if (body.empty()) return Json::object();
  if (body.size() <= kMaxResponseText) {
    if (auto j = ParseJsonObject(body); j.ok()) return *j;
  }
  Json out = {{"text", TruncateUtf8(SanitizeUtf8(body), kMaxResponseText, /*ellipsis=*/false)}};
  if (body.size() > kMaxResponseText) out["truncated"] = true;
  return out;
}

// A value fit for an HTTP header: printable ASCII without CR/LF (no header injection).
bool HeaderSafe(const std::string& v) {
  return std::all_of(v.begin(), v.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u >= 0x20 && u < 0x7f;
  });
}

bool HttpUrl(const std::string& url) {
  auto rest = [&](std::string_view scheme) {
    return url.rfind(scheme, 0) == 0 && url.size() > scheme.size();
  };
  return (rest("http://") || rest("https://")) && HeaderSafe(url) &&
         url.find(' ') == std::string::npos;
}

std::string TimeoutText(std::chrono::milliseconds t) { return std::to_string(t.count()) + " ms"; }

// The headers both HTTP executors send.
llm::wire::Headers RequestHeaders(const std::string& action_id, const std::string& token) {
  llm::wire::Headers h = {{"Content-Type", "application/json"},
                          {"Accept", "application/json"},
                          {"Idempotency-Key", action_id}};
  if (!token.empty()) h.emplace_back("Authorization", "Bearer " + token);
  return h;
}

// The checks both HTTP executors make before sending: nothing is sent when one fails.
std::optional<ExecResult> RefuseHttp(const ActionRequest& request, const std::string& url,
                                     const std::string& token) {
  if (request.action == RemediationAction::ESCALATE)
    return Result(Outcome::kFailed, "not supported: escalate is for a person, not an executor");
  if (!IsSafeParam(request.action_id))
    return Result(Outcome::kFailed, "unsafe action_id (the idempotency key)");
  if (!HttpUrl(url)) return Result(Outcome::kFailed, "invalid url: " + OneLine(url, 200));
  if (!HeaderSafe(token)) return Result(Outcome::kFailed, "the token holds characters a header cannot");
  return std::nullopt;
}

// What a transport error means for the action: nothing was sent when the connection could not
// be made; after a timeout or a dropped connection the receiver may have acted.
ExecResult TransportFailure(const llm::HttpResult& r, const std::string& url,
                            std::chrono::milliseconds timeout) {
  switch (r.error) {
    case llm::HttpResult::Error::kConnect:
      return Result(Outcome::kFailed, "cannot connect to " + url + ": " + OneLine(r.error_text));
    case llm::HttpResult::Error::kTimeout:
      return Result(Outcome::kUnknown,
                    "no answer from " + url + " within " + TimeoutText(timeout) + ": it may have run");
    default:
      return Result(Outcome::kUnknown,
                    "exchange with " + url + " failed: " + OneLine(r.error_text) + ": it may have run");
  }
}

// "HTTP 400: <the body's error, or its first line>".
std::string StatusDetail(long status, const std::string& body, const Json& response) {
  std::string detail = "HTTP " + std::to_string(status);
  std::string why;
  if (auto it = response.find("error"); response.is_object() && it != response.end() && !it->is_null()) {
    why = it->is_string() ? it->get<std::string>() : Dump(*it);
  } else {
    why = FirstLine(body);
  }
  why = OneLine(why, 200);
  if (!why.empty()) detail += ": " + why;
  return detail;
}

// ---------------------------------------------------------------------------------------------
// simulator

class SimulatorExecutor final : public Executor {
 public:
  explicit SimulatorExecutor(SimulatorExecutorConfig config)
      : config_(std::move(config)), transport_(llm::MakeCurlTransport()) {
    while (!config_.url.empty() && config_.url.back() == '/') config_.url.pop_back();
  }
  std::string kind() const override { return "simulator"; }
  bool Supports(RemediationAction action) const override {
    return action != RemediationAction::ESCALATE;
  }

  ExecResult Execute(const ActionRequest& request) override {
    try {
      return Run(request);
    } catch (const std::exception& e) {
      return Result(Outcome::kUnknown, "internal error: " + OneLine(e.what()));
    }
  }

 private:
  ExecResult Run(const ActionRequest& request) {
    const std::string url = config_.url + "/api/actions";
    if (auto refused = RefuseHttp(request, url, config_.token)) return *refused;
    Json body = {{"action", std::string(ToString(request.action))},
                 {"service", request.service},
                 {"undo", request.undo},
                 {"idempotency_key", request.action_id}};
    if (auto it = request.params.find("deployment_version"); it != request.params.end())
      body["deployment_version"] = it->second;
    std::string text = Dump(body);
    if (request.dry_run) {
      ExecResult r = Result(Outcome::kSucceeded, "dry run: would POST " + url + " " + text);
      r.response = {{"dry_run", true}, {"url", url}, {"request", body}};
      return r;
    }
    llm::HttpResult http = transport_->Post(url, RequestHeaders(request.action_id, config_.token),
                                            text, config_.timeout);
    if (http.error != llm::HttpResult::Error::kNone)
      return TransportFailure(http, url, config_.timeout);
    ExecResult r;
    r.response = BoundedResponse(http.body);
    if (http.status >= 200 && http.status < 300) {
      r.outcome = Outcome::kSucceeded;
      r.detail = "HTTP " + std::to_string(http.status);
      if (auto it = r.response.find("matched"); it != r.response.end() && it->is_boolean())
        r.detail += it->get<bool>() ? ": matched" : ": no effect";
      return r;
    }
    // 3xx (not followed), 4xx (refused), 5xx (failed): the simulator did not apply it.
    r.outcome = Outcome::kFailed;
    r.detail = StatusDetail(http.status, http.body, r.response);
    return r;
  }

  SimulatorExecutorConfig config_;
  std::unique_ptr<llm::Transport> transport_;
};

// ---------------------------------------------------------------------------------------------
// webhook

class WebhookExecutor final : public Executor {
 public:
  explicit WebhookExecutor(WebhookExecutorConfig config)
      : config_(std::move(config)), transport_(llm::MakeCurlTransport()) {}
  std::string kind() const override { return "webhook"; }
  bool Supports(RemediationAction action) const override {
    return action != RemediationAction::ESCALATE;
  }

  ExecResult Execute(const ActionRequest& request) override {
    try {
      return Run(request);
    } catch (const std::exception& e) {
      return Result(Outcome::kUnknown, "internal error: " + OneLine(e.what()));
    }
  }

 private:
  ExecResult Run(const ActionRequest& request) {
    if (auto refused = RefuseHttp(request, config_.url, config_.token)) return *refused;
    Json params = Json::object();
    for (const auto& [k, v] : request.params) params[k] = v;
    Json body = {{"action_id", request.action_id},
                 {"idempotency_key", request.action_id},
                 {"incident_id", request.incident_id},
                 {"action", std::string(ToString(request.action))},
                 {"service", request.service},
                 {"params", params},
                 {"undo", request.undo},
                 {"dry_run", request.dry_run}};
    // A dry run is sent too, with "dry_run": true: the receiver decides what a dry run means.
    llm::HttpResult http = transport_->Post(
        config_.url, RequestHeaders(request.action_id, config_.token), Dump(body), config_.timeout);
    ExecResult r = Check(http);
    if (request.dry_run) r.detail = "dry run: " + r.detail;
    return r;
  }

  ExecResult Check(const llm::HttpResult& http) const {
    if (http.error != llm::HttpResult::Error::kNone)
      return TransportFailure(http, config_.url, config_.timeout);
    ExecResult r;
    r.response = BoundedResponse(http.body);
    r.outcome = Outcome::kFailed;
    const auto& accept = config_.accept_status;
    if (std::find(accept.begin(), accept.end(), http.status) == accept.end()) {
      r.detail = StatusDetail(http.status, http.body, r.response);
      if (http.status < 400) r.detail += " (status not accepted)";
      return r;
    }
    r.detail = "HTTP " + std::to_string(http.status);
    if (!config_.expect_field.empty()) {
      auto j = ParseJsonObject(http.body);
      if (!j.ok()) {
        r.detail += ": expected a JSON object with \"" + config_.expect_field + "\"";
        return r;
      }
      auto it = j->find(config_.expect_field);
      if (it == j->end()) {
        r.detail += ": \"" + config_.expect_field + "\" is missing";
        return r;
      }
      std::string got = it->is_string() ? it->get<std::string>() : Dump(*it);
      if (got != config_.expect_value) {
        r.detail += ": \"" + config_.expect_field + "\" is \"" + OneLine(got, 100) +
                    "\", expected \"" + config_.expect_value + "\"";
        return r;
      }
      r.detail += ": " + config_.expect_field + "=" + config_.expect_value;
    }
    r.outcome = Outcome::kSucceeded;
    return r;
  }

  WebhookExecutorConfig config_;
  std::unique_ptr<llm::Transport> transport_;
};

// ---------------------------------------------------------------------------------------------
// command

// Placeholders a template may name: the request's own fields and the params the runner fills.
const std::set<std::string, std::less<>>& KnownPlaceholders() {
  static const std::set<std::string, std::less<>> names = {
      "service", "action", "incident_id", "action_id", "deployment_version", "previous_version", "team"};
  return names;
}

// Programs that would read an argument as shell text (or run another program from one).
bool IsShell(std::string_view program) {
  static const std::set<std::string_view> shells = {"sh",   "bash", "dash", "zsh",  "ksh",   "csh",
                                                    "tcsh", "fish", "ash",  "mksh", "rbash", "yash",
                                                    "pwsh", "busybox", "env"};
  auto slash = program.rfind('/');
  if (slash != std::string_view::npos) program.remove_prefix(slash + 1);
  return shells.count(program) > 0;
}

// One argument of a template, split into literal text and placeholders. "{name}" is a
// placeholder ([A-Za-z0-9_]+); "{{" and "}}" are a literal brace; any other brace is an error.
struct Piece {
  bool placeholder = false;
  std::string text;  // the literal text, or the placeholder's name
};

Expected<std::vector<Piece>> SplitTemplate(std::string_view arg) {
  std::vector<Piece> pieces;
  std::string literal;
  auto flush = [&] {
    if (!literal.empty()) pieces.push_back({false, std::exchange(literal, {})});
  };
  for (size_t i = 0; i < arg.size(); ++i) {
    char c = arg[i];
    if (c == '\0') return Status::Invalid("contains a NUL character");
    if (c == '}') {
      if (i + 1 < arg.size() && arg[i + 1] == '}') {
        literal += '}';
        ++i;
        continue;
      }
      return Status::Invalid("'}' without '{' (write '}}' for a literal brace)");
    }
    if (c != '{') {
      literal += c;
      continue;
    }
    if (i + 1 < arg.size() && arg[i + 1] == '{') {
      literal += '{';
      ++i;
      continue;
    }
    size_t close = arg.find('}', i + 1);
    if (close == std::string_view::npos)
      return Status::Invalid("unclosed '{' (write '{{' for a literal brace)");
    std::string_view name = arg.substr(i + 1, close - i - 1);
    bool word = !name.empty() && std::all_of(name.begin(), name.end(), [](char ch) {
      return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_';
    });
    if (!word)
      return Status::Invalid("'{" + OneLine(name, 60) +
                             "}' is not a placeholder (write '{{' for a literal brace)");
    flush();
    pieces.push_back({true, std::string(name)});
    i = close;
  }
  flush();
  return pieces;
}

// Empty when `argv` is a valid template; else what is wrong, prefixed by the element
// ("[2]: unknown placeholder {foo} ...") so a caller can put its path in front.
std::string ValidateArgv(const std::vector<std::string>& argv) {
  if (argv.empty()) return ": must be a non-empty array of strings";
  for (size_t i = 0; i < argv.size(); ++i) {
    std::string at = "[" + std::to_string(i) + "]";
    auto pieces = SplitTemplate(argv[i]);
    if (!pieces.ok()) return at + ": " + pieces.status().message();
    for (const Piece& p : *pieces) {
      if (!p.placeholder) continue;
      if (i == 0) return at + ": the program cannot be a placeholder";
      if (!KnownPlaceholders().count(p.text)) {
        std::string known;
        for (const auto& n : KnownPlaceholders()) known += (known.empty() ? "{" : ", {") + n + "}";
        return at + ": unknown placeholder {" + p.text + "} (known: " + known + ")";
      }
    }
  }
  if (argv[0].empty()) return "[0]: the program is empty";
  if (IsShell(argv[0]))
    return "[0]: \"" + argv[0] +
           "\" is a shell or a launcher; commands run without a shell: name the program itself";
  return "";
}

// `tmpl` with every placeholder filled; on failure, the error ("unsafe value for {service}").
Expected<std::vector<std::string>> Substitute(const std::vector<std::string>& tmpl,
                                              const ActionRequest& request) {
  auto lookup = [&](const std::string& name) -> const std::string* {
    if (name == "service") return &request.service;
    if (name == "incident_id") return &request.incident_id;
    if (name == "action_id") return &request.action_id;
    auto it = request.params.find(name);
    return it == request.params.end() ? nullptr : &it->second;
  };
  const std::string action(ToString(request.action));
  std::vector<std::string> out;
  for (const std::string& arg : tmpl) {
    auto pieces = SplitTemplate(arg);
    if (!pieces.ok()) return Status::Invalid("invalid command template: " + pieces.status().message());
    std::string filled;
    for (const Piece& p : *pieces) {
      if (!p.placeholder) {
        filled += p.text;
        continue;
      }
      const std::string* value = p.text == "action" ? &action : lookup(p.text);
      if (value == nullptr) return Status::Invalid("no value for {" + p.text + "}");
      if (!IsSafeParam(*value)) return Status::Invalid("unsafe value for {" + p.text + "}");
      filled += *value;
    }
    out.push_back(std::move(filled));
  }
  return out;
}

// "a b 'c d'" for the timeline: each argument quoted when it holds anything but safe text.
std::string ShowArgv(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) {
    if (!out.empty()) out += ' ';
    bool plain = !a.empty() && std::all_of(a.begin(), a.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || std::strchr("._:/@+-=,", c) != nullptr;
    });
    out += plain ? a : "'" + a + "'";
  }
  return OneLine(out, 1000);
}

struct RunResult {
  int spawn_error = 0;       // errno of posix_spawnp (or pipe2): the command never started
  bool timed_out = false;    // killed after the timeout
  bool status_lost = false;  // someone else reaped the child (SIGCHLD ignored): exit unknown
  bool exited = false;
  int exit_code = 0;
  int signal = 0;  // when killed by a signal
  std::string output;  // stdout and stderr, the first max_output bytes
  bool truncated = false;
};

// Whether `pid` has exited, without reaping it (so its process group id stays reserved).
// -1: it cannot be waited for (ECHILD).
int HasExited(pid_t pid) {
  while (true) {
    siginfo_t info;
    std::memset(&info, 0, sizeof info);
    if (waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0)
      return info.si_pid == pid ? 1 : 0;
    if (errno != EINTR) return -1;
  }
}

class OutputReader {
 public:
  OutputReader(int fd, size_t max) : fd_(fd), max_(max) {}
  bool eof() const { return eof_; }
  // Reads what is available; waits at most `wait_ms` for something to arrive.
  void Pump(int wait_ms, RunResult& r) {
    if (eof_) return;
    pollfd p{fd_, POLLIN, 0};
    int n = poll(&p, 1, wait_ms);
    if (n <= 0) return;  // nothing yet, or EINTR: the caller loops
    Drain(r);
  }
  // Reads until the pipe is empty (non-blocking) or closed, or kMaxDrain bytes were read: a
  // writer as fast as the reader must not keep the caller from its deadline.
  void Drain(RunResult& r) {
    constexpr size_t kMaxDrain = 1 << 20;
    char buf[4096];
    for (size_t total = 0; !eof_ && total < kMaxDrain;) {
      ssize_t n = read(fd_, buf, sizeof buf);
      if (n > 0) {
        size_t got = static_cast<size_t>(n);
        total += got;
        size_t keep = r.output.size() < max_ ? std::min(got, max_ - r.output.size()) : 0;
        r.output.append(buf, keep);
        if (keep < got) r.truncated = true;
      } else if (n == 0) {
        eof_ = true;
      } else if (errno != EINTR) {
        return;  // EAGAIN: empty for now
      }
    }
  }

 private:
  int fd_;
  size_t max_;
  bool eof_ = false;
};

// Runs `argv` (no shell) in a process group of its own with stdin from /dev/null, stdout and
// stderr into one pipe, no other descriptor, an empty signal mask and default signal actions.
// On timeout: SIGTERM to the group, SIGKILL kTermGrace later.
RunResult RunProcess(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                     size_t max_output) {
  RunResult r;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    r.spawn_error = errno;
    return r;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);  // any descriptor opened without O_CLOEXEC
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t empty, all;
  sigemptyset(&empty);
  sigfillset(&all);
  sigdelset(&all, SIGKILL);
  sigdelset(&all, SIGSTOP);
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setsigdefault(&attr, &all);  // an ignored SIGPIPE would be inherited otherwise
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                      POSIX_SPAWN_SETSIGDEF);
  std::vector<char*> cargv;
  cargv.reserve(argv.size() + 1);
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, cargv[0], &actions, &attr, cargv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    r.spawn_error = rc;
    return r;
  }
  fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK);
  OutputReader reader(fds[0], max_output);

  // Waits for the child to exit until `until`, reading its output meanwhile. 1 exited, 0 still
  // running at `until`, -1 cannot be waited for.
  auto wait_until = [&](Clock::time_point until) {
    while (true) {
      int exited = HasExited(pid);
      if (exited != 0) return exited;
      auto now = Clock::now();
      if (now >= until) return 0;
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - now).count();
      int step = static_cast<int>(std::min<long long>(std::max<long long>(left, 1), kPollStepMs));
      if (reader.eof()) {
        poll(nullptr, 0, step);
      } else {
        reader.Pump(step, r);
      }
    }
  };

  int state = wait_until(Clock::now() + timeout);
  if (state == 0) {
    r.timed_out = true;
    kill(-pid, SIGTERM);
    state = wait_until(Clock::now() + kTermGrace);
  }
  if (state >= 0) {
    // The leader is not reaped yet, so `pid` still names its group: after a timeout, whatever
    // of the group survived SIGTERM (or ignored it) is killed.
    if (r.timed_out) kill(-pid, SIGKILL);
    int status = 0;
    pid_t w;
    do {
      w = waitpid(pid, &status, 0);
    } while (w < 0 && errno == EINTR);
    if (w == pid && !r.timed_out) {
      if (WIFEXITED(status)) {
        r.exited = true;
        r.exit_code = WEXITSTATUS(status);
      } else if (WIFSIGNALED(status)) {
        r.signal = WTERMSIG(status);
      }
    } else if (w != pid) {
      r.status_lost = true;
    }
  } else {
    r.status_lost = true;
  }
  // What the command wrote before it exited is in the pipe; a straggler that keeps the pipe
  // open (a daemonised grandchild) is not waited for.
  reader.Drain(r);
  close(fds[0]);
  return r;
}

class CommandExecutor final : public Executor {
 public:
  explicit CommandExecutor(CommandExecutorConfig config) : config_(std::move(config)) {
    for (const auto& [action, tmpl] : config_.commands) {
      std::string error;
      if (action == RemediationAction::ESCALATE) error = "escalate is for a person, not a command";
      if (error.empty()) {
        if (auto e = ValidateArgv(tmpl.argv); !e.empty()) error = "argv" + e;
      }
      if (error.empty() && !tmpl.dry_run_argv.empty()) {
        if (auto e = ValidateArgv(tmpl.dry_run_argv); !e.empty()) error = "dry_run_argv" + e;
      }
      if (error.empty() && !tmpl.undo_argv.empty()) {
        if (auto e = ValidateArgv(tmpl.undo_argv); !e.empty()) error = "undo_argv" + e;
      }
      if (!error.empty()) invalid_[action] = error;
    }
  }
  std::string kind() const override { return "command"; }
  bool Supports(RemediationAction action) const override {
    return config_.commands.count(action) > 0 && invalid_.count(action) == 0;
  }

  ExecResult Execute(const ActionRequest& request) override {
    try {
      return Run(request);
    } catch (const std::exception& e) {
      return Result(Outcome::kUnknown, "internal error: " + OneLine(e.what()));
    }
  }

 private:
  ExecResult Run(const ActionRequest& request) {
    const std::string action(ToString(request.action));
    auto it = config_.commands.find(request.action);
    if (it == config_.commands.end() || request.action == RemediationAction::ESCALATE)
      return Result(Outcome::kFailed, "not allowlisted: no command is configured for " + action);
    if (auto bad = invalid_.find(request.action); bad != invalid_.end())
      return Result(Outcome::kFailed, "invalid command template for " + action + ": " + bad->second);
    const CommandTemplate& tmpl = it->second;
    if (request.undo && tmpl.undo_argv.empty())
      return Result(Outcome::kFailed, "no undo command for " + action);
    const auto& main_form = request.undo ? tmpl.undo_argv : tmpl.argv;
    auto argv = Substitute(main_form, request);
    if (!argv.ok()) return Result(Outcome::kFailed, argv.status().message());

    const bool run_dry_form = request.dry_run && !request.undo && !tmpl.dry_run_argv.empty();
    if (request.dry_run && !run_dry_form) {
      ExecResult r = Result(Outcome::kSucceeded, "dry run: would run: " + ShowArgv(*argv));
      r.argv = std::move(*argv);
      r.response = {{"dry_run", true}};
      return r;
    }
    if (run_dry_form) {
      argv = Substitute(tmpl.dry_run_argv, request);
      if (!argv.ok()) return Result(Outcome::kFailed, argv.status().message());
    }
    ExecResult r = Launch(*argv);
    r.argv = std::move(*argv);
    if (run_dry_form) {
      r.detail = "dry run: " + r.detail;
      r.response["dry_run"] = true;
    }
    return r;
  }

  ExecResult Launch(const std::vector<std::string>& argv) const {
    RunResult run = RunProcess(argv, config_.timeout, config_.max_output);
    ExecResult r;
    if (run.spawn_error != 0)
      return Result(Outcome::kFailed, "cannot run " + OneLine(argv[0], 200) + ": " +
                                          std::strerror(run.spawn_error));
    std::string output = SanitizeUtf8(run.output);
    r.response = {{"output", output}};
    if (run.truncated) r.response["truncated"] = true;
    std::string first = FirstLine(output);
    auto with_output = [&](std::string d) { return first.empty() ? d : d + ": " + first; };
    if (run.timed_out) {
      r.outcome = Outcome::kUnknown;
      r.detail = with_output("no exit within " + TimeoutText(config_.timeout) +
                             ": killed, it may have run");
      r.response["timed_out"] = true;
    } else if (run.status_lost) {
      r.outcome = Outcome::kUnknown;
      r.detail = "exit status lost (the child was reaped elsewhere): it may have run";
    } else if (run.exited) {
      r.response["exit_code"] = run.exit_code;
      r.outcome = run.exit_code == 0 ? Outcome::kSucceeded : Outcome::kFailed;
      r.detail = run.exit_code == 0 ? "exit 0" : with_output("exit " + std::to_string(run.exit_code));
    } else {
      r.response["signal"] = run.signal;
      r.outcome = Outcome::kFailed;
      r.detail = with_output("killed by signal " + std::to_string(run.signal));
    }
    return r;
  }

  CommandExecutorConfig config_;
  std::map<RemediationAction, std::string> invalid_;  // templates that failed validation
};

// ---------------------------------------------------------------------------------------------
// configuration

Status ConfigError(const std::string& path, const std::string& what) {
  return Status::Invalid(path + ": " + what);
}

// Every key of `j` is in `allowed`; else an error naming the first other one.
std::optional<Status> UnknownField(const Json& j, const std::string& path,
                                   std::initializer_list<std::string_view> allowed) {
  for (const auto& [key, value] : j.items()) {
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end())
      return ConfigError(path + "." + key, "unknown field");
  }
  return std::nullopt;
}

// An optional "type" member equal to `type`.
std::optional<Status> CheckType(const Json& j, const std::string& path, const std::string& type) {
  auto it = j.find("type");
  if (it == j.end()) return std::nullopt;
  if (!it->is_string() || it->get<std::string>() != type)
    return ConfigError(path + ".type", "expected \"" + type + "\", got " + OneLine(Dump(*it), 60));
  return std::nullopt;
}

// An optional "timeout_s" in [lo, hi] seconds into `out`.
std::optional<Status> ReadTimeout(const Json& j, const std::string& path, double lo, double hi,
                                  std::chrono::milliseconds& out) {
  auto it = j.find("timeout_s");
  if (it == j.end()) return std::nullopt;
  const std::string at = path + ".timeout_s";
  if (!it->is_number()) return ConfigError(at, "expected a number of seconds, got " + codec::TypeName(*it));
  double s = it->get<double>();
  if (!(s >= lo && s <= hi))
    return ConfigError(at, OneLine(Dump(*it), 40) + " is outside [" + std::to_string(static_cast<int>(lo)) +
                               ", " + std::to_string(static_cast<int>(hi)) + "]");
  out = std::chrono::milliseconds(static_cast<int64_t>(s * 1000.0 + 0.5));
  return std::nullopt;
}

// An array of strings (each free of NUL) at `path`.
Expected<std::vector<std::string>> ReadArgv(const Json& j, const std::string& path) {
  if (!j.is_array() || j.empty())
    return ConfigError(path, "must be a non-empty array of strings");
  std::vector<std::string> out;
  for (size_t i = 0; i < j.size(); ++i) {
    if (!j[i].is_string())
      return ConfigError(path + "[" + std::to_string(i) + "]",
                         "expected a string, got " + codec::TypeName(j[i]));
    out.push_back(j[i].get<std::string>());
  }
  if (auto e = ValidateArgv(out); !e.empty()) return Status::Invalid(path + e);
  return out;
}

}  // namespace

bool IsSafeParam(const std::string& value) {
  if (value.empty() || value.size() > 128) return false;
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  if (!alnum(value[0])) return false;
  return std::all_of(value.begin(), value.end(), [&](char c) {
    return alnum(c) || c == '.' || c == '_' || c == ':' || c == '/' || c == '@' || c == '+' ||
           c == '-';
  });
}

std::unique_ptr<Executor> MakeSimulatorExecutor(const SimulatorExecutorConfig& config) {
  return std::make_unique<SimulatorExecutor>(config);
}

std::unique_ptr<Executor> MakeWebhookExecutor(const WebhookExecutorConfig& config) {
  return std::make_unique<WebhookExecutor>(config);
}

std::unique_ptr<Executor> MakeCommandExecutor(const CommandExecutorConfig& config) {
  return std::make_unique<CommandExecutor>(config);
}

Expected<WebhookExecutorConfig> ParseWebhookConfig(const Json& j, const std::string& path) {
  if (!j.is_object()) return ConfigError(path, "expected an object, got " + codec::TypeName(j));
  if (auto e = UnknownField(j, path, {"type", "url", "token_env", "timeout_s", "accept_status", "expect"}))
    return *e;
  if (auto e = CheckType(j, path, "webhook")) return *e;
  WebhookExecutorConfig c;

  auto url = j.find("url");
  if (url == j.end()) return ConfigError(path + ".url", "missing required field");
  if (!url->is_string() || !HttpUrl(url->get<std::string>()))
    return ConfigError(path + ".url", "must be an http:// or https:// URL");
  c.url = url->get<std::string>();

  if (auto t = j.find("token_env"); t != j.end()) {
    if (!t->is_string() || t->get<std::string>().empty())
      return ConfigError(path + ".token_env", "must be the name of an environment variable");
    const std::string name = t->get<std::string>();
    const char* value = std::getenv(name.c_str());
    if (value == nullptr || *value == '\0')
      return ConfigError(path + ".token_env", "environment variable " + OneLine(name, 100) + " is not set");
    c.token = value;
    if (!HeaderSafe(c.token))
      return ConfigError(path + ".token_env",
                         "environment variable " + OneLine(name, 100) + " holds characters a header cannot");
  }

  if (auto e = ReadTimeout(j, path, 1, 300, c.timeout)) return *e;

  if (auto a = j.find("accept_status"); a != j.end()) {
    const std::string at = path + ".accept_status";
    if (!a->is_array() || a->empty()) return ConfigError(at, "must be a non-empty array of HTTP statuses");
    c.accept_status.clear();
    for (size_t i = 0; i < a->size(); ++i) {
      const Json& s = (*a)[i];
      if (!s.is_number_integer() || s.get<int64_t>() < 100 || s.get<int64_t>() > 599)
        return ConfigError(at + "[" + std::to_string(i) + "]", "must be an HTTP status (100-599)");
      c.accept_status.push_back(static_cast<int>(s.get<int64_t>()));
    }
  }

  if (auto x = j.find("expect"); x != j.end()) {
    const std::string at = path + ".expect";
    if (!x->is_object()) return ConfigError(at, "expected an object {\"field\", \"value\"}");
    if (auto e = UnknownField(*x, at, {"field", "value"})) return *e;
    auto f = x->find("field");
    if (f == x->end() || !f->is_string() || f->get<std::string>().empty())
      return ConfigError(at + ".field", "must be a non-empty string");
    auto v = x->find("value");
    if (v == x->end()) return ConfigError(at + ".value", "missing required field");
    if (!v->is_string() && !v->is_boolean() && !v->is_number())
      return ConfigError(at + ".value", "must be a string, number or boolean");
    c.expect_field = f->get<std::string>();
    // A non-string value is compared with the member's JSON text: true matches true.
    c.expect_value = v->is_string() ? v->get<std::string>() : Dump(*v);
  }
  return c;
}

Expected<CommandExecutorConfig> ParseCommandConfig(const Json& j, const std::string& path) {
  if (!j.is_object()) return ConfigError(path, "expected an object, got " + codec::TypeName(j));
  if (auto e = UnknownField(j, path, {"type", "timeout_s", "commands"})) return *e;
  if (auto e = CheckType(j, path, "command")) return *e;
  CommandExecutorConfig c;
  if (auto e = ReadTimeout(j, path, 1, 3600, c.timeout)) return *e;

  const std::string at = path + ".commands";
  auto commands = j.find("commands");
  if (commands == j.end()) return ConfigError(at, "missing required field");
  if (!commands->is_object() || commands->empty())
    return ConfigError(at, "must be an object of action -> {argv, dry_run_argv, undo_argv}");
  for (const auto& [name, spec] : commands->items()) {
    const std::string here = at + "." + name;
    auto action = ParseEnum<RemediationAction>(name);
    if (!action) return ConfigError(here, "unknown action (one of " + EnumChoices<RemediationAction>() + ")");
    if (*action == RemediationAction::ESCALATE)
      return ConfigError(here, "escalate is for a person, not a command");
    if (!spec.is_object()) return ConfigError(here, "expected an object {argv, dry_run_argv, undo_argv}");
    if (auto e = UnknownField(spec, here, {"argv", "dry_run_argv", "undo_argv"})) return *e;
    CommandTemplate tmpl;
    auto argv = spec.find("argv");
    if (argv == spec.end()) return ConfigError(here + ".argv", "missing required field");
    auto main_form = ReadArgv(*argv, here + ".argv");
    if (!main_form.ok()) return main_form.status();
    tmpl.argv = std::move(*main_form);
    for (auto [field, out] : {std::pair{"dry_run_argv", &tmpl.dry_run_argv},
                              std::pair{"undo_argv", &tmpl.undo_argv}}) {
      auto f = spec.find(field);
      if (f == spec.end() || f->is_null()) continue;
      auto form = ReadArgv(*f, here + "." + field);
      if (!form.ok()) return form.status();
      *out = std::move(*form);
    }
    c.commands[*action] = std::move(tmpl);
  }
  return c;
}

}  // namespace sre::remediation
