#pragma once
// The pure core of sre-mutate: valid seed messages for every input topic of the pipeline, built
// with the shared structs, and mutated copies of them. No IO.
//
// Seeds use services that are not real (`mutant-svc-<k>`) and random incident ids, so a mutant
// that stays valid cannot touch a real incident. Message `n` of a run is a pure function of
// (seed, n, base time): the same arguments give the same bytes, on any machine.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sre::mutate {

// The topics the pipeline consumes (ARCHITECTURE §1), in pipeline order.
const std::vector<std::string>& InputTopics();

// The kinds of mutation, by the name the report uses.
//   bit_flip         1-4 random bits of the encoded payload flipped
//   truncate         the encoding cut at a random byte
//   type_swap        one value (at any depth) replaced by another JSON type
//   huge_string      one string (or value) replaced by 65-600 KB of multi-byte text
//   nul_char         NUL (\u0000) inserted into a string or a key
//   bad_utf8         raw ill-formed UTF-8 bytes inserted into a string or a key
//   deep_nesting     one value replaced by arrays or objects nested 8-10,000 deep
//   extreme_number   one value replaced by 1e308, -1e308, 9.3e15, 2^64, 1e309, 5e-324, ...
//   missing_field    one field (at any depth) removed
//   duplicate_field  a top-level field given twice, with another value before or after it
//   unknown_enum     an enum field set to a value outside its list (or wrongly spelt)
//   empty            an empty payload
//   not_json         text that is not a JSON object (prose, XML, scalars, binary, BOM, ...)
const std::vector<std::string>& MutationNames();

inline constexpr int kMutantServices = 8;
// The event time of the seeds (2026-11-18), unless the caller picks another.
inline constexpr int64_t kDefaultBaseTimeMs = 1795000000000;
// The largest mutant: a huge string of at most this many bytes plus the rest of the message.
inline constexpr size_t kMaxHugeStringBytes = 600 * 1024;

struct Mutant {
  std::string topic;
  std::string mutation;  // one of MutationNames()
  std::string payload;   // any bytes
};

// Message `n` of the run `seed`: a valid message of topic InputTopics()[n % 9], mutated.
Mutant Generate(uint64_t seed, uint64_t n, int64_t base_time_ms = kDefaultBaseTimeMs);

// A valid payload of `topic` (one of InputTopics()) drawn from `seed`, as Generate mutates it.
std::string SeedPayload(const std::string& topic, uint64_t seed, uint64_t n,
                        int64_t base_time_ms = kDefaultBaseTimeMs);

// Why the agents reject `payload` on `topic`: the error of the shared codec's Decode<T> for the
// topic's payload type (the very call the agents make), or nullopt when it decodes.
std::optional<std::string> DecodeError(const std::string& topic, std::string_view payload);

}  // namespace sre::mutate
