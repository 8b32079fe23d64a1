// DMC cartpole swingup / balance (shared/TASKS-DMC.md section 4): obs [x, cos th, sin th, xdot,
// thdot] (5), th = 0 upright; r = upright * small_control * small_velocity * centered in [0, 1],
// a function of the observation and the action, so the batched reward is exact. 1000 steps of
// 0.01 s, no termination. The action is clipped to [-1, 1] before it reaches ctrl (DMC writes it
// raw and MuJoCo clamps): same dynamics, and small_control is 0.8 for any |u| >= 1 either way.
#include <cmath>

#include "envs/dmc_task.h"
#include "envs/tolerance.h"
#include "mbrl/core/check.h"

namespace mbrl {
namespace {

class DmcCartpole : public DmcTask {
 public:
  DmcCartpole(const char* name, bool swingup, const EnvOptions& o)
      : DmcTask(name, "dmc_cartpole.xml", o, 1, 1000, 5, false), swingup_(swingup) {
    pole_ = mj_name2id(model(), mjOBJ_BODY, "pole_1");
    MBRL_CHECK(pole_ >= 0 && model()->nq == 2 && model()->nu == 1, spec().name,
               ": MJCF needs body 'pole_1', nq = 2 and one actuator");
  }

  torch::Tensor Reward(const torch::Tensor&, const torch::Tensor& act,
                       const torch::Tensor& next_obs) const override {
    auto upright = (next_obs.select(-1, 1) + 1) / 2;
    auto centered = (1 + Tolerance(next_obs.select(-1, 0), 0, 0, 2)) / 2;
    auto control = (4 + Tolerance(act.select(-1, 0), 0, 0, 1, Sigmoid::kQuadratic, 0)) / 5;
    auto velocity = (1 + Tolerance(next_obs.select(-1, 4), 0, 0, 5)) / 2;
    return upright * control * velocity * centered;
  }

 protected:
  void ResetModel() override {
    double* q = data()->qpos;
    if (swingup_) {
      q[0] = Normal(0.01), q[1] = M_PI + Normal(0.01);
    } else {
      q[0] = Uniform(0.1), q[1] = Uniform(0.034);
    }
    for (int i = 0; i < 2; ++i) data()->qvel[i] = Normal(0.01);
  }
  void Observe(float* out) const override {
    const double* r = data()->xmat + 9 * pole_;
    *out++ = static_cast<float>(data()->qpos[0]);
    *out++ = static_cast<float>(r[8]), *out++ = static_cast<float>(r[2]);  // zz, xz
    *out++ = static_cast<float>(data()->qvel[0]), *out++ = static_cast<float>(data()->qvel[1]);
  }
  double StepReward(const float* act, double, bool* terminated) const override {
    *terminated = false;
    const double upright = (data()->xmat[9 * pole_ + 8] + 1) / 2;
    const double centered = (1 + Tolerance(data()->qpos[0], 0, 0, 2)) / 2;
    const double control = (4 + Tolerance(act[0], 0, 0, 1, Sigmoid::kQuadratic, 0)) / 5;
    const double velocity = (1 + Tolerance(data()->qvel[1], 0, 0, 5)) / 2;
    return upright * control * velocity * centered;
  }

 private:
  bool swingup_;
  int pole_ = -1;
};

std::unique_ptr<Env> MakeDmcCartpoleSwingup(const EnvOptions& options) {
  return std::make_unique<DmcCartpole>("dmc_cartpole_swingup", true, options);
}
std::unique_ptr<Env> MakeDmcCartpoleBalance(const EnvOptions& options) {
  return std::make_unique<DmcCartpole>("dmc_cartpole_balance", false, options);
}

const TaskRegistrar kDmcCartpoleSwingup("dmc_cartpole_swingup", MakeDmcCartpoleSwingup,
                                        TaskTwin::DmControl("cartpole/swingup"));
const TaskRegistrar kDmcCartpoleBalance("dmc_cartpole_balance", MakeDmcCartpoleBalance,
                                        TaskTwin::DmControl("cartpole/balance"));

}  // namespace
}  // namespace mbrl
