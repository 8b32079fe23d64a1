// Reacher-v5 equivalent: obs [cos(q0), cos(q1), sin(q0), sin(q1), target (x, y) = qpos[2:4],
// qvel[0:2], (fingertip - target)[x, y]] (10); r = -|fingertip - target| - |a|^2 (v5 code's
// control weight 1) with body positions after the step, read like Gymnasium from the data left by
// the last mj_step; never terminates. Both bodies sit at z = 0.01, so the batched reward, which
// reads the distance from the observation, is exact.
#include <cmath>

#include "envs/mujoco_env.h"
#include "mbrl/core/check.h"

namespace mbrl {
namespace {

constexpr double kCtrlCost = 1.0, kGoalRadius = 0.2;

class Reacher : public MujocoEnv {
 public:
  explicit Reacher(const EnvOptions& o) : MujocoEnv("reacher", "reacher.xml", o, 2, 50, 10, false) {
    fingertip_ = mj_name2id(model(), mjOBJ_BODY, "fingertip");
    target_ = mj_name2id(model(), mjOBJ_BODY, "target");
    MBRL_CHECK(fingertip_ >= 0 && target_ >= 0, spec().name,
               ": MJCF needs bodies 'fingertip' and 'target'");
    MBRL_CHECK(model()->nq == 4 && model()->nv == 4, spec().name, ": MJCF must have nq = nv = 4");
  }

  torch::Tensor Reward(const torch::Tensor&, const torch::Tensor& act,
                       const torch::Tensor& next_obs) const override {
    auto dist = next_obs.slice(-1, 8, 10).square().sum(-1).sqrt();
    return -dist - kCtrlCost * act.square().sum(-1);
  }
  torch::Tensor Terminated(const torch::Tensor& next_obs) const override {
    return torch::zeros({next_obs.size(0)}, next_obs.options().dtype(torch::kBool));
  }

 protected:
  void ResetModel() override {
    double* q = data()->qpos;
    for (int i = 0; i < 2; ++i) q[i] += Uniform(0.1);
    do {
      q[2] = Uniform(kGoalRadius), q[3] = Uniform(kGoalRadius);
    } while (std::hypot(q[2], q[3]) >= kGoalRadius);
    for (int i = 0; i < 2; ++i) data()->qvel[i] += Uniform(5e-3);
  }
  void Observe(float* out) const override {
    const double* q = data()->qpos;
    *out++ = static_cast<float>(std::cos(q[0])), *out++ = static_cast<float>(std::cos(q[1]));
    *out++ = static_cast<float>(std::sin(q[0])), *out++ = static_cast<float>(std::sin(q[1]));
    *out++ = static_cast<float>(q[2]), *out++ = static_cast<float>(q[3]);
    *out++ = static_cast<float>(data()->qvel[0]), *out++ = static_cast<float>(data()->qvel[1]);
    for (int k = 0; k < 2; ++k) *out++ = static_cast<float>(Delta(k));
  }
  double StepReward(const float* act, double, bool* terminated) const override {
    double ctrl = 0;
    for (int i = 0; i < model()->nu; ++i) ctrl += double(act[i]) * act[i];
    *terminated = false;
    return -std::sqrt(Delta(0) * Delta(0) + Delta(1) * Delta(1) + Delta(2) * Delta(2)) -
           kCtrlCost * ctrl;
  }

 private:
  // Component k of xpos(fingertip) - xpos(target).
  double Delta(int k) const {
    return data()->xpos[3 * fingertip_ + k] - data()->xpos[3 * target_ + k];
  }

  int fingertip_ = -1, target_ = -1;
};

std::unique_ptr<Env> MakeReacher(const EnvOptions& options) {
  return std::make_unique<Reacher>(options);
}

const TaskRegistrar kReacher("reacher", MakeReacher,
                             TaskTwin::Gymnasium("Reacher-v5",
                                                 "gymnasium.envs.mujoco.reacher_v5:ReacherEnv",
                                                 -3.75));

}  // namespace
}  // namespace mbrl
