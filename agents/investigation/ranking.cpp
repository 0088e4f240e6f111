#include "agents/investigation/ranking.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "shared/text.h"

namespace sre::investigation {
namespace {

constexpr size_t kMaxCandidates = 5, kMaxEvidence = 8;
constexpr size_t kMaxHypothesis = 400, kMaxEvidenceText = 300, kMaxSummary = 600;

// Valid UTF-8, no control characters (a newline could fake a line of a later prompt), trimmed,
// at most `max` bytes.
std::string CleanText(const std::string& s, size_t max) {
  std::string out = SanitizeUtf8(s);
  for (auto& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  auto first = out.find_first_not_of(' ');
  if (first == std::string::npos) return "";
  out = out.substr(first, out.find_last_not_of(' ') - first + 1);
  return TruncateUtf8(out, max);
}

std::string Fold(std::string s) {
  s = CleanText(s, 256);
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::optional<RootCauseCategory> CategoryOf(const std::string& raw) {
  std::string s = CleanText(raw, 64);
  for (auto& c : s)
    c = c == ' ' || c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return ParseEnum<RootCauseCategory>(s);
}

std::vector<std::string> KnownServices(const RankingContext& ctx) {
  std::vector<std::string> out;
  if (ctx.catalog)
    for (const auto& s : ctx.catalog->services()) out.push_back(s.name);
  if (!ctx.service.empty()) out.push_back(ctx.service);
  out.insert(out.end(), ctx.affected_services.begin(), ctx.affected_services.end());
  return out;
}

std::optional<std::string> ServiceOf(const std::string& raw,
                                     const std::vector<std::string>& known) {
  for (const auto& k : known)
    if (k == raw) return k;
  const std::string folded = Fold(raw);
  if (folded.empty()) return std::nullopt;
  for (const auto& k : known)
    if (Fold(k) == folded) return k;
  return std::nullopt;
}

std::string Label(size_t i) { return "candidate " + std::to_string(i + 1); }

}  // namespace

Expected<RankedSubmission> RankSubmission(const Json& submission, const RankingContext& context) {
  if (!submission.is_object() || !submission.contains("candidates") ||
      !submission["candidates"].is_array())
    return Status::Invalid("submit_rca: expected an object with a candidates array");
  const auto known = KnownServices(context);
  RankedSubmission out;
  if (submission.contains("summary") && submission["summary"].is_string())
    out.summary = CleanText(submission["summary"].get<std::string>(), kMaxSummary);

  std::vector<RootCauseCandidate> kept;
  const Json& candidates = submission["candidates"];
  for (size_t i = 0; i < candidates.size(); ++i) {
    const Json& c = candidates[i];
    if (!c.is_object()) {
      out.rejected.push_back(Label(i) + ": not an object");
      continue;
    }
    RootCauseCandidate rc;
    rc.hypothesis = c.contains("hypothesis") && c["hypothesis"].is_string()
                        ? CleanText(c["hypothesis"].get<std::string>(), kMaxHypothesis)
                        : "";
    if (rc.hypothesis.empty()) {
      out.rejected.push_back(Label(i) + ": no hypothesis");
      continue;
    }
    auto service = c.contains("service") && c["service"].is_string()
                       ? ServiceOf(c["service"].get<std::string>(), known)
                       : std::nullopt;
    if (!service) {
      out.rejected.push_back(Label(i) + ": unknown or missing service");
      continue;
    }
    rc.service = *service;
    if (!c.contains("confidence") || !c["confidence"].is_number()) {
      out.rejected.push_back(Label(i) + ": confidence is not a number");
      continue;
    }
    double confidence = c["confidence"].get<double>();
    rc.confidence = std::isfinite(confidence) ? std::clamp(confidence, 0.0, 1.0) : 0.0;
    auto category = c.contains("category") && c["category"].is_string()
                        ? CategoryOf(c["category"].get<std::string>())
                        : std::nullopt;
    rc.category = category.value_or(RootCauseCategory::UNKNOWN);
    if (!category)
      out.rejected.push_back(Label(i) + ": unknown or missing category, read as UNKNOWN");
    Json evidence = c.contains("evidence") ? c["evidence"] : Json::array();
    if (evidence.is_string()) evidence = Json::array({evidence});
    if (evidence.is_array())
      for (const auto& e : evidence) {
        if (rc.evidence.size() >= kMaxEvidence) break;
        if (!e.is_string()) continue;
        std::string text = CleanText(e.get<std::string>(), kMaxEvidenceText);
        if (!text.empty()) rc.evidence.push_back(std::move(text));
      }
    bool duplicate = std::any_of(kept.begin(), kept.end(), [&](const RootCauseCandidate& k) {
      return k.service == rc.service && k.category == rc.category;
    });
    if (duplicate) {
      out.rejected.push_back(Label(i) + ": same service and category as an earlier candidate");
      continue;
    }
    kept.push_back(std::move(rc));
  }
  if (kept.empty()) return Status::Invalid("submit_rca: no valid candidate");

  std::stable_sort(kept.begin(), kept.end(),
                   [](const auto& a, const auto& b) { return a.confidence > b.confidence; });
  if (kept.size() > kMaxCandidates) kept.resize(kMaxCandidates);
  double sum = 0;
  for (const auto& k : kept) sum += k.confidence;
  if (sum > 1) {
    for (auto& k : kept) k.confidence = std::floor(k.confidence / sum * 10000) / 10000;
  }
  for (size_t k = 0; k < kept.size(); ++k) kept[k].rank = static_cast<int64_t>(k + 1);
  out.candidates = std::move(kept);
  return out;
}

}  // namespace sre::investigation
