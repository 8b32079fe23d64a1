// Pusher-v5 equivalent: obs [qpos[0:7], qvel[0:7], xpos(tips_arm), xpos(object), xpos(goal)]
// (23); r = -|object - goal| - 0.1 |a|^2 - 0.5 |object - tips_arm| with body positions after the
// step, read like Gymnasium from the data left by the last mj_step; never terminates. The
// positions are observed, so the batched reward is exact. Reset: arm at rest, object offset
// (qpos[7:9], slides y then x, as Gymnasium writes them) = (U(-0.3, 0), U(-0.2, 0.2)) redrawn
// until its norm exceeds 0.17, goal offset 0; arm qvel += U(+-0.005), object and goal at rest.
#include <cmath>

#include "envs/mujoco_env.h"
#include "mbrl/core/check.h"

namespace mbrl {
namespace {

constexpr double kDistWeight = 1.0, kCtrlCost = 0.1, kNearWeight = 0.5, kMinOffset = 0.17;
constexpr int kArm = 7;

class Pusher : public MujocoEnv {
 public:
  explicit Pusher(const EnvOptions& o) : MujocoEnv("pusher", "pusher.xml", o, 5, 100, 23, false) {
    const char* names[3] = {"tips_arm", "object", "goal"};
    for (int k = 0; k < 3; ++k) {
      body_[k] = mj_name2id(model(), mjOBJ_BODY, names[k]);
      MBRL_CHECK(body_[k] >= 0, spec().name, ": MJCF has no body '", names[k], "'");
    }
    MBRL_CHECK(model()->nq == 11 && model()->nv == 11, spec().name,
               ": MJCF must have nq = nv = 11");
  }

  torch::Tensor Reward(const torch::Tensor&, const torch::Tensor& act,
                       const torch::Tensor& next_obs) const override {
    auto tips = next_obs.slice(-1, 14, 17), object = next_obs.slice(-1, 17, 20);
    auto goal = next_obs.slice(-1, 20, 23);
    auto dist = (object - goal).square().sum(-1).sqrt();
    auto near = (object - tips).square().sum(-1).sqrt();
    return -kDistWeight * dist - kCtrlCost * act.square().sum(-1) - kNearWeight * near;
  }
  torch::Tensor Terminated(const torch::Tensor& next_obs) const override {
    return torch::zeros({next_obs.size(0)}, next_obs.options().dtype(torch::kBool));
  }

 protected:
  void ResetModel() override {
    double* q = data()->qpos;
    std::uniform_real_distribution<double> first(-0.3, 0.0), second(-0.2, 0.2);
    do {
      q[7] = first(rng()), q[8] = second(rng());
    } while (std::hypot(q[7], q[8]) <= kMinOffset);
    for (int i = 0; i < kArm; ++i) data()->qvel[i] += Uniform(5e-3);
  }
  void Observe(float* out) const override {
    for (int i = 0; i < kArm; ++i) *out++ = static_cast<float>(data()->qpos[i]);
    for (int i = 0; i < kArm; ++i) *out++ = static_cast<float>(data()->qvel[i]);
    for (int b : body_)
      for (int k = 0; k < 3; ++k) *out++ = static_cast<float>(data()->xpos[3 * b + k]);
  }
  double StepReward(const float* act, double, bool* terminated) const override {
    double ctrl = 0;
    for (int i = 0; i < model()->nu; ++i) ctrl += double(act[i]) * act[i];
    *terminated = false;
    return -kDistWeight * Distance(1, 2) - kCtrlCost * ctrl - kNearWeight * Distance(1, 0);
  }

 private:
  // |xpos(body_[a]) - xpos(body_[b])|.
  double Distance(int a, int b) const {
    const double* x = data()->xpos;
    double s = 0;
    for (int k = 0; k < 3; ++k) s += std::pow(x[3 * body_[a] + k] - x[3 * body_[b] + k], 2);
    return std::sqrt(s);
  }

  int body_[3] = {-1, -1, -1};  // tips_arm, object, goal
};

std::unique_ptr<Env> MakePusher(const EnvOptions& options) {
  return std::make_unique<Pusher>(options);
}

const TaskRegistrar kPusher("pusher", MakePusher,
                            TaskTwin::Gymnasium("Pusher-v5",
                                                "gymnasium.envs.mujoco.pusher_v5:PusherEnv", 0));

}  // namespace
}  // namespace mbrl
