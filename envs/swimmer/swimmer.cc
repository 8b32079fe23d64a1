// Swimmer-v5 equivalent: obs [qpos[2:5], qvel[0:5]] (8); r = dx/dt - 1e-4 |a|^2; never
// terminates. The batched reward is exact with env.velocity_obs (obs[0] = dx/dt); on the plain
// Gymnasium observation it uses qvel[0] at the end of the step (obs[3]), an approximation.
#include "envs/mujoco_env.h"

namespace mbrl {
namespace {

constexpr double kCtrlCost = 1e-4;

class Swimmer : public MujocoEnv {
 public:
  explicit Swimmer(const EnvOptions& o)
      : MujocoEnv("swimmer", "swimmer.xml", o, 4, 1000, 8, true) {}

  torch::Tensor Reward(const torch::Tensor&, const torch::Tensor& act,
                       const torch::Tensor& next_obs) const override {
    auto velocity = next_obs.select(-1, off() ? 0 : 3);
    return velocity - kCtrlCost * act.square().sum(-1);
  }
  torch::Tensor Terminated(const torch::Tensor& next_obs) const override {
    return torch::zeros({next_obs.size(0)}, next_obs.options().dtype(torch::kBool));
  }

 protected:
  void ResetModel() override {
    for (int i = 0; i < model()->nq; ++i) data()->qpos[i] += Uniform(0.1);
    for (int i = 0; i < model()->nv; ++i) data()->qvel[i] += Uniform(0.1);
  }
  void Observe(float* out) const override {
    for (int i = 2; i < 5; ++i) *out++ = static_cast<float>(data()->qpos[i]);
    for (int i = 0; i < 5; ++i) *out++ = static_cast<float>(data()->qvel[i]);
  }
  double StepReward(const float* act, double x_before, bool* terminated) const override {
    double ctrl = 0;
    for (int i = 0; i < model()->nu; ++i) ctrl += double(act[i]) * act[i];
    *terminated = false;
    return (data()->qpos[0] - x_before) / spec().dt - kCtrlCost * ctrl;
  }
};

std::unique_ptr<Env> MakeSwimmer(const EnvOptions& options) {
  return std::make_unique<Swimmer>(options);
}

const TaskRegistrar kSwimmer("swimmer", MakeSwimmer,
                             TaskTwin::Gymnasium("Swimmer-v5",
                                                 "gymnasium.envs.mujoco.swimmer_v5:SwimmerEnv",
                                                 360));

}  // namespace
}  // namespace mbrl
