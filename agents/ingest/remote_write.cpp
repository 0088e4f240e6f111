#include "agents/ingest/remote_write.h"

#include <snappy.h>

#include <bit>
#include <stdexcept>

#include "shared/json_codec.h"
#include "shared/text.h"

namespace sre::ingest {
namespace {

// Field numbers, from prometheus/prometheus prompb/remote.proto and prompb/types.proto:
//   WriteRequest { repeated TimeSeries timeseries = 1; reserved 2;
//                  repeated MetricMetadata metadata = 3; }
//   TimeSeries   { repeated Label labels = 1; repeated Sample samples = 2;
//                  repeated Exemplar exemplars = 3; repeated Histogram histograms = 4; }
//   Label        { string name = 1; string value = 2; }
//   Sample       { double value = 1; int64 timestamp = 2; }   (newer: identifyingLabels = 3)
constexpr uint32_t kRequestTimeseries = 1, kRequestMetadata = 3;
constexpr uint32_t kSeriesLabels = 1, kSeriesSamples = 2, kSeriesExemplars = 3,
                   kSeriesHistograms = 4;
constexpr uint32_t kLabelName = 1, kLabelValue = 2;
constexpr uint32_t kSampleValue = 1, kSampleTimestamp = 2;

enum WireType : uint32_t { kVarint = 0, kFixed64 = 1, kLen = 2, kFixed32 = 5 };

class WireError : public std::runtime_error {
 public:
  explicit WireError(const std::string& what) : std::runtime_error("remote write: " + what) {}
};

// A cursor over one message: [pos_, end_) of the whole decompressed buffer, so that every error
// names an offset a person can find in a hex dump of the request.
class Cursor {
 public:
  Cursor(std::string_view buf, size_t begin, size_t end) : buf_(buf), pos_(begin), end_(end) {}

  bool done() const { return pos_ >= end_; }

  uint64_t Varint() {
    const size_t start = pos_;
    uint64_t v = 0;
    for (int i = 0; i < 10; ++i) {
      if (pos_ >= end_) throw WireError("truncated varint at byte " + std::to_string(start));
      const auto b = static_cast<uint8_t>(buf_[pos_++]);
      v |= static_cast<uint64_t>(b & 0x7f) << (7 * i);
      if (!(b & 0x80)) return v;
    }
    throw WireError("varint longer than 10 bytes at byte " + std::to_string(start));
  }

  // The next tag; `at` is where it starts.
  void Tag(uint32_t& field, uint32_t& wire, size_t& at) {
    at = pos_;
    const uint64_t tag = Varint();
    field = static_cast<uint32_t>(tag >> 3);
    wire = static_cast<uint32_t>(tag & 7);
    if (field == 0 || (tag >> 3) > 0x1fffffff)
      throw WireError("invalid field number " + std::to_string(tag >> 3) + " at byte " +
                      std::to_string(at));
    if (wire == 3 || wire == 4)
      throw WireError("group (wire type " + std::to_string(wire) + ") at byte " +
                      std::to_string(at) + " is not supported");
    if (wire > 5)
      throw WireError("invalid wire type " + std::to_string(wire) + " at byte " +
                      std::to_string(at));
  }

  uint64_t Fixed64() { return Fixed(8, "fixed64"); }

  // A length-delimited field's payload as a sub-cursor.
  Cursor Sub() {
    const size_t start = pos_;
    const uint64_t len = Varint();
    if (len > end_ - pos_)
      throw WireError("length " + std::to_string(len) + " at byte " + std::to_string(start) +
                      " runs past the end of its message (" + std::to_string(end_ - pos_) +
                      " bytes left)");
    Cursor sub(buf_, pos_, pos_ + static_cast<size_t>(len));
    pos_ += static_cast<size_t>(len);
    return sub;
  }

  std::string_view Rest() const { return buf_.substr(pos_, end_ - pos_); }
  size_t pos() const { return pos_; }

  void Skip(uint32_t wire) {
    switch (wire) {
      case kVarint:
        Varint();
        break;
      case kFixed64:
        Fixed(8, "fixed64");
        break;
      case kLen:
        Sub();
        break;
      case kFixed32:
        Fixed(4, "fixed32");
        break;
      default:
        throw WireError("invalid wire type " + std::to_string(wire));  // Tag() rejects these
    }
  }

 private:
  uint64_t Fixed(size_t n, const char* what) {
    if (end_ - pos_ < n)
      throw WireError(std::string("truncated ") + what + " at byte " + std::to_string(pos_));
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i)
      v |= static_cast<uint64_t>(static_cast<uint8_t>(buf_[pos_ + i])) << (8 * i);
    pos_ += n;
    return v;
  }

  std::string_view buf_;
  size_t pos_, end_;
};

void Expect(uint32_t wire, uint32_t expected, const char* field, size_t at) {
  if (wire != expected)
    throw WireError(std::string(field) + " at byte " + std::to_string(at) + " has wire type " +
                    std::to_string(wire) + ", expected " + std::to_string(expected));
}

std::string Printable(std::string_view s) { return TruncateUtf8(SanitizeUtf8(s), 64); }

void DecodeLabel(Cursor c, size_t series, size_t label, PromSeries& out) {
  // Built only for an error: a request carries many labels.
  auto where = [&] {
    return "timeseries[" + std::to_string(series) + "].labels[" + std::to_string(label) + "]";
  };
  std::string_view name, value;
  while (!c.done()) {
    uint32_t field = 0, wire = 0;
    size_t at = 0;
    c.Tag(field, wire, at);
    if (field == kLabelName || field == kLabelValue) {
      Expect(wire, kLen, field == kLabelName ? "Label.name" : "Label.value", at);
      (field == kLabelName ? name : value) = c.Sub().Rest();
    } else {
      c.Skip(wire);
    }
  }
  if (name.empty()) throw WireError(where() + ": empty label name");
  if (!IsValidUtf8(name))
    throw WireError(where() + ": label name '" + Printable(name) + "' is not valid UTF-8");
  if (!IsValidUtf8(value))
    throw WireError(where() + ": the value of label '" + Printable(name) + "' is not valid UTF-8");
  std::string n(name), v(value);
  codec::CleanString(n);
  codec::CleanString(v);
  if (out.labels.count(n))
    throw WireError(where() + ": label '" + Printable(n) + "' appears twice");
  // An empty value is the same as no label in Prometheus; the empty name is still rejected above.
  if (v.empty()) return;
  out.labels.emplace(std::move(n), std::move(v));
}

std::pair<int64_t, double> DecodeSample(Cursor c) {
  int64_t ts = 0;
  double value = 0;
  while (!c.done()) {
    uint32_t field = 0, wire = 0;
    size_t at = 0;
    c.Tag(field, wire, at);
    if (field == kSampleValue) {
      Expect(wire, kFixed64, "Sample.value", at);
      value = std::bit_cast<double>(c.Fixed64());
    } else if (field == kSampleTimestamp) {
      Expect(wire, kVarint, "Sample.timestamp", at);
      ts = static_cast<int64_t>(c.Varint());  // int64: two's complement in ten bytes
    } else {
      c.Skip(wire);
    }
  }
  return {ts, value};
}

void DecodeSeries(Cursor c, size_t index, RemoteWriteRequest& req) {
  PromSeries s;
  size_t label_index = 0;
  while (!c.done()) {
    uint32_t field = 0, wire = 0;
    size_t at = 0;
    c.Tag(field, wire, at);
    switch (field) {
      case kSeriesLabels:
        Expect(wire, kLen, "TimeSeries.labels", at);
        DecodeLabel(c.Sub(), index, label_index++, s);
        break;
      case kSeriesSamples:
        Expect(wire, kLen, "TimeSeries.samples", at);
        s.samples.push_back(DecodeSample(c.Sub()));
        break;
      case kSeriesExemplars:
      case kSeriesHistograms:
        Expect(wire, kLen,
               field == kSeriesExemplars ? "TimeSeries.exemplars" : "TimeSeries.histograms", at);
        c.Sub();
        ++(field == kSeriesExemplars ? req.exemplars : req.histograms);
        break;
      default:
        c.Skip(wire);
    }
  }
  req.series.push_back(std::move(s));
}

void PutVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void PutTag(std::string& out, uint32_t field, uint32_t wire) {
  PutVarint(out, (uint64_t{field} << 3) | wire);
}

void PutBytes(std::string& out, uint32_t field, std::string_view bytes) {
  PutTag(out, field, kLen);
  PutVarint(out, bytes.size());
  out.append(bytes);
}

}  // namespace

Expected<RemoteWriteRequest> DecodeRemoteWrite(std::string_view body,
                                               size_t max_decompressed_bytes) {
  size_t length = 0;
  if (!snappy::GetUncompressedLength(body.data(), body.size(), &length))
    return Status::Invalid("remote write: the body is not a snappy block (bad length header)");
  if (length > max_decompressed_bytes)
    return Status::Invalid("remote write: the body decompresses to " + std::to_string(length) +
                           " bytes; at most " + std::to_string(max_decompressed_bytes));
  std::string raw;
  if (!snappy::Uncompress(body.data(), body.size(), &raw))
    return Status::Invalid("remote write: corrupt snappy block");

  RemoteWriteRequest req;
  try {
    Cursor c(raw, 0, raw.size());
    while (!c.done()) {
      uint32_t field = 0, wire = 0;
      size_t at = 0;
      c.Tag(field, wire, at);
      if (field == kRequestTimeseries) {
        Expect(wire, kLen, "WriteRequest.timeseries", at);
        DecodeSeries(c.Sub(), req.series.size(), req);
      } else if (field == kRequestMetadata) {
        Expect(wire, kLen, "WriteRequest.metadata", at);
        c.Sub();
        ++req.metadata;
      } else {
        c.Skip(wire);
      }
    }
  } catch (const WireError& e) {
    return Status::Invalid(e.what());
  }
  return req;
}

std::string EncodeRemoteWrite(const std::vector<PromSeries>& series) {
  std::string msg, ts_buf, part;
  for (const auto& s : series) {
    ts_buf.clear();
    for (const auto& [name, value] : s.labels) {
      part.clear();
      if (!name.empty()) PutBytes(part, kLabelName, name);
      if (!value.empty()) PutBytes(part, kLabelValue, value);
      PutBytes(ts_buf, kSeriesLabels, part);
    }
    for (const auto& [ts, value] : s.samples) {
      part.clear();
      const auto bits = std::bit_cast<uint64_t>(value);
      if (bits != 0) {  // +0.0 is the default; -0.0 is not
        PutTag(part, kSampleValue, kFixed64);
        for (int i = 0; i < 8; ++i) part.push_back(static_cast<char>((bits >> (8 * i)) & 0xff));
      }
      if (ts != 0) {
        PutTag(part, kSampleTimestamp, kVarint);
        PutVarint(part, static_cast<uint64_t>(ts));
      }
      PutBytes(ts_buf, kSeriesSamples, part);
    }
    PutBytes(msg, kRequestTimeseries, ts_buf);
  }
  std::string out;
  snappy::Compress(msg.data(), msg.size(), &out);
  return out;
}

}  // namespace sre::ingest
