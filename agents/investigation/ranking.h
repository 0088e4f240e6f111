#pragma once
// From the model's submit_rca input to the candidates the pipeline publishes. Pure; thread-safe.
//
// The tool loop already checked the input against SubmitRcaSchema(); this is the second line:
// it never trusts the shape and never throws, so a schema change or a hand-made submission cannot
// publish a candidate the rest of the pipeline would choke on.
#include <string>
#include <vector>

#include "shared/json_codec.h"
#include "shared/messages.h"
#include "shared/services.h"
#include "shared/status.h"

namespace sre::investigation {

struct RankingContext {
  std::string service;                         // the incident's service
  std::vector<std::string> affected_services;  // and those correlation named
  const ServiceCatalog* catalog = nullptr;     // may be null: only the names above are known
};

struct RankedSubmission {
  // Highest confidence first (submission order among equals), ranks 1..n, n ≤ 5.
  std::vector<RootCauseCandidate> candidates;
  std::string summary;                // cleaned, ≤ 600 bytes
  std::vector<std::string> rejected;  // one line per candidate dropped or changed, for the audit
};

// Rules, per candidate (a non-object is dropped):
//   hypothesis  required non-empty string; control characters become spaces, ≤ 400 bytes.
//   service     required; a known service (the catalogue's, the incident's or an affected one),
//               matched exactly, else ignoring case and surrounding space (→ its spelling); an
//               unknown or missing service drops the candidate.
//   category    a taxonomy name, also "database bottleneck" / "Database-Bottleneck"; missing or
//               unknown → UNKNOWN (noted in `rejected`).
//   confidence  required number (a numeric string is not one), clamped to [0, 1].
//   evidence    strings only (a lone string is one item), cleaned, empty ones skipped, ≤ 8 × ≤ 300.
//   rank        ignored: the order comes from the confidences.
// A second candidate with the same service and category is dropped. When the confidences sum
// past 1 they are scaled down to sum to at most 1 (each rounded down to 4 decimals).
// kInvalid when the submission is not an object with a candidates array or no candidate survives.
Expected<RankedSubmission> RankSubmission(const Json& submission, const RankingContext& context);

}  // namespace sre::investigation
