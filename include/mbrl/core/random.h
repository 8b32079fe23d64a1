#pragma once
/// Seeded noise on any device: the run's CPU generator drives CPU tensors; other devices use
/// their default generator (seeded once per run).
#include <torch/types.h>

namespace mbrl {

inline torch::Tensor Randn(torch::IntArrayRef shape, torch::Generator& gen,
                           const torch::TensorOptions& opt) {
  return opt.device().is_cpu() ? torch::randn(shape, gen, opt) : torch::randn(shape, opt);
}
inline torch::Tensor Rand(torch::IntArrayRef shape, torch::Generator& gen,
                          const torch::TensorOptions& opt) {
  return opt.device().is_cpu() ? torch::rand(shape, gen, opt) : torch::rand(shape, opt);
}

}  // namespace mbrl
