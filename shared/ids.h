#pragma once
// Identifiers: random UUIDv4 for events and incidents, and the incident number shown to people.
#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>

namespace sre {

// A random (v4) UUID from a thread-local, randomly seeded generator.
std::string NewUuid();
// A v4-shaped UUID drawn from `rng`, for reproducible runs (the simulator with SIM_SEED).
std::string UuidFromRng(std::mt19937_64& rng);
// A stable UUID derived from `name` (same name, same id): e.g. an output event id derived from
// the input event id, so a re-run publishes the same id.
std::string UuidFromName(const std::string& name);
// Lower-case hex SHA-256 of `data` (dead letters identify the payload they cut).
std::string Sha256Hex(std::string_view data);
// Lower-case hex of `n` bytes (digests, HMACs).
std::string HexLower(const unsigned char* data, size_t n);
// "INC-" + first 8 hex digits of the incident id, upper case (ARCHITECTURE §4).
std::string IncidentNumber(const std::string& incident_id);

}  // namespace sre
