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

void LnMishForward(const float* __restrict__ h, const float* __restrict__ w,
                   const float* __restrict__ b, int64_t rows, int64_t u, float eps,
                   float* __restrict__ out, float* __restrict__ xhat, float* __restrict__ rstd) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* x = h + r * u;
    float mean = 0.f;
    for (int64_t i = 0; i < u; ++i) mean += x[i];
    mean /= static_cast<float>(u);
    float var = 0.f;
    for (int64_t i = 0; i < u; ++i) var += (x[i] - mean) * (x[i] - mean);
    const float rs = 1.f / std::sqrt(var / static_cast<float>(u) + eps);
    float* o = out + r * u;
    if (xhat) {
      float* xh = xhat + r * u;
      for (int64_t i = 0; i < u; ++i) xh[i] = (x[i] - mean) * rs;
    }
    for (int64_t i = 0; i < u; ++i) {
      const float y = (x[i] - mean) * rs * w[i] + b[i];
      float e;
      o[i] = y * MishT(y, &e);
    }
    if (rstd) rstd[r] = rs;
  }
}

void LnMishBackward(const float* __restrict__ grad, const float* __restrict__ xhat,
                    const float* __restrict__ rstd, const float* __restrict__ w,
                    const float* __restrict__ b, int64_t rows, int64_t u, float* __restrict__ dh,
                    float* __restrict__ dw, float* __restrict__ db) {
  const float inv = 1.f / static_cast<float>(u);
  for (int64_t r = 0; r < rows; ++r) {
    const float* g = grad + r * u;
    const float* xh = xhat + r * u;
    float* d = dh + r * u;  // first dL/dy, then dL/dh
    for (int64_t i = 0; i < u; ++i) {
      const float y = xh[i] * w[i] + b[i];
      float e;
      const float t = MishT(y, &e);
      d[i] = g[i] * (t + y * (1.f - t * t) * (e / (e + 1.f)));
    }
    float sum_dx = 0.f, sum_dx_xh = 0.f;
    for (int64_t i = 0; i < u; ++i) {
      dw[i] += d[i] * xh[i];
      db[i] += d[i];
      const float dx = d[i] * w[i];
      sum_dx += dx;
      sum_dx_xh += dx * xh[i];
    }
    const float m1 = sum_dx * inv, m2 = sum_dx_xh * inv, rs = rstd[r];
    for (int64_t i = 0; i < u; ++i) d[i] = rs * (d[i] * w[i] - m1 - xh[i] * m2);
  }
}

// murmur3's 32-bit finaliser: a counter-based hash, so the mask of element i is recomputed, not
// stored, and the loop vectorises
inline uint32_t Mix(uint32_t x) {
  x ^= x >> 16;
  x *= 0x85ebca6bu;
  x ^= x >> 13;
  x *= 0xc2b2ae35u;
  x ^= x >> 16;
  return x;
}

void DropoutApply(uint64_t seed, float p, int64_t n, const float* __restrict__ in,
                  float* __restrict__ out) {
  const auto lo = static_cast<uint32_t>(seed), hi = static_cast<uint32_t>(seed >> 32);
  const auto threshold = static_cast<uint32_t>(std::min(p, 1.f) * 4294967295.f);
  const float scale = p < 1.f ? 1.f / (1.f - p) : 0.f;
  for (int64_t i = 0; i < n; ++i) {
    const uint32_t x = Mix(Mix(static_cast<uint32_t>(i) * 0x9e3779b9u + lo) ^ hi);
    out[i] = x >= threshold ? in[i] * scale : 0.f;
  }
}

}  // namespace mbrl::kernels
