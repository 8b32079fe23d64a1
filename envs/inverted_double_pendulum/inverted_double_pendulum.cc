// InvertedDoublePendulum-v5 equivalent: obs [x, sin(th1), sin(th2), cos(th1), cos(th2),
// clip(qvel, +-10) (3), clip(qfrc_constraint[0], +-10)] (9), th2 relative to the first pole;
// r = 10 [alive] - (0.01 tip_x^2 + (tip_z - 2)^2) - (1e-3 w1^2 + 5e-3 w2^2); terminates when
// tip_z <= 1. The tip is the "tip" site at the end of the step: we refresh the kinematics after
// stepping (Gymnasium reads site_xpos as left by the last RK4 stage, a difference of O(h^2)), so
// the batched functions, which rebuild the tip from the observed angles (poles of 0.6 m), are
// exact; the batched velocity penalty sees clipped velocities (differs only when |w| > 10).
#include <algorithm>
#include <cmath>
#include <tuple>

#include "envs/mujoco_env.h"
#include "mbrl/core/check.h"

namespace mbrl {
namespace {

constexpr double kAlive = 10.0, kClip = 10.0, kPole = 0.6, kMinTipZ = 1.0;

class InvertedDoublePendulum : public MujocoEnv {
 public:
  explicit InvertedDoublePendulum(const EnvOptions& o)
      : MujocoEnv("inverted_double_pendulum", "inverted_double_pendulum.xml", o, 5, 1000, 9,
                  false) {
    tip_ = mj_name2id(model(), mjOBJ_SITE, "tip");
    MBRL_CHECK(tip_ >= 0, spec().name, ": MJCF has no site 'tip'");
  }

  torch::Tensor Reward(const torch::Tensor&, const torch::Tensor&,
                       const torch::Tensor& next_obs) const override {
    auto [x, z] = Tip(next_obs);
    auto w1 = next_obs.select(-1, 6), w2 = next_obs.select(-1, 7);
    auto alive = (z > kMinTipZ).to(next_obs.scalar_type());
    return kAlive * alive - (0.01 * x.square() + (z - 2).square()) -
           (1e-3 * w1.square() + 5e-3 * w2.square());
  }
  torch::Tensor Terminated(const torch::Tensor& next_obs) const override {
    return std::get<1>(Tip(next_obs)) <= kMinTipZ;
  }

 protected:
  void ResetModel() override {
    for (int i = 0; i < model()->nq; ++i) data()->qpos[i] += Uniform(0.1);
    for (int i = 0; i < model()->nv; ++i) data()->qvel[i] += Normal(0.1);
  }
  void Observe(float* out) const override {
    const double* q = data()->qpos;
    *out++ = static_cast<float>(q[0]);
    *out++ = static_cast<float>(std::sin(q[1])), *out++ = static_cast<float>(std::sin(q[2]));
    *out++ = static_cast<float>(std::cos(q[1])), *out++ = static_cast<float>(std::cos(q[2]));
    for (int i = 0; i < 3; ++i)
      *out++ = static_cast<float>(std::clamp(data()->qvel[i], -kClip, kClip));
    *out = static_cast<float>(std::clamp(data()->qfrc_constraint[0], -kClip, kClip));
  }
  double StepReward(const float*, double, bool* terminated) const override {
    mj_kinematics(model(), data());
    const double x = data()->site_xpos[3 * tip_], z = data()->site_xpos[3 * tip_ + 2];
    const double w1 = data()->qvel[1], w2 = data()->qvel[2];
    *terminated = z <= kMinTipZ;
    return (*terminated ? 0.0 : kAlive) - (0.01 * x * x + (z - 2) * (z - 2)) -
           (1e-3 * w1 * w1 + 5e-3 * w2 * w2);
  }

 private:
  // Tip (x, z) from obs [x, s1, s2, c1, c2, ...]: each pole adds 0.6 (sin, cos) of its angle.
  static std::tuple<torch::Tensor, torch::Tensor> Tip(const torch::Tensor& obs) {
    auto s1 = obs.select(-1, 1), s2 = obs.select(-1, 2);
    auto c1 = obs.select(-1, 3), c2 = obs.select(-1, 4);
    auto x = obs.select(-1, 0) + kPole * (s1 + s1 * c2 + c1 * s2);
    auto z = kPole * (c1 + c1 * c2 - s1 * s2);
    return {x, z};
  }

  int tip_ = -1;
};

std::unique_ptr<Env> MakeInvertedDoublePendulum(const EnvOptions& options) {
  return std::make_unique<InvertedDoublePendulum>(options);
}

const TaskRegistrar kInvertedDoublePendulum(
    "inverted_double_pendulum", MakeInvertedDoublePendulum,
    TaskTwin::Gymnasium(
        "InvertedDoublePendulum-v5",
        "gymnasium.envs.mujoco.inverted_double_pendulum_v5:InvertedDoublePendulumEnv", 9100));

}  // namespace
}  // namespace mbrl
