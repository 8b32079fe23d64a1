#pragma once
/// Process-wide runtime settings: device selection, thread pools, seeding, durable file writes.
#include <torch/serialize/input-archive.h>
#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace mbrl {

/// A fresh tensor read from a checkpoint archive. (Reading into a defined tensor would `set_` it,
/// which fails when the sizes differ and the loaded storage is not resizable.)
inline torch::Tensor ReadTensor(torch::serialize::InputArchive& ar, const std::string& key) {
  torch::Tensor t;
  ar.read(key, t);
  return t;
}

/// "auto" -> cuda if available else cpu; "cpu"; "cuda" (error if unavailable).
torch::Device ResolveDevice(const std::string& name);

/// Sets torch's intra-op pool and OpenBLAS's own pool (found at run time; no-op without OpenBLAS).
void SetThreads(int torch_threads, int blas_threads);
/// Runs one large GEMM once per BLAS thread count (see runtime.cc); SetThreads calls it.
void WarmUpBlas();
/// OpenBLAS thread count, or -1 when torch does not run on OpenBLAS.
int BlasThreads();
/// The kernel OpenBLAS chose for this CPU (openblas_get_corename: "SkylakeX", "Haswell", or the
/// generic "Prescott" when it does not recognise the CPU; OPENBLAS_CORETYPE overrides it).
std::string BlasCoreName();
/// The vector-extension flags of /proc/cpuinfo (avx, avx2, fma, avx512*).
std::vector<std::string> CpuFlags();

/// Thread pools for one phase of work (planning, training); blas 0 leaves OpenBLAS as is.
struct PhaseThreads {
  int torch = 1;
  int blas = 0;
};

/// Sets a phase's pools for its scope and restores the previous ones after.
class ScopedThreads {
 public:
  explicit ScopedThreads(const PhaseThreads& t);
  ~ScopedThreads();
  ScopedThreads(const ScopedThreads&) = delete;
  ScopedThreads& operator=(const ScopedThreads&) = delete;

 private:
  int torch_, blas_;
};

/// Keeps large freed blocks in the heap instead of returning them to the OS (glibc), so the
/// multi-megabyte temporaries of model rollouts are reused instead of re-faulted every step.
void TuneAllocator();

/// Deterministic 64-bit seed for stream `stream` of a run seeded with `seed` (splitmix64).
uint64_t DeriveSeed(uint64_t seed, uint64_t stream);

/// Writes `text` to `path` atomically: tmp file, fsync, rename.
void WriteFileAtomic(const std::string& path, const std::string& text);
/// Whole file as a string; throws mbrl::Error naming the path.
std::string ReadFile(const std::string& path);

}  // namespace mbrl
