#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>

#include "shared/http_server.h"
#include "shared/metrics.h"

namespace sre {
namespace {

TEST(HttpServerTest, ServesMetricsAndHealthReflectingDependencies) {
  MetricsRegistry registry;
  registry.GetCounter("sre_test_total", "A test counter").Inc(5);
  std::atomic<bool> redis_up{true};
  HttpServer server(registry);
  server.AddHealthCheck(
      "redis", [&] { return redis_up ? std::string() : std::string("connection refused"); });
  int port = server.Start("127.0.0.1", 0);
  ASSERT_GT(port, 0);

  httplib::Client client("127.0.0.1", port);
  auto metrics = client.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  EXPECT_NE(metrics->body.find("# TYPE sre_test_total counter\nsre_test_total 5\n"),
            std::string::npos);

  auto healthy = client.Get("/healthz");
  ASSERT_TRUE(healthy);
  EXPECT_EQ(healthy->status, 200);
  redis_up = false;
  auto unhealthy = client.Get("/healthz");
  ASSERT_TRUE(unhealthy);
  EXPECT_EQ(unhealthy->status, 503);
  EXPECT_NE(unhealthy->body.find("connection refused"), std::string::npos);
  server.Stop();
}

}  // namespace
}  // namespace sre
