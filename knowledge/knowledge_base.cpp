#include "knowledge/knowledge_base.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "shared/redis.h"  // Sha1Hex

namespace sre::knowledge {
namespace {

std::string ReadFile(const std::string& path, bool& ok) {
  std::ifstream f(path);
  ok = static_cast<bool>(f);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string Trim(std::string s) {
  auto b = s.find_first_not_of(" \t\r\n");
  auto e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

// "[A, B]" → {"A", "B"}; "all" inside maps to "*".
std::vector<std::string> InlineList(const std::string& v) {
  std::vector<std::string> out;
  std::string body = Trim(v);
  if (!body.empty() && body.front() == '[') body = body.substr(1);
  if (!body.empty() && body.back() == ']') body.pop_back();
  std::stringstream ss(body);
  std::string item;
  while (std::getline(ss, item, ',')) {
    item = Trim(item);
    if (item.empty()) continue;
    out.push_back(item == "all" ? "*" : item);
  }
  return out;
}

std::string Join(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? sep : "") + v[i];
  return out;
}

std::string ContentHash(const Document& d) {
  Json j = {{"kind", d.kind}, {"title", d.title}, {"types", d.anomaly_types}, {"services", d.services},
            {"category", d.root_cause_category ? Json(*d.root_cause_category) : Json(nullptr)},
            {"metadata", d.metadata}};
  for (const auto& c : d.chunks) j["chunks"].push_back({c.section, c.content});
  return Sha1Hex(j.dump());
}

std::string PgArray(const std::vector<std::string>& v) {
  std::string out = "{";
  for (size_t i = 0; i < v.size(); ++i) {
    out += (i ? "," : "") + std::string("\"");
    for (char c : v[i]) {
      if (c == '"' || c == '\\') out.push_back('\\');
      out.push_back(c);
    }
    out += "\"";
  }
  return out + "}";
}

std::vector<std::string> ParsePgArray(const std::string& s) {
  std::vector<std::string> out;
  if (s.size() < 2) return out;
  std::string cur;
  bool quoted = false;
  for (size_t i = 1; i + 1 < s.size(); ++i) {
    char c = s[i];
    if (c == '"') {
      quoted = !quoted;
    } else if (c == '\\' && i + 2 < s.size()) {
      cur.push_back(s[++i]);
    } else if (c == ',' && !quoted) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  if (!cur.empty() || s.size() > 2) out.push_back(cur);
  return out;
}

struct PastIncident {
  std::string incident_id, title;
  AnomalyType anomaly_type = AnomalyType::UNKNOWN;
  Severity severity = Severity::LOW;
  std::vector<std::string> affected_services;
  std::string root_cause_service;
  RootCauseCategory root_cause_category = RootCauseCategory::UNKNOWN;
  std::string symptoms, root_cause, resolution;
  std::vector<std::string> contributing_factors;
  int64_t mttr_minutes = 0;
  bool deployment_correlated = false;
  std::vector<std::string> tags;
  template <class V>
  void Visit(V& v) {
    v("incident_id", incident_id, Check::NonEmpty(64));
    v("title", title, Check::NonEmpty());
    v("anomaly_type", anomaly_type);
    v("severity", severity);
    v("affected_services", affected_services, Check::NonEmpty());
    v("root_cause_service", root_cause_service, Check::NonEmpty());
    v("root_cause_category", root_cause_category);
    v("symptoms", symptoms, Check::NonEmpty());
    v("root_cause", root_cause, Check::NonEmpty());
    v("resolution", resolution, Check::NonEmpty());
    v("contributing_factors", contributing_factors);
    v("mttr_minutes", mttr_minutes, Check::Min(0));
    v("deployment_correlated", deployment_correlated);
    v("tags", tags);
  }
};

}  // namespace

Expected<std::vector<Document>> LoadIncidents(const std::string& path) {
  bool ok = false;
  std::string text = ReadFile(path, ok);
  if (!ok) return Status::Invalid("cannot read " + path);
  Json j = Json::parse(text, nullptr, false);
  if (!j.is_array()) return Status::Invalid(path + ": expected a JSON array");
  std::vector<Document> out;
  std::set<std::string> ids;
  for (size_t i = 0; i < j.size(); ++i) {
    auto p = FromJson<PastIncident>(j[i]);
    if (!p.ok()) return Status::Invalid(path + "[" + std::to_string(i) + "]: " + p.status().message());
    if (!ids.insert(p->incident_id).second) return Status::Invalid(path + ": duplicate " + p->incident_id);
    Document d;
    d.id = "incident:" + p->incident_id;
    d.kind = "incident";
    d.title = p->title;
    d.anomaly_types = {std::string(ToString(p->anomaly_type))};
    d.services = p->affected_services;
    if (std::find(d.services.begin(), d.services.end(), p->root_cause_service) == d.services.end())
      d.services.push_back(p->root_cause_service);
    d.root_cause_category = std::string(ToString(p->root_cause_category));
    d.metadata = {{"incident_id", p->incident_id},
                  {"severity", ToString(p->severity)},
                  {"root_cause_service", p->root_cause_service},
                  {"mttr_minutes", p->mttr_minutes},
                  {"deployment_correlated", p->deployment_correlated},
                  {"tags", p->tags},
                  {"resolution", p->resolution}};
    std::string tags = Join(p->tags, ", ");
    d.chunks = {{"summary", p->title + ". " + p->symptoms + " Services: " + Join(p->affected_services, ", ") +
                                ". Tags: " + tags + "."},
                {"root cause", p->root_cause + " Category: " + std::string(ToString(p->root_cause_category)) +
                                   " in " + p->root_cause_service + "."},
                {"resolution", p->resolution},
                {"contributing factors", Join(p->contributing_factors, " ")}};
    out.push_back(std::move(d));
  }
  return out;
}

Expected<Document> ParseRunbook(const std::string& markdown, const std::string& origin) {
  std::istringstream in(markdown);
  std::string line;
  if (!std::getline(in, line) || Trim(line) != "---") return Status::Invalid(origin + ": missing front matter");
  std::map<std::string, std::string> fm;
  bool closed = false;
  while (std::getline(in, line)) {
    if (Trim(line) == "---") {
      closed = true;
      break;
    }
    auto colon = line.find(':');
    if (colon != std::string::npos) fm[Trim(line.substr(0, colon))] = Trim(line.substr(colon + 1));
  }
  if (!closed) return Status::Invalid(origin + ": front matter is not closed");
  for (const char* key : {"id", "title", "anomaly_types", "services"})
    if (fm[key].empty()) return Status::Invalid(origin + ": front matter needs '" + key + "'");
  Document d;
  d.id = "runbook:" + fm["id"];
  d.kind = "runbook";
  d.title = fm["title"];
  d.anomaly_types = InlineList(fm["anomaly_types"]);
  for (const auto& t : d.anomaly_types)
    if (!ParseEnum<AnomalyType>(t)) return Status::Invalid(origin + ": unknown anomaly type " + t);
  d.services = InlineList(fm["services"]);
  auto categories = InlineList(fm["root_cause_categories"]);
  for (const auto& c : categories)
    if (!ParseEnum<RootCauseCategory>(c)) return Status::Invalid(origin + ": unknown root-cause category " + c);
  if (!categories.empty()) d.root_cause_category = categories.front();
  d.metadata = {{"runbook_id", fm["id"]}, {"owner", fm["owner"]}, {"root_cause_categories", categories}};
  Chunk current;
  auto flush = [&] {
    current.content = Trim(current.content);
    if (!current.section.empty() && !current.content.empty()) d.chunks.push_back(current);
    current = Chunk{};
  };
  while (std::getline(in, line)) {
    if (line.rfind("## ", 0) == 0) {
      flush();
      current.section = Trim(line.substr(3));
    } else if (!current.section.empty()) {
      current.content += line + "\n";
    }
  }
  flush();
  if (d.chunks.empty()) return Status::Invalid(origin + ": no ## sections");
  return d;
}

Expected<std::vector<Document>> LoadRunbooks(const std::string& dir) {
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec))
    if (e.path().extension() == ".md") files.push_back(e.path().string());
  if (ec) return Status::Invalid("cannot list " + dir + ": " + ec.message());
  std::sort(files.begin(), files.end());
  std::vector<Document> out;
  for (const auto& f : files) {
    bool ok = false;
    std::string text = ReadFile(f, ok);
    auto d = ParseRunbook(text, f);
    if (!d.ok()) return d.status();
    out.push_back(std::move(d).value());
  }
  return out;
}

std::vector<Document> ServiceDocuments(const ServiceCatalog& catalog) {
  std::vector<Document> out;
  for (const auto& s : catalog.services()) {
    Document d;
    d.id = "service:" + s.name;
    d.kind = "service";
    d.title = s.name + " (" + s.criticality + ", team " + s.team + ")";
    d.services = {s.name};
    d.metadata = {{"team", s.team}, {"criticality", s.criticality}, {"owner", s.owner},
                  {"oncall", s.oncall.primary}, {"runbooks", s.runbooks}};
    d.chunks = {{"overview", s.description + " Language: " + s.language + ". Calls: " +
                                 (s.downstream.empty() ? "none" : Join(s.downstream, ", ")) + ". Called by: " +
                                 (s.upstream.empty() ? "none" : Join(s.upstream, ", ")) +
                                 ". Datastores: " + Join(s.datastores, ", ") + "."},
                {"failure modes", Join(s.common_failure_modes, ". ") + ". Runbooks: " + Join(s.runbooks, ", ") + "."}};
    out.push_back(std::move(d));
  }
  return out;
}

Expected<std::vector<Document>> LoadAll(const std::string& dir) {
  auto incidents = LoadIncidents(dir + "/incidents/incidents.json");
  if (!incidents.ok()) return incidents.status();
  auto runbooks = LoadRunbooks(dir + "/runbooks");
  if (!runbooks.ok()) return runbooks.status();
  auto catalog = ServiceCatalog::Load(dir + "/architecture/services.json");
  if (!catalog.ok()) return catalog.status();
  std::vector<Document> all = std::move(incidents).value();
  for (auto& d : *runbooks) all.push_back(std::move(d));
  for (auto& d : ServiceDocuments(*catalog)) all.push_back(std::move(d));
  return all;
}

void Upsert(pqxx::work& tx, const Document& d) {
  tx.exec_params(
      "INSERT INTO knowledge_documents (id, kind, title, anomaly_types, services, root_cause_category, metadata, "
      " content_hash, updated_at) VALUES ($1, $2, $3, $4::text[], $5::text[], $6, $7::jsonb, $8, now()) "
      "ON CONFLICT (id) DO UPDATE SET kind = EXCLUDED.kind, title = EXCLUDED.title, "
      " anomaly_types = EXCLUDED.anomaly_types, services = EXCLUDED.services, "
      " root_cause_category = EXCLUDED.root_cause_category, metadata = EXCLUDED.metadata, "
      " content_hash = EXCLUDED.content_hash, updated_at = now()",
      d.id, d.kind, d.title, PgArray(d.anomaly_types), PgArray(d.services), d.root_cause_category, Dump(d.metadata),
      ContentHash(d));
  tx.exec_params("DELETE FROM knowledge_chunks WHERE document_id = $1", d.id);
  for (size_t i = 0; i < d.chunks.size(); ++i)
    tx.exec_params("INSERT INTO knowledge_chunks (document_id, ordinal, section, content) VALUES ($1, $2, $3, $4)",
                   d.id, static_cast<int>(i), d.chunks[i].section, d.chunks[i].content);
}

Expected<SeedReport> Seed(Database& db, const std::vector<Document>& docs) {
  SeedReport report;
  Status s = db.Transact([&](pqxx::work& tx) {
    report = SeedReport{};
    // One seeder at a time (the compose one-shot and a manual `make seed` may overlap).
    tx.exec("SELECT pg_advisory_xact_lock(5352450002)");
    std::map<std::string, std::string> existing;
    for (auto row : tx.exec("SELECT id, content_hash FROM knowledge_documents WHERE kind <> 'postmortem'"))
      existing[row[0].as<std::string>()] = row[1].as<std::string>();
    std::set<std::string> seen;
    for (const auto& d : docs) {
      seen.insert(d.id);
      auto it = existing.find(d.id);
      if (it != existing.end() && it->second == ContentHash(d)) {
        ++report.unchanged;
        continue;
      }
      Upsert(tx, d);
      ++(it == existing.end() ? report.inserted : report.updated);
    }
    for (const auto& [id, hash] : existing) {
      if (seen.count(id)) continue;
      tx.exec_params("DELETE FROM knowledge_documents WHERE id = $1", id);
      ++report.removed;
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return report;
}

std::vector<Hit> Search(pqxx::work& tx, const Query& q) {
  // Every word of the query may match (an OR of its lexemes, through the GIN index). A chunk
  // scores the sum of the inverse document frequencies of the query words it contains, so a rare,
  // telling word ("NullPointerException") outweighs common ones ("error", "service"); PostgreSQL's
  // own ranking has no IDF. ts_rank_cd only breaks ties.
  auto rows = tx.exec_params(
      "WITH terms AS (SELECT DISTINCT lexeme FROM unnest(to_tsvector('english', "
      "   regexp_replace($1, '[._/:=-]+', ' ', 'g')))), "
      "q AS (SELECT to_tsquery('english', COALESCE(NULLIF((SELECT string_agg(quote_literal(lexeme), ' | ') "
      "   FROM terms), ''), 'nothing_to_match')) AS query), "
      "total AS (SELECT GREATEST(count(*), 1)::float8 AS n FROM knowledge_chunks), "
      "idf AS (SELECT word, ln(1 + (SELECT n FROM total) / ndoc) AS w "
      "   FROM ts_stat('SELECT tsv FROM knowledge_chunks') WHERE word IN (SELECT lexeme FROM terms)), "
      "matched AS (SELECT c.document_id, c.section, c.content, "
      "   (SELECT COALESCE(sum(idf.w), 0) FROM idf WHERE idf.word = ANY(tsvector_to_array(c.tsv))) "
      "     + 0.1 * ts_rank_cd(c.tsv, q.query, 1) AS score "
      " FROM knowledge_chunks c JOIN knowledge_documents d ON d.id = c.document_id, q "
      " WHERE c.tsv @@ q.query "
      "   AND ($2 = '' OR d.kind = $2) "
      "   AND ($3 = '' OR $3 = ANY(d.anomaly_types) OR cardinality(d.anomaly_types) = 0) "
      "   AND ($4 = '' OR $4 = ANY(d.services) OR '*' = ANY(d.services))), "
      "best AS (SELECT DISTINCT ON (document_id) * FROM matched ORDER BY document_id, score DESC) "
      "SELECT b.document_id, d.kind, d.title, b.section, left(b.content, 600), b.score, d.root_cause_category, "
      "  d.services::text, d.anomaly_types::text, d.metadata::text "
      "FROM best b JOIN knowledge_documents d ON d.id = b.document_id "
      "ORDER BY b.score DESC, b.document_id LIMIT $5",
      q.text, q.kind.value_or(""), q.anomaly_type.value_or(""), q.service.value_or(""), std::max(1, q.limit));
  std::vector<Hit> hits;
  for (auto row : rows) {
    Hit h;
    h.document_id = row[0].as<std::string>();
    h.kind = row[1].as<std::string>();
    h.title = row[2].as<std::string>();
    h.section = row[3].as<std::string>();
    h.snippet = row[4].as<std::string>();
    h.score = row[5].as<double>();
    if (!row[6].is_null()) h.root_cause_category = row[6].as<std::string>();
    h.services = ParsePgArray(row[7].as<std::string>());
    h.anomaly_types = ParsePgArray(row[8].as<std::string>());
    h.metadata = Json::parse(row[9].as<std::string>(), nullptr, false);
    hits.push_back(std::move(h));
  }
  return hits;
}

Expected<std::vector<Hit>> Search(Database& db, const Query& q) {
  std::vector<Hit> hits;
  Status s = db.Transact([&](pqxx::work& tx) {
    hits = Search(tx, q);
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return hits;
}

std::vector<Chunk> Chunks(pqxx::work& tx, const std::string& document_id) {
  std::vector<Chunk> out;
  for (auto row : tx.exec_params("SELECT section, content FROM knowledge_chunks WHERE document_id = $1 ORDER BY ordinal",
                                 document_id))
    out.push_back({row[0].as<std::string>(), row[1].as<std::string>()});
  return out;
}

}  // namespace sre::knowledge
