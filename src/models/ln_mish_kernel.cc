// Fused LayerNorm + affine + Mish over rows, forward and backward, as plain loops the compiler
// vectorises (this file alone is built with -O3 -ffast-math and, where the host has it, AVX2/FMA;
// glibc's libmvec gives the vector expf). No LibTorch here: latent_net.cc wraps it in autograd.
#include "ln_mish_kernel.h"

#include <algorithm>
#include <cmath>

namespace mbrl::kernels {
namespace {

// mish(y) = y t, t = tanh(softplus(y)) = n / (n + 2), n = e (e + 2), e = exp(min(y, 20))
inline float MishT(float y, float* e_out) {
  const float e = std::exp(std::min(y, 20.f));
  const float n = e * (e + 2.f);
  *e_out = e;
  return n / (n + 2.f);
}

}  // namespace

void LnMishForward(const float* h, const float* w, const float* b, int64_t rows, int64_t u,
                   float eps, float* out, float* xhat, float* rstd) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* x = h + r * u;
    float mean = 0.f;
    for (int64_t i = 0; i < u; ++i) mean += x[i];
    mean /= static_cast<float>(u);
    float var = 0.f;
    for (int64_t i = 0; i < u; ++i) var += (x[i] - mean) * (x[i] - mean);
    const float rs = 1.f / std::sqrt(var / static_cast<float>(u) + eps);
    float* o = out + r * u;
    float* xh = xhat ? xhat + r * u : o;  // without saving, out holds x-hat for a moment
    for (int64_t i = 0; i < u; ++i) xh[i] = (x[i] - mean) * rs;
    for (int64_t i = 0; i < u; ++i) {
      const float y = xh[i] * w[i] + b[i];
      float e;
      o[i] = y * MishT(y, &e);
    }
    if (rstd) rstd[r] = rs;
  }
}

void LnMishBackward(const float* grad, const float* xhat, const float* rstd, const float* w,
                    const float* b, int64_t rows, int64_t u, float* dh, float* dw, float* db) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* g = grad + r * u;
    const float* xh = xhat + r * u;
    float* d = dh + r * u;  // first dL/dy, then dL/dh
    float sum_dx = 0.f, sum_dx_xh = 0.f;
    for (int64_t i = 0; i < u; ++i) {
      const float y = xh[i] * w[i] + b[i];
      float e;
      const float t = MishT(y, &e);
      const float dy = g[i] * (t + y * (1.f - t * t) * (e / (e + 1.f)));
      dw[i] += dy * xh[i];
      db[i] += dy;
      const float dx = dy * w[i];
      d[i] = dx;
      sum_dx += dx;
      sum_dx_xh += dx * xh[i];
    }
    const float inv = 1.f / static_cast<float>(u);
    const float m1 = sum_dx * inv, m2 = sum_dx_xh * inv, rs = rstd[r];
    for (int64_t i = 0; i < u; ++i) d[i] = rs * (d[i] - m1 - xh[i] * m2);
  }
}

}  // namespace mbrl::kernels
