// Ant-v5 equivalent (defaults: contact forces observed and costed): obs [qpos[2:15] (13),
// qvel (14), clip(cfrc_ext of bodies 1..13, +-1) (78)] (105); r = dx/dt + healthy - 0.5 |a|^2 -
// 5e-4 |clip(cfrc_ext, +-1)|^2 (all bodies; the world's entry is always 0); terminates when
// unhealthy: state not finite or z = qpos[2] outside [0.2, 1.0]. dx/dt is the torso's qpos[0]
// over the step (Gymnasium differences the torso xpos left by the last RK4 stage, an O(h^2)
// difference). Batched forms: contact cost and termination are exact (finiteness is checked on
// the observation); forward velocity is exact with env.velocity_obs (obs[0] = dx/dt), else
// qvel[0] at the end of the step, an approximation.
#include <algorithm>
#include <cmath>

#include "envs/mujoco_env.h"
#include "mbrl/core/check.h"

namespace mbrl {
namespace {

constexpr double kCtrlCost = 0.5, kContactCost = 5e-4, kHealthyReward = 1.0;
constexpr double kMinZ = 0.2, kMaxZ = 1.0, kForceClip = 1.0;
constexpr int kNq = 15, kNv = 14, kNbody = 14;
constexpr int kVelIndex = kNq - 2, kForceIndex = kNq - 2 + kNv;  // in the task's own obs

class Ant : public MujocoEnv {
 public:
  explicit Ant(const EnvOptions& o)
      : MujocoEnv("ant", "ant.xml", o, 5, 1000, kForceIndex + 6 * (kNbody - 1), true) {
    MBRL_CHECK(model()->nq == kNq && model()->nv == kNv && model()->nbody == kNbody, spec().name,
               ": MJCF must have nq ", kNq, ", nv ", kNv, ", nbody ", kNbody);
    need_rne_post_ = true;
  }

  torch::Tensor Reward(const torch::Tensor&, const torch::Tensor& act,
                       const torch::Tensor& next_obs) const override {
    auto healthy = (~Terminated(next_obs)).to(next_obs.scalar_type());
    auto velocity = next_obs.select(-1, off() ? 0 : kVelIndex);
    auto contact = next_obs.slice(-1, off() + kForceIndex).square().sum(-1);
    return velocity + kHealthyReward * healthy - kCtrlCost * act.square().sum(-1) -
           kContactCost * contact;
  }
  torch::Tensor Terminated(const torch::Tensor& next_obs) const override {
    auto z = next_obs.select(-1, off());
    return ~(torch::isfinite(next_obs).all(-1) & (z >= kMinZ) & (z <= kMaxZ));
  }

 protected:
  void ResetModel() override {
    for (int i = 0; i < model()->nq; ++i) data()->qpos[i] += Uniform(0.1);
    for (int i = 0; i < model()->nv; ++i) data()->qvel[i] += Normal(0.1);
  }
  void Observe(float* out) const override {
    for (int i = 2; i < kNq; ++i) *out++ = static_cast<float>(data()->qpos[i]);
    for (int i = 0; i < kNv; ++i) *out++ = static_cast<float>(data()->qvel[i]);
    for (int i = 6; i < 6 * kNbody; ++i) *out++ = static_cast<float>(Force(i));
  }
  double StepReward(const float* act, double x_before, bool* terminated) const override {
    const double* q = data()->qpos;
    bool healthy = q[2] >= kMinZ && q[2] <= kMaxZ;
    for (int i = 0; i < kNq; ++i) healthy = healthy && std::isfinite(q[i]);
    for (int i = 0; i < kNv; ++i) healthy = healthy && std::isfinite(data()->qvel[i]);
    double ctrl = 0, contact = 0;
    for (int i = 0; i < model()->nu; ++i) ctrl += double(act[i]) * act[i];
    for (int i = 0; i < 6 * kNbody; ++i) contact += Force(i) * Force(i);
    *terminated = !healthy;
    return (q[0] - x_before) / spec().dt + kHealthyReward * healthy - kCtrlCost * ctrl -
           kContactCost * contact;
  }

 private:
  double Force(int i) const { return std::clamp(data()->cfrc_ext[i], -kForceClip, kForceClip); }
};

std::unique_ptr<Env> MakeAnt(const EnvOptions& options) { return std::make_unique<Ant>(options); }

const TaskRegistrar kAnt("ant", MakeAnt,
                         TaskTwin::Gymnasium("Ant-v5", "gymnasium.envs.mujoco.ant_v5:AntEnv",
                                             6000));

}  // namespace
}  // namespace mbrl
