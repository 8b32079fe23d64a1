#include "mbrl/core/runtime.h"

#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <malloc.h>
#include <torch/cuda.h>
#include <torch/utils.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "mbrl/core/check.h"

namespace mbrl {

torch::Device ResolveDevice(const std::string& name) {
  if (name == "cpu") return torch::kCPU;
  if (name == "cuda") {
    MBRL_CHECK(torch::cuda::is_available(),
               "device: 'cuda' requested but no CUDA device is available");
    return torch::kCUDA;
  }
  MBRL_CHECK(name == "auto", "device: expected auto|cpu|cuda, got '", name, "'");
  return torch::cuda::is_available() ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
}

namespace {
using SetFn = void (*)(int);
using GetFn = int (*)();
// OpenBLAS's pool controls, looked up once (null without OpenBLAS); SetThreads runs per agent step
const SetFn kBlasSet = reinterpret_cast<SetFn>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
const GetFn kBlasGet = reinterpret_cast<GetFn>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
using NameFn = char* (*)();
const NameFn kBlasCore = reinterpret_cast<NameFn>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
}  // namespace

std::string BlasCoreName() { return kBlasCore ? kBlasCore() : "unknown (not OpenBLAS)"; }

std::vector<std::string> CpuFlags() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("flags", 0) != 0) continue;
    std::vector<std::string> out;
    std::istringstream words(line.substr(line.find(':') + 1));
    for (std::string w; words >> w;)
      if (w == "avx" || w == "avx2" || w == "fma" || w.rfind("avx512", 0) == 0) out.push_back(w);
    return out;
  }
  return {};
}

// Only changes are applied: LibTorch's set_num_threads also rebuilds its pthreadpool (QNNPACK/
// XNNPACK) at every call, even to the same count, and each new worker busy-waits on a core for
// milliseconds. Agents switch pools per step, so unconditional calls took most of a core.
void SetThreads(int torch_threads, int blas_threads) {
  MBRL_CHECK(torch_threads >= 1, "threads must be >= 1, got ", torch_threads);
  if (torch::get_num_threads() != torch_threads) torch::set_num_threads(torch_threads);
  if (blas_threads > 0 && kBlasSet && BlasThreads() != blas_threads) kBlasSet(blas_threads);
  WarmUpBlas();
}

// Seen on an AMD EPYC (Zen) machine with Debian's OpenBLAS 0.3.21: until the process has run one
// large GEMM, every GEMM of a few hundred rows runs 3-4x slower (256^3: 3.6 ms, then 1.0 ms).
// One 512^3 product per new BLAS thread count (~10 ms) removes that.
// Each thread that calls BLAS concurrently uses its own OpenBLAS buffer, so the product runs on
// every torch thread at once too.
void WarmUpBlas() {
  static int warmed_blas = 0, warmed_torch = 0;
  const int blas = BlasThreads(), threads = torch::get_num_threads();
  if ((blas <= warmed_blas && threads <= warmed_torch) || std::getenv("MBRL_NO_BLAS_WARMUP"))
    return;
  warmed_blas = std::max(warmed_blas, blas);
  warmed_torch = std::max(warmed_torch, threads);
  torch::NoGradGuard ng;
  auto a = torch::ones({512, 512});
  torch::mm(a, a);
  at::parallel_for(0, threads, 1, [&](int64_t, int64_t) { torch::mm(a, a); });
}

int BlasThreads() { return kBlasGet ? kBlasGet() : -1; }

ScopedThreads::ScopedThreads(const PhaseThreads& t)
    : torch_(torch::get_num_threads()), blas_(BlasThreads()) {
  SetThreads(t.torch, t.blas);
}

ScopedThreads::~ScopedThreads() { SetThreads(torch_, blas_); }

void TuneAllocator() {
  mallopt(M_MMAP_THRESHOLD, 32 << 20);  // glibc's maximum; larger values are rejected
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  mallopt(M_TOP_PAD, 64 << 20);
}

uint64_t DeriveSeed(uint64_t seed, uint64_t stream) {
  uint64_t z = seed * 0x9E3779B97F4A7C15ULL + stream + 0x632BE59BD9B4E019ULL;
  for (int i = 0; i < 2; ++i) {
    z += 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
  }
  return z;
}

void WriteFileAtomic(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  MBRL_CHECK(fd >= 0, path, ": cannot write: ", std::strerror(errno));
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0) {
      ::close(fd);
      MBRL_CHECK(false, path, ": write failed: ", std::strerror(errno));
    }
    done += static_cast<size_t>(n);
  }
  ::fsync(fd);
  ::close(fd);
  MBRL_CHECK(std::rename(tmp.c_str(), path.c_str()) == 0, path,
             ": rename failed: ", std::strerror(errno));
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  MBRL_CHECK(in.good(), path, ": cannot open file");
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

}  // namespace mbrl
