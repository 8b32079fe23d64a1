// The fuzz harnesses (tests/fuzz/harness.h) in the normal suite: every kept corpus input and every
// past crash (tests/fuzz/crashes/<target>-*) is replayed; each must be handled cleanly.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tests/fuzz/harness.h"

namespace mbrl {
namespace {
namespace fs = std::filesystem;

// contents of the files in `dir` whose names start with `prefix`
std::vector<std::pair<std::string, std::string>> Inputs(const std::string& dir,
                                                        const std::string& prefix = "") {
  std::vector<std::pair<std::string, std::string>> out;
  if (!fs::exists(dir)) return out;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename();
    if (name.rfind(prefix, 0) != 0) continue;
    std::ifstream f(e.path(), std::ios::binary);
    out.emplace_back(name, std::string(std::istreambuf_iterator<char>(f), {}));
  }
  return out;
}

void Replay(const std::string& target, void (*harness)(const uint8_t*, size_t)) {
  const std::string root = MBRL_SOURCE_DIR "/tests/fuzz/";
  auto inputs = Inputs(root + target);
  EXPECT_FALSE(inputs.empty()) << "no corpus in tests/fuzz/" << target;
  for (auto& crash : Inputs(root + "crashes", target + "-")) inputs.push_back(crash);
  for (const auto& [name, bytes] : inputs) {
    SCOPED_TRACE(name);
    EXPECT_NO_THROW(harness(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
  }
}

TEST(Fuzz, ConfigCorpusAndCrashesReplayCleanly) { Replay("config", fuzz::ConfigInput); }

TEST(Fuzz, DatasetCorpusAndCrashesReplayCleanly) { Replay("dataset", fuzz::DatasetInput); }

}  // namespace
}  // namespace mbrl
