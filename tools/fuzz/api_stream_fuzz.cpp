// sre-api's live-stream decoding (api::MakeStreamEvent), fed a Kafka payload; the first byte
// picks one of the six lifecycle topics. Properties: nothing throws; an error is a short 400 in
// clean UTF-8; an event carries the topic, a lower-case incident id and JSON data in clean UTF-8;
// a well-formed UTF-8 payload that the agents' decoder (Decode<T> of the topic's type) accepts is
// never refused by the stream, so the dashboard sees everything the pipeline processes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "api/api_core.h"
#include "shared/ids.h"
#include "shared/messages.h"
#include "tools/fuzz/fuzz_check.h"

namespace sre::fuzz {
namespace {

// "payload does not match the lifecycle contract: " and 256 bytes of the codec's message, each
// ill-formed byte of which may have become a three-byte U+FFFD.
constexpr size_t kMaxErrorBytes = 1024;

template <typename T>
bool AgentsAccept(std::string_view payload) {
  return Decode<T>(payload).ok();
}

bool AgentsAccept(const std::string& topic, std::string_view payload) {
  if (topic == topics::kAnomaliesDetected) return AgentsAccept<AnomalyDetected>(payload);
  if (topic == topics::kIncidentsOpened) return AgentsAccept<IncidentOpened>(payload);
  if (topic == topics::kRcaCompleted) return AgentsAccept<RcaCompleted>(payload);
  if (topic == topics::kRemediationPlans) return AgentsAccept<RemediationPlan>(payload);
  if (topic == topics::kIncidentsResolved) return AgentsAccept<IncidentResolved>(payload);
  if (topic == topics::kPostmortemsGenerated) return AgentsAccept<PostmortemGenerated>(payload);
  Broken("not a lifecycle topic: " + topic);
}

void Check(const std::string& topic, const std::string& payload) {
  std::variant<api::LifecycleEvent, api::ApiError> made = api::ApiError{};
  try {
    made = api::MakeStreamEvent(topic, payload);
  } catch (const std::exception& e) {
    Broken(std::string("MakeStreamEvent threw ") + e.what());
  }
  if (auto* e = std::get_if<api::ApiError>(&made)) {
    Require(e->status == 400, "status " + std::to_string(e->status));
    Require(!e->message.empty() && e->message.size() <= kMaxErrorBytes, "message length");
    Require(CleanText(e->message), "message is not clean UTF-8");
    Require(!IsValidUtf8(payload) || !AgentsAccept(topic, payload),
            "the stream refuses a payload the agents accept: " + e->message);
    return;
  }
  const auto& ev = std::get<api::LifecycleEvent>(made);
  Require(ev.event.type == topic, "event type is not the topic");
  Require(IsUuid(ev.event_id), "event_id is not a UUID");
  Require(CleanText(ev.event.data), "event data is not clean UTF-8");
  Json data = Json::parse(ev.event.data, nullptr, false);
  Require(data.is_object(), "event data is not a JSON object");
  const std::string id = data.value("incident_id", std::string());
  Require(api::IsUuid(id), "incident_id is not a lower-case UUID: " + id);
  Require(data.value("incident_number", std::string()) == IncidentNumber(id), "incident_number");
}

}  // namespace
}  // namespace sre::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const auto& topics = sre::api::LifecycleTopics();
  sre::fuzz::Check(topics[data[0] % topics.size()],
                   std::string(reinterpret_cast<const char*>(data) + 1, size - 1));
  return 0;
}
