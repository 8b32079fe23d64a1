#include "mbrl/learners/actor_critic.h"

#include <torch/nn/utils/clip_grad.h>
#include <torch/torch.h>

#include <cmath>

#include "mbrl/core/random.h"

namespace mbrl {
namespace {

constexpr double kLogSqrt2Pi = 0.91893853320467274178;

}  // namespace

ActorCriticImpl::ActorCriticImpl(int feat_dim, int act_dim, const ActorCriticConfig& cfg,
                                 torch::Device device)
    : cfg_(cfg), act_dim_(act_dim) {
  const bool twohot = cfg.value_head == "twohot";
  if (twohot) twohot_ = std::make_unique<TwoHot>();
  const int64_t value_out = twohot ? twohot_->bins() : 1;
  actor_ =
      register_module("actor", MlpNet(feat_dim, 2 * act_dim, cfg.units, cfg.layers, cfg.layernorm));
  critic_ =
      register_module("critic", MlpNet(feat_dim, value_out, cfg.units, cfg.layers, cfg.layernorm));
  slow_ = register_module("slow_critic",
                          MlpNet(feat_dim, value_out, cfg.units, cfg.layers, cfg.layernorm));
  if (twohot) critic_->ScaleOutput(0);
  scale_ = register_buffer("return_scale", torch::zeros({1}));
  to(device);
  {
    torch::NoGradGuard ng;
    auto src = critic_->parameters(), dst = slow_->parameters();
    for (size_t i = 0; i < src.size(); ++i) dst[i].copy_(src[i]).requires_grad_(false);
  }
  actor_opt_ = std::make_unique<torch::optim::Adam>(
      actor_->parameters(), torch::optim::AdamOptions(cfg.actor_lr).eps(cfg.eps));
  critic_opt_ = std::make_unique<torch::optim::Adam>(
      critic_->parameters(), torch::optim::AdamOptions(cfg.critic_lr).eps(cfg.eps));
}

ActorSample ActorCriticImpl::Sample(const torch::Tensor& feat, torch::Generator& gen) {
  const bool reinforce = cfg_.actor_grad == "reinforce";
  auto out = actor_->forward(reinforce ? feat.detach() : feat).chunk(2, -1);
  auto mu = out[0];
  auto std = (cfg_.max_std - cfg_.min_std) * torch::sigmoid(out[1] + 2) + cfg_.min_std;
  auto eps = Randn(mu.sizes(), gen, mu.options());
  auto pre = reinforce ? (mu + std * eps).detach() : mu + std * eps;
  auto act = torch::tanh(pre);
  // log N(pre; mu, std) minus the tanh Jacobian, in the numerically stable softplus form
  auto z = (pre - mu) / std;
  auto logp = (-0.5 * z.pow(2) - std.log() - kLogSqrt2Pi -
               2 * (std::log(2.0) - pre - torch::nn::functional::softplus(-2 * pre)))
                  .sum(-1);
  return {reinforce ? act.detach() : act, logp};
}

torch::Tensor ActorCriticImpl::Mode(const torch::Tensor& feat) {
  return torch::tanh(actor_->forward(feat).chunk(2, -1)[0]);
}

torch::Tensor ActorCriticImpl::Value(MlpNet& net, const torch::Tensor& feat) {
  auto out = net->forward(feat);
  return twohot_ ? twohot_->Mean(out) : out.squeeze(-1);
}

torch::Tensor ActorCriticImpl::LambdaReturns(const torch::Tensor& reward, const torch::Tensor& cont,
                                             const torch::Tensor& value, double gamma,
                                             double lambda) {
  const int64_t h = reward.size(0);
  std::vector<torch::Tensor> ret(h);
  auto next = value[h];
  for (int64_t t = h - 1; t >= 0; --t) {
    next = reward[t] + gamma * cont[t] * ((1 - lambda) * value[t + 1] + lambda * next);
    ret[t] = next;
  }
  return torch::stack(ret);
}

ActorCriticStats ActorCriticImpl::Update(const ImaginedTrajectory& traj) {
  const int64_t h = traj.reward.size(0);
  // bootstrap values: gradients to the features (dynamics backprop) but not to the critic's
  // parameters (the slow critic has none; the critic's are switched off for this forward)
  torch::Tensor value;  // [H+1,N]
  if (cfg_.slow_target) {
    value = Value(slow_, traj.feat);
  } else {
    FrozenParameters frozen(*critic_);
    value = Value(critic_, traj.feat);
  }
  auto ret = LambdaReturns(traj.reward, traj.cont, value, cfg_.gamma, cfg_.lambda);  // [H,N]
  // weight of step t: discounted probability that the trajectory is still alive
  auto disc = (cfg_.gamma * traj.cont).detach();
  auto weight =
      torch::cat({torch::ones_like(disc.narrow(0, 0, 1)), disc.narrow(0, 0, h - 1).cumprod(0)})
          .detach();

  auto norm = torch::ones({}, ret.options());
  if (cfg_.return_norm) {
    torch::NoGradGuard ng;
    auto flat = ret.detach().reshape({-1});
    auto q = torch::quantile(flat, torch::tensor({0.05, 0.95}, flat.options()));
    auto range = q[1] - q[0];
    scale_.mul_(cfg_.return_norm_decay).add_((1 - cfg_.return_norm_decay) * range);
    norm = scale_[0].clamp_min(1.0);
  }
  auto entropy = -traj.logp;  // single-sample estimate [H,N]
  torch::Tensor actor_obj;
  if (cfg_.actor_grad == "reinforce") {
    auto adv = ((ret - value.narrow(0, 0, h)) / norm).detach();
    actor_obj = traj.logp * adv;
  } else {
    actor_obj = ret / norm;
  }
  auto actor_loss = -(weight * (actor_obj + cfg_.entropy * entropy)).mean();

  auto feat = traj.feat.narrow(0, 0, h).detach();
  auto target = ret.detach();
  auto out = critic_->forward(feat);
  const auto loss = [&](const torch::Tensor& y) {  // [H,N]
    return twohot_ ? twohot_->Loss(out, y) : (out.squeeze(-1) - y).pow(2);
  };
  auto per_step = loss(target);
  if (cfg_.slow_reg > 0) per_step = per_step + cfg_.slow_reg * loss(Value(slow_, feat).detach());
  auto critic_loss = (weight * per_step).mean();

  actor_opt_->zero_grad();
  critic_opt_->zero_grad();
  (actor_loss + critic_loss).backward();
  if (cfg_.grad_clip > 0) {
    torch::nn::utils::clip_grad_norm_(actor_->parameters(), cfg_.grad_clip);
    torch::nn::utils::clip_grad_norm_(critic_->parameters(), cfg_.grad_clip);
  }
  actor_opt_->step();
  critic_opt_->step();
  {
    torch::NoGradGuard ng;
    auto src = critic_->parameters(), dst = slow_->parameters();
    for (size_t i = 0; i < src.size(); ++i) dst[i].lerp_(src[i], 1 - cfg_.slow_critic_decay);
  }
  auto parts = torch::stack({actor_loss.detach(), critic_loss.detach(), entropy.detach().mean(),
                             ret.detach().mean(), value.detach().mean(), scale_[0]})
                   .to(torch::kCPU);
  auto p = parts.accessor<float, 1>();
  return {p[0], p[1], p[2], p[3], p[4], p[5]};
}

void ActorCriticImpl::SaveTo(torch::serialize::OutputArchive& ar) const {
  torch::serialize::OutputArchive weights, actor_opt, critic_opt;
  save(weights);
  actor_opt_->save(actor_opt);
  critic_opt_->save(critic_opt);
  ar.write("actor_critic", weights);
  ar.write("actor_opt", actor_opt);
  ar.write("critic_opt", critic_opt);
}

void ActorCriticImpl::LoadFrom(torch::serialize::InputArchive& ar) {
  torch::serialize::InputArchive weights, actor_opt, critic_opt;
  ar.read("actor_critic", weights);
  ar.read("actor_opt", actor_opt);
  ar.read("critic_opt", critic_opt);
  load(weights);
  actor_opt_->load(actor_opt);
  critic_opt_->load(critic_opt);
}

}  // namespace mbrl
