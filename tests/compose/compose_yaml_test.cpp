#include "tests/compose/compose_yaml.h"

#include <gtest/gtest.h>

namespace sre::compose {
namespace {

// The shape `docker-compose config` (1.29) prints.
constexpr const char* kNormalised = R"(services:
  api:
    command:
    - sre-api
    depends_on:
      seed:
        condition: service_completed_successfully
    environment:
      API_TOKEN: ''
      HTTP_PORT: 8000
    healthcheck:
      test:
      - CMD
      - curl
      - -fsS
      - http://localhost:8000/healthz
    image: sre-pipeline:local
    ports:
    - published: 8000
      target: 8000
    - 9000:9001
    restart: unless-stopped
    volumes:
    - /repo/infra/ingest:/app/infra/ingest:ro
    - data:/data:rw
    - type: bind
      source: /repo/x.yml
      target: /etc/x.yml
      read_only: true
  init:
    command:
    - "set -e\nfor t in a b; do\
      \ echo \"$$t\": x\ndone\n"
    healthcheck:
      test:
      - NONE
    restart: 'no'
volumes:
  data: {}
)";

TEST(ComposeYamlTest, FlattensMappingsAndSequences) {
  auto flat = FlattenYaml("a:\n  b: 1\n  c:\n  - x\n  - k: v\n    l: w\nd: ''\n");
  std::vector<std::pair<std::string, std::string>> want = {
      {"a", ""},        {"a.b", "1"},     {"a.c", ""}, {"a.c[]", "x"},
      {"a.c[].k", "v"}, {"a.c[].l", "w"}, {"d", ""}};
  EXPECT_EQ(flat, want);
}

TEST(ComposeYamlTest, ReadsServicesOfNormalisedConfig) {
  auto services = ParseServices(kNormalised);
  ASSERT_EQ(services.size(), 2u);
  const Service& api = services.at("api");
  EXPECT_EQ(api.image, "sre-pipeline:local");
  EXPECT_EQ(api.command, std::vector<std::string>{"sre-api"});
  EXPECT_EQ(api.environment.at("HTTP_PORT"), "8000");
  EXPECT_EQ(api.environment.at("API_TOKEN"), "");
  EXPECT_EQ(api.healthcheck_test.size(), 4u);
  EXPECT_FALSE(api.healthcheck_disabled);
  ASSERT_EQ(api.ports.size(), 2u);
  EXPECT_EQ(api.ports[0], std::make_pair(8000, 8000));
  EXPECT_EQ(api.ports[1], std::make_pair(9000, 9001));
  EXPECT_EQ(api.depends_on.at("seed"), "service_completed_successfully");
  EXPECT_EQ(api.restart, "unless-stopped");
  ASSERT_EQ(api.volumes.size(), 3u);
  EXPECT_EQ(api.volumes[0].source, "/repo/infra/ingest");
  EXPECT_EQ(api.volumes[0].target, "/app/infra/ingest");
  EXPECT_EQ(api.volumes[0].mode, "ro");
  EXPECT_TRUE(api.volumes[0].bind());
  EXPECT_EQ(api.volumes[1].source, "data");
  EXPECT_FALSE(api.volumes[1].bind());
  EXPECT_EQ(api.volumes[2].source, "/repo/x.yml");
  EXPECT_EQ(api.volumes[2].target, "/etc/x.yml");
  EXPECT_EQ(api.volumes[2].mode, "ro");
}

TEST(ComposeYamlTest, SkipsFoldedQuotedScalarsAndSeesDisabledHealthcheck) {
  auto services = ParseServices(kNormalised);
  const Service& init = services.at("init");
  EXPECT_EQ(init.command.size(), 1u);
  EXPECT_TRUE(init.healthcheck_disabled);
  EXPECT_EQ(init.restart, "no");
  EXPECT_TRUE(init.environment.empty());
}

}  // namespace
}  // namespace sre::compose
