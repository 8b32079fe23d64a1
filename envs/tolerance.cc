#include "envs/tolerance.h"

#include <torch/torch.h>

#include <cmath>

#include "mbrl/core/check.h"

namespace mbrl {
namespace {

// Checks the arguments; returns the sigmoid's scale, which maps d = 1 to value_at_margin (like
// dm_control, value_at_margin is only checked when a margin is used).
double Scale(double lower, double upper, double margin, Sigmoid sigmoid, double v) {
  MBRL_CHECK(lower <= upper, "tolerance: lower bound ", lower, " > upper bound ", upper);
  MBRL_CHECK(margin >= 0, "tolerance: margin ", margin, " < 0");
  if (margin == 0) return 0;
  const bool open = sigmoid == Sigmoid::kGaussian || sigmoid == Sigmoid::kHyperbolic ||
                    sigmoid == Sigmoid::kLongTail || sigmoid == Sigmoid::kReciprocal ||
                    sigmoid == Sigmoid::kTanhSquared;
  MBRL_CHECK(v < 1 && (open ? v > 0 : v >= 0), "tolerance: value_at_margin ", v,
             " outside the sigmoid's range");
  switch (sigmoid) {
    case Sigmoid::kGaussian:
      return std::sqrt(-2 * std::log(v));
    case Sigmoid::kHyperbolic:
      return std::acosh(1 / v);
    case Sigmoid::kLongTail:
      return std::sqrt(1 / v - 1);
    case Sigmoid::kReciprocal:
      return 1 / v - 1;
    case Sigmoid::kCosine:
      return std::acos(2 * v - 1) / M_PI;
    case Sigmoid::kLinear:
      return 1 - v;
    case Sigmoid::kQuadratic:
      return std::sqrt(1 - v);
    case Sigmoid::kTanhSquared:
      return std::atanh(std::sqrt(1 - v));
  }
  return 0;
}

}  // namespace

double Tolerance(double x, double lower, double upper, double margin, Sigmoid sigmoid,
                 double value_at_margin) {
  const double scale = Scale(lower, upper, margin, sigmoid, value_at_margin);
  if (lower <= x && x <= upper) return 1;
  if (margin == 0) return 0;
  const double u = (x < lower ? lower - x : x - upper) / margin * scale;
  switch (sigmoid) {
    case Sigmoid::kGaussian:
      return std::exp(-0.5 * u * u);
    case Sigmoid::kHyperbolic:
      return 1 / std::cosh(u);
    case Sigmoid::kLongTail:
      return 1 / (u * u + 1);
    case Sigmoid::kReciprocal:
      return 1 / (std::abs(u) + 1);
    case Sigmoid::kCosine:
      return std::abs(u) < 1 ? (1 + std::cos(M_PI * u)) / 2 : 0;
    case Sigmoid::kLinear:
      return std::abs(u) < 1 ? 1 - u : 0;
    case Sigmoid::kQuadratic:
      return std::abs(u) < 1 ? 1 - u * u : 0;
    case Sigmoid::kTanhSquared:
      return 1 - std::pow(std::tanh(u), 2);
  }
  return 0;
}

torch::Tensor Tolerance(const torch::Tensor& x, double lower, double upper, double margin,
                        Sigmoid sigmoid, double value_at_margin) {
  const double scale = Scale(lower, upper, margin, sigmoid, value_at_margin);
  auto in_bounds = (x >= lower) & (x <= upper);
  if (margin == 0) return in_bounds.to(x.scalar_type());
  // d > 0 outside the bounds; the in-bounds branch is masked below (may be -inf or nan there)
  auto u = torch::where(x < lower, lower - x, x - upper) * (scale / margin);
  auto zero = torch::zeros_like(u);
  torch::Tensor s;
  switch (sigmoid) {
    case Sigmoid::kGaussian:
      s = torch::exp(-0.5 * u * u);
      break;
    case Sigmoid::kHyperbolic:
      s = 1 / torch::cosh(u);
      break;
    case Sigmoid::kLongTail:
      s = 1 / (u * u + 1);
      break;
    case Sigmoid::kReciprocal:
      s = 1 / (u.abs() + 1);
      break;
    case Sigmoid::kCosine:
      s = torch::where(u.abs() < 1, (1 + torch::cos(M_PI * u)) / 2, zero);
      break;
    case Sigmoid::kLinear:
      s = torch::where(u.abs() < 1, 1 - u, zero);
      break;
    case Sigmoid::kQuadratic:
      s = torch::where(u.abs() < 1, 1 - u * u, zero);
      break;
    case Sigmoid::kTanhSquared:
      s = 1 - torch::tanh(u).square();
      break;
  }
  return torch::where(in_bounds, torch::ones_like(s), s);
}

}  // namespace mbrl
