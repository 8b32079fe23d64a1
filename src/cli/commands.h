#pragma once
#include <string>
#include <vector>

#include "mbrl/core/runtime.h"

namespace mbrl {

/// `flag`'s value as an integer >= 1; otherwise a one-line mbrl::Error naming the flag.
int PositiveInt(const std::string& flag, const std::string& value);

/// `mbrl bench <what>`: JSON lines on stdout plus a readable table on stderr.
int Bench(const std::vector<std::string>& args);
/// `mbrl bench search` (bench_search.cc): simulations/s of the tree alone and with a latent model.
int BenchSearch(const PhaseThreads& threads, double seconds);

/// `mbrl sweep <config> --seeds 0-4 [--set k=v1,v2 ...] [--parallel N] [--slurm ...]`.
int Sweep(const std::vector<std::string>& args);

/// `mbrl envs step <task>`: steps from recorded states (JSON lines on stdin).
int EnvStep(const std::string& task);

}  // namespace mbrl
