// InvertedPendulum-v5 equivalent: obs [x, theta, xdot, thetadot]; r = 1 while |theta| <= 0.2
// and the observation is finite; terminates otherwise.
#include <cmath>

#include "envs/mujoco_env.h"

namespace mbrl {
namespace {

class InvertedPendulum : public MujocoEnv {
 public:
  explicit InvertedPendulum(const EnvOptions& o)
      : MujocoEnv("inverted_pendulum", "inverted_pendulum.xml", o, 2, 1000, 4, false) {}

  torch::Tensor Reward(const torch::Tensor&, const torch::Tensor&,
                       const torch::Tensor& next_obs) const override {
    return (~Terminated(next_obs)).to(torch::kFloat32);
  }
  torch::Tensor Terminated(const torch::Tensor& next_obs) const override {
    return ~torch::isfinite(next_obs).all(-1) | (next_obs.select(-1, 1).abs() > 0.2);
  }

 protected:
  void ResetModel() override {
    for (int i = 0; i < model()->nq; ++i) data()->qpos[i] += Uniform(0.01);
    for (int i = 0; i < model()->nv; ++i) data()->qvel[i] += Uniform(0.01);
  }
  void Observe(float* out) const override {
    out[0] = data()->qpos[0], out[1] = data()->qpos[1];
    out[2] = data()->qvel[0], out[3] = data()->qvel[1];
  }
  double StepReward(const float*, double, bool* terminated) const override {
    float obs[4];
    Observe(obs);
    bool finite = true;
    for (float v : obs) finite = finite && std::isfinite(v);
    *terminated = !finite || std::abs(obs[1]) > 0.2f;
    return *terminated ? 0.0 : 1.0;
  }
};

std::unique_ptr<Env> MakeInvertedPendulum(const EnvOptions& options) {
  return std::make_unique<InvertedPendulum>(options);
}

const TaskRegistrar kInvertedPendulum(
    "inverted_pendulum", MakeInvertedPendulum,
    TaskTwin::Gymnasium("InvertedPendulum-v5",
                        "gymnasium.envs.mujoco.inverted_pendulum_v5:InvertedPendulumEnv", 950));

}  // namespace
}  // namespace mbrl
