#include "mbrl/models/tdmpc2.h"

#include <torch/torch.h>

#include <cmath>

#include "mbrl/core/random.h"

namespace mbrl {
namespace {

NormedMlpOptions Opts(int64_t units, int layers) {
  NormedMlpOptions o;
  o.units = units;
  o.layers = layers;
  return o;
}

// mean of x [..] weighted by mask [..] (1 = real step)
torch::Tensor MaskedMean(const torch::Tensor& x, const torch::Tensor& mask) {
  return (x * mask).sum() / mask.sum().clamp_min(1);
}

// Adam's gradient-norm clip and step over a module's parameters; returns the norm
double ClippedStep(torch::optim::Adam& opt, const std::vector<torch::Tensor>& params, double clip) {
  double norm = 0;
  if (clip > 0) norm = torch::nn::utils::clip_grad_norm_(params, clip);
  opt.step();
  opt.zero_grad();
  return norm;
}

}  // namespace

TdMpc2Stats& TdMpc2Stats::operator+=(const TdMpc2Stats& o) {
  consistency += o.consistency, reward += o.reward, value += o.value, pi += o.pi;
  entropy += o.entropy, scale += o.scale, grad_norm += o.grad_norm;
  return *this;
}

TdMpc2Impl::TdMpc2Impl(int obs_dim, int act_dim, const TdMpc2Config& cfg, double discount)
    : cfg_(cfg),
      act_dim_(act_dim),
      discount_(discount),
      twohot_(cfg.bins, cfg.vmin, cfg.vmax),
      scale_(torch::ones({1})) {
  auto enc = Opts(cfg.enc_units, cfg.enc_layers), dyn = Opts(cfg.units, 2);
  enc.simnorm = dyn.simnorm = cfg.simnorm;
  auto head = Opts(cfg.units, 2);
  head.zero_out = true;
  auto q = head;
  q.members = cfg.num_q;
  q.dropout = cfg.dropout;
  const int za = cfg.latent + act_dim;
  encoder_ = register_module("encoder", NormedMlp(obs_dim, cfg.latent, enc));
  dynamics_ = register_module("dynamics", NormedMlp(za, cfg.latent, dyn));
  reward_ = register_module("reward", NormedMlp(za, cfg.bins, head));
  pi_ = register_module("pi", NormedMlp(cfg.latent, 2 * act_dim, Opts(cfg.units, 2)));
  q_ = register_module("q", NormedMlp(za, cfg.bins, q));
  q_target_ = register_module("q_target", NormedMlp(za, cfg.bins, q));
  scale_ = register_buffer("scale", scale_);
  {
    torch::NoGradGuard ng;
    auto src = q_->parameters(), dst = q_target_->parameters();
    for (size_t i = 0; i < src.size(); ++i) dst[i].copy_(src[i]).requires_grad_(false);
  }
  q_target_->train(false);
  std::vector<torch::optim::OptimizerParamGroup> groups;
  auto group = [&](const torch::nn::Module& m, double lr) {
    groups.emplace_back(m.parameters(), std::make_unique<torch::optim::AdamOptions>(lr));
    for (const auto& p : m.parameters()) model_params_.push_back(p);
  };
  group(*encoder_, cfg.lr * cfg.enc_lr_scale);
  group(*dynamics_, cfg.lr);
  group(*reward_, cfg.lr);
  group(*q_, cfg.lr);
  opt_ = std::make_unique<torch::optim::Adam>(groups, torch::optim::AdamOptions(cfg.lr));
  pi_opt_ = std::make_unique<torch::optim::Adam>(pi_->parameters(),
                                                 torch::optim::AdamOptions(cfg.lr).eps(1e-5));
}

torch::Tensor TdMpc2Impl::Encode(const torch::Tensor& obs) { return encoder_->Single(obs); }

torch::Tensor TdMpc2Impl::Next(const torch::Tensor& z, const torch::Tensor& a) {
  return dynamics_->Single(torch::cat({z, a}, -1));
}

torch::Tensor TdMpc2Impl::Reward(const torch::Tensor& z, const torch::Tensor& a) {
  return twohot_.Mean(reward_->Single(torch::cat({z, a}, -1)));
}

PriorSample TdMpc2Impl::Pi(const torch::Tensor& z, torch::Generator& gen) {
  auto out = pi_->Single(z);
  auto mu = out.narrow(-1, 0, act_dim_);
  auto log_std = cfg_.log_std_min + 0.5 * (cfg_.log_std_max - cfg_.log_std_min) *
                                        (torch::tanh(out.narrow(-1, act_dim_, act_dim_)) + 1);
  auto eps = Randn(mu.sizes(), gen, mu.options());
  // Gaussian log-likelihood summed over the action dims (A x the per-dim mean), then tanh
  auto logp = (-0.5 * eps.square() - log_std - 0.5 * std::log(2 * M_PI)).sum(-1);
  auto action = torch::tanh(mu + eps * log_std.exp());
  logp = logp - torch::log(torch::relu(1 - action.square()) + 1e-6).sum(-1);
  return {torch::tanh(mu), action, logp};
}

torch::Tensor TdMpc2Impl::QLogits(const torch::Tensor& z, const torch::Tensor& a, bool target) {
  return (target ? q_target_ : q_)->forward(torch::cat({z, a}, -1));
}

torch::Tensor TdMpc2Impl::QPair(const torch::Tensor& z, const torch::Tensor& a, bool min,
                                bool target, torch::Generator& gen) {
  auto idx = torch::randperm(cfg_.num_q, gen).narrow(0, 0, 2).to(z.device());
  auto q = twohot_.Mean((target ? q_target_ : q_)->Members(torch::cat({z, a}, -1), idx));
  return min ? std::get<0>(q.min(0)) : q.mean(0);
}

torch::Tensor TdMpc2Impl::Value(const torch::Tensor& z, const torch::Tensor& actions,
                                torch::Generator& gen) {
  const int64_t n = actions.size(0), h = actions.size(1);
  auto x = z.expand({n, z.size(-1)});
  auto ret = torch::zeros({n}, z.options());
  double disc = 1;
  for (int64_t t = 0; t < h; ++t) {
    auto a = actions.select(1, t);
    ret = ret + disc * Reward(x, a);
    x = Next(x, a);
    disc *= discount_;
  }
  return ret + disc * QPair(x, Pi(x, gen).action, /*min=*/false, /*target=*/false, gen);
}

torch::Tensor TdMpc2Impl::Proposals(const torch::Tensor& z, int64_t n, int horizon,
                                    torch::Generator& gen) {
  auto x = z.expand({n, z.size(-1)});
  std::vector<torch::Tensor> acts;
  for (int t = 0; t < horizon; ++t) {
    acts.push_back(Pi(x, gen).action);
    if (t + 1 < horizon) x = Next(x, acts.back());
  }
  return torch::stack(acts, 1);  // [n,H,A]
}

TdMpc2Stats TdMpc2Impl::Update(const torch::Tensor& obs, const torch::Tensor& act,
                               const torch::Tensor& reward, const torch::Tensor& terminated,
                               const torch::Tensor& mask, torch::Generator& gen) {
  const int64_t t_len = act.size(0), b = act.size(1);
  MBRL_CHECK(obs.size(0) == t_len + 1, "TdMpc2::Update: obs needs T+1 steps");
  torch::Tensor next_z, td;  // [T,B,L], [T,B]
  {
    torch::NoGradGuard ng;
    next_z = Encode(obs.narrow(0, 1, t_len));
    auto flat = next_z.reshape({t_len * b, -1});
    auto q = QPair(flat, Pi(flat, gen).action, /*min=*/true, /*target=*/true, gen);
    td = reward + discount_ * (1 - terminated) * q.view({t_len, b});
  }
  train(true);
  q_target_->train(false);
  TdMpc2Stats s;
  // latent rollout from the first observation, consistent with the encoded next latents
  std::vector<torch::Tensor> zs = {Encode(obs[0])};
  auto consistency = torch::zeros({}, obs.options());
  for (int64_t t = 0; t < t_len; ++t) {
    zs.push_back(Next(zs.back(), act[t]));
    const double w = std::pow(cfg_.rho, t);
    consistency = consistency + w * MaskedMean((zs.back() - next_z[t]).square().mean(-1), mask[t]);
  }
  auto z = torch::stack(std::vector<torch::Tensor>(zs.begin(), zs.end() - 1));  // [T,B,L]
  auto za = torch::cat({z, act}, -1);
  auto r_loss = twohot_.Loss(reward_->Single(za), reward);  // [T,B]
  auto q_loss = twohot_
                    .Loss(q_->forward(za.reshape({t_len * b, -1})),  // [E,T*B]
                          td.reshape({1, t_len * b}).expand({cfg_.num_q, t_len * b}))
                    .mean(0)
                    .view({t_len, b});
  auto rho = torch::pow(cfg_.rho, torch::arange(t_len, obs.options())).unsqueeze(1);  // [T,1]
  auto reward_loss = MaskedMean(rho * r_loss, mask);
  auto value_loss = MaskedMean(rho * q_loss, mask);
  consistency = consistency / t_len;
  auto total = cfg_.consistency_coef * consistency + cfg_.reward_coef * reward_loss +
               cfg_.value_coef * value_loss;
  total.backward();
  s.grad_norm = ClippedStep(*opt_, model_params_, cfg_.grad_clip);
  auto pi_loss = PiLoss(torch::stack(zs).detach(), gen, &s);
  pi_loss.backward();
  ClippedStep(*pi_opt_, pi_->parameters(), cfg_.grad_clip);
  q_target_->LerpTowards(*q_, cfg_.tau);
  train(false);
  s.consistency = consistency.item<double>();
  s.reward = reward_loss.item<double>();
  s.value = value_loss.item<double>();
  s.pi = pi_loss.item<double>();
  s.scale = scale_.item<double>();
  return s;
}

torch::Tensor TdMpc2Impl::PiLoss(const torch::Tensor& zs, torch::Generator& gen,
                                 TdMpc2Stats* stats) {
  FrozenParameters frozen(*q_);  // the prior's gradient reaches Q's input only
  const int64_t t1 = zs.size(0), b = zs.size(1);
  auto flat = zs.reshape({t1 * b, -1});
  auto p = Pi(flat, gen);
  auto q = QPair(flat, p.action, /*min=*/false, /*target=*/false, gen).view({t1, b});
  {
    torch::NoGradGuard ng;  // running 5-95 % range of the first step's Q, at least 1
    auto pct = torch::quantile(q[0], torch::tensor({0.05, 0.95}, q.options()));
    scale_.lerp_((pct[1] - pct[0]).clamp_min(1).view({1}), cfg_.scale_tau);
  }
  auto entropy = -p.logp.view({t1, b});
  auto rho = torch::pow(cfg_.rho, torch::arange(t1, zs.options())).unsqueeze(1);
  stats->entropy = entropy.mean().item<double>();
  return (-(cfg_.entropy_coef * entropy + q / scale_) * rho).mean(1).mean();
}

void TdMpc2Impl::SaveTo(torch::serialize::OutputArchive& ar) const {
  torch::serialize::OutputArchive weights, opt, pi_opt;
  save(weights);
  opt_->save(opt);
  pi_opt_->save(pi_opt);
  ar.write("tdmpc2", weights);
  ar.write("tdmpc2_opt", opt);
  ar.write("tdmpc2_pi_opt", pi_opt);
}

void TdMpc2Impl::LoadFrom(torch::serialize::InputArchive& ar) {
  torch::serialize::InputArchive weights, opt, pi_opt;
  ar.read("tdmpc2", weights);
  ar.read("tdmpc2_opt", opt);
  ar.read("tdmpc2_pi_opt", pi_opt);
  load(weights);
  opt_->load(opt);
  pi_opt_->load(pi_opt);
}

Objective MakeObjective(TdMpc2 model, const torch::Tensor& z, torch::Generator gen) {
  return [model, z, gen](const torch::Tensor& actions) mutable {
    torch::NoGradGuard ng;
    return model->Value(z, actions, gen);
  };
}

}  // namespace mbrl
