// Hopper-v5 equivalent: obs [qpos[1:6], clip(qvel, +-10)] (11); r = dx/dt + healthy - 1e-3 |a|^2;
// terminates when unhealthy: qpos[2:] and qvel within (-100, 100), z > 0.7, |angle| < 0.2.
// Batched forms: forward velocity is exact with env.velocity_obs (obs[0] = dx/dt), else qvel[0] at
// the end of the step (clipped); the qvel range check sees clipped velocities (never fails).
#include <cmath>

#include "envs/mujoco_env.h"

namespace mbrl {
namespace {

constexpr double kCtrlCost = 1e-3, kHealthyReward = 1.0, kClip = 10.0;
constexpr double kMinZ = 0.7, kMaxAngle = 0.2, kStateRange = 100.0;

class Hopper : public MujocoEnv {
 public:
  explicit Hopper(const EnvOptions& o) : MujocoEnv("hopper", "hopper.xml", o, 4, 1000, 11, true) {}

  torch::Tensor Reward(const torch::Tensor&, const torch::Tensor& act,
                       const torch::Tensor& next_obs) const override {
    auto healthy = (~Terminated(next_obs)).to(next_obs.scalar_type());
    auto velocity = next_obs.select(-1, off() ? 0 : 5);
    return velocity + kHealthyReward * healthy - kCtrlCost * act.square().sum(-1);
  }
  torch::Tensor Terminated(const torch::Tensor& next_obs) const override {
    auto z = next_obs.select(-1, off()), angle = next_obs.select(-1, off() + 1);
    auto in_range = (next_obs.slice(-1, off() + 1).abs() < kStateRange).all(-1);
    return ~(in_range & (z > kMinZ) & (angle.abs() < kMaxAngle));
  }

 protected:
  void ResetModel() override {
    for (int i = 0; i < model()->nq; ++i) data()->qpos[i] += Uniform(5e-3);
    for (int i = 0; i < model()->nv; ++i) data()->qvel[i] += Uniform(5e-3);
  }
  void Observe(float* out) const override {
    for (int i = 1; i < 6; ++i) *out++ = static_cast<float>(data()->qpos[i]);
    for (int i = 0; i < 6; ++i)
      *out++ = static_cast<float>(std::clamp(data()->qvel[i], -kClip, kClip));
  }
  double StepReward(const float* act, double x_before, bool* terminated) const override {
    const double* q = data()->qpos;
    const double* v = data()->qvel;
    bool healthy = q[1] > kMinZ && std::abs(q[2]) < kMaxAngle;
    for (int i = 2; i < 6; ++i) healthy = healthy && std::abs(q[i]) < kStateRange;
    for (int i = 0; i < 6; ++i) healthy = healthy && std::abs(v[i]) < kStateRange;
    double ctrl = 0;
    for (int i = 0; i < model()->nu; ++i) ctrl += double(act[i]) * act[i];
    *terminated = !healthy;
    return (q[0] - x_before) / spec().dt + kHealthyReward * healthy - kCtrlCost * ctrl;
  }
};

std::unique_ptr<Env> MakeHopper(const EnvOptions& options) {
  return std::make_unique<Hopper>(options);
}

const TaskRegistrar kHopper("hopper", MakeHopper,
                            TaskTwin::Gymnasium("Hopper-v5",
                                                "gymnasium.envs.mujoco.hopper_v5:HopperEnv", 3800));

}  // namespace
}  // namespace mbrl
