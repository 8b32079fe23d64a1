// The native file container (container.h).
#include "container.h"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace mbrl::native {
namespace {

bool LittleEndian() {
  const uint16_t one = 1;
  unsigned char c;
  std::memcpy(&c, &one, 1);
  return c == 1;
}

}  // namespace

void Fail(const std::string& what, const std::string& msg) {
  throw std::runtime_error(what + ": " + msg);
}

void WriteContainer(const std::string& path, const char (&magic)[8], const nlohmann::json& header,
                    const std::vector<std::pair<const float*, int64_t>>& blobs) {
  if (!LittleEndian()) Fail(path, "writing needs a little-endian host");
  const std::string text = header.dump();
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) Fail(path, "cannot open for writing");
    const uint64_t n = text.size();
    f.write(magic, sizeof(magic));
    f.write(reinterpret_cast<const char*>(&n), sizeof(n));
    f.write(text.data(), text.size());
    for (const auto& [p, count] : blobs)
      f.write(reinterpret_cast<const char*>(p), count * sizeof(float));
    f.flush();
    if (!f) Fail(path, "write failed");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) Fail(path, "cannot rename " + tmp);
}

ContainerReader::ContainerReader(const std::string& path, const char (&magic)[8], const char* kind)
    : path_(path) {
  if (!LittleEndian()) Fail(path, "reading needs a little-endian host");
  std::ifstream f(path, std::ios::binary);
  if (!f) Fail(path, "cannot open");
  std::stringstream ss;
  ss << f.rdbuf();
  data_ = ss.str();
  char m[8];
  Read(m, sizeof(m), "magic");
  if (std::memcmp(m, magic, sizeof(m)) != 0) Fail(path, std::string("not an ") + kind + " file");
  uint64_t n = 0;
  Read(&n, sizeof(n), "header size");
  if (n > data_.size() - pos_) Fail(path, "truncated (header)");
  try {
    header_ = nlohmann::json::parse(data_.substr(pos_, n));
  } catch (const std::exception& e) {
    Fail(path, std::string("bad header: ") + e.what());
  }
  pos_ += n;
}

void ContainerReader::Take(float* dst, int64_t count, const char* item) {
  Read(dst, static_cast<size_t>(count) * sizeof(float), item);
}

void ContainerReader::Read(void* dst, size_t n, const char* item) {
  if (data_.size() - pos_ < n) Fail(path_, std::string("truncated (reading ") + item + ")");
  std::memcpy(dst, data_.data() + pos_, n);
  pos_ += n;
}

void ContainerReader::Finish() const {
  if (pos_ != data_.size()) Fail(path_, std::to_string(data_.size() - pos_) + " trailing bytes");
}

}  // namespace mbrl::native
