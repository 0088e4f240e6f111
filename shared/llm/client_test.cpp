// The LLM client against the fake provider (tests/support/fake_llm_server.h), in both wire
// formats: exact requests, the tool loop, structured output, and every failure path.
#include "shared/llm/client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <spdlog/sinks/ostream_sink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sstream>
#include <thread>

#include "shared/llm/config.h"
#include "shared/log.h"
#include "shared/metrics.h"
#include "tests/support/fake_llm_server.h"

namespace sre::llm {
namespace {

using sre::testing::FakeLlmServer;
using sre::testing::FakeReply;
using sre::testing::FakeToolCall;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

constexpr const char* kKey = "sk-test-SECRET-0123456789abcdef";

int64_t MsSince(Clock::time_point t) {
  return std::chrono::duration_cast<milliseconds>(Clock::now() - t).count();
}

Json Schema(Json properties, Json required) {
  return {{"type", "object"},
          {"properties", std::move(properties)},
          {"required", std::move(required)},
          {"additionalProperties", false}};
}

const Json kServiceSchema =
    Schema({{"service", {{"type", "string"}, {"maxLength", 64}}}}, {"service"});
const Json kLogsSchema = Schema({{"service", {{"type", "string"}, {"maxLength", 64}}},
                                 {"limit", {{"type", "integer"}, {"minimum", 1}, {"maximum", 50}}}},
                                {"service", "limit"});
const Json kRcaSchema = Schema(
    {{"category", {{"type", "string"}, {"enum", {"DEPLOYMENT_REGRESSION", "RESOURCE_LEAK"}}}},
     {"confidence", {{"type", "number"}, {"minimum", 0}, {"maximum", 1}}},
     {"summary", {{"type", "string"}, {"maxLength", 200}}}},
    {"category", "confidence", "summary"});
const Json kValidRca = {
    {"category", "RESOURCE_LEAK"}, {"confidence", 0.8}, {"summary", "heap grows after deploy"}};

const Json kSeveritySchema =
    Schema({{"severity", {{"type", "string"}, {"enum", {"CRITICAL", "HIGH", "MEDIUM", "LOW"}}}},
            {"summary", {{"type", "string"}, {"maxLength", 100}}}},
           {"severity", "summary"});

// The messages of a recorded request without OpenAI's leading system message, so both formats
// can be inspected turn by turn.
Json Turns(const sre::testing::RecordedRequest& r) {
  Json out = Json::array();
  for (const auto& m : r.json.at("messages"))
    if (m.at("role") != "system") out.push_back(m);
  return out;
}

// The text of the last turn, whichever format.
std::string LastText(const sre::testing::RecordedRequest& r) {
  const Json& last = r.json.at("messages").back();
  if (last.at("content").is_string()) return last.at("content").get<std::string>();
  std::string text;
  for (const auto& b : last.at("content"))
    if (b.at("type") == "text") text += b.at("text").get<std::string>();
  return text;
}

// Every tool result the request carries: {id, content, is_error}.
std::vector<std::tuple<std::string, std::string, bool>> ToolResults(
    const sre::testing::RecordedRequest& r) {
  std::vector<std::tuple<std::string, std::string, bool>> out;
  for (const auto& m : r.json.at("messages")) {
    if (m.at("role") == "tool") {
      std::string content = m.at("content").get<std::string>();
      out.emplace_back(m.at("tool_call_id").get<std::string>(), content,
                       content.rfind("ERROR: ", 0) == 0);
    } else if (m.at("role") == "user" && m.at("content").is_array()) {
      for (const auto& b : m.at("content")) {
        if (b.at("type") == "tool_result")
          out.emplace_back(b.at("tool_use_id").get<std::string>(),
                           b.at("content").get<std::string>(), b.value("is_error", false));
      }
    }
  }
  return out;
}

double CallsTotal(const std::string& provider, const std::string& model,
                  const std::string& outcome) {
  return Metrics()
      .GetCounter("sre_llm_calls_total", "LLM gateway calls by outcome",
                  {{"provider", provider}, {"model", model}, {"outcome", outcome}})
      .Value();
}

class ClientTest : public ::testing::TestWithParam<Provider> {
 protected:
  LlmConfig Config() const {
    LlmConfig c;
    c.provider = GetParam();
    c.api_key = Secret(kKey);
    c.base_url = GetParam() == Provider::kAnthropic ? fake_.BaseUrl() : fake_.OpenAiBaseUrl();
    c.max_rpm = 100000;
    c.timeout = std::chrono::seconds(10);
    c.retry.base_backoff = milliseconds(40);
    c.retry.max_backoff = milliseconds(200);
    return c;
  }
  std::unique_ptr<Client> NewClient() const { return MakeClient(Config()); }

  std::string provider() const { return std::string(ProviderName(GetParam())); }

  // Tools that record what they were called with.
  std::vector<Tool> Tools() {
    return {
        {"get_metric_history", "Recent values of the service's metrics", kServiceSchema,
         [this](const Json& in) -> Expected<Json> {
           calls_.push_back("get_metric_history " + in.dump());
           return Json{{"latency_p99_ms", {120, 900, 2400}}};
         }},
        {"get_recent_logs", "Recent log lines", kLogsSchema,
         [this](const Json& in) -> Expected<Json> {
           calls_.push_back("get_recent_logs " + in.dump());
           return Json{{"lines", {"ERROR OutOfMemoryError", "WARN GC overhead"}}};
         }},
        {"get_recent_deployments", "Deployments of the last hour", kServiceSchema,
         [this](const Json& in) -> Expected<Json> {
           calls_.push_back("get_recent_deployments " + in.dump());
           return Json{{"deployments", {{{"version", "2.4.1"}}}}};
         }},
        {"submit_rca", "Submit the root cause; ends the investigation", kRcaSchema, nullptr},
    };
  }

  ToolLoopRequest Loop() {
    ToolLoopRequest r;
    r.tier = Tier::kReasoning;
    r.system = "You are an SRE investigating an incident.";
    r.prompt = "payments latency is 20x baseline. Find the root cause.";
    r.tools = Tools();
    r.terminal_tool = "submit_rca";
    r.deadline = std::chrono::seconds(8);
    return r;
  }

  StructuredRequest Classify() const {
    StructuredRequest r;
    r.tier = Tier::kFast;
    r.system = "Classify anomalies.";
    r.prompt = "p99 latency 2400 ms against a 120 ms baseline.";
    r.schema = kSeveritySchema;
    r.max_tokens = 300;
    r.deadline = std::chrono::seconds(8);
    return r;
  }

  FakeLlmServer fake_;
  std::vector<std::string> calls_;
};

INSTANTIATE_TEST_SUITE_P(Providers, ClientTest,
                         ::testing::Values(Provider::kAnthropic, Provider::kOpenAi),
                         [](const ::testing::TestParamInfo<Provider>& p) {
                           return p.param == Provider::kAnthropic ? "Anthropic" : "OpenAi";
                         });

// ---- exact requests ----------------------------------------------------------------------

TEST(ClientRequestTest, AnthropicToolLoopRequestsAreExact) {
  FakeLlmServer fake;
  fake.Push(FakeReply::ToolUses(
      {{"get_recent_logs", {{"service", "payments"}, {"limit", 2}}, "toolu_01"}},
      "Checking logs."));
  fake.Push(FakeReply::ToolUse("submit_rca", kValidRca));
  Config env = Config::FromMap({{"ANTHROPIC_API_KEY", kKey},
                                {"ANTHROPIC_BASE_URL", fake.BaseUrl()},
                                {"LLM_MAX_RPM", "100000"},
                                {"LLM_MAX_TOKENS", "1000"}});
  LlmConfig config = LlmConfig::FromConfig(env);
  env.Validate();
  auto client = MakeClient(config);

  ToolLoopRequest req;
  req.system = "You are an SRE.";
  req.prompt = "Investigate.";
  req.terminal_tool = "submit_rca";
  req.tools = {{"get_recent_logs", "Recent log lines", kLogsSchema,
                [](const Json&) -> Expected<Json> {
                  return Json{{"lines", {"OOM"}}};
                }},
               {"submit_rca", "Submit the root cause", kRcaSchema, nullptr}};
  ToolLoopResult r = client->RunToolLoop(req);
  ASSERT_TRUE(r.ok) << r.audit.error;

  auto reqs = fake.Requests();
  ASSERT_EQ(reqs.size(), 2u);
  for (const auto& q : reqs) {
    EXPECT_EQ(q.path, "/v1/messages");
    EXPECT_EQ(q.Header("x-api-key"), kKey);
    EXPECT_EQ(q.Header("anthropic-version"), "2023-06-01");
    EXPECT_EQ(q.Header("content-type"), "application/json");
    EXPECT_EQ(q.Header("authorization"), "");
  }
  const Json tools = {{{"name", "get_recent_logs"},
                       {"description", "Recent log lines"},
                       {"input_schema", kLogsSchema}},
                      {{"name", "submit_rca"},
                       {"description", "Submit the root cause"},
                       {"input_schema", kRcaSchema}}};
  EXPECT_EQ(reqs[0].json, (Json{{"model", "claude-sonnet-4-6"},
                                {"max_tokens", 1000},
                                {"system", "You are an SRE."},
                                {"messages", {{{"role", "user"}, {"content", "Investigate."}}}},
                                {"tools", tools}}));
  Json second_messages = Json::parse(R"([
    {"role": "user", "content": "Investigate."},
    {"role": "assistant", "content": [
      {"type": "text", "text": "Checking logs."},
      {"type": "tool_use", "id": "toolu_01", "name": "get_recent_logs",
       "input": {"limit": 2, "service": "payments"}}]},
    {"role": "user", "content": [
      {"type": "tool_result", "tool_use_id": "toolu_01", "content": "{\"lines\":[\"OOM\"]}"}]}
  ])");
  EXPECT_EQ(reqs[1].json.at("messages"), second_messages);
  EXPECT_EQ(reqs[1].json.at("tools"), tools);
  EXPECT_EQ(reqs[1].json.at("system"), "You are an SRE.");
}

TEST(ClientRequestTest, OpenAiToolLoopRequestsAreExact) {
  FakeLlmServer fake;
  fake.Push(FakeReply::ToolUses(
      {{"get_recent_logs", {{"service", "payments"}, {"limit", 2}}, "call_01"}}));
  fake.Push(FakeReply::ToolUse("submit_rca", kValidRca));
  Config env = Config::FromMap({{"OPENAI_BASE_URL", fake.OpenAiBaseUrl()},
                                {"OPENAI_API_KEY", kKey},
                                {"LLM_MODEL_FAST", "llama3.1:8b"},
                                {"LLM_MODEL_REASONING", "qwen2.5:32b"},
                                {"LLM_MAX_RPM", "100000"}});
  LlmConfig config = LlmConfig::FromConfig(env);
  env.Validate();
  auto client = MakeClient(config);

  ToolLoopRequest req;
  req.system = "You are an SRE.";
  req.prompt = "Investigate.";
  req.terminal_tool = "submit_rca";
  req.max_tokens = 700;
  req.tools = {{"get_recent_logs", "Recent log lines", kLogsSchema,
                [](const Json&) -> Expected<Json> { return Status::Transient("loki is down"); }},
               {"submit_rca", "Submit the root cause", kRcaSchema, nullptr}};
  ToolLoopResult r = client->RunToolLoop(req);
  ASSERT_TRUE(r.ok) << r.audit.error;

  auto reqs = fake.Requests();
  ASSERT_EQ(reqs.size(), 2u);
  for (const auto& q : reqs) {
    EXPECT_EQ(q.path, "/v1/chat/completions");
    EXPECT_EQ(q.Header("authorization"), std::string("Bearer ") + kKey);
    EXPECT_EQ(q.Header("content-type"), "application/json");
    EXPECT_EQ(q.Header("x-api-key"), "");
  }
  const Json tools = {{{"type", "function"},
                       {"function",
                        {{"name", "get_recent_logs"},
                         {"description", "Recent log lines"},
                         {"parameters", kLogsSchema}}}},
                      {{"type", "function"},
                       {"function",
                        {{"name", "submit_rca"},
                         {"description", "Submit the root cause"},
                         {"parameters", kRcaSchema}}}}};
  EXPECT_EQ(reqs[0].json, (Json{{"model", "qwen2.5:32b"},
                                {"max_tokens", 700},
                                {"messages",
                                 {{{"role", "system"}, {"content", "You are an SRE."}},
                                  {{"role", "user"}, {"content", "Investigate."}}}},
                                {"tools", tools}}));
  Json second_messages = Json::parse(R"([
    {"role": "system", "content": "You are an SRE."},
    {"role": "user", "content": "Investigate."},
    {"role": "assistant", "content": null, "tool_calls": [
      {"id": "call_01", "type": "function",
       "function": {"name": "get_recent_logs", "arguments": "{\"limit\":2,\"service\":\"payments\"}"}}]},
    {"role": "tool", "tool_call_id": "call_01", "content": "ERROR: loki is down"}
  ])");
  EXPECT_EQ(reqs[1].json.at("messages"), second_messages);
}

TEST(ClientRequestTest, OpenAiWithoutKeySendsNoAuthorization) {
  FakeLlmServer fake;
  fake.Push(FakeReply::Text(R"({"severity": "LOW", "summary": "ok"})"));
  Config env = Config::FromMap({{"LLM_PROVIDER", "openai"},
                                {"OPENAI_BASE_URL", fake.OpenAiBaseUrl()},
                                {"LLM_MAX_RPM", "100000"}});
  auto client = MakeClient(LlmConfig::FromConfig(env));
  StructuredRequest req;
  req.prompt = "Classify.";
  req.schema = kSeveritySchema;
  EXPECT_TRUE(client->Structured(req).ok);
  ASSERT_EQ(fake.RequestCount(), 1u);
  EXPECT_EQ(fake.Requests()[0].Header("authorization"), "");
}

TEST_P(ClientTest, StructuredRequestCarriesSchemaModelAndLimits) {
  fake_.Push(FakeReply::Text(R"({"severity": "HIGH", "summary": "latency"})"));
  auto client = NewClient();
  StructuredResult r = client->Structured(Classify());
  ASSERT_TRUE(r.ok) << r.audit.error;

  auto reqs = fake_.Requests();
  ASSERT_EQ(reqs.size(), 1u);
  const Json& body = reqs[0].json;
  EXPECT_EQ(body.at("model"), "claude-haiku-4-5");
  EXPECT_EQ(body.at("max_tokens"), 300);
  EXPECT_FALSE(body.contains("tools"));
  Json turns = Turns(reqs[0]);
  ASSERT_EQ(turns.size(), 1u);
  std::string prompt = turns[0].at("content").get<std::string>();
  EXPECT_EQ(prompt.rfind(Classify().prompt, 0), 0u) << prompt;
  EXPECT_NE(prompt.find(kSeveritySchema.dump()), std::string::npos) << prompt;
  if (GetParam() == Provider::kAnthropic) {
    EXPECT_EQ(body.at("system"), "Classify anomalies.");
    EXPECT_FALSE(body.contains("response_format"));
  } else {
    EXPECT_EQ(body.at("messages")[0],
              (Json{{"role", "system"}, {"content", "Classify anomalies."}}));
    EXPECT_EQ(body.at("response_format"), (Json{{"type", "json_object"}}));
  }
}

// ---- the tool loop -----------------------------------------------------------------------

TEST_P(ClientTest, ThreeToolConversationEndsInTerminalTool) {
  fake_.Push(FakeReply::ToolUse("get_metric_history", {{"service", "payments"}}, "Metrics first.")
                 .WithUsage(100, 20));
  fake_.Push(FakeReply::ToolUse("get_recent_logs", {{"service", "payments"}, {"limit", 20}})
                 .WithUsage(200, 20));
  fake_.Push(
      FakeReply::ToolUse("get_recent_deployments", {{"service", "payments"}}).WithUsage(300, 20));
  fake_.Push(FakeReply::ToolUse("submit_rca", kValidRca).WithUsage(400, 40));
  double before = CallsTotal(provider(), "claude-sonnet-4-6", "ok");

  ToolLoopResult r = NewClient()->RunToolLoop(Loop());

  ASSERT_TRUE(r.ok) << r.audit.error;
  EXPECT_EQ(r.terminal_input, kValidRca);
  EXPECT_EQ(calls_,
            (std::vector<std::string>{R"(get_metric_history {"service":"payments"})",
                                      R"(get_recent_logs {"limit":20,"service":"payments"})",
                                      R"(get_recent_deployments {"service":"payments"})"}));
  ASSERT_EQ(r.transcript.size(), 4u);
  const char* names[] = {"get_metric_history", "get_recent_logs", "get_recent_deployments",
                         "submit_rca"};
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(r.transcript[i].name, names[i]);
    EXPECT_FALSE(r.transcript[i].is_error);
    EXPECT_GE(r.transcript[i].duration_ms, 0);
  }
  EXPECT_EQ(r.transcript[1].input, (Json{{"service", "payments"}, {"limit", 20}}));
  EXPECT_EQ(r.audit.outcome, Outcome::kOk);
  EXPECT_EQ(r.audit.provider, provider());
  EXPECT_EQ(r.audit.model, "claude-sonnet-4-6");
  EXPECT_EQ(r.audit.rounds, 4);
  EXPECT_EQ(r.audit.input_tokens, 1000);
  EXPECT_EQ(r.audit.output_tokens, 100);
  EXPECT_EQ(r.audit.error, "");
  EXPECT_EQ(CallsTotal(provider(), "claude-sonnet-4-6", "ok"), before + 1);

  // Each request carries the whole conversation so far: the 4th has 3 tool results.
  auto reqs = fake_.Requests();
  ASSERT_EQ(reqs.size(), 4u);
  auto results = ToolResults(reqs[3]);
  ASSERT_EQ(results.size(), 3u);
  EXPECT_NE(std::get<1>(results[2]).find("2.4.1"), std::string::npos);
  EXPECT_EQ(Turns(reqs[3]).size(), 7u);
}

TEST_P(ClientTest, InvalidTerminalCallIsRejectedThenAccepted) {
  Json bad = kValidRca;
  bad["confidence"] = 1.7;
  fake_.Push(FakeReply::ToolUse("submit_rca", bad));
  fake_.Push(FakeReply::ToolUse("submit_rca", kValidRca));

  ToolLoopResult r = NewClient()->RunToolLoop(Loop());

  ASSERT_TRUE(r.ok) << r.audit.error;
  EXPECT_EQ(r.terminal_input, kValidRca);
  ASSERT_EQ(r.transcript.size(), 2u);
  EXPECT_TRUE(r.transcript[0].is_error);
  EXPECT_EQ(r.transcript[0].input, bad);
  EXPECT_FALSE(r.transcript[1].is_error);
  auto reqs = fake_.Requests();
  ASSERT_EQ(reqs.size(), 2u);
  auto results = ToolResults(reqs[1]);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_TRUE(std::get<2>(results[0]));
  EXPECT_NE(std::get<1>(results[0]).find("confidence: 1.7 is above the maximum 1"),
            std::string::npos)
      << std::get<1>(results[0]);
}

TEST_P(ClientTest, FailingToolsAreReportedAndTheLoopSurvives) {
  ToolLoopRequest req = Loop();
  req.tools[0].handler = [](const Json&) -> Expected<Json> {
    return Status::Transient("prometheus unreachable");
  };
  req.tools[1].handler = [](const Json&) -> Expected<Json> {
    throw std::runtime_error("loki client exploded");
  };
  fake_.Push(
      FakeReply::ToolUses({{"get_metric_history", {{"service", "payments"}}, ""},
                           {"get_recent_logs", {{"service", "payments"}, {"limit", 5}}, ""}}));
  fake_.Push(FakeReply::ToolUse("submit_rca", kValidRca));

  ToolLoopResult r = NewClient()->RunToolLoop(req);

  ASSERT_TRUE(r.ok) << r.audit.error;
  ASSERT_EQ(r.transcript.size(), 3u);
  EXPECT_TRUE(r.transcript[0].is_error);
  EXPECT_TRUE(r.transcript[1].is_error);
  auto results = ToolResults(fake_.Requests()[1]);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_TRUE(std::get<2>(results[0]));
  EXPECT_NE(std::get<1>(results[0]).find("prometheus unreachable"), std::string::npos);
  EXPECT_TRUE(std::get<2>(results[1]));
  EXPECT_NE(std::get<1>(results[1]).find("loki client exploded"), std::string::npos);
}

TEST_P(ClientTest, InvalidArgumentsAndUnknownToolsAreNotExecuted) {
  fake_.Push(
      FakeReply::ToolUses({{"get_recent_logs", {{"service", "payments"}, {"limit", 500}}, ""},
                           {"get_metric_history", {{"service", 42}}, ""},
                           {"drop_database", {{"name", "prod"}}, ""}}));
  fake_.Push(FakeReply::ToolUse("submit_rca", kValidRca));

  ToolLoopResult r = NewClient()->RunToolLoop(Loop());

  ASSERT_TRUE(r.ok) << r.audit.error;
  EXPECT_TRUE(calls_.empty());
  ASSERT_EQ(r.transcript.size(), 4u);
  for (size_t i = 0; i < 3; ++i) EXPECT_TRUE(r.transcript[i].is_error) << i;
  auto results = ToolResults(fake_.Requests()[1]);
  ASSERT_EQ(results.size(), 3u);
  EXPECT_NE(std::get<1>(results[0]).find("limit: 500 is above the maximum 50"), std::string::npos);
  EXPECT_NE(std::get<1>(results[1]).find("service: expected string"), std::string::npos);
  EXPECT_NE(std::get<1>(results[2]).find("Unknown tool `drop_database`"), std::string::npos);
}

TEST(ClientRequestTest, OpenAiArgumentsThatAreNotJsonAreReportedToTheModel) {
  FakeLlmServer fake;
  fake.Push(FakeReply::ToolUse("get_recent_logs", Json("{\"service\": \"payments\", ")));
  fake.Push(FakeReply::ToolUse("submit_rca", kValidRca));
  LlmConfig config;
  config.provider = Provider::kOpenAi;
  config.base_url = fake.OpenAiBaseUrl();
  config.max_rpm = 100000;
  bool called = false;
  ToolLoopRequest req;
  req.prompt = "Investigate.";
  req.terminal_tool = "submit_rca";
  req.tools = {{"get_recent_logs", "logs", kLogsSchema,
                [&](const Json&) -> Expected<Json> {
                  called = true;
                  return Json::object();
                }},
               {"submit_rca", "done", kRcaSchema, nullptr}};
  ToolLoopResult r = MakeClient(config)->RunToolLoop(req);
  ASSERT_TRUE(r.ok) << r.audit.error;
  EXPECT_FALSE(called);
  ASSERT_EQ(r.transcript.size(), 2u);
  EXPECT_TRUE(r.transcript[0].is_error);
  EXPECT_EQ(r.transcript[0].input, (Json{{"_raw", "{\"service\": \"payments\", "}}));
  auto tool_msg = fake.Requests()[1].json.at("messages").back();
  EXPECT_EQ(tool_msg.at("role"), "tool");
  EXPECT_NE(tool_msg.at("content").get<std::string>().find("not a JSON object"), std::string::npos);
}

TEST_P(ClientTest, TextWithoutToolCallIsNudged) {
  fake_.Push(FakeReply::Text("I think it is a memory leak."));
  fake_.Push(FakeReply::ToolUse("submit_rca", kValidRca));
  ToolLoopResult r = NewClient()->RunToolLoop(Loop());
  ASSERT_TRUE(r.ok) << r.audit.error;
  EXPECT_EQ(r.audit.rounds, 2);
  auto reqs = fake_.Requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_NE(LastText(reqs[1]).find("call `submit_rca`"), std::string::npos) << LastText(reqs[1]);
}

TEST_P(ClientTest, RoundLimitEndsWithInvalidOutput) {
  for (int i = 0; i < 3; ++i)
    fake_.Push(FakeReply::ToolUse("get_metric_history", {{"service", "payments"}}));
  ToolLoopRequest req = Loop();
  req.max_rounds = 3;
  ToolLoopResult r = NewClient()->RunToolLoop(req);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.audit.outcome, Outcome::kInvalidOutput);
  EXPECT_EQ(r.audit.rounds, 3);
  EXPECT_EQ(fake_.RequestCount(), 3u);
  EXPECT_EQ(r.transcript.size(), 3u);
  // The model was told before its last round.
  EXPECT_NE(LastText(fake_.Requests()[2]).find("last round"), std::string::npos);
}

TEST_P(ClientTest, TokenBudgetEndsTheLoop) {
  fake_.Push(
      FakeReply::ToolUse("get_metric_history", {{"service", "payments"}}).WithUsage(900, 200));
  fake_.Push(FakeReply::ToolUse("submit_rca", kValidRca));
  ToolLoopRequest req = Loop();
  req.token_budget = 1000;
  ToolLoopResult r = NewClient()->RunToolLoop(req);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.audit.outcome, Outcome::kInvalidOutput);
  EXPECT_NE(r.audit.error.find("token budget"), std::string::npos) << r.audit.error;
  EXPECT_EQ(fake_.RequestCount(), 1u);
}

TEST_P(ClientTest, DeadlineExpiresDuringASlowResponse) {
  fake_.Push(FakeReply::ToolUse("get_metric_history", {{"service", "payments"}}));
  fake_.Push(FakeReply::ToolUse("submit_rca", kValidRca).WithDelay(milliseconds(5000)));
  ToolLoopRequest req = Loop();
  req.deadline = milliseconds(800);
  auto start = Clock::now();
  ToolLoopResult r = NewClient()->RunToolLoop(req);
  int64_t elapsed = MsSince(start);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.audit.outcome, Outcome::kTimeout) << r.audit.error;
  EXPECT_GE(elapsed, 700);
  EXPECT_LT(elapsed, 2500);
  EXPECT_EQ(r.transcript.size(), 1u);   // the first round's tool call
  EXPECT_EQ(fake_.RequestCount(), 2u);  // no retry: no time left
}

// ---- structured output -------------------------------------------------------------------

TEST_P(ClientTest, StructuredToleratesFencesAndRepairsOnce) {
  fake_.Push(
      FakeReply::Text("Here is my classification:\n```json\n{\"severity\": \"EXTREME\", "
                      "\"summary\": \"slow\"}\n```"));
  fake_.Push(FakeReply::Text(
      "```json\n{\"severity\": \"HIGH\", \"summary\": \"payments p99 20x baseline\"}\n```"));

  StructuredResult r = NewClient()->Structured(Classify());

  ASSERT_TRUE(r.ok) << r.audit.error;
  EXPECT_EQ(r.value, (Json{{"severity", "HIGH"}, {"summary", "payments p99 20x baseline"}}));
  EXPECT_EQ(r.audit.rounds, 2);
  EXPECT_EQ(r.audit.input_tokens, 20);
  EXPECT_EQ(r.audit.output_tokens, 10);
  auto reqs = fake_.Requests();
  ASSERT_EQ(reqs.size(), 2u);
  Json turns = Turns(reqs[1]);
  ASSERT_EQ(turns.size(), 3u);
  EXPECT_EQ(turns[1].at("role"), "assistant");
  EXPECT_NE(turns[1].at("content").get<std::string>().find("EXTREME"), std::string::npos);
  std::string repair = turns[2].at("content").get<std::string>();
  EXPECT_NE(repair.find("severity: \"EXTREME\" is not one of"), std::string::npos) << repair;
}

TEST_P(ClientTest, StructuredGivesUpAfterOneRepair) {
  fake_.Push(FakeReply::Text("I am not sure."));
  fake_.Push(FakeReply::Text(R"({"severity": "HIGH", "summary": 7})"));
  StructuredResult r = NewClient()->Structured(Classify());
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.audit.outcome, Outcome::kInvalidOutput);
  EXPECT_NE(r.audit.error.find("summary: expected string"), std::string::npos) << r.audit.error;
  EXPECT_EQ(fake_.RequestCount(), 2u);
  EXPECT_NE(LastText(fake_.Requests()[1]).find("no JSON object"), std::string::npos);
}

// ---- resilience --------------------------------------------------------------------------

TEST_P(ClientTest, RetryAfterIsHonoured) {
  fake_.Push(FakeReply::Error(429, "rate_limit_error", "slow down").WithHeader("retry-after", "1"));
  fake_.Push(FakeReply::Text(R"({"severity": "LOW", "summary": "fine"})"));
  StructuredResult r = NewClient()->Structured(Classify());
  ASSERT_TRUE(r.ok) << r.audit.error;
  auto reqs = fake_.Requests();
  ASSERT_EQ(reqs.size(), 2u);
  auto gap = std::chrono::duration_cast<milliseconds>(reqs[1].received - reqs[0].received);
  EXPECT_GE(gap.count(), 1000);
  EXPECT_LT(gap.count(), 5000);
  EXPECT_EQ(r.audit.rounds, 1);  // a retried request is one round
}

TEST_P(ClientTest, RetryAfterBeyondTheDeadlineFailsAtOnce) {
  fake_.Push(
      FakeReply::Error(429, "rate_limit_error", "slow down").WithHeader("retry-after", "30"));
  StructuredRequest req = Classify();
  req.deadline = milliseconds(3000);
  auto start = Clock::now();
  StructuredResult r = NewClient()->Structured(req);
  EXPECT_LT(MsSince(start), 1500);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.audit.outcome, Outcome::kHttpError);
  EXPECT_NE(r.audit.error.find("HTTP 429"), std::string::npos) << r.audit.error;
  EXPECT_EQ(fake_.RequestCount(), 1u);
}

TEST_P(ClientTest, ServerErrorsAreRetriedThreeTimesAtMost) {
  for (int i = 0; i < 4; ++i) fake_.Push(FakeReply::Error(500, "api_error", "internal"));
  StructuredResult r = NewClient()->Structured(Classify());
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.audit.outcome, Outcome::kHttpError);
  EXPECT_NE(r.audit.error.find("after 3 attempts"), std::string::npos) << r.audit.error;
  EXPECT_EQ(fake_.RequestCount(), 3u);
  EXPECT_EQ(fake_.Pending(), 1u);
}

TEST_P(ClientTest, OverloadedIsRetried) {
  fake_.Push(FakeReply::Error(529, "overloaded_error", "Overloaded"));
  fake_.Push(FakeReply::Raw(503, "<html>upstream unavailable</html>"));
  fake_.Push(FakeReply::Text(R"({"severity": "LOW", "summary": "fine"})"));
  StructuredResult r = NewClient()->Structured(Classify());
  ASSERT_TRUE(r.ok) << r.audit.error;
  EXPECT_EQ(fake_.RequestCount(), 3u);
}

TEST_P(ClientTest, UnauthorizedIsNotRetried) {
  fake_.Push(FakeReply::Error(401, "authentication_error", "invalid x-api-key"));
  fake_.Push(FakeReply::Error(403, "permission_error", "no access to model"));
  auto client = NewClient();
  StructuredResult first = client->Structured(Classify());
  EXPECT_EQ(fake_.RequestCount(), 1u);
  StructuredResult second = client->Structured(Classify());
  EXPECT_EQ(fake_.RequestCount(), 2u);
  for (const auto* r : {&first, &second}) {
    EXPECT_FALSE(r->ok);
    EXPECT_EQ(r->audit.outcome, Outcome::kHttpError);
  }
  EXPECT_NE(first.audit.error.find("HTTP 401"), std::string::npos) << first.audit.error;
  EXPECT_NE(second.audit.error.find("HTTP 403"), std::string::npos) << second.audit.error;
}

TEST_P(ClientTest, GarbageBodiesFailCleanly) {
  const std::string bodies[] = {"this is not json",
                                "",
                                "{\"unexpected\": true}",
                                "[]",
                                "{\"content\": [{\"type\": \"tool_use\"}]}",
                                "{\"choices\": [{\"message\": 3}]}"};
  auto client = NewClient();
  for (const auto& body : bodies) {
    SCOPED_TRACE(body);
    size_t before = fake_.RequestCount();
    fake_.Push(FakeReply::Raw(200, body));
    StructuredResult r = client->Structured(Classify());
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.audit.outcome, Outcome::kInvalidOutput) << r.audit.error;
    EXPECT_NE(r.audit.error.find("malformed response body"), std::string::npos) << r.audit.error;
    EXPECT_EQ(fake_.RequestCount(), before + 1);
  }
  // An error status with an HTML body is an HTTP error, retried like any 5xx.
  for (int i = 0; i < 3; ++i) fake_.Push(FakeReply::Raw(502, "<html>\nBad Gateway\n</html>"));
  StructuredResult r = client->Structured(Classify());
  EXPECT_EQ(r.audit.outcome, Outcome::kHttpError);
  EXPECT_NE(r.audit.error.find("HTTP 502"), std::string::npos) << r.audit.error;
}

TEST_P(ClientTest, ApiKeyNeverAppearsInAuditsErrorsOrLogs) {
  std::ostringstream captured;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(captured);
  auto logger = sre::log::Get("llm");
  logger->sinks().push_back(sink);

  // A provider that echoes the key back in its error messages.
  fake_.Push(FakeReply::Error(401, "authentication_error", std::string("invalid key ") + kKey));
  for (int i = 0; i < 3; ++i)
    fake_.Push(FakeReply::Error(500, "api_error", std::string("echo ") + kKey));
  fake_.Push(FakeReply::Error(400, "invalid_request_error", std::string("bad ") + kKey));
  auto client = NewClient();
  StructuredResult a = client->Structured(Classify());
  StructuredResult b = client->Structured(Classify());
  ToolLoopResult c = client->RunToolLoop(Loop());

  logger->sinks().pop_back();
  // The key was sent...
  EXPECT_EQ(fake_.RequestCount(), 5u);
  // ...and never repeated.
  for (const auto& audit : {a.audit, b.audit, c.audit}) {
    EXPECT_FALSE(audit.outcome == Outcome::kOk);
    std::string json = audit.ToJson().dump();
    EXPECT_EQ(json.find(kKey), std::string::npos) << json;
    EXPECT_EQ(json.find("SECRET"), std::string::npos) << json;
    EXPECT_NE(audit.error.find("***"), std::string::npos) << audit.error;
  }
  std::string logs = captured.str();
  EXPECT_NE(logs.find("HTTP 401"), std::string::npos) << logs;
  EXPECT_EQ(logs.find("SECRET"), std::string::npos) << logs;
}

TEST_P(ClientTest, ConcurrentCallsShareOneClient) {
  constexpr int kThreads = 4, kCallsEach = 3;
  for (int i = 0; i < kThreads * kCallsEach; ++i)
    fake_.Push(FakeReply::Text(R"({"severity": "MEDIUM", "summary": "x"})"));
  auto client = NewClient();
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kCallsEach; ++i) ok += client->Structured(Classify()).ok ? 1 : 0;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), kThreads * kCallsEach);
  EXPECT_EQ(fake_.RequestCount(), static_cast<size_t>(kThreads * kCallsEach));
}

TEST_P(ClientTest, MetricsRecordTokensAndLatency) {
  fake_.Push(FakeReply::Text(R"({"severity": "LOW", "summary": "x"})").WithUsage(31, 7));
  auto& tokens_in = Metrics().GetCounter(
      "sre_llm_tokens_total", "LLM tokens used",
      {{"provider", provider()}, {"model", "claude-haiku-4-5"}, {"direction", "input"}});
  double before = tokens_in.Value();
  ASSERT_TRUE(NewClient()->Structured(Classify()).ok);
  EXPECT_EQ(tokens_in.Value(), before + 31);
  std::string text = Metrics().Render();
  EXPECT_NE(text.find("sre_llm_latency_seconds_count{provider=\"" + provider() + "\"}"),
            std::string::npos);
}

// ---- no provider, no network ---------------------------------------------------------------

TEST(ClientNoneTest, ProviderNoneMakesNoNetworkCalls) {
  FakeLlmServer fake;
  fake.Push(FakeReply::Text(R"({"severity": "LOW", "summary": "x"})"));
  Config env = Config::FromMap({{"LLM_PROVIDER", "none"},
                                {"ANTHROPIC_API_KEY", kKey},
                                {"ANTHROPIC_BASE_URL", fake.BaseUrl()},
                                {"OPENAI_BASE_URL", fake.OpenAiBaseUrl()}});
  LlmConfig config = LlmConfig::FromConfig(env);
  env.Validate();
  auto client = MakeClient(config);
  EXPECT_FALSE(client->enabled());
  double before = CallsTotal("none", "", "unavailable");

  auto start = Clock::now();
  StructuredRequest sreq;
  sreq.prompt = "Classify.";
  sreq.schema = kSeveritySchema;
  StructuredResult s = client->Structured(sreq);
  ToolLoopRequest lreq;
  lreq.prompt = "Investigate.";
  lreq.terminal_tool = "submit_rca";
  lreq.tools = {{"submit_rca", "done", kRcaSchema, nullptr}};
  ToolLoopResult l = client->RunToolLoop(lreq);
  int64_t elapsed = MsSince(start);

  EXPECT_LT(elapsed, 100);
  EXPECT_FALSE(s.ok);
  EXPECT_FALSE(l.ok);
  EXPECT_EQ(s.audit.outcome, Outcome::kUnavailable);
  EXPECT_EQ(l.audit.outcome, Outcome::kUnavailable);
  EXPECT_EQ(s.audit.provider, "none");
  EXPECT_EQ(s.audit.rounds, 0);
  EXPECT_EQ(CallsTotal("none", "", "unavailable"), before + 2);
  EXPECT_EQ(fake.RequestCount(), 0u);
}

TEST(ClientNoneTest, AutoWithoutKeyOrUrlIsNone) {
  Config env = Config::FromMap({});
  auto client = MakeClient(LlmConfig::FromConfig(env));
  EXPECT_EQ(client->provider(), Provider::kNone);
  auto start = Clock::now();
  EXPECT_EQ(client->Structured(StructuredRequest{}).audit.outcome, Outcome::kUnavailable);
  EXPECT_LT(MsSince(start), 100);
}

TEST(ClientNoneTest, UnreachableProviderIsUnavailable) {
  // A bound socket that never listens: connections to it are refused, and no other process can
  // take the port meanwhile.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), len), 0);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  std::string url = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  LlmConfig config;
  config.provider = Provider::kAnthropic;
  config.api_key = Secret(kKey);
  config.base_url = url;
  config.max_rpm = 100000;
  config.retry.base_backoff = milliseconds(20);
  StructuredRequest req;
  req.prompt = "Classify.";
  req.schema = kSeveritySchema;
  req.deadline = std::chrono::seconds(5);
  StructuredResult r = MakeClient(config)->Structured(req);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.audit.outcome, Outcome::kUnavailable) << r.audit.error;
  EXPECT_NE(r.audit.error.find("after 3 attempts"), std::string::npos) << r.audit.error;
  ::close(fd);
}

TEST(ClientNoneTest, MissingTerminalToolFailsWithoutNetwork) {
  FakeLlmServer fake;
  LlmConfig config;
  config.provider = Provider::kAnthropic;
  config.api_key = Secret(kKey);
  config.base_url = fake.BaseUrl();
  ToolLoopRequest req;
  req.prompt = "Investigate.";
  req.terminal_tool = "submit_rca";
  ToolLoopResult r = MakeClient(config)->RunToolLoop(req);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.audit.outcome, Outcome::kInvalidOutput);
  EXPECT_EQ(fake.RequestCount(), 0u);
}

TEST(CountFallbackTest, CountsPerAgentAndPurpose) {
  auto& c = Metrics().GetCounter("sre_llm_fallbacks_total",
                                 "Deterministic fallbacks used in place of the LLM",
                                 {{"agent", "detection"}, {"purpose", "classification"}});
  double before = c.Value();
  CountFallback("detection", "classification");
  CountFallback("detection", "classification");
  EXPECT_EQ(c.Value(), before + 2);
}

// Issue 15: without a provider (the documented default) every agent warned "LLM unavailable";
// it is said once at start-up, at info, and the metric still counts every fallback.
TEST(CountFallbackTest, WarnsOnlyWhenAProviderWasConfigured) {
  std::ostringstream captured;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(captured);
  auto llm_log = sre::log::Get("llm"), agent_log = sre::log::Get("fallback-test-agent");
  llm_log->sinks().push_back(sink);
  agent_log->sinks().push_back(sink);
  LlmConfig none;
  none.provider = Provider::kNone;
  auto client = MakeClient(none);
  CountFallback("fallback-test-agent", "none-purpose");
  CountFallback("fallback-test-agent", "none-purpose");
  std::string without = captured.str();
  captured.str("");

  LlmConfig remote;
  remote.provider = Provider::kOpenAi;
  remote.base_url = "http://127.0.0.1:9";
  remote.api_key = Secret("k");
  auto configured = MakeClient(remote);
  CountFallback("fallback-test-agent", "remote-purpose");
  CountFallback("fallback-test-agent", "remote-purpose");
  std::string with = captured.str();
  llm_log->sinks().pop_back();
  agent_log->sinks().pop_back();

  EXPECT_NE(without.find("LLM provider: none"), std::string::npos) << without;
  EXPECT_EQ(without.find("unavailable"), std::string::npos) << without;
  size_t first = with.find("LLM unavailable or unusable for remote-purpose");
  ASSERT_NE(first, std::string::npos) << with;
  EXPECT_EQ(with.find("LLM unavailable", first + 1), std::string::npos) << "warned twice: " << with;
  EXPECT_EQ(Metrics()
                .GetCounter("sre_llm_fallbacks_total", "Deterministic fallbacks used in place of the LLM",
                            {{"agent", "fallback-test-agent"}, {"purpose", "none-purpose"}})
                .Value(),
            2);
}

TEST(CallAuditTest, JsonHasTheWireNames) {
  CallAudit a;
  a.provider = "anthropic";
  a.model = "claude-haiku-4-5";
  a.latency_ms = 12;
  a.input_tokens = 3;
  a.output_tokens = 4;
  a.rounds = 1;
  a.outcome = Outcome::kInvalidOutput;
  a.error = "bad";
  EXPECT_EQ(a.ToJson(), (Json{{"provider", "anthropic"},
                              {"model", "claude-haiku-4-5"},
                              {"latency_ms", 12},
                              {"input_tokens", 3},
                              {"output_tokens", 4},
                              {"rounds", 1},
                              {"outcome", "invalid_output"},
                              {"error", "bad"}}));
  auto back = FromJson<CallAudit>(a.ToJson());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->outcome, Outcome::kInvalidOutput);
  const char* names[] = {"ok", "invalid_output", "timeout", "http_error", "unavailable"};
  for (int i = 0; i < 5; ++i) EXPECT_EQ(ToString(static_cast<Outcome>(i)), names[i]);
}

}  // namespace
}  // namespace sre::llm
