// The executors against local receivers (cpp-httplib on 127.0.0.1) and local commands.
#include "agents/remediation/executor.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "tests/support/local_http_server.h"

namespace sre::remediation {
namespace {

namespace fs = std::filesystem;
using Outcome = ExecResult::Outcome;
using std::chrono::milliseconds;

constexpr const char* kActionId = "3f0c6a3e-1d2b-4c5d-8e9f-0a1b2c3d4e5f";

ActionRequest Request(RemediationAction action = RemediationAction::ROLLBACK) {
  ActionRequest r;
  r.action_id = kActionId;
  r.incident_id = "INC-42";
  r.action = action;
  r.service = "checkout";
  r.params = {{"deployment_version", "v2.3.1"}, {"previous_version", "v2.3.0"}, {"team", "payments"}};
  return r;
}

// ---------------------------------------------------------------------------------------------
// HTTP receivers

struct Seen {
  std::string method, path, content_type, idempotency_key, authorization, body;
  bool has_authorization = false;
};

// Records every request (any method, any path) and answers with `reply`.
class Receiver {
 public:
  using Reply = std::function<void(const httplib::Request&, httplib::Response&)>;
  explicit Receiver(Reply reply) : server_("executor-receiver"), reply_(std::move(reply)) {
    auto handler = [this](const httplib::Request& req, httplib::Response& res) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        Seen s;
        s.method = req.method;
        s.path = req.path;
        s.content_type = req.get_header_value("Content-Type");
        s.idempotency_key = req.get_header_value("Idempotency-Key");
        s.has_authorization = req.has_header("Authorization");
        s.authorization = req.get_header_value("Authorization");
        s.body = req.body;
        seen_.push_back(std::move(s));
      }
      reply_(req, res);
    };
    server_.routes().Post(".*", handler);
    server_.routes().Put(".*", handler);
    server_.routes().Get(".*", handler);
    server_.Start();
  }
  // Answers `status` with a JSON body.
  static Reply Json(int status, const sre::Json& body) {
    return [status, text = Dump(body)](const httplib::Request&, httplib::Response& res) {
      res.status = status;
      res.set_content(text, "application/json");
    };
  }
  ~Receiver() { Release(); }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(server_.port()); }
  std::vector<Seen> seen() {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_;
  }
  // Wakes handlers blocked in Hold().
  void Release() {
    {
      std::lock_guard<std::mutex> lock(gate_mu_);
      released_ = true;
    }
    gate_.notify_all();
    server_.Stop();
  }
  // For a reply: blocks until Release() (at most 10 s).
  void Hold() {
    std::unique_lock<std::mutex> lock(gate_mu_);
    gate_.wait_for(lock, std::chrono::seconds(10), [this] { return released_; });
  }

 private:
  testing::LocalHttpServer server_;
  Reply reply_;
  std::mutex mu_;
  std::vector<Seen> seen_;
  std::mutex gate_mu_;
  std::condition_variable gate_;
  bool released_ = false;
};

// A TCP port on 127.0.0.1 that is bound but not listening: a connection is refused.
class RefusingPort {
 public:
  RefusingPort() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    socklen_t len = sizeof a;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~RefusingPort() { close(fd_); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// Accepts one connection, reads the whole request, and closes it without answering.
class DroppingServer {
 public:
  DroppingServer() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(listen(fd_, 4), 0);
    socklen_t len = sizeof a;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] {
      int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) return;
      std::string in;
      char buf[4096];
      size_t want = std::string::npos;
      while (want == std::string::npos || in.size() < want) {
        ssize_t n = read(c, buf, sizeof buf);
        if (n <= 0) break;
        in.append(buf, static_cast<size_t>(n));
        auto end = in.find("\r\n\r\n");
        if (want == std::string::npos && end != std::string::npos) {
          std::string head = in.substr(0, end);
          for (auto& ch : head) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
          auto cl = head.find("content-length:");
          size_t body = cl == std::string::npos ? 0 : std::stoul(head.substr(cl + 15));
          want = end + 4 + body;
        }
      }
      received_ = in;
      got_request_ = want != std::string::npos && in.size() >= want;
      close(c);
    });
  }
  ~DroppingServer() {
    shutdown(fd_, SHUT_RDWR);
    if (thread_.joinable()) thread_.join();
    close(fd_);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  bool got_request() {
    if (thread_.joinable()) thread_.join();
    return got_request_;
  }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  std::string received_;
  bool got_request_ = false;
};

// ---------------------------------------------------------------------------------------------
// IsSafeParam

TEST(IsSafeParam, AcceptsIdentifiersVersionsAndIds) {
  for (const char* ok : {"checkout", "v2.3.1", "payments-team", "a", "ns/checkout", "user@example.com",
                         "1.2.3+build.7", "INC-42", kActionId, "x:y_z"})
    EXPECT_TRUE(IsSafeParam(ok)) << ok;
  EXPECT_TRUE(IsSafeParam(std::string(128, 'a')));
}

TEST(IsSafeParam, RejectsShellTextOptionsAndEmpty) {
  for (const char* bad : {"", "a;rm -rf /", "$(id)", "`id`", "--force", "-n", ".hidden", "/etc/passwd",
                          "a b", "a\nb", "a'b", "a\"b", "a|b", "a&b", "a>b", "a*", "{service}", "é"})
    EXPECT_FALSE(IsSafeParam(bad)) << bad;
  EXPECT_FALSE(IsSafeParam(std::string(129, 'a')));
  EXPECT_FALSE(IsSafeParam(std::string("a\0b", 3)));
}

// ---------------------------------------------------------------------------------------------
// simulator

TEST(SimulatorExecutor, PostsTheActionAndReportsMatched) {
  Receiver rx(Receiver::Json(200, {{"action", "rollback"}, {"service", "checkout"}, {"matched", true},
                                   {"message", "rolled back"}}));
  auto ex = MakeSimulatorExecutor({rx.url(), "s3cret", milliseconds(5000)});
  EXPECT_EQ(ex->kind(), "simulator");
  ExecResult r = ex->Execute(Request());
  EXPECT_EQ(r.outcome, Outcome::kSucceeded) << r.detail;
  EXPECT_EQ(r.detail, "HTTP 200: matched");
  EXPECT_EQ(r.response.value("message", ""), "rolled back");
  auto seen = rx.seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "POST");
  EXPECT_EQ(seen[0].path, "/api/actions");
  EXPECT_EQ(seen[0].content_type, "application/json");
  EXPECT_EQ(seen[0].idempotency_key, kActionId);
  EXPECT_EQ(seen[0].authorization, "Bearer s3cret");
  Json body = Json::parse(seen[0].body);
  EXPECT_EQ(body, Json({{"action", "rollback"},
                        {"service", "checkout"},
                        {"deployment_version", "v2.3.1"},
                        {"undo", false},
                        {"idempotency_key", kActionId}}));
}

TEST(SimulatorExecutor, NoEffectUndoWithoutVersionOrToken) {
  Receiver rx(Receiver::Json(200, {{"matched", false}}));
  auto ex = MakeSimulatorExecutor({rx.url() + "/", "", milliseconds(5000)});  // trailing slash
  ActionRequest req = Request(RemediationAction::RESTART);
  req.params.clear();
  req.undo = true;
  ExecResult r = ex->Execute(req);
  EXPECT_EQ(r.outcome, Outcome::kSucceeded);
  EXPECT_EQ(r.detail, "HTTP 200: no effect");
  auto seen = rx.seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].path, "/api/actions");
  EXPECT_FALSE(seen[0].has_authorization);
  Json body = Json::parse(seen[0].body);
  EXPECT_EQ(body, Json({{"action", "restart"}, {"service", "checkout"}, {"undo", true},
                        {"idempotency_key", kActionId}}));
}

TEST(SimulatorExecutor, NonJsonAnswerIsKeptBounded) {
  Receiver rx([](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(10000, 'x'), "text/plain");
  });
  auto ex = MakeSimulatorExecutor({rx.url(), "", milliseconds(5000)});
  ExecResult r = ex->Execute(Request());
  EXPECT_EQ(r.outcome, Outcome::kSucceeded);
  EXPECT_EQ(r.detail, "HTTP 200");
  EXPECT_EQ(r.response["text"].get<std::string>().size(), 4096u);
  EXPECT_EQ(r.response["truncated"], true);
}

TEST(SimulatorExecutor, BadRequestFailsWithTheError) {
  Receiver rx(Receiver::Json(400, {{"error", "field 'action': unknown action"}, {"field", "action"}}));
  auto ex = MakeSimulatorExecutor({rx.url(), "", milliseconds(5000)});
  ExecResult r = ex->Execute(Request());
  EXPECT_EQ(r.outcome, Outcome::kFailed);
  EXPECT_EQ(r.detail, "HTTP 400: field 'action': unknown action");
  EXPECT_EQ(r.response["field"], "action");
}

TEST(SimulatorExecutor, ServerErrorFails) {
  Receiver rx(Receiver::Json(500, {{"error", "boom"}}));
  auto ex = MakeSimulatorExecutor({rx.url(), "", milliseconds(5000)});
  ExecResult r = ex->Execute(Request());
  EXPECT_EQ(r.outcome, Outcome::kFailed);
  EXPECT_EQ(r.detail, "HTTP 500: boom");
}

TEST(SimulatorExecutor, TimeoutIsUnknown) {
  Receiver* self = nullptr;
  Receiver rx([&self](const httplib::Request&, httplib::Response& res) {
    self->Hold();
    res.set_content("{\"matched\":true}", "application/json");
  });
  self = &rx;
  auto ex = MakeSimulatorExecutor({rx.url(), "", milliseconds(300)});
  auto start = std::chrono::steady_clock::now();
  ExecResult r = ex->Execute(Request());
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.outcome, Outcome::kUnknown) << r.detail;
  EXPECT_NE(r.detail.find("may have run"), std::string::npos) << r.detail;
  EXPECT_LT(took, std::chrono::seconds(3));
  EXPECT_EQ(rx.seen().size(), 1u);
  rx.Release();
}

TEST(SimulatorExecutor, ConnectionRefusedFails) {
  RefusingPort port;
  auto ex = MakeSimulatorExecutor({port.url(), "", milliseconds(2000)});
  ExecResult r = ex->Execute(Request());
  EXPECT_EQ(r.outcome, Outcome::kFailed) << r.detail;
  EXPECT_NE(r.detail.find("cannot connect"), std::string::npos) << r.detail;
}

TEST(SimulatorExecutor, ConnectionDroppedAfterSendingIsUnknown) {
  DroppingServer server;
  auto ex = MakeSimulatorExecutor({server.url(), "", milliseconds(5000)});
  ExecResult r = ex->Execute(Request());
  EXPECT_TRUE(server.got_request());
  EXPECT_EQ(r.outcome, Outcome::kUnknown) << r.detail;
}

TEST(SimulatorExecutor, DryRunSendsNothing) {
  Receiver rx(Receiver::Json(200, {{"matched", true}}));
  auto ex = MakeSimulatorExecutor({rx.url(), "", milliseconds(5000)});
  ActionRequest req = Request();
  req.dry_run = true;
  ExecResult r = ex->Execute(req);
  EXPECT_EQ(r.outcome, Outcome::kSucceeded);
  EXPECT_EQ(r.detail.rfind("dry run: would POST " + rx.url() + "/api/actions {", 0), 0u) << r.detail;
  EXPECT_NE(r.detail.find("\"action\":\"rollback\""), std::string::npos) << r.detail;
  EXPECT_TRUE(rx.seen().empty());
}

TEST(SimulatorExecutor, SupportsEverythingButEscalate) {
  Receiver rx(Receiver::Json(200, {{"matched", true}}));
  auto ex = MakeSimulatorExecutor({rx.url(), "", milliseconds(5000)});
  for (size_t i = 0; i < EnumCount<RemediationAction>(); ++i) {
    auto a = static_cast<RemediationAction>(i);
    EXPECT_EQ(ex->Supports(a), a != RemediationAction::ESCALATE) << ToString(a);
  }
  ExecResult r = ex->Execute(Request(RemediationAction::ESCALATE));
  EXPECT_EQ(r.outcome, Outcome::kFailed);
  ActionRequest bad_id = Request();
  bad_id.action_id = "x\r\nX-Injected: 1";
  EXPECT_EQ(ex->Execute(bad_id).outcome, Outcome::kFailed);
  EXPECT_TRUE(rx.seen().empty());
}

// ---------------------------------------------------------------------------------------------
// webhook

WebhookExecutorConfig Webhook(const std::string& url) {
  WebhookExecutorConfig c;
  c.url = url;
  c.timeout = milliseconds(5000);
  return c;
}

TEST(WebhookExecutor, PostsTheDocumentedBody) {
  Receiver rx(Receiver::Json(202, {{"queued", true}}));
  WebhookExecutorConfig c = Webhook(rx.url() + "/hooks/remediate");
  c.token = "hook-token";
  auto ex = MakeWebhookExecutor(c);
  EXPECT_EQ(ex->kind(), "webhook");
  EXPECT_FALSE(ex->Supports(RemediationAction::ESCALATE));
  EXPECT_TRUE(ex->Supports(RemediationAction::FAILOVER_DB));
  ExecResult r = ex->Execute(Request(RemediationAction::SCALE_OUT));
  EXPECT_EQ(r.outcome, Outcome::kSucceeded) << r.detail;
  EXPECT_EQ(r.detail, "HTTP 202");
  EXPECT_EQ(r.response["queued"], true);
  auto seen = rx.seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "POST");
  EXPECT_EQ(seen[0].path, "/hooks/remediate");
  EXPECT_EQ(seen[0].content_type, "application/json");
  EXPECT_EQ(seen[0].idempotency_key, kActionId);
  EXPECT_EQ(seen[0].authorization, "Bearer hook-token");
  EXPECT_EQ(Json::parse(seen[0].body),
            Json({{"action_id", kActionId},
                  {"idempotency_key", kActionId},
                  {"incident_id", "INC-42"},
                  {"action", "scale_out"},
                  {"service", "checkout"},
                  {"params",
                   {{"deployment_version", "v2.3.1"}, {"previous_version", "v2.3.0"}, {"team", "payments"}}},
                  {"undo", false},
                  {"dry_run", false}}));
}

TEST(WebhookExecutor, DryRunIsSentForTheReceiverToDecide) {
  Receiver rx(Receiver::Json(200, {{"would", "scale checkout to 6"}}));
  auto ex = MakeWebhookExecutor(Webhook(rx.url()));
  ActionRequest req = Request();
  req.dry_run = true;
  req.undo = true;
  ExecResult r = ex->Execute(req);
  EXPECT_EQ(r.outcome, Outcome::kSucceeded);
  EXPECT_EQ(r.detail, "dry run: HTTP 200");
  auto seen = rx.seen();
  ASSERT_EQ(seen.size(), 1u);
  Json body = Json::parse(seen[0].body);
  EXPECT_EQ(body["dry_run"], true);
  EXPECT_EQ(body["undo"], true);
  EXPECT_FALSE(seen[0].has_authorization);
}

TEST(WebhookExecutor, StatusOutsideAcceptStatusFails) {
  Receiver rx(Receiver::Json(202, {{"queued", true}}));
  WebhookExecutorConfig c = Webhook(rx.url());
  c.accept_status = {200};
  ExecResult r = MakeWebhookExecutor(c)->Execute(Request());
  EXPECT_EQ(r.outcome, Outcome::kFailed);
  EXPECT_NE(r.detail.find("HTTP 202"), std::string::npos) << r.detail;
  EXPECT_NE(r.detail.find("not accepted"), std::string::npos) << r.detail;
}

TEST(WebhookExecutor, ClientAndServerErrorsFail) {
  for (int status : {403, 409, 500, 503}) {
    Receiver rx(Receiver::Json(status, {{"error", "nope"}}));
    ExecResult r = MakeWebhookExecutor(Webhook(rx.url()))->Execute(Request());
    EXPECT_EQ(r.outcome, Outcome::kFailed) << status;
    EXPECT_EQ(r.detail, "HTTP " + std::to_string(status) + ": nope");
  }
}

TEST(WebhookExecutor, ExpectedFieldMustMatch) {
  struct Case {
    std::string body;
    std::string value;
    Outcome outcome;
    std::string detail;
  };
  std::vector<Case> cases = {
      {R"({"status":"ok","id":7})", "ok", Outcome::kSucceeded, "HTTP 200: status=ok"},
      {R"({"status":"error"})", "ok", Outcome::kFailed, "HTTP 200: \"status\" is \"error\", expected \"ok\""},
      {R"({"other":1})", "ok", Outcome::kFailed, "HTTP 200: \"status\" is missing"},
      {"ok", "ok", Outcome::kFailed, "HTTP 200: expected a JSON object with \"status\""},
      {R"({"status":true})", "true", Outcome::kSucceeded, "HTTP 200: status=true"},
  };
  for (const auto& c : cases) {
    Receiver rx([&](const httplib::Request&, httplib::Response& res) {
      res.set_content(c.body, "application/json");
    });
    WebhookExecutorConfig cfg = Webhook(rx.url());
    cfg.expect_field = "status";
    cfg.expect_value = c.value;
    ExecResult r = MakeWebhookExecutor(cfg)->Execute(Request());
    EXPECT_EQ(r.outcome, c.outcome) << c.body;
    EXPECT_EQ(r.detail, c.detail) << c.body;
  }
}

TEST(WebhookExecutor, TimeoutIsUnknownAndRefusedIsFailed) {
  Receiver* self = nullptr;
  Receiver rx([&self](const httplib::Request&, httplib::Response& res) {
    self->Hold();
    res.status = 200;
  });
  self = &rx;
  WebhookExecutorConfig c = Webhook(rx.url());
  c.timeout = milliseconds(300);
  EXPECT_EQ(MakeWebhookExecutor(c)->Execute(Request()).outcome, Outcome::kUnknown);
  rx.Release();
  RefusingPort port;
  EXPECT_EQ(MakeWebhookExecutor(Webhook(port.url()))->Execute(Request()).outcome, Outcome::kFailed);
}

TEST(ParseWebhookConfig, ReadsEveryField) {
  ::setenv("SRE_EXECUTOR_TEST_TOKEN", "t0ken", 1);
  auto c = ParseWebhookConfig(Json::parse(R"({"type": "webhook", "url": "https://runbooks.example/hook",
      "token_env": "SRE_EXECUTOR_TEST_TOKEN", "timeout_s": 15, "accept_status": [200, 202],
      "expect": {"field": "status", "value": "ok"}})"),
                              "policy.executors.hook");
  ::unsetenv("SRE_EXECUTOR_TEST_TOKEN");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->url, "https://runbooks.example/hook");
  EXPECT_EQ(c->token, "t0ken");
  EXPECT_EQ(c->timeout, milliseconds(15000));
  EXPECT_EQ(c->accept_status, (std::vector<int>{200, 202}));
  EXPECT_EQ(c->expect_field, "status");
  EXPECT_EQ(c->expect_value, "ok");

  auto minimal = ParseWebhookConfig(Json{{"url", "http://localhost:9000"}}, "p");
  ASSERT_TRUE(minimal.ok()) << minimal.status().message();
  EXPECT_TRUE(minimal->token.empty());
  EXPECT_EQ(minimal->timeout, milliseconds(10000));
  EXPECT_EQ(minimal->accept_status, (std::vector<int>{200, 201, 202, 204}));
}

TEST(ParseWebhookConfig, ErrorsNameTheField) {
  ::unsetenv("SRE_EXECUTOR_TEST_MISSING");
  struct Case {
    const char* json;
    const char* field;
  };
  for (const Case& c : std::vector<Case>{
           {R"([])", "p: "},
           {R"({})", "p.url: "},
           {R"({"url": "ftp://x"})", "p.url: "},
           {R"({"url": "runbooks.example"})", "p.url: "},
           {R"({"url": 5})", "p.url: "},
           {R"({"url": "http://x", "token_env": "SRE_EXECUTOR_TEST_MISSING"})", "p.token_env: "},
           {R"({"url": "http://x", "token_env": ""})", "p.token_env: "},
           {R"({"url": "http://x", "timeout_s": 0})", "p.timeout_s: "},
           {R"({"url": "http://x", "timeout_s": 301})", "p.timeout_s: "},
           {R"({"url": "http://x", "timeout_s": "10"})", "p.timeout_s: "},
           {R"({"url": "http://x", "accept_status": []})", "p.accept_status: "},
           {R"({"url": "http://x", "accept_status": [200, 99]})", "p.accept_status[1]: "},
           {R"({"url": "http://x", "expect": {"value": "ok"}})", "p.expect.field: "},
           {R"({"url": "http://x", "expect": {"field": "status"}})", "p.expect.value: "},
           {R"({"url": "http://x", "tokn_env": "X"})", "p.tokn_env: "},
           {R"({"type": "command", "url": "http://x"})", "p.type: "},
       }) {
    auto r = ParseWebhookConfig(Json::parse(c.json), "p");
    ASSERT_FALSE(r.ok()) << c.json;
    EXPECT_EQ(r.status().message().rfind(c.field, 0), 0u) << c.json << " -> " << r.status().message();
  }
  auto missing = ParseWebhookConfig(
      Json::parse(R"({"url": "http://x", "token_env": "SRE_EXECUTOR_TEST_MISSING"})"), "p");
  EXPECT_NE(missing.status().message().find("SRE_EXECUTOR_TEST_MISSING"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// command

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "sre-executor-test-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }
  // An executable script at `name`.
  std::string Script(const std::string& name, const std::string& text) const {
    fs::path p = path_ / name;
    std::ofstream(p) << text;
    fs::permissions(p, fs::perms::owner_all);
    return p.string();
  }
  size_t Count() const {
    return static_cast<size_t>(std::distance(fs::directory_iterator(path_), fs::directory_iterator()));
  }

 private:
  fs::path path_;
};

CommandExecutorConfig Commands(std::map<RemediationAction, CommandTemplate> commands,
                               milliseconds timeout = milliseconds(10000)) {
  CommandExecutorConfig c;
  c.commands = std::move(commands);
  c.timeout = timeout;
  return c;
}

ExecResult RunCommand(const std::vector<std::string>& argv, milliseconds timeout = milliseconds(10000),
               ActionRequest req = Request()) {
  auto ex = MakeCommandExecutor(Commands({{req.action, {argv, {}, {}}}}, timeout));
  return ex->Execute(req);
}

std::string Output(const ExecResult& r) { return r.response.value("output", ""); }

TEST(CommandExecutor, ExitStatusDecidesTheOutcome) {
  ExecResult ok = RunCommand({"/bin/true"});
  EXPECT_EQ(ok.outcome, Outcome::kSucceeded);
  EXPECT_EQ(ok.detail, "exit 0");
  EXPECT_EQ(ok.argv, std::vector<std::string>{"/bin/true"});
  ExecResult bad = RunCommand({"/bin/false"});
  EXPECT_EQ(bad.outcome, Outcome::kFailed);
  EXPECT_EQ(bad.detail, "exit 1");
  EXPECT_EQ(bad.response["exit_code"], 1);
}

TEST(CommandExecutor, NonZeroExitNamesTheFirstLineOfOutput) {
  TempDir dir;
  std::string script = dir.Script("fail.sh", "#!/bin/sh\necho\necho 'boom: deployment not found' >&2\necho more\nexit 3\n");
  ExecResult r = RunCommand({script});
  EXPECT_EQ(r.outcome, Outcome::kFailed);
  EXPECT_EQ(r.detail, "exit 3: boom: deployment not found");
  EXPECT_EQ(Output(r), "\nboom: deployment not found\nmore\n");
}

TEST(CommandExecutor, SubstitutesPlaceholders) {
  ExecResult r = RunCommand({"/bin/echo", "svc={service}", "{action}", "{incident_id}", "{action_id}",
                      "--to={deployment_version}", "from={previous_version}", "-n", "{team}", "{{literal}}"});
  EXPECT_EQ(r.outcome, Outcome::kSucceeded) << r.detail;
  EXPECT_EQ(Output(r), std::string("svc=checkout rollback INC-42 ") + kActionId +
                           " --to=v2.3.1 from=v2.3.0 -n payments {literal}\n");
  EXPECT_EQ(r.argv[1], "svc=checkout");
  EXPECT_EQ(r.argv[9], "{literal}");
}

TEST(CommandExecutor, UnsafeValuesAreRejectedWithoutRunning) {
  TempDir dir;
  std::string marker = (dir.path() / "ran-").string();
  CommandTemplate tmpl{{"/usr/bin/touch", marker + "{service}", marker + "v-{deployment_version}"}, {}, {}};
  auto ex = MakeCommandExecutor(Commands({{RemediationAction::RESTART, tmpl}}));
  for (const char* service : {"a;rm -rf /", "$(id)", "--force", "", "a b", "../x"}) {
    ActionRequest req = Request(RemediationAction::RESTART);
    req.service = service;
    ExecResult r = ex->Execute(req);
    EXPECT_EQ(r.outcome, Outcome::kFailed) << service;
    EXPECT_EQ(r.detail, "unsafe value for {service}") << service;
    EXPECT_TRUE(r.argv.empty());
  }
  ActionRequest req = Request(RemediationAction::RESTART);
  req.params["deployment_version"] = "-rf";
  EXPECT_EQ(ex->Execute(req).detail, "unsafe value for {deployment_version}");
  req.params.erase("deployment_version");
  ExecResult missing = ex->Execute(req);
  EXPECT_EQ(missing.outcome, Outcome::kFailed);
  EXPECT_EQ(missing.detail, "no value for {deployment_version}");
  EXPECT_EQ(dir.Count(), 0u) << "a rejected command ran";

  // The control: safe values run the same template.
  ExecResult ok = ex->Execute(Request(RemediationAction::RESTART));
  EXPECT_EQ(ok.outcome, Outcome::kSucceeded) << ok.detail;
  EXPECT_TRUE(fs::exists(marker + "checkout"));
  EXPECT_TRUE(fs::exists(marker + "v-v2.3.1"));
}

TEST(CommandExecutor, OnlyAllowlistedActionsRun) {
  auto ex = MakeCommandExecutor(Commands({{RemediationAction::ROLLBACK, {{"/bin/true"}, {}, {}}}}));
  EXPECT_EQ(ex->kind(), "command");
  EXPECT_TRUE(ex->Supports(RemediationAction::ROLLBACK));
  EXPECT_FALSE(ex->Supports(RemediationAction::RESTART));
  EXPECT_FALSE(ex->Supports(RemediationAction::ESCALATE));
  ExecResult r = ex->Execute(Request(RemediationAction::RESTART));
  EXPECT_EQ(r.outcome, Outcome::kFailed);
  EXPECT_EQ(r.detail.rfind("not allowlisted", 0), 0u) << r.detail;
}

TEST(CommandExecutor, ATemplateThatNamesAShellIsNeverRun) {
  // Built in code, past ParseCommandConfig: the executor checks again.
  auto ex = MakeCommandExecutor(
      Commands({{RemediationAction::ROLLBACK, {{"/bin/sh", "-c", "echo {service}"}, {}, {}}}}));
  EXPECT_FALSE(ex->Supports(RemediationAction::ROLLBACK));
  ExecResult r = ex->Execute(Request());
  EXPECT_EQ(r.outcome, Outcome::kFailed);
  EXPECT_NE(r.detail.find("without a shell"), std::string::npos) << r.detail;
}

TEST(CommandExecutor, UndoRunsTheUndoForm) {
  auto ex = MakeCommandExecutor(Commands({
      {RemediationAction::ROLLBACK, {{"/bin/echo", "do", "{service}"}, {}, {"/bin/echo", "undo", "{service}"}}},
      {RemediationAction::RESTART, {{"/bin/echo", "restart"}, {}, {}}},
  }));
  ActionRequest req = Request();
  req.undo = true;
  ExecResult r = ex->Execute(req);
  EXPECT_EQ(r.outcome, Outcome::kSucceeded);
  EXPECT_EQ(Output(r), "undo checkout\n");
  EXPECT_EQ(r.argv, (std::vector<std::string>{"/bin/echo", "undo", "checkout"}));
  req.action = RemediationAction::RESTART;
  ExecResult none = ex->Execute(req);
  EXPECT_EQ(none.outcome, Outcome::kFailed);
  EXPECT_EQ(none.detail, "no undo command for restart");
}

TEST(CommandExecutor, DryRunRunsTheDryRunFormOrNothing) {
  TempDir dir;
  std::string marker = (dir.path() / "ran-{service}").string();
  auto ex = MakeCommandExecutor(Commands({
      {RemediationAction::ROLLBACK,
       {{"/usr/bin/touch", marker}, {"/bin/echo", "dry", "{service}"}, {"/usr/bin/touch", marker + "-undone"}}},
      {RemediationAction::RESTART, {{"/usr/bin/touch", marker}, {}, {}}},
  }));
  ActionRequest req = Request();
  req.dry_run = true;
  ExecResult dry = ex->Execute(req);
  EXPECT_EQ(dry.outcome, Outcome::kSucceeded);
  EXPECT_EQ(dry.detail, "dry run: exit 0");
  EXPECT_EQ(Output(dry), "dry checkout\n");
  EXPECT_EQ(dry.argv, (std::vector<std::string>{"/bin/echo", "dry", "checkout"}));

  req.action = RemediationAction::RESTART;
  ExecResult shown = ex->Execute(req);
  EXPECT_EQ(shown.outcome, Outcome::kSucceeded);
  std::string target = (dir.path() / "ran-checkout").string();
  EXPECT_EQ(shown.argv, (std::vector<std::string>{"/usr/bin/touch", target}));
  EXPECT_EQ(shown.detail, "dry run: would run: /usr/bin/touch " + target);

  req.action = RemediationAction::ROLLBACK;
  req.undo = true;  // the undo form has no dry-run form: shown, not run
  ExecResult undo = ex->Execute(req);
  EXPECT_EQ(undo.outcome, Outcome::kSucceeded);
  EXPECT_EQ(undo.argv, (std::vector<std::string>{"/usr/bin/touch", target + "-undone"}));
  EXPECT_EQ(dir.Count(), 0u) << "a dry run changed something";
}

bool Gone(pid_t pid) {
  for (int i = 0; i < 300; ++i) {
    if (kill(pid, 0) != 0) return true;
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string all((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    auto paren = all.rfind(')');
    if (paren != std::string::npos && all.size() > paren + 2 && all[paren + 2] == 'Z') return true;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return false;
}

TEST(CommandExecutor, TimeoutKillsTheProcessGroup) {
  TempDir dir;
  std::string pidfile = (dir.path() / "pid").string();
  std::string script =
      dir.Script("slow.sh", "#!/bin/sh\necho started\nsleep 30 &\necho $! > " + pidfile + "\nwait\n");
  auto start = std::chrono::steady_clock::now();
  ExecResult r = RunCommand({script}, milliseconds(500));
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.outcome, Outcome::kUnknown) << r.detail;
  EXPECT_NE(r.detail.find("no exit within 500 ms"), std::string::npos) << r.detail;
  EXPECT_NE(r.detail.find("started"), std::string::npos) << r.detail;
  EXPECT_LT(took, std::chrono::seconds(3));
  pid_t sleeper = 0;
  std::ifstream(pidfile) >> sleeper;
  ASSERT_GT(sleeper, 0);
  EXPECT_TRUE(Gone(sleeper)) << "the grandchild survived the timeout";
}

TEST(CommandExecutor, TimeoutEscalatesToSigkill) {
  TempDir dir;
  std::string script = dir.Script("stubborn.sh", "#!/bin/sh\ntrap '' TERM\necho started\nsleep 30\n");
  auto start = std::chrono::steady_clock::now();
  ExecResult r = RunCommand({script}, milliseconds(300));
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.outcome, Outcome::kUnknown) << r.detail;
  EXPECT_LT(took, std::chrono::seconds(6));
}

TEST(CommandExecutor, OutputIsBoundedAndDrained) {
  CommandExecutorConfig c = Commands({{RemediationAction::ROLLBACK, {{"/usr/bin/seq", "1", "200000"}, {}, {}}}});
  c.max_output = 4096;
  ExecResult r = MakeCommandExecutor(c)->Execute(Request());
  EXPECT_EQ(r.outcome, Outcome::kSucceeded) << r.detail;
  EXPECT_EQ(Output(r).size(), 4096u);
  EXPECT_EQ(Output(r).rfind("1\n2\n3\n", 0), 0u);
  EXPECT_EQ(r.response["truncated"], true);
}

TEST(CommandExecutor, EndlessOutputStillTimesOut) {
  auto start = std::chrono::steady_clock::now();
  ExecResult r = RunCommand({"/usr/bin/yes", "{service}"}, milliseconds(300));
  EXPECT_EQ(r.outcome, Outcome::kUnknown) << r.detail;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
  EXPECT_EQ(Output(r).size(), 4096u);
  EXPECT_EQ(Output(r).rfind("checkout\ncheckout\n", 0), 0u);
}

TEST(CommandExecutor, MissingProgramFails) {
  ExecResult r = RunCommand({"/nonexistent/sre-remediate"});
  EXPECT_EQ(r.outcome, Outcome::kFailed);
  EXPECT_NE(r.detail.find("cannot run /nonexistent/sre-remediate"), std::string::npos) << r.detail;
}

std::set<std::string> OpenFds() {
  std::set<std::string> out;
  for (const auto& e : fs::directory_iterator("/proc/self/fd")) out.insert(e.path().filename());
  return out;
}

TEST(CommandExecutor, ChildGetsOnlyStdioAndNoFdLeaks) {
  int inherited = fcntl(open("/dev/null", O_RDONLY | O_CLOEXEC), F_DUPFD, 50);  // no FD_CLOEXEC
  ASSERT_GE(inherited, 50);
  ExecResult r = RunCommand({"/bin/ls", "/proc/self/fd"});
  EXPECT_EQ(r.outcome, Outcome::kSucceeded) << r.detail;
  // ls holds the directory it lists on 3.
  EXPECT_EQ(Output(r), "0\n1\n2\n3\n");
  close(inherited);

  auto before = OpenFds();
  for (int i = 0; i < 10; ++i) {
    (void)RunCommand({"/bin/true"});
    (void)RunCommand({"/bin/false"});
    (void)RunCommand({"/nonexistent/x"});
  }
  EXPECT_EQ(OpenFds(), before);
}

// "SigBlk:\t<hex>" of /proc/<pid>/status text, as a mask.
uint64_t SignalMask(const std::string& status, const std::string& name) {
  auto at = status.find(name + ":\t");
  if (at == std::string::npos) return ~uint64_t{0};
  return std::stoull(status.substr(at + name.size() + 2, 16), nullptr, 16);
}

TEST(CommandExecutor, ChildStartsWithAnEmptySignalMaskAndDefaultActions) {
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR1);
  sigaddset(&block, SIGTERM);
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &block, &old), 0);
  struct sigaction ignore {}, saved {};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  ASSERT_EQ(sigaction(SIGPIPE, &ignore, &saved), 0);
  ExecResult r = RunCommand({"/bin/grep", "-E", "^Sig(Blk|Ign):", "/proc/self/status"});
  sigaction(SIGPIPE, &saved, nullptr);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  EXPECT_EQ(r.outcome, Outcome::kSucceeded) << r.detail;
  EXPECT_EQ(SignalMask(Output(r), "SigBlk"), 0u) << Output(r);
  // Signals 1-31 at their defaults (an ignored SIGPIPE would be inherited through exec).
  // posix_spawn leaves glibc's internal real-time signals (32, 33) ignored in the child.
  EXPECT_EQ(SignalMask(Output(r), "SigIgn") & 0x7fffffffu, 0u) << Output(r);
}

// ---------------------------------------------------------------------------------------------
// ParseCommandConfig

TEST(ParseCommandConfig, ReadsTheAllowlist) {
  auto c = ParseCommandConfig(Json::parse(R"({"type": "command", "timeout_s": 30, "commands": {
      "rollback": {"argv": ["kubectl", "-n", "{team}", "rollout", "undo", "deployment/{service}"],
                   "dry_run_argv": ["kubectl", "-n", "{team}", "rollout", "undo", "deployment/{service}",
                                    "--dry-run=server"],
                   "undo_argv": ["kubectl", "-n", "{team}", "set", "image", "deployment/{service}",
                                 "app=registry/{service}:{deployment_version}"]},
      "restart": {"argv": ["/usr/local/bin/restart", "{service}", "{incident_id}", "{action_id}",
                           "{action}", "{previous_version}", "--patch={{\"a\":1}}"]}}})"),
                              "policy.executors.command");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->timeout, milliseconds(30000));
  ASSERT_EQ(c->commands.size(), 2u);
  const auto& rb = c->commands.at(RemediationAction::ROLLBACK);
  EXPECT_EQ(rb.argv.size(), 6u);
  EXPECT_EQ(rb.dry_run_argv.back(), "--dry-run=server");
  EXPECT_EQ(rb.undo_argv.size(), 7u);
  EXPECT_TRUE(c->commands.at(RemediationAction::RESTART).undo_argv.empty());
  EXPECT_EQ(MakeCommandExecutor(*c)->Supports(RemediationAction::RESTART), true);
}

TEST(ParseCommandConfig, ErrorsNameTheFieldPath) {
  const std::string p = "policy.executors.command";
  struct Case {
    std::string json;
    std::string field;  // the message starts with it
    std::string says = "";
  };
  for (const Case& c : std::vector<Case>{
           {R"("x")", p + ": "},
           {R"({})", p + ".commands: "},
           {R"({"commands": {}})", p + ".commands: "},
           {R"({"commands": {"reboot": {"argv": ["/bin/true"]}}})", p + ".commands.reboot: ", "unknown action"},
           {R"({"commands": {"escalate": {"argv": ["/bin/true"]}}})", p + ".commands.escalate: "},
           {R"({"commands": {"rollback": ["/bin/true"]}})", p + ".commands.rollback: "},
           {R"({"commands": {"rollback": {}}})", p + ".commands.rollback.argv: "},
           {R"({"commands": {"rollback": {"argv": []}}})", p + ".commands.rollback.argv: "},
           {R"({"commands": {"rollback": {"argv": "kubectl rollout undo"}}})", p + ".commands.rollback.argv: "},
           {R"({"commands": {"rollback": {"argv": ["kubectl", 3]}}})", p + ".commands.rollback.argv[1]: "},
           {R"({"commands": {"rollback": {"argv": ["sh", "-c", "kubectl"]}}})",
            p + ".commands.rollback.argv[0]: ", "without a shell"},
           {R"({"commands": {"rollback": {"argv": ["/bin/bash", "x.sh"]}}})",
            p + ".commands.rollback.argv[0]: ", "without a shell"},
           {R"({"commands": {"rollback": {"argv": ["/usr/bin/env", "kubectl"]}}})",
            p + ".commands.rollback.argv[0]: ", "without a shell"},
           {R"({"commands": {"rollback": {"argv": ["busybox", "sh"]}}})", p + ".commands.rollback.argv[0]: "},
           {R"({"commands": {"rollback": {"argv": ["/bin/true"], "undo_argv": ["zsh"]}}})",
            p + ".commands.rollback.undo_argv[0]: ", "without a shell"},
           {R"({"commands": {"rollback": {"argv": ["/bin/true"], "dry_run_argv": ["dash"]}}})",
            p + ".commands.rollback.dry_run_argv[0]: "},
           {R"({"commands": {"rollback": {"argv": ["{service}"]}}})", p + ".commands.rollback.argv[0]: "},
           {R"({"commands": {"rollback": {"argv": [""]}}})", p + ".commands.rollback.argv[0]: "},
           {R"({"commands": {"rollback": {"argv": ["kubectl", "-n", "{namespace}"]}}})",
            p + ".commands.rollback.argv[2]: ", "unknown placeholder {namespace}"},
           {R"({"commands": {"rollback": {"argv": ["kubectl", "{service"]}}})", p + ".commands.rollback.argv[1]: "},
           {R"({"commands": {"rollback": {"argv": ["kubectl", "a}b"]}}})", p + ".commands.rollback.argv[1]: "},
           {R"({"commands": {"rollback": {"argv": ["kubectl", "{$(id)}"]}}})", p + ".commands.rollback.argv[1]: "},
           {R"({"commands": {"rollback": {"argv": ["/bin/true"], "shell": true}}})", p + ".commands.rollback.shell: "},
           {R"({"timeout_s": 0, "commands": {"rollback": {"argv": ["/bin/true"]}}})", p + ".timeout_s: "},
           {R"({"timeout_s": 3601, "commands": {"rollback": {"argv": ["/bin/true"]}}})", p + ".timeout_s: "},
           {R"({"type": "webhook", "commands": {"rollback": {"argv": ["/bin/true"]}}})", p + ".type: "},
       }) {
    auto r = ParseCommandConfig(Json::parse(c.json), p);
    ASSERT_FALSE(r.ok()) << c.json;
    const std::string m = r.status().message();
    EXPECT_EQ(m.rfind(c.field, 0), 0u) << c.json << " -> " << m;
    EXPECT_NE(m.find(c.says), std::string::npos) << c.json << " -> " << m;
  }
}

}  // namespace
}  // namespace sre::remediation
