// PETS cartpole swing-up (shared/TASKS.md section 2): obs [x, theta, xdot, thetadot], theta = 0
// hangs down; r = exp(-|tip - (0, 0.6)|^2 / 0.6^2) - 0.01 |a|^2 on the post-step state.
#include <cmath>

#include "envs/mujoco_env.h"

namespace mbrl {
namespace {

constexpr double kPoleLength = 0.6;

class CartpoleSwingup : public MujocoEnv {
 public:
  explicit CartpoleSwingup(const EnvOptions& o)
      : MujocoEnv("cartpole_swingup", "cartpole_swingup.xml", o, 2, 200, 4, false) {}

  torch::Tensor Reward(const torch::Tensor&, const torch::Tensor& act,
                       const torch::Tensor& next_obs) const override {
    auto x = next_obs.select(-1, 0), th = next_obs.select(-1, 1);
    auto dx = x - kPoleLength * torch::sin(th);
    auto dy = -kPoleLength * torch::cos(th) - kPoleLength;
    auto d2 = dx * dx + dy * dy;
    return torch::exp(-d2 / (kPoleLength * kPoleLength)) - 0.01 * act.square().sum(-1);
  }
  torch::Tensor Terminated(const torch::Tensor& next_obs) const override {
    return torch::zeros({next_obs.size(0)}, next_obs.options().dtype(torch::kBool));
  }

 protected:
  void ResetModel() override {
    for (int i = 0; i < model()->nq; ++i) data()->qpos[i] += Normal(0.1);
    for (int i = 0; i < model()->nv; ++i) data()->qvel[i] += Normal(0.1);
  }
  void Observe(float* out) const override {
    out[0] = data()->qpos[0], out[1] = data()->qpos[1];
    out[2] = data()->qvel[0], out[3] = data()->qvel[1];
  }
  double StepReward(const float* act, double, bool* terminated) const override {
    // computed in float32 from the observation, exactly as the batched form
    float obs[4];
    Observe(obs);
    const float dx = obs[0] - static_cast<float>(kPoleLength) * std::sin(obs[1]);
    const float dy =
        -static_cast<float>(kPoleLength) * std::cos(obs[1]) - static_cast<float>(kPoleLength);
    const float l2 = static_cast<float>(kPoleLength * kPoleLength);
    *terminated = false;
    return std::exp(-(dx * dx + dy * dy) / l2) - 0.01f * act[0] * act[0];
  }
};

std::unique_ptr<Env> MakeCartpoleSwingup(const EnvOptions& options) {
  return std::make_unique<CartpoleSwingup>(options);
}

const TaskRegistrar kCartpoleSwingup("cartpole_swingup", MakeCartpoleSwingup);

}  // namespace
}  // namespace mbrl
