// The dashboard in headless Chromium, driven over WebDriver (chromedriver's JSON-over-HTTP
// protocol, spoken with cpp-httplib): the real agents, simulator and sre-api run on the e2e stack;
// a scenario injected through the simulator API must appear in the open page without a reload,
// and its detail must show the RCA candidates and the timeline. Screenshots go to the build
// directory (and, with SRE_UPDATE_DOCS=1, to docs/dashboard.png in the source tree).
#include <gtest/gtest.h>
#include <httplib.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "shared/ids.h"
#include "shared/json_codec.h"
#include "shared/links.h"
#include "shared/postgres.h"
#include "shared/redis.h"
#include "tests/support/pipeline_harness.h"
#include "tests/support/process.h"
#include "tests/support/test_stack.h"

namespace sre {
namespace {

using namespace std::chrono_literals;
using testing::Stack;

std::string Base64Decode(const std::string& in) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  int bits = 0;
  unsigned buffer = 0;
  for (char c : in) {
    int v = value(c);
    if (v < 0) continue;
    buffer = (buffer << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xFF));
    }
  }
  return out;
}

// A minimal W3C WebDriver client for one session.
class WebDriver {
 public:
  explicit WebDriver(int port) : client_("127.0.0.1", port) {
    client_.set_read_timeout(60);
    client_.set_connection_timeout(5);
  }
  ~WebDriver() {
    if (!session_.empty()) client_.Delete(("/session/" + session_).c_str());
  }
  bool Ready() {
    auto r = client_.Get("/status");
    return r && r->status == 200 &&
           Json::parse(r->body, nullptr, false)
               .value("value", Json::object())
               .value("ready", false);
  }
  std::string NewSession() {
    Json caps = {
        {"capabilities",
         {{"alwaysMatch",
           {{"browserName", "chrome"},
            {"goog:chromeOptions",
             {{"binary", "/usr/bin/chromium"},
              {"args",
               {"--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1600,1100", "--no-first-run", "--disable-extensions"}}}}}}}}};
    Json r = Call("POST", "/session", caps);
    session_ = r.value("value", Json::object()).value("sessionId", std::string());
    return session_.empty() ? r.dump() : std::string();
  }
  Json Call(const std::string& method, const std::string& path, const Json& body = Json::object()) {
    httplib::Result r = method == "GET"
                            ? client_.Get(path.c_str())
                            : client_.Post(path.c_str(), body.dump(), "application/json");
    if (!r) return {{"error", "no answer from chromedriver"}};
    return Json::parse(r->body, nullptr, false);
  }
  Json Session(const std::string& method, const std::string& path,
               const Json& body = Json::object()) {
    return Call(method, "/session/" + session_ + path, body);
  }
  void Navigate(const std::string& url) { Session("POST", "/url", {{"url", url}}); }
  // Runs `script` (a function body) in the page; returns its value.
  Json Execute(const std::string& script) {
    return Session("POST", "/execute/sync", {{"script", script}, {"args", Json::array()}})
        .value("value", Json());
  }
  std::string Screenshot() {
    return Base64Decode(Session("GET", "/screenshot").value("value", std::string()));
  }

 private:
  httplib::Client client_;
  std::string session_;
};

TEST(DashboardBrowserTest, IncidentAppearsLiveAndShowsRcaAndTimeline) {
  SRE_REQUIRE_STACK();
  if (!std::filesystem::exists("/usr/bin/chromedriver") ||
      !std::filesystem::exists("/usr/bin/chromium"))
    GTEST_SKIP() << "chromium and chromium-driver are not installed (infra/local/packages.txt)";
  const std::string build_dir = std::filesystem::current_path().string();
  // The e2e stack is shared (one test at a time, RESOURCE_LOCK e2e_pipeline). Start from empty
  // Redis series and locks, and run the simulated clock six hours in the past, so that this test's
  // incidents sort before (and are never mistaken for) those of a pipeline test run after it.
  {
    auto redis_options = ParseRedisUrl(Stack().redis_url);
    ASSERT_TRUE(redis_options.ok());
    RedisClient redis(*redis_options);
    ASSERT_TRUE(redis.Command({"FLUSHDB"}).ok());
  }
  const int64_t wall_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
  // Whatever happens, leave the shared e2e stack as a fresh one for the next e2e test: Redis
  // emptied (series, locks, caches) and this run's incidents, timeline, emails and postmortem
  // knowledge removed (they are the only ones dated hours in the past). Runs after `pipeline`
  // (declared later, destroyed first) has stopped every process.
  struct Cleanup {
    int64_t cutoff_ms;
    ~Cleanup() {
      if (auto redis_options = ParseRedisUrl(Stack().redis_url); redis_options.ok()) {
        RedisClient redis(*redis_options);
        EXPECT_TRUE(redis.Command({"FLUSHDB"}).ok());
      }
      Database db(Stack().database_url);
      Status s = db.Transact([&](pqxx::work& tx) {
        const std::string mine =
            "SELECT id FROM incidents WHERE detection_time < to_timestamp($1::bigint / 1000.0)";
        tx.exec_params(
            "DELETE FROM knowledge_documents WHERE id IN (SELECT 'postmortem:' || id::text "
            "FROM (" +
                mine + ") m)",
            cutoff_ms);
        tx.exec_params("DELETE FROM agent_events WHERE incident_id IN (" + mine + ")", cutoff_ms);
        tx.exec_params("DELETE FROM emails WHERE incident_id IN (" + mine + ")", cutoff_ms);
        tx.exec_params("DELETE FROM incidents WHERE id IN (" + mine + ")", cutoff_ms);
        return Status::Ok();
      });
      EXPECT_TRUE(s.ok()) << s.message();
    }
  } cleanup{wall_ms - 3 * 3600 * 1000};
  testing::PipelineOptions options;
  options.logs_dir = build_dir + "/browser-e2e-logs";
  options.with_api = true;
  options.sim_speed = 30;
  options.extra_env["SIM_START_TIME_MS"] = std::to_string(wall_ms - 6 * 3600 * 1000);
  testing::PipelineHarness pipeline(options);
  std::string error;
  ASSERT_TRUE(pipeline.Start(&error)) << error;

  const int driver_port = testing::FreePort();
  testing::Process driver("chromedriver", "/usr/bin/chromedriver",
                          {"--port=" + std::to_string(driver_port)}, {},
                          options.logs_dir + "/chromedriver.log");
  driver.Start();
  WebDriver wd(driver_port);
  ASSERT_TRUE(testing::Eventually([&] { return wd.Ready(); }, 30s, 200ms))
      << "chromedriver did not start";
  ASSERT_EQ(wd.NewSession(), "") << "could not start headless chromium";

  const std::string base = "http://127.0.0.1:" + std::to_string(pipeline.api_port());
  ASSERT_TRUE(testing::Eventually(
      [&] {
        httplib::Client c("127.0.0.1", pipeline.api_port());
        auto r = c.Get("/healthz");
        return r && r->status == 200;
      },
      60s, 250ms))
      << "sre-api did not become healthy; see " << options.logs_dir;
  ASSERT_TRUE(testing::Eventually([&] { return pipeline.SimNow() > 0; }, 60s, 200ms))
      << "simulator did not come up";
  // Let the backfill warm the detectors' baselines before anything is injected.
  Json info = pipeline.SimApi("GET", "/api/scenarios");
  const int64_t live_start = info.value("live_start_ms", int64_t{0});
  ASSERT_TRUE(
      testing::Eventually([&] { return pipeline.SimNow() >= live_start + 60000; }, 60s, 250ms));

  // An old, closed incident whose text tries to inject markup: the page must show it as text.
  const std::string hostile_id = NewUuid();
  const std::string hostile_email_subject = "[LOW] " + IncidentNumber(hostile_id) + " <b>x</b>";
  const std::string origin_id = NewUuid(), linked_id = NewUuid();
  const std::string hostile_text = "<img src=x onerror=\"window.__xss=1\"><b>bold</b> & more";
  {
    Database db(Stack().database_url);
    ASSERT_TRUE(db.Migrate().ok());
    Status s = db.Transact([&](pqxx::work& tx) {
      tx.exec_params(
          "INSERT INTO incidents (id, status, anomaly_type, severity, service, trigger_metric, "
          "description, detection_time, postmortem) VALUES ($1::uuid, 'CLOSED', 'UNKNOWN', 'LOW', "
          "'user-service', 'error_rate', $2, to_timestamp($3::bigint / 1000.0), $4)",
          hostile_id, hostile_text, wall_ms - 7 * 3600 * 1000,
          "# Postmortem <script>window.__xss=2</script>\n\n**fine** <img src=x "
          "onerror=\"window.__xss=3\">");
      // The email it sent, as sre-communication records it: the timeline and the live events
      // panel (loaded from /api/events, before anything streams) must say which email it was.
      tx.exec_params(
          "INSERT INTO agent_events (incident_id, agent_name, event_type, payload, event_time)"
          " VALUES ($1::uuid, 'communication', 'EMAIL_SENT', $2::jsonb,"
          " to_timestamp($3::bigint / 1000.0))",
          hostile_id,
          Json{{"notification_type", "INCIDENT_ALERT"},
               {"subject", hostile_email_subject},
               {"recipients", {"oncall@x", "team@x", "lead@x"}}}
              .dump(),
          wall_ms - 7 * 3600 * 1000 + 5000);
      // A closed cascade: an origin and an incident correlation linked to it.
      for (const auto& [id, service, related, offset_s] :
           std::vector<std::tuple<std::string, std::string, std::string, int64_t>>{
               {origin_id, "payment-service", "", 0},
               {linked_id, "order-service", origin_id, 60}})
        tx.exec_params(
            "INSERT INTO incidents (id, status, anomaly_type, severity, service, trigger_metric,"
            " description, detection_time, related_incident_id) VALUES ($1::uuid, 'CLOSED',"
            " 'LATENCY_SPIKE', 'HIGH', $2, 'latency_p99_ms', 'cascade test',"
            " to_timestamp($3::bigint / 1000.0), NULLIF($4, '')::uuid)",
            id, service, wall_ms - 6 * 3600 * 1000 - 1800 * 1000 + offset_s * 1000, related);
      return Status::Ok();
    });
    ASSERT_TRUE(s.ok()) << s.message();
  }
  wd.Navigate(base + "/");
  // A marker on window: it survives only as long as the page is not reloaded.
  wd.Execute("window.__noReload = 'still-here'; return true;");
  ASSERT_TRUE(testing::Eventually(
      [&] {
        return wd.Execute("return document.getElementById('conn-status').textContent;") == "live";
      },
      30s, 250ms))
      << "the live stream did not connect";
  ASSERT_TRUE(testing::Eventually(
      [&] {
        return wd.Execute("return document.querySelectorAll('#service-tiles .tile').length;") == 6;
      },
      30s, 250ms))
      << "service tiles missing";
  // Issue 4: the live events panel shows the recent recorded events on load, before anything
  // streams: here the hostile incident's email.
  ASSERT_TRUE(testing::Eventually(
      [&] {
        return wd.Execute("return document.querySelectorAll('#event-log li[data-key]').length;")
                   .get<int>() >= 1;
      },
      20s, 250ms))
      << "the live events panel is empty after load";
  EXPECT_TRUE(wd.Execute("const li = [...document.querySelectorAll('#event-log li[data-key]')]"
                         ".find((e) => e.dataset.eventType === 'EMAIL_SENT' &&"
                         " e.textContent.includes('" +
                         IncidentNumber(hostile_id) +
                         "') && e.textContent.includes('email sent to 3 recipients'));"
                         " return li ? li.textContent : null;")
                  .is_string())
      << wd.Execute("return document.getElementById('event-log').textContent;").dump();
  // Issue 2: the cascade is grouped in the list: the linked incident right under its origin,
  // indented, saying what it is part of.
  ASSERT_TRUE(testing::Eventually(
      [&] {
        return wd.Execute("return !!document.querySelector('#incident-list .incident[data-id=\"" +
                          linked_id + "\"]');") == true;
      },
      20s, 250ms));
  Json cascade = wd.Execute(
      "const o = document.querySelector('#incident-list .incident[data-id=\"" + origin_id +
      "\"]'); const n = o && o.nextElementSibling;"
      "return o && n ? {next: n.dataset.id, depth: n.dataset.depth, originDepth: o.dataset.depth,"
      " text: n.textContent} : null;");
  ASSERT_TRUE(cascade.is_object()) << cascade.dump();
  EXPECT_EQ(cascade["next"], linked_id);
  EXPECT_EQ(cascade["depth"], "1");
  EXPECT_EQ(cascade["originDepth"], "0");
  EXPECT_NE(cascade["text"].get<std::string>().find("part of " + IncidentNumber(origin_id)),
            std::string::npos)
      << cascade["text"];
  // Issue 5: the chart shows the recent hours or days as narrow bars, not one full-width bar.
  ASSERT_TRUE(testing::Eventually(
      [&] {
        return wd.Execute("return document.querySelectorAll('#chart-count rect').length;")
                   .get<int>() > 1;
      },
      20s, 250ms));
  Json bars = wd.Execute(
      "const r = [...document.querySelectorAll('#chart-count rect')];"
      "return {n: r.length, widest: Math.max(...r.map((e) => +e.getAttribute('width'))),"
      " title: document.getElementById('chart-count-title').textContent};");
  EXPECT_TRUE(bars["n"] == 24 || bars["n"] == 48 || bars["n"] == 7) << bars.dump();
  EXPECT_LE(bars["widest"].get<double>(), 24.0) << bars.dump();
  // Issue 6: the pipeline delay is never negative and says what it measures.
  Json delay = wd.Execute(
      "const e = document.getElementById('pipeline-delay');"
      "return e ? {text: e.textContent, title: e.title} : null;");
  ASSERT_TRUE(delay.is_object());
  EXPECT_EQ(delay["text"].get<std::string>().find("-"), std::string::npos) << delay.dump();
  EXPECT_NE(delay["title"].get<std::string>().find("wall clock"), std::string::npos);
  const int before =
      wd.Execute("return document.querySelectorAll('#incident-list .incident').length;").get<int>();
  wd.Execute(
      "window.__seen = new Set([...document.querySelectorAll('#incident-list .incident')]"
      ".map((e) => e.dataset.id)); return true;");

  int status = 0;
  Json injected = pipeline.SimApi("POST", "/api/scenarios/LATENCY_SPIKE", &status);
  ASSERT_EQ(status, 201) << injected.dump();

  // The incident shows up in the open page, pushed by the stream (no reload, no polling of the
  // list).
  const std::string find_incident =
      "const li = [...document.querySelectorAll('#incident-list .incident')]"
      ".find((e) => !window.__seen.has(e.dataset.id) && e.textContent.includes('payment-service'));"
      "return li ? li.dataset.id : null;";
  ASSERT_TRUE(
      testing::Eventually([&] { return wd.Execute(find_incident).is_string(); }, 90s, 500ms))
      << "no payment-service incident appeared; see " << options.logs_dir;
  EXPECT_EQ(wd.Execute("return window.__noReload || null;"), "still-here")
      << "the page was reloaded";
  EXPECT_GT(
      wd.Execute("return document.querySelectorAll('#incident-list .incident').length;").get<int>(),
      before);
  const std::string incident_id = wd.Execute(find_incident).get<std::string>();
  // The stream's events join the panel, each once.
  EXPECT_TRUE(testing::Eventually(
      [&] {
        return wd.Execute("return [...document.querySelectorAll('#event-log li[data-key]')]"
                          ".some((e) => e.dataset.key.startsWith('" +
                          incident_id + "|'));") == true;
      },
      30s, 500ms))
      << wd.Execute("return document.getElementById('event-log').textContent;").dump();
  EXPECT_EQ(wd.Execute("const k = [...document.querySelectorAll('#event-log li[data-key]')]"
                       ".map((e) => e.dataset.key); return new Set(k).size === k.length;"),
            true)
      << "a duplicate in the live events panel";

  // Open it: the RCA (from the stream's rca.completed) and the timeline render.
  wd.Execute("document.querySelector('#incident-list .incident[data-id=\"" + incident_id +
             "\"]').click(); return true;");
  ASSERT_TRUE(testing::Eventually(
      [&] {
        return wd.Execute(
                     "return document.querySelectorAll('#rca-candidates li.candidate').length;")
                   .get<int>() > 0;
      },
      90s, 500ms))
      << "no RCA candidates shown";
  std::string rca = wd.Execute("return document.getElementById('rca-candidates').textContent;")
                        .get<std::string>();
  EXPECT_NE(rca.find("DATABASE_BOTTLENECK"), std::string::npos) << rca;
  EXPECT_NE(rca.find("payment-service"), std::string::npos) << rca;
  ASSERT_TRUE(testing::Eventually(
      [&] {
        Json types = wd.Execute(
            "return [...document.querySelectorAll('#timeline li')].map((e) => "
            "e.dataset.eventType);");
        if (!types.is_array()) return false;
        bool detected = false, rca_done = false;
        for (const auto& t : types) {
          detected = detected || t == "ANOMALY_DETECTED";
          rca_done = rca_done || t == "RCA_COMPLETED";
        }
        return detected && rca_done;
      },
      60s, 500ms))
      << "the timeline lacks ANOMALY_DETECTED / RCA_COMPLETED";
  EXPECT_NE(wd.Execute("return document.getElementById('d-title').textContent;")
                .get<std::string>()
                .find("INC-"),
            std::string::npos);
  // The plan arrives right after the RCA; give it a moment so the screenshot shows it too.
  testing::Eventually(
      [&] {
        return wd.Execute("return document.querySelectorAll('#d-plan .step').length;").get<int>() >
               0;
      },
      20s, 500ms);
  // Issue 19: the notifications list renders (no channel is configured here: it says so).
  EXPECT_NE(wd.Execute("return document.getElementById('d-notifications').textContent;")
                .get<std::string>()
                .find("none"),
            std::string::npos);
  // Issue 6: every time in the detail says its clock; detection is event time, recording wall.
  for (const char* clock : {"event", "wall"})
    EXPECT_GE(wd.Execute(std::string("return document.querySelectorAll('#d-detection "
                                     "time[data-clock=\"") +
                         clock + "\"]').length;")
                  .get<int>(),
              1)
        << clock;
  EXPECT_EQ(wd.Execute("return document.querySelectorAll('#detail time:not([data-clock]), "
                       "#incident-list time:not([data-clock]), #event-log time:not([data-clock])')"
                       ".length;"),
            0);
  // Wait for the incident to close (the scenario lasts 240 simulated seconds): its lock is released
  // and the postmortem appears in the open page, again without a reload.
  EXPECT_TRUE(testing::Eventually(
      [&] {
        return wd.Execute(
                     "return document.querySelectorAll('#d-postmortem h3, #d-postmortem "
                     "h4').length;")
                   .get<int>() > 0;
      },
      120s, 500ms))
      << "the postmortem did not render";
  EXPECT_TRUE(testing::Eventually(
      [&] {
        Json feed_status =
            wd.Execute("const e = document.querySelector('#incident-list .incident[data-id=\"" +
                       incident_id + "\"]'); return e ? e.dataset.status : null;");
        return feed_status == "CLOSED";
      },
      30s, 500ms))
      << "the incident did not reach CLOSED in the feed";
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(wd.Execute("return window.__noReload || null;"), "still-here")
      << "the page was reloaded";

  std::string png = wd.Screenshot();
  ASSERT_GT(png.size(), 1000u) << "empty screenshot";
  EXPECT_EQ(png.substr(1, 3), "PNG");
  std::ofstream(build_dir + "/dashboard.png", std::ios::binary) << png;

  // The hostile incident: its description and postmortem render as text, nothing executes.
  wd.Execute("document.querySelector('#incident-list .incident[data-id=\"" + hostile_id +
             "\"]').click(); return true;");
  ASSERT_TRUE(testing::Eventually(
      [&] {
        Json t = wd.Execute("return document.getElementById('d-title').textContent;");
        return t.is_string() &&
               t.get<std::string>().find(IncidentNumber(hostile_id)) != std::string::npos;
      },
      20s, 250ms));
  EXPECT_EQ(wd.Execute("return document.getElementById('d-description').textContent;"),
            hostile_text);
  EXPECT_EQ(
      wd.Execute(
          "return document.querySelectorAll('#detail img, #detail script, #detail b').length;"),
      0);
  EXPECT_EQ(wd.Execute("return document.querySelectorAll('#d-postmortem strong').length;"), 1)
      << "Markdown emphasis still renders";
  EXPECT_TRUE(wd.Execute("return window.__xss === undefined ? null : window.__xss;").is_null())
      << "injected script ran";
  // Issue 3: its timeline says which email was sent, to how many.
  ASSERT_TRUE(testing::Eventually(
      [&] {
        return wd.Execute("return document.querySelectorAll('#timeline li').length;").get<int>() > 0;
      },
      20s, 250ms));
  Json email_event = wd.Execute(
      "const li = document.querySelector('#timeline li[data-event-type=\"EMAIL_SENT\"]');"
      "return li ? li.textContent : null;");
  EXPECT_TRUE(email_event.is_string() &&
              email_event.get<std::string>().find("INCIDENT_ALERT email sent to 3 recipients — " +
                                                  hostile_email_subject) != std::string::npos)
      << wd.Execute("return document.getElementById('timeline').textContent;").dump();

  // Issue 1: the link an email carries opens its incident, on load and on a hash change, in the
  // form sre::IncidentLink builds and in the older one of emails already sent.
  auto shows = [&](const std::string& id) {
    return testing::Eventually(
        [&] {
          Json d = wd.Execute(
              "return {title: document.getElementById('d-title').textContent,"
              " body: !document.getElementById('detail-body').hidden,"
              " empty: !document.getElementById('detail-empty').hidden};");
          return d.is_object() && d["body"] == true && d["empty"] == false &&
                 d["title"].get<std::string>().find(IncidentNumber(id)) != std::string::npos;
        },
        20s, 250ms);
  };
  const std::string link = IncidentLink(base, incident_id);
  wd.Navigate("about:blank");
  wd.Navigate(link);
  EXPECT_TRUE(shows(incident_id)) << link << " did not open its incident";
  EXPECT_EQ(wd.Execute("return document.getElementById('detail-empty').textContent;"),
            "Select an incident.")
      << "untouched, and hidden";
  wd.Execute("window.__sameDocument = true; return true;");
  wd.Navigate(base + "/#/incidents/" + hostile_id);
  EXPECT_TRUE(shows(hostile_id)) << "the older link form, on a hash change";
  EXPECT_EQ(wd.Execute("return window.__sameDocument || null;"), true) << "the page was reloaded";
  EXPECT_EQ(wd.Execute("return location.hash;"), "#incident=" + hostile_id);
  wd.Navigate("about:blank");
  wd.Navigate(base + "/#/incidents/" + origin_id);
  EXPECT_TRUE(shows(origin_id)) << "the older link form, on load";
  // Issue 2: the origin lists the incident linked to it; each links to the other.
  ASSERT_TRUE(testing::Eventually(
      [&] {
        return wd.Execute("return document.querySelectorAll('#d-linked li').length;").get<int>() ==
               1;
      },
      20s, 250ms));
  Json linked_row = wd.Execute("return document.querySelector('#d-linked li').textContent;");
  EXPECT_NE(linked_row.get<std::string>().find(IncidentNumber(linked_id)), std::string::npos);
  EXPECT_NE(linked_row.get<std::string>().find("order-service"), std::string::npos);
  EXPECT_NE(linked_row.get<std::string>().find("CLOSED"), std::string::npos);
  EXPECT_NE(linked_row.get<std::string>().find("HIGH"), std::string::npos);
  wd.Execute("document.querySelector('#d-linked li a').click(); return true;");
  EXPECT_TRUE(shows(linked_id));
  EXPECT_EQ(wd.Execute("const a = document.querySelector('#d-related a');"
                       " return a ? a.textContent : null;"),
            IncidentNumber(origin_id));
  wd.Execute("document.querySelector('#d-related a').click(); return true;");
  EXPECT_TRUE(shows(origin_id));

  // A test run leaves the source tree alone unless asked to refresh the README's screenshot.
  const char* source = std::getenv("SRE_SOURCE_DIR");
  const char* update = std::getenv("SRE_UPDATE_DOCS");
  if (source && update && std::string(update) == "1" && std::filesystem::is_directory(std::string(source) + "/docs"))
    std::ofstream(std::string(source) + "/docs/dashboard.png", std::ios::binary) << png;
}

}  // namespace
}  // namespace sre
