#include "mbrl/models/ensemble.h"

#include <torch/torch.h>

#include <cmath>
#include <limits>

#include "mbrl/core/check.h"

namespace mbrl {

EnsembleImpl::EnsembleImpl(int obs_dim, int act_dim, const EnsembleConfig& cfg)
    : cfg_(cfg), obs_dim_(obs_dim), act_dim_(act_dim) {
  MBRL_CHECK(cfg.elites <= cfg.members, "model.elites (", cfg.elites, ") > model.members (",
             cfg.members, ")");
  MBRL_CHECK(cfg.min_logvar < cfg.max_logvar, "model.min_logvar must be < model.max_logvar");
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

EnsembleTrainStats TrainEnsemble(Ensemble& model, const Batch& data, torch::Generator& gen,
                                 const EnsembleBatchHook& on_batch) {
  const EnsembleConfig& cfg = model->config();
  const int64_t n = data.obs.size(0);
  MBRL_CHECK(n >= 2, "model training needs at least 2 transitions, got ", n);
  const auto device = model->w[0].device();
  const int64_t e = cfg.members;

  // holdout split
  auto perm = torch::randperm(n, gen).to(device);
  int64_t n_hold = std::min<int64_t>(static_cast<int64_t>(cfg.holdout * n), cfg.max_holdout);
  n_hold = std::min(n_hold, n - 1);
  auto train_idx = perm.narrow(0, n_hold, n - n_hold), hold_idx = perm.narrow(0, 0, n_hold);
  const int64_t n_train = n - n_hold;

  auto feats = model->Features(data.obs, data.act).detach();
  auto targets = model->Targets(data).detach();
  {
    torch::NoGradGuard ng;
    auto ft = feats.index_select(0, train_idx);
    model->in_mean.copy_(ft.mean(0));
    auto sd = ft.std(0, false);
    model->in_std.copy_(torch::where(sd < 1e-6, torch::ones_like(sd), sd));
  }
  auto x = ((feats - model->in_mean) / model->in_std).detach();
  auto x_train = x.index_select(0, train_idx), y_train = targets.index_select(0, train_idx);
  auto x_hold = n_hold > 0 ? x.index_select(0, hold_idx) : x_train;
  auto y_hold = n_hold > 0 ? targets.index_select(0, hold_idx) : y_train;

  // per-member index sets, fixed for this call (bootstrap: with replacement)
  auto member_idx = cfg.bootstrap
                        ? torch::randint(n_train, {e, n_train}, gen, torch::kInt64).to(device)
                        : torch::arange(n_train, torch::kInt64).to(device).expand({e, n_train});

  torch::optim::Adam opt(model->parameters(),
                         torch::optim::AdamOptions(cfg.lr).weight_decay(cfg.weight_decay));
  const auto all = model->Members();
  auto holdout_mse = [&] {
    torch::NoGradGuard ng;
    auto [mean, lv] = EnsembleImpl::Forward(all, x_hold.unsqueeze(0).expand({e, -1, -1}));
    return (mean - y_hold.unsqueeze(0)).square().mean({1, 2});  // [E]
  };

  std::vector<torch::Tensor> best_params;
  for (const auto& p : model->parameters()) best_params.push_back(p.detach().clone());
  auto best = holdout_mse();
  int since = 0;
  EnsembleTrainStats stats;
  for (int epoch = 0; epoch < cfg.max_epochs; ++epoch) {
    // each member visits its own index set in a fresh order
    auto order = std::get<1>(torch::rand({e, n_train}, gen).to(device).sort(1));
    auto shuffled = member_idx.gather(1, order);
    auto loss_sum = torch::zeros({}, x_train.options());  // summed on device: no sync per batch
    int batches = 0;
    for (int64_t s = 0; s < n_train; s += cfg.batch_size) {
      const int64_t bsz = std::min<int64_t>(cfg.batch_size, n_train - s);
      auto rows = shuffled.narrow(1, s, bsz);  // [E,B]
      if (on_batch) on_batch(epoch, rows);
      auto bi = rows.reshape({-1});
      auto xb = x_train.index_select(0, bi).view({e, bsz, -1});
      auto yb = y_train.index_select(0, bi).view({e, bsz, -1});
      auto [mean, lv] = EnsembleImpl::Forward(model->Members(), xb);
      auto nll = ((mean - yb).square() * torch::exp(-lv) + lv).mean({1, 2}).sum();
      if (cfg.learn_logvar_bounds)
        nll = nll + 0.01 * (model->max_logvar.sum() - model->min_logvar.sum());
      opt.zero_grad();
      nll.backward();
      opt.step();
      loss_sum += nll.detach();
      ++batches;
    }
    stats.train_loss = loss_sum.item<double>() / e / std::max(1, batches);
    stats.epochs = epoch + 1;
    // early stopping on relative holdout improvement, best weights kept per member
    auto mse = holdout_mse();
    auto improved = (best - mse) / best.abs().clamp_min(1e-12) > cfg.improvement;
    if (improved.any().item<bool>()) {
      torch::NoGradGuard ng;
      auto params = model->parameters();
      for (size_t i = 0; i < params.size(); ++i) {
        if (params[i].dim() == 0 || params[i].size(0) != e) {
          best_params[i].copy_(params[i]);  // shared (logvar bounds)
          continue;
        }
        auto mask = improved.view({e}).to(params[i].device());
        std::vector<int64_t> shape(params[i].dim(), 1);
        shape[0] = e;
        best_params[i].copy_(torch::where(mask.view(shape), params[i], best_params[i]));
      }
      best = torch::where(improved, mse, best);
      since = 0;
    } else if (++since >= cfg.patience) {
      break;
    }
  }
  {
    torch::NoGradGuard ng;
    auto params = model->parameters();
    for (size_t i = 0; i < params.size(); ++i) params[i].copy_(best_params[i]);
    auto mse = holdout_mse();
    auto order = std::get<1>(mse.sort());
    model->elites.copy_(order.narrow(0, 0, cfg.elites));
    stats.holdout_mse = mse.index_select(0, model->elites).mean().item<double>();
  }
  CheckFinite(stats.train_loss, "model training loss");
  CheckFinite(stats.holdout_mse, "model holdout mse");
  return stats;
}

}  // namespace mbrl
