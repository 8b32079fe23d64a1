#include "mbrl/core/mlp.h"

#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/torch.h>

namespace mbrl {

MlpNetImpl::MlpNetImpl(int64_t in, int64_t out, int64_t units, int layers, bool layernorm) {
  for (int l = 0; l < layers; ++l) {
    net_->push_back(
        torch::nn::Linear(torch::nn::LinearOptions(l ? units : in, units).bias(!layernorm)));
    if (layernorm) net_->push_back(torch::nn::LayerNorm(torch::nn::LayerNormOptions({units})));
    net_->push_back(torch::nn::SiLU());
  }
  register_module("net", net_);
  if (out > 0) out_ = register_module("out", torch::nn::Linear(layers ? units : in, out));
}

torch::Tensor MlpNetImpl::forward(const torch::Tensor& x) {
  auto h = net_->is_empty() ? x : net_->forward(x);
  return out_ ? out_->forward(h) : h;
}

void MlpNetImpl::ScaleOutput(double scale) {
  torch::NoGradGuard ng;
  out_->weight.mul_(scale);
  out_->bias.zero_();
}

FrozenParameters::FrozenParameters(const torch::nn::Module& m) {
  for (auto& p : m.parameters())  // only these are switched back on at the end
    if (p.requires_grad()) params_.push_back(p.requires_grad_(false));
}

FrozenParameters::~FrozenParameters() {
  for (auto& p : params_) p.requires_grad_(true);
}

torch::Tensor Symlog(const torch::Tensor& x) { return x.sign() * x.abs().log1p(); }
torch::Tensor Symexp(const torch::Tensor& x) { return x.sign() * x.abs().expm1(); }

TwoHot::TwoHot(int bins, double low, double high) : bins_(bins), low_(low), high_(high) {}

torch::Tensor TwoHot::Mean(const torch::Tensor& logits) const {
  auto centers = torch::linspace(low_, high_, bins_, logits.options());
  return Symexp((logits.softmax(-1) * centers).sum(-1));
}

torch::Tensor TwoHot::Loss(const torch::Tensor& logits, const torch::Tensor& target) const {
  // position of symlog(target) on the bin grid, split between its two neighbouring bins
  const double step = (high_ - low_) / (bins_ - 1);
  auto pos = ((Symlog(target).detach() - low_) / step).clamp(0, bins_ - 1);
  auto below = pos.floor().clamp_max(bins_ - 2);
  auto w_above = (pos - below).unsqueeze(-1);
  auto logp = logits.log_softmax(-1);
  auto idx = below.to(torch::kLong).unsqueeze(-1);
  auto lp_below = logp.gather(-1, idx);
  auto lp_above = logp.gather(-1, idx + 1);
  return -((1 - w_above) * lp_below + w_above * lp_above).squeeze(-1);
}

}  // namespace mbrl
