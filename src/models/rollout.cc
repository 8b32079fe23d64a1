#include "mbrl/models/rollout.h"

#include <torch/torch.h>

#include "mbrl/core/check.h"

namespace mbrl {
namespace {

torch::Tensor Randn(torch::IntArrayRef shape, torch::Generator& gen, const torch::Device& device) {
  // CPU draws come from our generator (deterministic); other devices use their default one
  return device.is_cpu() ? torch::randn(shape, gen) : torch::randn(shape, torch::device(device));
}

}  // namespace

Propagation ParsePropagation(const std::string& name) {
  if (name == "ts1") return Propagation::kTs1;
  if (name == "tsinf") return Propagation::kTsInf;
  if (name == "expectation") return Propagation::kExpectation;
  throw Error("propagation: expected ts1|tsinf|expectation, got '" + name + "'");
}

Objective MakeObjective(const Ensemble& model, const torch::Tensor& start_obs, RewardFn reward_fn,
                        TerminationFn termination_fn, int particles, Propagation propagation,
                        torch::Generator gen) {
  MBRL_CHECK(particles >= 1, "particles must be >= 1, got ", particles);
  MBRL_CHECK(reward_fn || model->config().learned_reward,
             "objective: no reward function and the model has no reward head");
  const MemberWeights elites = model->Members(model->elites);
  const auto device = model->w[0].device();
  auto start = start_obs.to(device, torch::kFloat32).reshape({1, -1});
  const int obs_dim = model->obs_dim();
  MBRL_CHECK(start.size(1) == obs_dim, "objective: start obs has ", start.size(1),
             " dims, the model ", obs_dim);

  return [=, gen = std::move(gen)](const torch::Tensor& actions) mutable -> torch::Tensor {
    torch::NoGradGuard no_grad;
    MBRL_CHECK(actions.dim() == 3 && actions.size(2) == model->act_dim(),
               "objective: actions must be [N,H,", model->act_dim(), "], got ", actions.sizes());
    const int64_t n = actions.size(0), h = actions.size(1), k = elites.members();
    const int64_t rows = n * particles;                // row = candidate * P + particle
    const int64_t padded = (rows + k - 1) / k * k;     // rows split evenly over k members
    auto obs = start.expand({rows, obs_dim}).contiguous();
    auto total = torch::zeros({rows}, obs.options());
    auto alive = torch::ones({rows}, obs.options());
    auto acts = actions.to(device).repeat_interleave(particles, 0);  // [R,H,A]
    torch::Tensor perm;
    const auto new_perm = [&] {
      auto p = torch::randperm(rows, gen).to(device);
      if (padded > rows) p = torch::cat({p, p.narrow(0, 0, padded - rows)});
      return p;
    };
    if (propagation == Propagation::kTsInf) perm = new_perm();
    for (int64_t t = 0; t < h; ++t) {
      auto a = acts.select(1, t);
      auto x = model->Inputs(obs, a);  // [R,in]
      torch::Tensor out;  // [R,out] sampled delta (+ reward)
      if (propagation == Propagation::kExpectation) {
        auto [mean, lv] = EnsembleImpl::Forward(elites, x.unsqueeze(0).expand({k, -1, -1}));
        out = mean.mean(0);
      } else {
        if (propagation == Propagation::kTs1) perm = new_perm();  // new member per step
        auto xs = x.index_select(0, perm).view({k, padded / k, -1});
        auto [mean, lv] = EnsembleImpl::Forward(elites, xs);
        auto sample = mean + torch::exp(0.5 * lv) * Randn(mean.sizes(), gen, device);
        sample = sample.reshape({padded, -1});
        out = torch::empty({rows, sample.size(1)}, sample.options());
        out.index_copy_(0, perm.narrow(0, 0, rows), sample.narrow(0, 0, rows));
      }
      auto next = obs + out.narrow(1, 0, obs_dim);
      auto r = reward_fn ? reward_fn(obs, a, next) : out.select(1, obs_dim);
      total += alive * r;
      if (termination_fn) alive = alive * (~termination_fn(next)).to(alive.dtype());
      obs = next;
    }
    return total.view({n, particles}).mean(1);
  };
}

}  // namespace mbrl
