// TensorBoard event files: CRC32C, record framing, Event/Summary encoding, written by every run.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "agents/run_config.h"
#include "agents/trainer.h"
#include "mbrl/logging/metrics_writer.h"
#include "mbrl/logging/tensorboard.h"
#include "tests/test_util.h"

namespace mbrl {
namespace {
namespace fs = std::filesystem;

struct Scalar {
  int64_t step;
  double wall_time;
  std::string tag;
  float value;
};

// A reader of our own, independent of the writer: checks both CRCs of every record and decodes
// the protobuf fields Event{1 wall_time, 2 step, 3 file_version, 5 summary}.
struct Events {
  std::string file_version;
  std::vector<Scalar> scalars;
};

uint64_t ReadVarint(const std::string& s, size_t* p) {
  uint64_t v = 0;
  for (int shift = 0;; shift += 7) {
    const auto b = static_cast<unsigned char>(s.at((*p)++));
    v |= static_cast<uint64_t>(b & 0x7F) << shift;
    if (!(b & 0x80)) return v;
  }
}

// Calls fn(field, wire_type, payload position, length) for each field of a message.
template <class F>
void Fields(const std::string& m, F&& fn) {
  size_t p = 0;
  while (p < m.size()) {
    const uint64_t key = ReadVarint(m, &p);
    const int field = static_cast<int>(key >> 3), wire = static_cast<int>(key & 7);
    size_t len = 0;
    if (wire == 0) {
      const size_t start = p;
      ReadVarint(m, &p);
      fn(field, wire, m.substr(start, p - start));
      continue;
    }
    if (wire == 1) len = 8;
    if (wire == 5) len = 4;
    if (wire == 2) len = ReadVarint(m, &p);
    ASSERT_LE(p + len, m.size());
    fn(field, wire, m.substr(p, len));
    p += len;
  }
}

Events ReadEvents(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  const std::string b((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Events out;
  size_t p = 0;
  while (p < b.size()) {
    uint64_t len;
    uint32_t len_crc, data_crc;
    EXPECT_LE(p + 12, b.size());
    std::memcpy(&len, &b[p], 8);
    std::memcpy(&len_crc, &b[p + 8], 4);
    EXPECT_EQ(len_crc, MaskedCrc32c(&b[p], 8));
    EXPECT_LE(p + 12 + len + 4, b.size());
    const std::string data = b.substr(p + 12, len);
    std::memcpy(&data_crc, &b[p + 12 + len], 4);
    EXPECT_EQ(data_crc, MaskedCrc32c(data.data(), data.size()));
    p += 12 + len + 4;
    double wall = 0;
    int64_t step = 0;
    std::vector<std::pair<std::string, float>> values;
    Fields(data, [&](int f, int, const std::string& v) {
      if (f == 1) std::memcpy(&wall, v.data(), 8);
      if (f == 2) {
        size_t q = 0;
        step = static_cast<int64_t>(ReadVarint(v, &q));
      }
      if (f == 3) out.file_version = v;
      if (f == 5)
        Fields(v, [&](int, int, const std::string& value) {
          std::string tag;
          float x = NAN;
          Fields(value, [&](int g, int, const std::string& w) {
            if (g == 1) tag = w;
            if (g == 2) std::memcpy(&x, w.data(), 4);
          });
          values.emplace_back(tag, x);
        });
    });
    for (const auto& [tag, x] : values) out.scalars.push_back({step, wall, tag, x});
  }
  return out;
}

std::string OnlyEventsFile(const std::string& dir) {
  std::vector<std::string> found;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().rfind("events.out.tfevents.", 0) == 0)
      found.push_back(e.path().string());
  EXPECT_EQ(found.size(), 1u);
  return found.empty() ? "" : found[0];
}

TEST(TensorBoard, Crc32cCheckValues) {
  EXPECT_EQ(Crc32c("123456789", 9), 0xE3069283u);  // the standard check value
  unsigned char zeros[32] = {}, ones[32], ascending[32];
  std::memset(ones, 0xFF, 32);
  for (int i = 0; i < 32; ++i) ascending[i] = static_cast<unsigned char>(i);
  EXPECT_EQ(Crc32c(zeros, 32), 0x8A9136AAu);  // RFC 3720, B.4
  EXPECT_EQ(Crc32c(ones, 32), 0x62A8AB43u);
  EXPECT_EQ(Crc32c(ascending, 32), 0x46DD794Eu);
  EXPECT_EQ(Crc32c("56789", 5, Crc32c("1234", 4)), 0xE3069283u);  // continuation
}

TEST(TensorBoard, EveryScalarReadsBack) {
  const std::string dir = testing::TempDir() + "/mbrl_tb";
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::string path;
  {
    EventWriter w(dir);
    path = w.path();
    for (int64_t s = 0; s < 50; ++s)
      w.Scalars({{"return", 0.5 * s - 3}, {"model/loss", std::exp(-0.1 * s)}}, s * 1000,
                1.7e9 + s);
    w.Scalars({{"huge_step", 1.0}}, int64_t{1} << 40, 1.7e9);
    w.Flush();
  }
  EXPECT_EQ(path, OnlyEventsFile(dir));
  const Events e = ReadEvents(path);
  EXPECT_EQ(e.file_version, "brain.Event:2");
  ASSERT_EQ(e.scalars.size(), 101u);
  for (int64_t s = 0; s < 50; ++s) {
    const Scalar& r = e.scalars[2 * s];
    const Scalar& l = e.scalars[2 * s + 1];
    EXPECT_EQ(r.tag, "return");
    EXPECT_EQ(r.step, s * 1000);
    EXPECT_EQ(r.wall_time, 1.7e9 + s);
    EXPECT_EQ(r.value, static_cast<float>(0.5 * s - 3));
    EXPECT_EQ(l.tag, "model/loss");
    EXPECT_EQ(l.value, static_cast<float>(std::exp(-0.1 * s)));
  }
  EXPECT_EQ(e.scalars.back().step, int64_t{1} << 40);

  // TensorBoard's own reader (pip, in the build folder's venv), when installable
  const std::string venv = fs::path(MBRL_BINARY).parent_path().string() + "/venv";
  const std::string probe = venv + "/bin/python -c 'import tensorboard' >/dev/null 2>&1";
  if (Shell(probe).code != 0)
    Shell("/usr/bin/python3 -m venv --system-site-packages " + venv + " && timeout 600 " + venv +
          "/bin/pip install -q tensorboard");
  if (Shell(probe).code != 0) GTEST_SKIP() << "tensorboard not installable (offline?)";
  auto r = Shell(venv + "/bin/python " MBRL_SOURCE_DIR "/tests/scripts/check_tensorboard.py " + dir);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("\"return\": 50"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"model/loss\": 50"), std::string::npos) << r.out;
}

TEST(TensorBoard, RunsWriteEveryMetricRow) {
  const std::string runs = testing::TempDir() + "/mbrl_runs_tb";
  fs::remove_all(runs);
  config::Json resolved;
  auto cfg = LoadRunConfig({}, {"agent=random", "env.name=inverted_pendulum",
                                "total_env_steps=60", "runs_dir=" + runs},
                           &resolved);
  const std::string dir = Train(cfg, resolved);
  const auto rows = ReadMetricsJsonl(dir + "/metrics.jsonl");
  const Events e = ReadEvents(OnlyEventsFile(dir));
  std::vector<Scalar> returns;
  for (const auto& s : e.scalars)
    if (s.tag == "return") returns.push_back(s);
  ASSERT_EQ(returns.size(), rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(returns[i].step, static_cast<int64_t>(*rows[i].Find("env_step")));
    EXPECT_EQ(returns[i].value, static_cast<float>(*rows[i].Find("return")));
  }
}

}  // namespace
}  // namespace mbrl
