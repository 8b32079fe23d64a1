#include "mbrl/core/check.h"

#include <torch/torch.h>

#include <cmath>

namespace mbrl {

void CheckFinite(const at::Tensor& t, const std::string& what) {
  if (!t.defined() || !t.is_floating_point() || torch::isfinite(t).all().item<bool>()) return;
  const int64_t nan = torch::isnan(t).sum().item<int64_t>();
  const int64_t inf = torch::isinf(t).sum().item<int64_t>();
  throw NonFiniteError(detail::Concat(what, " is not finite (", nan, " NaN, ", inf, " Inf of ",
                                      t.numel(), " values)"));
}

void CheckFinite(double v, const std::string& what) {
  if (!std::isfinite(v)) throw NonFiniteError(detail::Concat(what, " is not finite (", v, ")"));
}

namespace detail {

void ThrowCheck(const char* /*file*/, int /*line*/, const std::string& msg) { throw Error(msg); }

}  // namespace detail
}  // namespace mbrl
