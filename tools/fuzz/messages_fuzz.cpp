// Decode<T> for every payload type of shared/messages.h: the first byte picks the type, the rest
// is the payload as it would arrive from Kafka. Properties: nothing escapes Decode; a payload that
// decodes has only clean strings (valid UTF-8, no NUL), and its encoding decodes again to the
// same value (compared by canonical encoding).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "shared/messages.h"
#include "tools/fuzz/fuzz_check.h"

namespace sre::fuzz {
namespace {

template <typename T>
void RoundTrip(std::string_view payload) {
  const std::string type = T::kTopic;
  Expected<T> first = Status::Internal("not run");
  try {
    first = Decode<T>(payload);
  } catch (const std::exception& e) {
    Broken(type + ": Decode threw " + e.what());
  }
  if (!first.ok()) {
    Require(!first.status().message().empty(), type + ": a rejection without a reason");
    return;
  }
  RequireCleanJson(ToJson(*first), type);
  const std::string encoded = Encode(*first);
  Expected<T> second = Decode<T>(encoded);
  Require(second.ok(), type + ": its own encoding does not decode: " + second.status().message() +
                           "\nencoding: " + encoded.substr(0, 2000));
  Require(Encode(*second) == encoded,
          type + ": the value changed in a round trip\nfirst:  " + encoded.substr(0, 2000) +
              "\nsecond: " + Encode(*second).substr(0, 2000));
}

using Decoder = void (*)(std::string_view);
// One per payload type of shared/messages.h, picked by the first byte modulo 11 (each seed in
// corpus/messages is named after its topic and starts with a letter that picks its type).
constexpr Decoder kDecoders[] = {
    RoundTrip<RawMetric>,       RoundTrip<RawLog>,           RoundTrip<RawDeployment>,
    RoundTrip<AnomalyDetected>, RoundTrip<IncidentOpened>,   RoundTrip<RcaCompleted>,
    RoundTrip<RemediationPlan>, RoundTrip<IncidentResolved>, RoundTrip<PostmortemGenerated>,
    RoundTrip<DeadLetter>,      RoundTrip<GroundTruth>,
};

}  // namespace
}  // namespace sre::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  constexpr size_t kTypes = std::size(sre::fuzz::kDecoders);
  std::string_view payload(reinterpret_cast<const char*>(data) + 1, size - 1);
  sre::fuzz::kDecoders[data[0] % kTypes](payload);
  return 0;
}
