#include "mbrl/logging/tensorboard.h"

#include <unistd.h>

#include <array>
#include <chrono>
#include <cmath>
#include <cstring>

#include "mbrl/core/check.h"

namespace mbrl {
namespace {

std::array<uint32_t, 256> MakeCrcTable() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;  // reflected poly
    t[i] = c;
  }
  return t;
}

// Protobuf wire format, just what Event/Summary need.
void Varint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}
template <class T>
void Fixed(std::string* out, T v) {  // little-endian fixed32/fixed64
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));
  out->append(b, sizeof(T));
}
void Bytes(std::string* out, uint32_t field, const std::string& s) {
  Varint(out, (field << 3) | 2);
  Varint(out, s.size());
  out->append(s);
}

double Now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

uint32_t Crc32c(const void* data, size_t n, uint32_t crc) {
  static const std::array<uint32_t, 256> table = MakeCrcTable();
  const auto* p = static_cast<const unsigned char*>(data);
  crc = ~crc;
  for (size_t i = 0; i < n; ++i) crc = table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

uint32_t MaskedCrc32c(const void* data, size_t n) {
  const uint32_t c = Crc32c(data, n);
  return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

EventWriter::EventWriter(const std::string& dir) {
  char host[256] = "localhost";
  gethostname(host, sizeof(host) - 1);
  path_ = dir + "/events.out.tfevents." + std::to_string(static_cast<int64_t>(Now())) + "." + host;
  f_ = std::fopen(path_.c_str(), "ab");
  MBRL_CHECK(f_ != nullptr, path_, ": cannot open for writing");
  std::string event;  // Event{wall_time = 1, file_version = 3}
  Varint(&event, (1 << 3) | 1);
  Fixed(&event, Now());
  Bytes(&event, 3, "brain.Event:2");
  WriteRecord(event);
  Flush();
}

EventWriter::~EventWriter() {
  if (f_) std::fclose(f_);
}

void EventWriter::Scalars(const std::vector<std::pair<std::string, double>>& values, int64_t step,
                          double wall_time) {
  std::string summary;  // Summary{repeated Value value = 1}, Value{tag = 1, simple_value = 2}
  for (const auto& [tag, v] : values) {
    std::string value;
    Bytes(&value, 1, tag);
    Varint(&value, (2 << 3) | 5);
    Fixed(&value, static_cast<float>(v));
    Bytes(&summary, 1, value);
  }
  std::string event;  // Event{wall_time = 1, step = 2, summary = 5}
  Varint(&event, (1 << 3) | 1);
  Fixed(&event, wall_time);
  Varint(&event, 2 << 3);
  Varint(&event, static_cast<uint64_t>(step));
  Bytes(&event, 5, summary);
  WriteRecord(event);
}

void EventWriter::WriteRecord(const std::string& data) {
  std::string rec;
  Fixed(&rec, static_cast<uint64_t>(data.size()));
  Fixed(&rec, MaskedCrc32c(rec.data(), 8));
  rec += data;
  Fixed(&rec, MaskedCrc32c(data.data(), data.size()));
  MBRL_CHECK(std::fwrite(rec.data(), 1, rec.size(), f_) == rec.size(), path_, ": write failed");
}

void EventWriter::Flush() {
  MBRL_CHECK(std::fflush(f_) == 0, path_, ": flush failed");
  fsync(fileno(f_));
}

}  // namespace mbrl
