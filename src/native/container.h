#pragma once
// The file container of the native formats: 8-byte magic, uint64 header length, JSON header,
// then raw little-endian float32 blobs. Internal to src/native.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace mbrl::native {

[[noreturn]] void Fail(const std::string& what, const std::string& msg);

/// Writes magic, header and the blobs (pointer, float count) to `path` via a temporary file.
void WriteContainer(const std::string& path, const char (&magic)[8], const nlohmann::json& header,
                    const std::vector<std::pair<const float*, int64_t>>& blobs);

/// Reads a whole container; Take() consumes the blobs in order, Finish() rejects trailing bytes.
class ContainerReader {
 public:
  ContainerReader(const std::string& path, const char (&magic)[8], const char* kind);
  const nlohmann::json& header() const { return header_; }
  void Take(float* dst, int64_t count, const char* item);
  /// Floats left to take (checked before allocating what a header announces).
  int64_t FloatsLeft() const { return static_cast<int64_t>((data_.size() - pos_) / sizeof(float)); }
  void Finish() const;

 private:
  void Read(void* dst, size_t bytes, const char* item);
  std::string path_, data_;
  size_t pos_ = 0;
  nlohmann::json header_;
};

}  // namespace mbrl::native
