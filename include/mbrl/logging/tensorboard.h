#pragma once
/// TensorBoard scalars without protobuf: `events.out.tfevents.<time>.<host>` files in the TFRecord
/// layout (uint64 length, masked CRC32C of it, an Event message, masked CRC32C of it).
#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

namespace mbrl {

/// CRC-32C (Castagnoli), as TFRecord uses; `crc` continues a previous value.
uint32_t Crc32c(const void* data, size_t n, uint32_t crc = 0);
/// TFRecord's masked CRC: rotate right by 15, add 0xa282ead8.
uint32_t MaskedCrc32c(const void* data, size_t n);

class EventWriter {
 public:
  /// Creates `dir`/events.out.tfevents.<unix seconds>.<host> and writes the file_version event.
  explicit EventWriter(const std::string& dir);
  ~EventWriter();
  EventWriter(const EventWriter&) = delete;
  EventWriter& operator=(const EventWriter&) = delete;

  /// One Event at `step` holding a simple_value per (tag, value); `wall_time` in Unix seconds.
  void Scalars(const std::vector<std::pair<std::string, double>>& values, int64_t step,
               double wall_time);
  /// fflush + fsync.
  void Flush();
  const std::string& path() const { return path_; }

 private:
  void WriteRecord(const std::string& data);

  std::string path_;
  std::FILE* f_ = nullptr;
};

}  // namespace mbrl
