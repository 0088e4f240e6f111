#pragma once
// Prometheus remote write 1.0: the body of POST /api/v1/write is a protobuf
// prometheus.WriteRequest compressed with snappy's block format (not the framed format), as
// https://prometheus.io/docs/concepts/remote_write_spec/ specifies. Decoded by hand: the four
// messages ingest reads are small and a protoc step would be a build dependency for them alone.
// Pure functions; thread-safe.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "shared/messages.h"
#include "shared/status.h"

namespace sre::ingest {

// One TimeSeries: its labels (the metric name is the `__name__` label) and its float samples.
struct PromSeries {
  Labels labels;                                    // includes __name__
  std::vector<std::pair<int64_t, double>> samples;  // (timestamp ms, value)
};

// A decoded WriteRequest. Native histograms, exemplars and metric metadata are not forwarded;
// they are counted so that the caller can report what it skipped.
struct RemoteWriteRequest {
  std::vector<PromSeries> series;
  size_t histograms = 0, exemplars = 0, metadata = 0;
};

// Decodes an HTTP body. The snappy header's uncompressed length is checked against
// `max_decompressed_bytes` before anything is allocated for it. Status::Invalid (never an
// exception) for: a body that is not a snappy block, one that decompresses to more than the limit,
// malformed protobuf (truncation, a varint over 10 bytes, a length past the end of its message,
// groups, a known field with the wrong wire type), a label name or value that is not valid UTF-8,
// an empty label name, or a label name twice in one series. The message says where, e.g.
// "remote write: truncated varint at byte 17" (bytes count in the decompressed message).
// Unknown fields are skipped by wire type; a label with an empty value is dropped (Prometheus
// treats it as absent); NUL in label text becomes U+FFFD (text hygiene, shared/text.h).
Expected<RemoteWriteRequest> DecodeRemoteWrite(std::string_view body,
                                               size_t max_decompressed_bytes);

// The inverse, for tests, the benchmark and the e2e test: the canonical protobuf encoding (labels
// in name order, fields holding their default value omitted) compressed with snappy.
std::string EncodeRemoteWrite(const std::vector<PromSeries>& series);

}  // namespace sre::ingest
