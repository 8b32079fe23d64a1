#include "mbrl/models/latent_net.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <algorithm>
#include <limits>

#include "ln_mish_kernel.h"
#include "mbrl/core/check.h"

namespace mbrl {

torch::Tensor SimNorm(const torch::Tensor& x, int64_t group) {
  auto shape = x.sizes().vec();
  MBRL_CHECK(shape.back() % group == 0, "SimNorm: size ", shape.back(), " not divisible by ",
             group);
  auto g = x.reshape({-1, shape.back() / group, group}).softmax(-1);
  return g.reshape(shape);
}

namespace {
// normal(0, std) redrawn outside +-2 std (LibTorch 1.13's C++ API has no trunc_normal_)
void TruncatedNormal(torch::Tensor& w, double std) {
  w.normal_(0, std);
  for (auto out = w.abs() > 2 * std; out.any().item<bool>(); out = w.abs() > 2 * std)
    w.masked_scatter_(out, torch::randn_like(w).mul_(std).masked_select(out));
}

// Mish x tanh(softplus(x)) as t = n / (n + 2), n = e^x (e^x + 2), with the hand derivative
// t + x (1 - t^2) sigmoid(x): a few vectorised passes where LibTorch 1.13's CPU mish (and tanh)
// run scalar, several times slower (docs/results.md, bench tdmpc2)
struct Mish : torch::autograd::Function<Mish> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x) {
    auto e = x.clamp_max(20).exp_();
    auto n = (e + 2).mul_(e);
    auto t = n / (n + 2);
    ctx->save_for_backward({x, e, t});
    return x * t;
  }
  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grad) {
    const auto saved = ctx->get_saved_variables();
    const auto &x = saved[0], &e = saved[1], &t = saved[2];
    auto sig = e / (e + 1);
    auto d = (1 - t * t).mul_(x).mul_(sig).add_(t);
    return {grad[0] * d};
  }
};

// LayerNorm (eps 1e-5) + per-member affine + Mish in one pass per row (kernels::LnMish*):
// h [E,N,U], w, b [E,1,U]. Saves x-hat [E,N,U] and 1/std [E,N] for the backward.
void LnMishRows(const torch::Tensor& h, const torch::Tensor& w, const torch::Tensor& b,
                torch::Tensor& out, float* xhat, float* rstd) {
  const int64_t e = h.size(0), n = h.size(1), u = h.size(2);
  at::parallel_for(0, e * n, 64, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1;) {  // rows r0..r1 may span members
      const int64_t m = r / n, end = std::min(r1, (m + 1) * n);
      kernels::LnMishForward(h.data_ptr<float>() + r * u, w.data_ptr<float>() + m * u,
                             b.data_ptr<float>() + m * u, end - r, u, 1e-5f,
                             out.data_ptr<float>() + r * u, xhat ? xhat + r * u : nullptr,
                             rstd ? rstd + r : nullptr);
      r = end;
    }
  });
}

struct LnMish : torch::autograd::Function<LnMish> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& h,
                               const torch::Tensor& w, const torch::Tensor& b) {
    auto hc = h.contiguous(), wc = w.contiguous(), bc = b.contiguous();
    auto out = torch::empty_like(hc), xhat = torch::empty_like(hc);
    auto rstd = torch::empty({hc.size(0), hc.size(1)}, hc.options());
    LnMishRows(hc, wc, bc, out, xhat.data_ptr<float>(), rstd.data_ptr<float>());
    ctx->save_for_backward({xhat, rstd, wc, bc});
    return out;
  }
  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grad) {
    const auto saved = ctx->get_saved_variables();
    const auto &xhat = saved[0], &rstd = saved[1], &w = saved[2], &b = saved[3];
    auto g = grad[0].contiguous();
    const int64_t e = xhat.size(0), n = xhat.size(1), u = xhat.size(2);
    auto dh = torch::empty_like(xhat), dw = torch::zeros_like(w), db = torch::zeros_like(b);
    for (int64_t m = 0; m < e; ++m)
      kernels::LnMishBackward(g.data_ptr<float>() + m * n * u, xhat.data_ptr<float>() + m * n * u,
                              rstd.data_ptr<float>() + m * n, w.data_ptr<float>() + m * u,
                              b.data_ptr<float>() + m * u, n, u, dh.data_ptr<float>() + m * n * u,
                              dw.data_ptr<float>() + m * u, db.data_ptr<float>() + m * u);
    return {dh, dw, db};
  }
};

// Dropout whose mask is a hash of (seed, element index): nothing stored for the backward.
struct HashDropout : torch::autograd::Function<HashDropout> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               double p, int64_t seed) {
    ctx->saved_data["p"] = p;
    ctx->saved_data["seed"] = seed;
    return Apply(x, p, seed);
  }
  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grad) {
    return {Apply(grad[0], ctx->saved_data["p"].toDouble(), ctx->saved_data["seed"].toInt()),
            torch::Tensor(), torch::Tensor()};
  }
  static torch::Tensor Apply(const torch::Tensor& x, double p, int64_t seed) {
    auto xc = x.contiguous();
    auto out = torch::empty_like(xc);
    kernels::DropoutApply(static_cast<uint64_t>(seed), static_cast<float>(p), xc.numel(),
                          xc.data_ptr<float>(), out.data_ptr<float>());
    return out;
  }
};

}  // namespace

torch::Tensor FastMish(const torch::Tensor& x) { return Mish::apply(x); }

torch::Tensor FastDropout(const torch::Tensor& x, double p, bool train) {
  if (!train || p == 0) return x;
  if (!x.device().is_cpu() || x.scalar_type() != torch::kFloat) return torch::dropout(x, p, true);
  // the seed comes from torch's default generator, as torch::dropout's mask does
  const int64_t seed =
      torch::randint(std::numeric_limits<int64_t>::max(), {1}, torch::kLong).item<int64_t>();
  return HashDropout::apply(x, p, seed);
}

torch::Tensor LayerNormMish(const torch::Tensor& h, const torch::Tensor& w,
                            const torch::Tensor& b) {
  MBRL_CHECK(h.dim() == 3 && w.dim() == 3 && w.size(1) == 1, "LayerNormMish: h [E,N,U], w [E,1,U]");
  if (!h.device().is_cpu() || h.scalar_type() != torch::kFloat)  // the unfused ops elsewhere
    return FastMish(torch::addcmul(b, torch::layer_norm(h, {h.size(-1)}), w));
  if (torch::GradMode::is_enabled()) return LnMish::apply(h, w, b);
  auto hc = h.contiguous(), wc = w.contiguous(), bc = b.contiguous();
  auto out = torch::empty_like(hc);
  LnMishRows(hc, wc, bc, out, nullptr, nullptr);
  return out;
}

NormedMlpImpl::NormedMlpImpl(int64_t in, int64_t out, const NormedMlpOptions& opt) : opt_(opt) {
  const int64_t e = opt.members;
  std::vector<int64_t> sizes = {in};
  for (int l = 0; l < opt.layers; ++l) sizes.push_back(opt.units);
  sizes.push_back(out);
  const int n = static_cast<int>(sizes.size()) - 1;
  for (int i = 0; i < n; ++i) {
    auto wi = torch::empty({e, sizes[i], sizes[i + 1]});
    {
      torch::NoGradGuard ng;
      TruncatedNormal(wi, 0.02);
      if (i == n - 1 && opt.zero_out) wi.zero_();
    }
    const auto id = std::to_string(i);
    w.push_back(register_parameter("w" + id, wi));
    b.push_back(register_parameter("b" + id, torch::zeros({e, 1, sizes[i + 1]})));
    if (i < n - 1 || opt.simnorm > 0) {
      ln_w.push_back(register_parameter("ln_w" + id, torch::ones({e, 1, sizes[i + 1]})));
      ln_b.push_back(register_parameter("ln_b" + id, torch::zeros({e, 1, sizes[i + 1]})));
    }
  }
}

torch::Tensor NormedMlpImpl::forward(const torch::Tensor& x) { return Run(x, w, b, ln_w, ln_b); }

torch::Tensor NormedMlpImpl::Members(const torch::Tensor& x, const torch::Tensor& index) {
  auto pick = [&index](const std::vector<torch::Tensor>& v) {
    std::vector<torch::Tensor> out;
    for (const auto& t : v) out.push_back(t.index_select(0, index));
    return out;
  };
  return Run(x, pick(w), pick(b), pick(ln_w), pick(ln_b));
}

torch::Tensor NormedMlpImpl::Run(torch::Tensor h, const std::vector<torch::Tensor>& w,
                                 const std::vector<torch::Tensor>& b,
                                 const std::vector<torch::Tensor>& ln_w,
                                 const std::vector<torch::Tensor>& ln_b) {
  const int64_t e = w.front().size(0);
  if (h.dim() == 2) h = h.unsqueeze(0).expand({e, h.size(0), h.size(1)});
  const int n = static_cast<int>(w.size());
  for (int i = 0; i < n; ++i) {
    h = torch::baddbmm(b[i], h, w[i]);
    if (i == n - 1 && opt_.simnorm == 0) break;
    if (i == 0 && opt_.dropout > 0) h = FastDropout(h, opt_.dropout, is_training());
    if (i < n - 1) {
      h = LayerNormMish(h, ln_w[i], ln_b[i]);
      continue;
    }
    h = e == 1 ? torch::layer_norm(h, {h.size(-1)}, ln_w[i].view({-1}), ln_b[i].view({-1}))
               : torch::addcmul(ln_b[i], torch::layer_norm(h, {h.size(-1)}), ln_w[i]);
    h = SimNorm(h, opt_.simnorm);
  }
  return h;
}

torch::Tensor NormedMlpImpl::Single(const torch::Tensor& x) {
  MBRL_CHECK(opt_.members == 1, "NormedMlp::Single on an ensemble of ", opt_.members);
  auto shape = x.sizes().vec();
  auto y = forward(x.reshape({-1, shape.back()}).unsqueeze(0)).squeeze(0);
  shape.back() = y.size(-1);
  return y.reshape(shape);
}

void NormedMlpImpl::LerpTowards(const NormedMlpImpl& src, double tau) {
  torch::NoGradGuard ng;
  auto mine = parameters(), theirs = src.parameters();
  MBRL_CHECK(mine.size() == theirs.size(), "NormedMlp::LerpTowards: different shapes");
  for (size_t i = 0; i < mine.size(); ++i) mine[i].lerp_(theirs[i], tau);
}

}  // namespace mbrl
