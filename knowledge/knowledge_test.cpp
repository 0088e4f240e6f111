#include <gtest/gtest.h>

#include <map>
#include <set>

#include "knowledge/knowledge_base.h"

namespace sre::knowledge {
namespace {

const std::string kDir = std::string(SRE_TEST_SOURCE_DIR) + "/knowledge";

TEST(KnowledgeContentTest, IncidentsCoverEveryAnomalyTypeAndCategory) {
  auto docs = LoadIncidents(kDir + "/incidents/incidents.json");
  ASSERT_TRUE(docs.ok()) << docs.status().message();
  EXPECT_GE(docs->size(), 24u);
  std::set<std::string> types, categories, services;
  for (const auto& d : *docs) {
    ASSERT_EQ(d.chunks.size(), 4u) << d.id;
    EXPECT_EQ(d.chunks[0].section, "summary");
    EXPECT_EQ(d.chunks[3].section, "contributing factors");
    types.insert(d.anomaly_types.at(0));
    categories.insert(*d.root_cause_category);
    services.insert(d.metadata["root_cause_service"].get<std::string>());
  }
  for (size_t i = 0; i < EnumCount<AnomalyType>(); ++i) {
    auto t = static_cast<AnomalyType>(i);
    if (t != AnomalyType::UNKNOWN) {
      EXPECT_TRUE(types.count(std::string(ToString(t)))) << ToString(t);
    }
  }
  for (size_t i = 0; i < EnumCount<RootCauseCategory>(); ++i) {
    auto c = static_cast<RootCauseCategory>(i);
    if (c != RootCauseCategory::UNKNOWN) {
      EXPECT_TRUE(categories.count(std::string(ToString(c)))) << ToString(c);
    }
  }
  EXPECT_EQ(services.size(), 6u);
}

TEST(KnowledgeContentTest, EveryAnomalyTypeHasARunbookWithTheSevenSections) {
  auto docs = LoadRunbooks(kDir + "/runbooks");
  ASSERT_TRUE(docs.ok()) << docs.status().message();
  std::set<std::string> covered;
  const std::vector<std::string> sections = {"Overview", "Detection", "Immediate Actions", "Diagnosis",
                                             "Resolution", "Rollback", "Escalation"};
  for (const auto& d : *docs) {
    std::vector<std::string> got;
    for (const auto& c : d.chunks) got.push_back(c.section);
    EXPECT_EQ(got, sections) << d.id;
    for (const auto& t : d.anomaly_types) covered.insert(t);
  }
  for (size_t i = 0; i < EnumCount<AnomalyType>(); ++i)
    EXPECT_TRUE(covered.count(std::string(ToString(static_cast<AnomalyType>(i))))) << ToString(static_cast<AnomalyType>(i));
}

TEST(RunbookParserTest, ReadsFrontMatterAndRejectsBrokenFiles) {
  auto d = ParseRunbook(
      "---\nid: rb-x\ntitle: X\nanomaly_types: [LATENCY_SPIKE, ERROR_RATE_SPIKE]\n"
      "root_cause_categories: [DATABASE_BOTTLENECK]\nservices: [all]\nowner: a@b\n---\n# X\n\n## Overview\ntext\n\n"
      "## Resolution\n1. do it\n",
      "x.md");
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->id, "runbook:rb-x");
  EXPECT_EQ(d->anomaly_types, (std::vector<std::string>{"LATENCY_SPIKE", "ERROR_RATE_SPIKE"}));
  EXPECT_EQ(d->services, (std::vector<std::string>{"*"}));
  ASSERT_EQ(d->chunks.size(), 2u);
  EXPECT_EQ(d->chunks[1].content, "1. do it");
  struct Case {
    std::string text, expected;
  } cases[] = {
      {"# no front matter\n## A\nx\n", "missing front matter"},
      {"---\nid: a\n", "not closed"},
      {"---\nid: a\ntitle: t\nservices: [all]\n---\n## A\nx\n", "needs 'anomaly_types'"},
      {"---\nid: a\ntitle: t\nanomaly_types: [NOPE]\nservices: [all]\n---\n## A\nx\n", "unknown anomaly type NOPE"},
      {"---\nid: a\ntitle: t\nanomaly_types: [UNKNOWN]\nservices: [all]\n---\nno sections\n", "no ## sections"},
  };
  for (const auto& c : cases) {
    auto r = ParseRunbook(c.text, "f.md");
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_NE(r.status().message().find(c.expected), std::string::npos) << r.status().message();
  }
}

}  // namespace
}  // namespace sre::knowledge
