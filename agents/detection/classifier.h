#pragma once
// Classification of a new anomaly by the fast model: type, severity and one sentence, validated
// against the taxonomy. Returns nullopt (the rule-based fallback then runs) when the model is
// unavailable, slow or answers outside the schema.
#include "agents/detection/service.h"
#include "shared/llm/client.h"

namespace sre::detection {

// The user prompt for `f`: outside text (service, trigger, log line) only inside untrusted
// delimiters.
std::string ClassificationPrompt(const AnomalyFacts& f);

// A Classifier backed by `client` (which must outlive it); each call is bounded by `deadline`.
Classifier MakeLlmClassifier(llm::Client& client, std::chrono::milliseconds deadline);

// The schema the model's answer must match (exposed for tests).
Json ClassificationSchema();

}  // namespace sre::detection
