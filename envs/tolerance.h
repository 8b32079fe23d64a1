#pragma once
/// The DMC reward shaping function (dm_control rewards.tolerance, shared/TASKS-DMC.md section 2),
/// as a scalar for step rewards and elementwise on tensors for batched rewards.
#include <torch/types.h>

namespace mbrl {

enum class Sigmoid {
  kGaussian,
  kHyperbolic,
  kLongTail,
  kReciprocal,
  kCosine,
  kLinear,
  kQuadratic,
  kTanhSquared
};

/// 1 for lower <= x <= upper (bounds may be +-inf); outside, 0 if margin = 0, else s(d) with
/// d = distance to the nearest bound / margin, s(0) = 1, s(1) = value_at_margin. Throws
/// mbrl::Error on lower > upper, margin < 0 or a value_at_margin the sigmoid does not allow.
double Tolerance(double x, double lower, double upper, double margin = 0,
                 Sigmoid sigmoid = Sigmoid::kGaussian, double value_at_margin = 0.1);
/// Elementwise on a floating tensor (computed in its dtype).
torch::Tensor Tolerance(const torch::Tensor& x, double lower, double upper, double margin = 0,
                        Sigmoid sigmoid = Sigmoid::kGaussian, double value_at_margin = 0.1);

}  // namespace mbrl
