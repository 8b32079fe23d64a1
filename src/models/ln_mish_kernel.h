#pragma once
/// Fused LayerNorm (over the last dim, biased variance) + affine + Mish on row-major float rows.
#include <cstdint>

namespace mbrl::kernels {

/// out = mish(xhat * w + b), xhat = (h - mean) / sqrt(var + eps) per row of `u` entries; h, out,
/// xhat [rows,u], w, b [u], rstd [rows]. xhat and rstd (for the backward) may be null.
void LnMishForward(const float* h, const float* w, const float* b, int64_t rows, int64_t u,
                   float eps, float* out, float* xhat, float* rstd);

/// From dL/dout (grad) and the forward's xhat, rstd: dL/dh into dh [rows,u]; dL/dw, dL/db [u]
/// are added to dw, db.
void LnMishBackward(const float* grad, const float* xhat, const float* rstd, const float* w,
                    const float* b, int64_t rows, int64_t u, float* dh, float* dw, float* db);

/// Inverted dropout with a mask hashed from (seed, i): out[i] = in[i] / (1 - p) or 0 (with
/// probability p). The same seed gives the same mask, so the backward is this call on the grad.
void DropoutApply(uint64_t seed, float p, int64_t n, const float* in, float* out);

}  // namespace mbrl::kernels
