// HalfCheetah-v5 equivalent: obs [qpos[1:9], qvel[0:9]] (17); r = dx/dt - 0.1 |a|^2; never
// terminates. The batched reward is exact with env.velocity_obs (obs[0] = dx/dt); on the plain
// Gymnasium observation it uses qvel[0] at the end of the step (obs[8]), an approximation.
#include "envs/mujoco_env.h"

namespace mbrl {
namespace {

constexpr double kCtrlCost = 0.1;

class HalfCheetah : public MujocoEnv {
 public:
  explicit HalfCheetah(const EnvOptions& o)
      : MujocoEnv("half_cheetah", "half_cheetah.xml", o, 5, 1000, 17, true) {}

  torch::Tensor Reward(const torch::Tensor&, const torch::Tensor& act,
                       const torch::Tensor& next_obs) const override {
    auto velocity = next_obs.select(-1, off() ? 0 : 8);
    return velocity - kCtrlCost * act.square().sum(-1);
  }
  torch::Tensor Terminated(const torch::Tensor& next_obs) const override {
    return torch::zeros({next_obs.size(0)}, next_obs.options().dtype(torch::kBool));
  }

 protected:
  void ResetModel() override {
    for (int i = 0; i < model()->nq; ++i) data()->qpos[i] += Uniform(0.1);
    for (int i = 0; i < model()->nv; ++i) data()->qvel[i] += Normal(0.1);
  }
  void Observe(float* out) const override {
    for (int i = 1; i < 9; ++i) *out++ = static_cast<float>(data()->qpos[i]);
    for (int i = 0; i < 9; ++i) *out++ = static_cast<float>(data()->qvel[i]);
  }
  double StepReward(const float* act, double x_before, bool* terminated) const override {
    double ctrl = 0;
    for (int i = 0; i < model()->nu; ++i) ctrl += double(act[i]) * act[i];
    *terminated = false;
    return (data()->qpos[0] - x_before) / spec().dt - kCtrlCost * ctrl;
  }
};

std::unique_ptr<Env> MakeHalfCheetah(const EnvOptions& options) {
  return std::make_unique<HalfCheetah>(options);
}

const TaskRegistrar kHalfCheetah(
    "half_cheetah", MakeHalfCheetah,
    TaskTwin::Gymnasium("HalfCheetah-v5", "gymnasium.envs.mujoco.half_cheetah_v5:HalfCheetahEnv",
                        4800));

}  // namespace
}  // namespace mbrl
