// Walker2d-v5 equivalent: obs [qpos[1:9], clip(qvel, +-10)] (17); r = dx/dt + healthy -
// 1e-3 |a|^2; terminates when unhealthy: z in (0.8, 2.0) and angle in (-1, 1) (strict, no
// state-range check). Batched forms: forward velocity is exact with env.velocity_obs
// (obs[0] = dx/dt), else qvel[0] at the end of the step (clipped), an approximation.
#include <algorithm>
#include <cmath>

#include "envs/mujoco_env.h"

namespace mbrl {
namespace {

constexpr double kCtrlCost = 1e-3, kHealthyReward = 1.0, kClip = 10.0;
constexpr double kMinZ = 0.8, kMaxZ = 2.0, kMaxAngle = 1.0;

class Walker2d : public MujocoEnv {
 public:
  explicit Walker2d(const EnvOptions& o)
      : MujocoEnv("walker2d", "walker2d.xml", o, 4, 1000, 17, true) {}

  torch::Tensor Reward(const torch::Tensor&, const torch::Tensor& act,
                       const torch::Tensor& next_obs) const override {
    auto healthy = (~Terminated(next_obs)).to(next_obs.scalar_type());
    auto velocity = next_obs.select(-1, off() ? 0 : 8);
    return velocity + kHealthyReward * healthy - kCtrlCost * act.square().sum(-1);
  }
  torch::Tensor Terminated(const torch::Tensor& next_obs) const override {
    auto z = next_obs.select(-1, off()), angle = next_obs.select(-1, off() + 1);
    return ~((z > kMinZ) & (z < kMaxZ) & (angle.abs() < kMaxAngle));
  }

 protected:
  void ResetModel() override {
    for (int i = 0; i < model()->nq; ++i) data()->qpos[i] += Uniform(5e-3);
    for (int i = 0; i < model()->nv; ++i) data()->qvel[i] += Uniform(5e-3);
  }
  void Observe(float* out) const override {
    for (int i = 1; i < 9; ++i) *out++ = static_cast<float>(data()->qpos[i]);
    for (int i = 0; i < 9; ++i)
      *out++ = static_cast<float>(std::clamp(data()->qvel[i], -kClip, kClip));
  }
  double StepReward(const float* act, double x_before, bool* terminated) const override {
    const double* q = data()->qpos;
    const bool healthy = q[1] > kMinZ && q[1] < kMaxZ && std::abs(q[2]) < kMaxAngle;
    double ctrl = 0;
    for (int i = 0; i < model()->nu; ++i) ctrl += double(act[i]) * act[i];
    *terminated = !healthy;
    return (q[0] - x_before) / spec().dt + kHealthyReward * healthy - kCtrlCost * ctrl;
  }
};

std::unique_ptr<Env> MakeWalker2d(const EnvOptions& options) {
  return std::make_unique<Walker2d>(options);
}

const TaskRegistrar kWalker2d("walker2d", MakeWalker2d,
                              TaskTwin::Gymnasium("Walker2d-v5",
                                                  "gymnasium.envs.mujoco.walker2d_v5:Walker2dEnv",
                                                  std::nullopt));

}  // namespace
}  // namespace mbrl
