#include "mbrl/models/rollout.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <algorithm>
#include <limits>

#include "mbrl/core/check.h"
#include "mbrl/core/random.h"

namespace mbrl {
namespace {

// CPU rollouts run in chunks of about this many rows (candidate x particle), spread over torch's
// intra-op threads with single-threaded BLAS inside: no per-matmul thread handoff, and each
// chunk's activations stay in cache for the bias/SiLU passes. Fixed, so results do not depend on
// the thread count.
constexpr int64_t kChunkRows = 2048;

struct Rollout {
  MemberWeights elites;
  const EnsembleImpl* model;
  torch::Tensor start;  // [1,O]
  RewardFn reward_fn;
  TerminationFn termination_fn;
  int64_t particles;
  Propagation propagation;

  // actions [n,H,A] -> summed rewards [n*P], row = candidate * P + particle
  torch::Tensor operator()(const torch::Tensor& actions, torch::Generator& gen) const {
    const int64_t n = actions.size(0), h = actions.size(1), k = elites.members();
    const int64_t obs_dim = start.size(1);
    const int64_t rows = n * particles;
    const auto device = start.device();
    auto obs = start.expand({rows, obs_dim}).contiguous();
    auto total = torch::zeros({rows}, obs.options());
    auto alive = torch::ones({rows}, obs.options());
    auto acts = actions.repeat_interleave(particles, 0);  // [R,H,A]
    torch::Tensor perm, out;
    const auto new_perm = [&] { return MemberPermutation(rows, k, gen, device); };
    if (propagation == Propagation::kTsInf) perm = new_perm();
    for (int64_t t = 0; t < h; ++t) {
      auto a = acts.select(1, t);
      auto x = model->Inputs(obs, a);  // [R,in]
      if (propagation == Propagation::kExpectation) {
        auto [mean, lv] = EnsembleImpl::Forward(elites, x.unsqueeze(0).expand({k, -1, -1}));
        out = mean.mean(0);
      } else {
        if (propagation == Propagation::kTs1) perm = new_perm();  // new member per step
        out = SampleThroughMembers(elites, x, perm, gen);
      }
      auto next = obs + out.narrow(1, 0, obs_dim);
      auto r = reward_fn ? reward_fn(obs, a, next) : out.select(1, obs_dim);
      total.addcmul_(alive, r);
      if (termination_fn) alive.mul_((~termination_fn(next)).to(alive.dtype()));
      obs = next;
    }
    return total;
  }
};

}  // namespace

torch::Tensor MemberPermutation(int64_t rows, int64_t members, torch::Generator& gen,
                                const torch::Device& device) {
  const int64_t padded = (rows + members - 1) / members * members;
  auto p = torch::randperm(rows, gen).to(device);
  return padded > rows ? torch::cat({p, p.narrow(0, 0, padded - rows)}) : p;
}

torch::Tensor SampleThroughMembers(const MemberWeights& m, const torch::Tensor& x,
                                   const torch::Tensor& perm, torch::Generator& gen) {
  const int64_t rows = x.size(0), k = m.members(), padded = perm.size(0);
  auto xs = x.index_select(0, perm).view({k, padded / k, -1});
  auto [mean, lv] = EnsembleImpl::Forward(m, xs);
  auto noise = Randn(mean.sizes(), gen, mean.options());
  auto sample = mean.addcmul_(lv.mul_(0.5).exp_(), noise).view({padded, -1});
  auto out = torch::empty({rows, sample.size(1)}, sample.options());
  return out.index_copy_(0, perm.narrow(0, 0, rows), sample.narrow(0, 0, rows));
}

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
  const auto device = model->w[0].device();
  auto start = start_obs.to(device, torch::kFloat32).reshape({1, -1});
  MBRL_CHECK(start.size(1) == model->obs_dim(), "objective: start obs has ", start.size(1),
             " dims, the model ", model->obs_dim());
  Rollout rollout{model->Members(model->elites), model.get(), start,      std::move(reward_fn),
                  std::move(termination_fn),     particles,   propagation};

  return [rollout = std::move(rollout), gen = std::move(gen),
          model](const torch::Tensor& actions) mutable -> torch::Tensor {
    torch::NoGradGuard no_grad;
    MBRL_CHECK(actions.dim() == 3 && actions.size(2) == model->act_dim(),
               "objective: actions must be [N,H,", model->act_dim(), "], got ", actions.sizes());
    const int64_t n = actions.size(0), p = rollout.particles;
    auto acts = actions.to(rollout.start.device(), torch::kFloat32);
    if (!acts.device().is_cpu()) return rollout(acts, gen).view({n, p}).mean(1);
    // fixed chunks of candidates, each with its own generator seeded from `gen`
    const int64_t per_chunk = std::max<int64_t>(1, kChunkRows / p);
    const int64_t chunks = (n + per_chunk - 1) / per_chunk;
    auto seeds = torch::randint(std::numeric_limits<int64_t>::max(), {chunks}, gen, torch::kInt64);
    const auto seed = seeds.accessor<int64_t, 1>();
    auto totals = torch::empty({n * p}, acts.options());
    at::parallel_for(0, chunks, 1, [&](int64_t begin, int64_t end) {
      for (int64_t c = begin; c < end; ++c) {
        const int64_t first = c * per_chunk, count = std::min(per_chunk, n - first);
        auto chunk_gen = at::detail::createCPUGenerator(seed[c]);
        totals.narrow(0, first * p, count * p)
            .copy_(rollout(acts.narrow(0, first, count), chunk_gen));
      }
    });
    return totals.view({n, p}).mean(1);
  };
}

}  // namespace mbrl
