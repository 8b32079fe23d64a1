#pragma once
// Random play recorded for the task tests (tests/envs_test.cc, tests/dmc_envs_test.cc).
#include <torch/torch.h>

#include <vector>

#include "envs/env.h"

namespace mbrl {

// Plays `steps` uniform-random actions from `seed` (resetting after an episode ends); records
// obs, act, next_obs, rewards and the terminated / truncated flags per step.
struct Recording {
  torch::Tensor obs, act, next_obs, reward, terminated, truncated;
};
inline Recording Record(Env& env, uint64_t seed, int steps) {
  torch::manual_seed(seed);
  const auto& s = env.spec();
  auto low = torch::tensor(s.act_low), high = torch::tensor(s.act_high);
  std::vector<torch::Tensor> o, a, n;
  std::vector<float> r, t, u;
  auto obs = env.Reset(seed);
  for (int i = 0; i < steps; ++i) {
    auto act = low + (high - low) * torch::rand({s.act_dim});
    StepResult res = env.Step(act);
    o.push_back(obs), a.push_back(act), n.push_back(res.obs);
    r.push_back(static_cast<float>(res.reward)), t.push_back(res.terminated);
    u.push_back(res.truncated);
    obs = res.obs;
    if (res.terminated || res.truncated) obs = env.Reset(seed + i + 1);
  }
  return {torch::stack(o),   torch::stack(a),   torch::stack(n),
          torch::tensor(r), torch::tensor(t), torch::tensor(u)};
}

}  // namespace mbrl
