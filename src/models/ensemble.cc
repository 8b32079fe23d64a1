#include "mbrl/models/ensemble.h"

#include <torch/torch.h>

#include <cmath>

#include "mbrl/core/check.h"

namespace mbrl {

EnsembleImpl::EnsembleImpl(int obs_dim, int act_dim, const EnsembleConfig& cfg)
    : cfg_(cfg), obs_dim_(obs_dim), act_dim_(act_dim) {
  MBRL_CHECK(cfg.elites <= cfg.members, "model.elites (", cfg.elites, ") > model.members (",
             cfg.members, ")");
  MBRL_CHECK(cfg.min_logvar < cfg.max_logvar, "model.min_logvar must be < model.max_logvar");
  MBRL_CHECK(cfg.weight_decay.size() == 1 || cfg.weight_decay.size() == size_t(cfg.layers) + 1,
             "model.weight_decay: expected 1 value or one per layer (", cfg.layers + 1, "), got ",
             cfg.weight_decay.size());
  angles_ = AngleFeatures(obs_dim, cfg.angle_dims, "model.angle_dims");
  in_dim_ = angles_.out_dim() + act_dim;
  out_dim_ = obs_dim + (cfg.learned_reward ? 1 : 0);
  const int64_t e = cfg.members;
  std::vector<int64_t> sizes = {in_dim_};
  for (int i = 0; i < cfg.layers; ++i) sizes.push_back(cfg.hidden);
  sizes.push_back(2 * out_dim_);
  for (size_t i = 0; i + 1 < sizes.size(); ++i) {
    // truncated-normal-like init with std 1/(2 sqrt(in)) (as PETS)
    auto wi = torch::randn({e, sizes[i], sizes[i + 1]}).clamp(-2, 2) /
              (2.0 * std::sqrt(static_cast<double>(sizes[i])));
    w.push_back(register_parameter("w" + std::to_string(i), wi));
    b.push_back(register_parameter("b" + std::to_string(i), torch::zeros({e, 1, sizes[i + 1]})));
  }
  min_logvar = torch::full({out_dim_}, cfg.min_logvar);
  max_logvar = torch::full({out_dim_}, cfg.max_logvar);
  if (cfg.learn_logvar_bounds) {
    min_logvar = register_parameter("min_logvar", min_logvar);
    max_logvar = register_parameter("max_logvar", max_logvar);
  } else {
    min_logvar = register_buffer("min_logvar", min_logvar);
    max_logvar = register_buffer("max_logvar", max_logvar);
  }
  in_mean = register_buffer("in_mean", torch::zeros({in_dim_}));
  in_std = register_buffer("in_std", torch::ones({in_dim_}));
  elites = register_buffer("elites", torch::arange(cfg.elites, torch::kInt64));
}

torch::Tensor EnsembleImpl::Features(const torch::Tensor& obs, const torch::Tensor& act) const {
  return torch::cat({angles_(obs), act}, -1);
}

torch::Tensor EnsembleImpl::Inputs(const torch::Tensor& obs, const torch::Tensor& act) const {
  return (Features(obs, act) - in_mean) / in_std;
}

torch::Tensor EnsembleImpl::Targets(const Batch& batch) const {
  auto delta = batch.next_obs - batch.obs;
  return cfg_.learned_reward ? torch::cat({delta, batch.reward.unsqueeze(-1)}, -1) : delta;
}

MemberWeights EnsembleImpl::Members(const torch::Tensor& index) const {
  MemberWeights m;
  for (size_t i = 0; i < w.size(); ++i) {
    m.w.push_back(index.defined() ? w[i].index_select(0, index.to(w[i].device())) : w[i]);
    m.b.push_back(index.defined() ? b[i].index_select(0, index.to(b[i].device())) : b[i]);
  }
  m.min_logvar = min_logvar;
  m.max_logvar = max_logvar;
  return m;
}

std::pair<torch::Tensor, torch::Tensor> EnsembleImpl::Forward(const MemberWeights& m,
                                                              const torch::Tensor& x) {
  auto h = x;
  const size_t last = m.w.size() - 1;
  const bool grad = torch::GradMode::is_enabled();
  for (size_t i = 0; i < last; ++i) {
    h = torch::baddbmm(m.b[i], h, m.w[i]);
    h = grad ? torch::silu(h) : torch::silu_(h);  // in place when no graph needs the input
  }
  auto out = torch::baddbmm(m.b[last], h, m.w[last]);
  const int64_t d = out.size(-1) / 2;
  auto mean = out.narrow(-1, 0, d);
  auto logvar = out.narrow(-1, d, d);
  // soft bounds: max - softplus(max - lv), then min + softplus(lv - min)
  logvar = m.max_logvar - torch::softplus(m.max_logvar - logvar);
  logvar = m.min_logvar + torch::softplus(logvar - m.min_logvar);
  return {mean, logvar};
}

}  // namespace mbrl
