#pragma once
// The knowledge base: past incidents, runbooks, service documents and postmortems, stored in
// PostgreSQL (knowledge_documents, knowledge_chunks) and searched with full-text search.
// Shared by sre-knowledge (seed, search), investigation, remediation and postmortem.
#include <optional>
#include <string>
#include <vector>

#include "shared/json_codec.h"
#include "shared/postgres.h"
#include "shared/services.h"

namespace sre::knowledge {

struct Chunk {
  std::string section, content;
};

struct Document {
  std::string id;    // "incident:INC-2025-0142", "runbook:rb-latency-spike", "service:api-gateway", "postmortem:<uuid>"
  std::string kind;  // incident, runbook, service, postmortem
  std::string title;
  std::vector<std::string> anomaly_types;  // empty: any
  std::vector<std::string> services;       // "*" matches every service
  std::optional<std::string> root_cause_category;
  Json metadata = Json::object();
  std::vector<Chunk> chunks;
};

// Each past incident as 4 chunks: summary, root cause, resolution, contributing factors.
Expected<std::vector<Document>> LoadIncidents(const std::string& path);
// A runbook: front matter (id, title, anomaly_types, root_cause_categories, services, owner) and
// one chunk per `##` section.
Expected<Document> ParseRunbook(const std::string& markdown, const std::string& origin);
Expected<std::vector<Document>> LoadRunbooks(const std::string& dir);
// One document per service of the catalogue.
std::vector<Document> ServiceDocuments(const ServiceCatalog& catalog);
// Everything under a knowledge directory (incidents, runbooks, services).
Expected<std::vector<Document>> LoadAll(const std::string& knowledge_dir);

struct SeedReport {
  int inserted = 0, updated = 0, unchanged = 0, removed = 0;
};
// Loads `docs` in one transaction. Unchanged documents (same content hash) are left alone, changed
// ones replaced, and incident/runbook/service documents no longer present removed (postmortems are
// kept: they are written by the postmortem agent). Idempotent.
Expected<SeedReport> Seed(Database& db, const std::vector<Document>& docs);
// Inserts or replaces one document inside the caller's transaction (the learning loop).
void Upsert(pqxx::work& tx, const Document& doc);

struct Query {
  std::string text;
  std::optional<std::string> kind, anomaly_type, service;
  int limit = 5;
};

struct Hit {
  std::string document_id, kind, title, section, snippet;
  double score = 0;
  std::optional<std::string> root_cause_category;
  std::vector<std::string> services, anomaly_types;
  Json metadata;
};

// Full-text search that tolerates natural language (any word may match; more matches rank
// higher), filtered by kind, anomaly type and service, best chunk per document.
Expected<std::vector<Hit>> Search(Database& db, const Query& q);
// The same inside an open transaction.
std::vector<Hit> Search(pqxx::work& tx, const Query& q);

// Every chunk of one document, in order (e.g. all sections of a runbook). Empty when unknown.
std::vector<Chunk> Chunks(pqxx::work& tx, const std::string& document_id);

}  // namespace sre::knowledge
