#pragma once
// Helpers shared by the test files.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <torch/types.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
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

// Starts `mbrl <args>` (stdout/stderr to /dev/null); returns its pid.
inline pid_t Spawn(const std::vector<std::string>& args) {
  const pid_t pid = fork();
  if (pid == 0) {
    std::vector<char*> argv;
    static const std::string bin = MBRL_BINARY;
    argv.push_back(const_cast<char*>(bin.c_str()));
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    std::freopen("/dev/null", "w", stdout);
    std::freopen("/dev/null", "w", stderr);
    execv(bin.c_str(), argv.data());
    _exit(127);
  }
  return pid;
}

// Waits for `pid` up to `ms` milliseconds (forever if ms < 0); true if it exited, with its exit
// code in *code (-1 when killed by a signal).
inline bool WaitFor(pid_t pid, int ms, int* code) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  int status = 0;
  while (ms < 0 || std::chrono::steady_clock::now() < end) {
    if (waitpid(pid, &status, ms < 0 ? 0 : WNOHANG) == pid) {
      *code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return false;
}

// A file's bytes ("" when absent).
inline std::string FileText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
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

// Python of a venv in the build folder with `packages` from PyPI (made on first use; with
// Debian's site packages if `system_site`), or "" when `imports` still fail (offline).
inline std::string VenvPython(const std::string& name, const std::string& imports,
                              const std::string& packages, bool system_site) {
  const std::string venv = std::filesystem::path(MBRL_BINARY).parent_path().string() + "/" + name;
  const std::string py = venv + "/bin/python";
  const std::string probe = py + " -c 'import " + imports + "' >/dev/null 2>&1";
  if (Shell(probe).code == 0) return py;
  Shell("/usr/bin/python3 -m venv " + std::string(system_site ? "--system-site-packages " : "") +
        venv + " && timeout 600 " + venv + "/bin/pip install -q " + packages);
  return Shell(probe).code == 0 ? py : "";
}

// Python with onnx + onnxruntime (beside Debian's torch), or "" offline.
inline std::string OnnxPython() {
  return VenvPython("venv", "onnx, onnxruntime", "onnx onnxruntime", true);
}

// An episode's observations [T,O] and the agent's actions [T,A] replayed through exported files
// in Python (tests/scripts/check_export.py): TorchScript with Debian's torch, ONNX with
// onnxruntime when installable (else it says so). `recurrent`: fed in order from the zero state.
inline void ExpectPythonExportsAct(const std::string& dir, const torch::Tensor& obs,
                                   const torch::Tensor& act, const std::string& ts,
                                   const std::string& onnx, bool recurrent) {
  WriteRaw(obs, dir + "/obs.f32");
  WriteRaw(act, dir + "/expected.f32");
  const std::string args = " " MBRL_SOURCE_DIR "/tests/scripts/check_export.py" +
                           std::string(recurrent ? " --recurrent" : "") + " --obs " + dir +
                           "/obs.f32 --expected " + dir + "/expected.f32 --obs-dim " +
                           std::to_string(obs.size(1)) + " --act-dim " +
                           std::to_string(act.size(1));
  auto r = Shell("/usr/bin/python3" + args + " --torchscript " + ts);
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  const std::string py = OnnxPython();
  if (py.empty()) {
    std::cout << "onnxruntime not installable (offline?): ONNX numerics unchecked\n";
    return;
  }
  r = Shell(py + args + " --onnx " + onnx);
  EXPECT_EQ(r.code, 0) << r.out << r.err;
}

}  // namespace mbrl
