#pragma once
// Helpers shared by the test files.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <torch/types.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "mbrl/logging/metrics_writer.h"

namespace mbrl {

struct Cmd {
  int code;
  std::string out, err;
};

// Runs a shell command, capturing stdout and stderr. The stderr file is unique per process and
// call: ctest runs test processes side by side, and a shared file once mixed their messages.
inline Cmd Shell(const std::string& cmd) {
  static int calls = 0;
  const std::string err_file = testing::TempDir() + "/mbrl_stderr_" + std::to_string(getpid()) +
                               "_" + std::to_string(calls++) + ".txt";
  std::FILE* p = popen((cmd + " 2>" + err_file).c_str(), "r");
  std::string out;
  std::array<char, 4096> buf;
  while (size_t n = std::fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  const int status = pclose(p);
  std::ifstream e(err_file);
  std::string err((std::istreambuf_iterator<char>(e)), std::istreambuf_iterator<char>());
  std::filesystem::remove(err_file);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out, err};
}

// One metrics.jsonl column of a run directory.
inline std::vector<double> Column(const std::string& dir, const std::string& key) {
  std::vector<double> v;
  for (const auto& row : ReadMetricsJsonl(dir + "/metrics.jsonl")) v.push_back(*row.Find(key));
  return v;
}

// A float32 tensor as raw little-endian floats (input of tests/scripts/check_export.py).
inline void WriteRaw(const torch::Tensor& t, const std::string& path) {
  auto c = t.contiguous();
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(c.data_ptr<float>()), c.numel() * sizeof(float));
}

// Python with onnx + onnxruntime: a venv in the build folder (made on first use), or "" offline.
inline std::string OnnxPython() {
  const std::string venv = std::filesystem::path(MBRL_BINARY).parent_path().string() + "/venv";
  const std::string py = venv + "/bin/python";
  const std::string probe = py + " -c 'import onnx, onnxruntime' >/dev/null 2>&1";
  if (Shell(probe).code == 0) return py;
  Shell("/usr/bin/python3 -m venv --system-site-packages " + venv + " && timeout 600 " + venv +
        "/bin/pip install -q onnx onnxruntime");
  return Shell(probe).code == 0 ? py : "";
}

}  // namespace mbrl
