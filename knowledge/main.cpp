// sre-knowledge: loads the knowledge base (past incidents, runbooks, services) into PostgreSQL and
// searches it the way investigation and remediation do.
#include <cstdio>
#include <iostream>

#include "knowledge/knowledge_base.h"
#include "shared/log.h"
#include "shared/runtime.h"

int main(int argc, char** argv) {
  using namespace sre;
  ExecutableSpec spec{
      "sre-knowledge",
      "Usage: sre-knowledge seed\n"
      "       sre-knowledge search \"query\" [--kind incident|runbook|service|postmortem]\n"
      "                                    [--anomaly-type TYPE] [--service NAME] [--limit N]\n\n"
      "seed: loads knowledge/incidents/incidents.json (4 chunks per incident), knowledge/runbooks/*.md\n"
      "(one chunk per ## section) and knowledge/architecture/services.json (one document per service)\n"
      "into PostgreSQL. Idempotent; edited files are picked up, removed ones deleted (postmortems kept).\n"
      "search: ranked full-text search with the same retrieval the agents use.",
      0,
      {"KNOWLEDGE_DIR            the knowledge directory (./knowledge)"}};
  return RunExecutable(argc, argv, spec, [&](RunContext& ctx) -> Status {
    ctx.config.Validate();
    if (ctx.args.empty()) throw ConfigError("a command is required: seed or search (see --help)");
    const std::string cmd = ctx.args[0];
    Database db(ctx.common.database_url);
    if (auto m = db.Migrate(); !m.ok()) return m.status();
    if (cmd == "seed") {
      if (ctx.args.size() != 1) throw ConfigError("seed takes no arguments");
      std::string dir = KnowledgeDir();
      auto docs = knowledge::LoadAll(dir);
      if (!docs.ok()) return Status::Fatal(docs.status().message());
      auto report = knowledge::Seed(db, *docs);
      if (!report.ok()) return report.status();
      std::printf("seeded %zu documents from %s: %d inserted, %d updated, %d unchanged, %d removed\n", docs->size(),
                  dir.c_str(), report->inserted, report->updated, report->unchanged, report->removed);
      return Status::Ok();
    }
    if (cmd != "search") throw ConfigError("unknown command '" + cmd + "' (seed or search)");
    knowledge::Query q;
    for (size_t i = 1; i < ctx.args.size(); ++i) {
      const std::string& a = ctx.args[i];
      auto value = [&]() {
        if (i + 1 >= ctx.args.size()) throw ConfigError(a + " needs a value");
        return ctx.args[++i];
      };
      if (a == "--kind") q.kind = value();
      else if (a == "--anomaly-type") q.anomaly_type = value();
      else if (a == "--service") q.service = value();
      else if (a == "--limit") q.limit = std::stoi(value());
      else if (!a.empty() && a[0] == '-') throw ConfigError("unknown option " + a);
      else q.text += (q.text.empty() ? "" : " ") + a;
    }
    if (q.text.empty()) throw ConfigError("search needs a query");
    if (q.anomaly_type && !ParseEnum<AnomalyType>(*q.anomaly_type))
      throw ConfigError("--anomaly-type must be one of " + EnumChoices<AnomalyType>());
    auto hits = knowledge::Search(db, q);
    if (!hits.ok()) return hits.status();
    if (hits->empty()) std::printf("no results\n");
    int rank = 0;
    for (const auto& h : *hits) {
      std::printf("%d. [%.3f] %-10s %s — %s\n   %s: %s\n", ++rank, h.score, h.kind.c_str(), h.document_id.c_str(),
                  h.title.c_str(), h.section.c_str(), h.snippet.substr(0, 160).c_str());
    }
    return Status::Ok();
  });
}
