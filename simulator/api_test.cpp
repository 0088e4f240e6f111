#include "simulator/api.h"

#include <gtest/gtest.h>

#include <map>

#include "shared/json_codec.h"
#include "simulator/service.h"
#include "simulator/test_util.h"

namespace sre::sim {
namespace {

// What `curl -X POST localhost:8100/...` sends: no body, so no Content-Length or Content-Type.
const PostHeaders kNoBody{};

PostHeaders JsonBody(const std::string& body, const std::string& type = "application/json") {
  PostHeaders h;
  h.host = "localhost:8100";
  h.content_type = type;
  h.content_length = std::to_string(body.size());
  return h;
}

constexpr const char* kUserCpu = R"({"name": "USER_CPU", "service": "user-service",
    "duration_s": 60, "metrics": [{"metric": "cpu_percent", "peak": 90}],
    "ground_truth": {"root_cause_service": "user-service",
                     "root_cause_category": "CPU_EXHAUSTION"}})";

// A reply's status, with its body in the failure message; the body must be a JSON object.
int StatusOf(const HttpReply& r) {
  Json j = Json::parse(r.body, nullptr, false);
  EXPECT_TRUE(j.is_object()) << r.status << " " << r.body;
  if (r.status >= 400) {
    EXPECT_TRUE(j.contains("error")) << r.body;
  }
  return r.status;
}

class ScenarioApiTest : public ::testing::Test {
 protected:
  ScenarioApiTest()
      : sim_(testing::MakeSimulator(31)), api_(*sim_, mu_, registry_, RunInfo{100, "off"}) {
    sim_->Tick(testing::kLiveStart);
  }
  double Injections(const std::string& scenario) {
    return registry_
        .GetCounter("failure_injections_total", "Failure scenarios injected, by scenario name",
                    {{"scenario", scenario}})
        .Value();
  }

  std::mutex mu_;
  MetricsRegistry registry_;
  std::unique_ptr<Simulator> sim_;
  ScenarioApi api_;
};

TEST_F(ScenarioApiTest, ListsTheCatalogueAndWhatIsActive) {
  HttpReply r = api_.List();
  ASSERT_EQ(r.status, 200);
  Json j = Json::parse(r.body);
  EXPECT_EQ(j["scenarios"].size(), 11u);
  EXPECT_EQ(j["active"].size(), 0u);
  EXPECT_EQ(j["simulated_time_ms"], testing::kLiveStart);
  EXPECT_EQ(j["schedule"], "off");
  EXPECT_EQ(j["speed"], 100.0);
  EXPECT_TRUE(j["next_injection_ms"].is_null());
  EXPECT_EQ(j["run_id"], sim_->run_id());
  const Json& first = j["scenarios"][0];
  for (const char* key : {"name", "description", "service", "duration_s", "trigger_metrics",
                          "effects", "deployment", "cascade", "ground_truth"})
    EXPECT_TRUE(first.contains(key)) << key;

  ASSERT_EQ(api_.InjectNamed("CONFIG_PUSH", kNoBody).status, 201);
  j = Json::parse(api_.List().body);
  ASSERT_EQ(j["active"].size(), 1u);
  EXPECT_EQ(j["active"][0]["name"], "CONFIG_PUSH");
  EXPECT_EQ(j["active"][0]["phase"], "starting");
  EXPECT_TRUE(j["active"][0]["deployment_version"].is_string());
}

TEST_F(ScenarioApiTest, InjectNamedAnswers201Then409And404) {
  EXPECT_EQ(Injections("LATENCY_SPIKE"), 0);
  HttpReply ok = api_.InjectNamed("LATENCY_SPIKE", kNoBody);
  EXPECT_EQ(ok.status, 201);
  Json j = Json::parse(ok.body);
  EXPECT_EQ(j["service"], "payment-service");
  EXPECT_EQ(j["started_at_ms"], testing::kLiveStart + kTickMs);
  EXPECT_EQ(Injections("LATENCY_SPIKE"), 1);

  HttpReply busy = api_.InjectNamed("BAD_DEPLOY_LATENCY", kNoBody);
  EXPECT_EQ(busy.status, 409);
  EXPECT_NE(Json::parse(busy.body)["error"].get<std::string>().find("payment-service"),
            std::string::npos);
  EXPECT_EQ(Injections("BAD_DEPLOY_LATENCY"), 0);

  HttpReply unknown = api_.InjectNamed("FLOOD", kNoBody);
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(Json::parse(unknown.body)["known"].size(), 11u);
}

TEST_F(ScenarioApiTest, InjectCustomValidatesThenStarts) {
  const std::string wobbly = R"({"name": "X", "service": "user-service", "duration_s": 60,
      "metrics": [{"metric": "cpu_percent", "peak": 90, "shape": "wobbly"}],
      "ground_truth": {"root_cause_service": "user-service", "root_cause_category": "UNKNOWN"}})";
  HttpReply bad = api_.InjectCustom(JsonBody(wobbly), wobbly);
  EXPECT_EQ(bad.status, 400);
  Json err = Json::parse(bad.body);
  EXPECT_EQ(err["field"], "metrics[0].shape");
  EXPECT_TRUE(err["error"].is_string());

  const std::string good = kUserCpu;
  HttpReply ok = api_.InjectCustom(JsonBody(good), good);
  EXPECT_EQ(ok.status, 201) << ok.body;
  EXPECT_TRUE(Json::parse(ok.body)["custom"].get<bool>());
  EXPECT_EQ(Injections("USER_CPU"), 1);
  EXPECT_EQ(api_.InjectCustom(JsonBody(good), good).status, 409);  // user-service is busy now
  EXPECT_EQ(api_.InjectNamed("DEPLOYMENT_FAILURE", kNoBody).status, 409);
}

TEST_F(ScenarioApiTest, CustomScenarioNeedsAJsonContentType) {
  const std::string body = kUserCpu;
  for (const char* type :
       {"text/plain", "text/plain; charset=utf-8", "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x", "application/jsonx", "text/json", ""}) {
    SCOPED_TRACE(type);
    HttpReply r = api_.InjectCustom(JsonBody(body, type), body);
    EXPECT_EQ(StatusOf(r), 415);
    EXPECT_NE(r.body.find("application/json"), std::string::npos) << r.body;
  }
  // Without a body the type is still required: nothing but JSON defines a scenario.
  EXPECT_EQ(StatusOf(api_.InjectCustom(kNoBody, "")), 415);
  EXPECT_EQ(Injections("USER_CPU"), 0);

  for (const char* type : {"application/json", "Application/JSON", "application/json;charset=UTF-8",
                           " application/json ; charset=utf-8"})
    EXPECT_EQ(api_.Screen(PostRoute::kCustom, JsonBody(body, type)), std::nullopt) << type;
  EXPECT_EQ(StatusOf(api_.InjectCustom(JsonBody(body, "application/json; charset=utf-8"), body)),
            201);
}

TEST_F(ScenarioApiTest, BodiesOver64KiBAre413) {
  // A valid definition padded with whitespace to exactly the limit is accepted ...
  std::string at_limit = kUserCpu;
  at_limit.append(kMaxBodyBytes - at_limit.size(), ' ');
  ASSERT_EQ(at_limit.size(), 65536u);
  // ... one byte more is not, whether Content-Length announces it or a chunked body brings it.
  std::string over = at_limit + " ";
  HttpReply announced = api_.InjectCustom(JsonBody(over), over);
  EXPECT_EQ(StatusOf(announced), 413);
  EXPECT_NE(announced.body.find("65536"), std::string::npos) << announced.body;
  PostHeaders chunked = JsonBody(over);
  chunked.content_length.clear();
  chunked.transfer_encoding = "chunked";
  EXPECT_EQ(api_.Screen(PostRoute::kCustom, chunked), std::nullopt);  // size unknown up front
  EXPECT_EQ(StatusOf(api_.InjectCustom(chunked, over)), 413);
  // Content-Length alone decides before any byte is read, for the named route too.
  PostHeaders huge = JsonBody("");
  huge.content_length = "99999999999999999999999";  // saturates instead of wrapping
  EXPECT_EQ(StatusOf(*api_.Screen(PostRoute::kCustom, huge)), 413);
  EXPECT_EQ(StatusOf(*api_.Screen(PostRoute::kNamed, huge)), 413);
  EXPECT_EQ(StatusOf(api_.InjectNamed("LATENCY_SPIKE", JsonBody(over), over)), 413);
  EXPECT_EQ(Injections("USER_CPU"), 0);

  EXPECT_EQ(StatusOf(api_.InjectCustom(JsonBody(at_limit), at_limit)), 201);
}

TEST_F(ScenarioApiTest, MalformedFramingIsRefused) {
  PostHeaders h = JsonBody(kUserCpu);
  h.content_length = "12abc";
  EXPECT_EQ(StatusOf(api_.InjectCustom(h, kUserCpu)), 400);
  h = JsonBody(kUserCpu);
  h.content_length = "-1";
  EXPECT_EQ(StatusOf(api_.InjectCustom(h, kUserCpu)), 400);
  h = JsonBody(kUserCpu);
  h.transfer_encoding = "gzip, chunked";
  EXPECT_EQ(StatusOf(api_.InjectCustom(h, kUserCpu)), 501);
  h.transfer_encoding = "Chunked";
  EXPECT_EQ(api_.Screen(PostRoute::kCustom, h), std::nullopt);
}

TEST_F(ScenarioApiTest, TooManyLogLinesName400TheField) {
  Json def = Json::parse(kUserCpu);
  def["logs"] = Json::array();
  for (size_t i = 0; i <= kMaxCustomLogs; ++i)
    def["logs"].push_back({{"level", "ERROR"}, {"message", "line " + std::to_string(i)}});
  std::string body = def.dump();
  HttpReply r = api_.InjectCustom(JsonBody(body), body);
  ASSERT_EQ(StatusOf(r), 400);
  EXPECT_EQ(Json::parse(r.body)["field"], "logs");
  EXPECT_NE(r.body.find("at most 50"), std::string::npos) << r.body;

  def["logs"].erase(def["logs"].size() - 1);
  body = def.dump();
  EXPECT_EQ(StatusOf(api_.InjectCustom(JsonBody(body), body)), 201);
}

TEST_F(ScenarioApiTest, NamedInjectionNeedsNoBody) {
  // The README's `curl -X POST localhost:8100/api/scenarios/PAYMENT_OUTAGE`.
  EXPECT_EQ(api_.Screen(PostRoute::kNamed, kNoBody), std::nullopt);
  EXPECT_EQ(StatusOf(api_.InjectNamed("PAYMENT_OUTAGE", kNoBody)), 201);
  // `curl -d ''`: an empty urlencoded body is no body either.
  PostHeaders empty_form = JsonBody("", "application/x-www-form-urlencoded");
  EXPECT_FALSE(AnnouncesBody(empty_form));
  EXPECT_EQ(StatusOf(api_.InjectNamed("CPU_SATURATION", empty_form)), 201);
  // A JSON body is allowed (and not used).
  EXPECT_EQ(StatusOf(api_.InjectNamed("MEMORY_LEAK", JsonBody("{}"), "{}")), 201);
  EXPECT_EQ(Injections("MEMORY_LEAK"), 1);
}

TEST_F(ScenarioApiTest, NamedInjectionWithANonJsonBodyIs415) {
  // What a cross-site HTML form can send.
  for (const char* type : {"text/plain", "application/x-www-form-urlencoded",
                           "multipart/form-data; boundary=----x", ""}) {
    SCOPED_TRACE(type);
    EXPECT_EQ(StatusOf(api_.InjectNamed("PAYMENT_OUTAGE", JsonBody("a=b", type), "a=b")), 415);
    PostHeaders chunked = JsonBody("", type);
    chunked.content_length.clear();
    chunked.transfer_encoding = "chunked";
    EXPECT_EQ(StatusOf(*api_.Screen(PostRoute::kNamed, chunked)), 415);
  }
  EXPECT_EQ(Injections("PAYMENT_OUTAGE"), 0);
  EXPECT_TRUE(Json::parse(api_.List().body)["active"].empty());
}

TEST_F(ScenarioApiTest, CrossSiteOriginIs403OnEveryPost) {
  PostHeaders h = JsonBody(kUserCpu);
  h.origin = "http://evil.example";
  EXPECT_EQ(StatusOf(api_.InjectCustom(h, kUserCpu)), 403);
  PostHeaders named = kNoBody;
  named.host = "localhost:8100";
  named.origin = "http://localhost:8101";
  EXPECT_EQ(StatusOf(api_.InjectNamed("PAYMENT_OUTAGE", named)), 403);
  named.origin = "null";  // sandboxed frames, file:// pages
  EXPECT_EQ(StatusOf(api_.InjectNamed("PAYMENT_OUTAGE", named)), 403);
  EXPECT_TRUE(Json::parse(api_.List().body)["active"].empty());

  // The simulator's own origin (a page it might serve) may post.
  named.origin = "http://LOCALHOST:8100";
  EXPECT_EQ(StatusOf(api_.InjectNamed("PAYMENT_OUTAGE", named)), 201);
  h.origin = "http://localhost:8100";
  EXPECT_EQ(StatusOf(api_.InjectCustom(h, kUserCpu)), 201);
}

TEST(SameOriginTest, ComparesHostAndPortWithSchemeDefaults) {
  struct Case {
    const char* origin;
    const char* host;
    bool same;
  } cases[] = {
      {"", "localhost:8100", true},  // no Origin: not a browser's cross-site request
      {"", "", true},
      {"http://localhost:8100", "localhost:8100", true},
      {"HTTP://Localhost:8100", "localhost:8100", true},
      {"http://localhost:8100", "127.0.0.1:8100", false},
      {"http://localhost:8101", "localhost:8100", false},
      {"http://localhost", "localhost:8100", false},
      {"http://sim.example", "sim.example", true},
      {"http://sim.example:80", "sim.example", true},
      {"https://sim.example", "sim.example", true},  // behind a TLS proxy
      {"https://sim.example", "sim.example:80", false},
      {"https://sim.example:443", "sim.example", true},
      {"http://[::1]:8100", "[::1]:8100", true},
      {"http://[::1]:8100", "[::2]:8100", false},
      {"http://evil.example", "localhost:8100", false},
      {"null", "localhost:8100", false},
      {"file://", "localhost:8100", false},
      {"ftp://localhost:8100", "localhost:8100", false},
      {"http://localhost:8100", "", false},
      {"http://localhost:99999", "localhost:99999", false},
      {"http://user@localhost:8100", "localhost:8100", false},
      {"http://localhost:8100/path", "localhost:8100", false},
      {"http://localhost:", "localhost:80", false},
  };
  for (const auto& c : cases)
    EXPECT_EQ(SameOrigin(c.origin, c.host), c.same) << c.origin << " vs " << c.host;
}

TEST(BearerMatchesTest, SchemeIsCaseInsensitiveTokenIsExact) {
  Secret token("s3cret-token");
  EXPECT_TRUE(BearerMatches(token, "Bearer s3cret-token"));
  EXPECT_TRUE(BearerMatches(token, "bearer   s3cret-token "));
  EXPECT_FALSE(BearerMatches(token, "Bearer s3cret-toke"));
  EXPECT_FALSE(BearerMatches(token, "Bearer s3cret-token2"));
  EXPECT_FALSE(BearerMatches(token, "Bearer S3CRET-TOKEN"));
  EXPECT_FALSE(BearerMatches(token, "Basic s3cret-token"));
  EXPECT_FALSE(BearerMatches(token, "s3cret-token"));
  EXPECT_FALSE(BearerMatches(token, "Bearer "));
  EXPECT_FALSE(BearerMatches(token, ""));
  EXPECT_FALSE(BearerMatches(Secret(), "Bearer "));
}

class TokenApiTest : public ScenarioApiTest {
 protected:
  TokenApiTest() : secured_(*sim_, mu_, registry_, RunInfo{100, "off"}, Secret("t0ken")) {}
  ScenarioApi secured_;
};

TEST_F(TokenApiTest, EveryPostNeedsTheBearerToken) {
  PostHeaders h = kNoBody;
  HttpReply missing = secured_.InjectNamed("PAYMENT_OUTAGE", h);
  EXPECT_EQ(StatusOf(missing), 401);
  EXPECT_EQ(missing.headers,
            (std::vector<std::pair<std::string, std::string>>{{"WWW-Authenticate", "Bearer"}}));
  EXPECT_EQ(missing.body.find("t0ken"), std::string::npos);
  h.authorization = "Bearer t0ke";
  EXPECT_EQ(StatusOf(secured_.InjectNamed("PAYMENT_OUTAGE", h)), 401);
  PostHeaders custom = JsonBody(kUserCpu);
  EXPECT_EQ(StatusOf(secured_.InjectCustom(custom, kUserCpu)), 401);
  EXPECT_TRUE(Json::parse(secured_.List().body)["active"].empty());  // GET stays open

  h.authorization = "Bearer t0ken";
  EXPECT_EQ(StatusOf(secured_.InjectNamed("PAYMENT_OUTAGE", h)), 201);
  custom.authorization = "Bearer t0ken";
  EXPECT_EQ(StatusOf(secured_.InjectCustom(custom, kUserCpu)), 201);
  // The token does not excuse a cross-site origin.
  h.host = "localhost:8100";
  h.origin = "http://evil.example";
  EXPECT_EQ(StatusOf(secured_.InjectNamed("CPU_SATURATION", h)), 403);
  // Without a token configured, an Authorization header is not needed (nor checked).
  EXPECT_EQ(StatusOf(api_.InjectNamed("CPU_SATURATION", kNoBody)), 201);
}

TEST(ServiceOptionsTest, ApiTokenIsASecretSetting) {
  Config config = Config::FromMap({{"SIM_API_TOKEN", "t0ken"}});
  ServiceOptions o = ReadOptions(config, testing::kLiveStart, 1);
  EXPECT_EQ(o.api_token.reveal(), "t0ken");
  std::map<std::string, std::string> described;
  for (const auto& [name, value] : config.Described()) described[name] = value;
  EXPECT_EQ(described["SIM_API_TOKEN"], "***");  // what the start-up log shows
  Config unset = Config::FromMap({});
  EXPECT_TRUE(ReadOptions(unset, testing::kLiveStart, 1).api_token.empty());
  size_t documented = 0;
  for (const auto& line : OptionsHelp()) documented += line.rfind("SIM_API_TOKEN ", 0) == 0;
  EXPECT_EQ(documented, 1u);
}

TEST_F(ScenarioApiTest, NulCharactersReachTheEmittedTelemetry) {
  Json def = Json::parse(kUserCpu);
  def["logs"] = {{{"level", "ERROR"}, {"message", std::string("payload\0tail", 12)}}};
  def["deployment"] = {{"change_type", "CODE"},
                       {"version", std::string("v2\0rc", 5)},
                       {"description", std::string("bump\0x", 6)},
                       {"lead_s", 10}};
  std::string body = def.dump();
  ASSERT_NE(body.find("\\u0000"), std::string::npos);  // on the wire as JSON's \u0000
  ASSERT_EQ(StatusOf(api_.InjectCustom(JsonBody(body), body)), 201);

  std::vector<RawLog> logs;
  std::vector<RawDeployment> deployments;
  for (int64_t t = testing::kLiveStart + kTickMs; t <= testing::kLiveStart + 6 * kTickMs;
       t += kTickMs) {
    TickBatch b = sim_->Tick(t);
    for (auto& l : b.logs)
      if (l.source_service == "user-service" && l.level == LogLevel::ERROR) logs.push_back(l);
    for (auto& d : b.deployments) deployments.push_back(d);
  }
  ASSERT_FALSE(logs.empty());
  EXPECT_EQ(logs[0].message, "payload\xEF\xBF\xBDtail");
  ASSERT_EQ(deployments.size(), 1u);
  EXPECT_EQ(deployments[0].version, "v2\xEF\xBF\xBDrc");
  EXPECT_EQ(deployments[0].description, "bump\xEF\xBF\xBDx");
  // Cleaned at the simulator's edge by the shared decoding: no NUL is published.
  EXPECT_EQ(Encode(logs[0]).find("\\u0000"), std::string::npos) << Encode(logs[0]);
  EXPECT_EQ(Encode(deployments[0]).find("\\u0000"), std::string::npos);
}

TEST_F(ScenarioApiTest, HostileBodiesAre400WithoutCrashing) {
  std::vector<std::string> bodies = {
      std::string(60000, '['),
      std::string(30000, '[') + std::string(30000, ']'),
      "{\"metrics\": " + std::string(30000, '[') + std::string(30000, ']') + "}",
      std::string(60000, '{'),
      R"({"name": "BIG", "service": "user-service", "duration_s": 1e400})",
      R"({"name": "BIG", "service": "user-service", "duration_s": 1e308})",
      "{\"name\": \"" + std::string(60000, 'A') + "\"}",
      "{\"" + std::string(60000, 'k') + "\": 1}",
      "{\"name\": \"\xff\xfe\"}",
      "{\"name\": \"\xc0\x80\"}",  // overlong NUL
      "{\"name\": \"\\ud800\"}",   // lone surrogate
      "",
      std::string(100, '\0'),
  };
  for (const auto& body : bodies) {
    SCOPED_TRACE(body.substr(0, 60));
    HttpReply r = api_.InjectCustom(JsonBody(body), body);
    EXPECT_EQ(StatusOf(r), 400);
    EXPECT_LT(r.body.size(), 1000u);  // the reply does not echo a huge body back
  }
  EXPECT_TRUE(Json::parse(api_.List().body)["active"].empty());
}
}  // namespace
}  // namespace sre::sim
