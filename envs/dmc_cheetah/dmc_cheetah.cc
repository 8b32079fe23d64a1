// DMC cheetah run (shared/TASKS-DMC.md section 6): obs [qpos[1:9], qvel[0:9]] (17); r = clip(vx /
// 10, 0, 1) with vx the x velocity of the whole cheetah's centre of mass (torso subtreelinvel)
// after the step. 1000 steps of 0.01 s, no termination. Reset: leg joints ~ U(their ranges), then
// 200 physics steps with ctrl = 0 to settle, then time := 0. vx is not in the observation: with
// env.velocity_obs (obs[0] = vx) the batched reward is exact, else it uses the torso's rootx
// velocity qvel[0] (obs[8]), an approximation (docs/tasks-dmc.md).
#include <algorithm>

#include "envs/dmc_task.h"
#include "envs/tolerance.h"
#include "mbrl/core/check.h"

namespace mbrl {
namespace {

constexpr double kRunSpeed = 10;
constexpr int kSettleSteps = 200;

class DmcCheetah : public DmcTask {
 public:
  explicit DmcCheetah(const EnvOptions& o)
      : DmcTask("dmc_cheetah_run", "dmc_cheetah.xml", o, 1, 1000, 17, true) {
    const int s = mj_name2id(model(), mjOBJ_SENSOR, "torso_subtreelinvel");
    MBRL_CHECK(s >= 0 && model()->nq == 9 && model()->nv == 9 && model()->nu == 6, spec().name,
               ": MJCF needs sensor 'torso_subtreelinvel', nq = nv = 9 and 6 actuators");
    vel_adr_ = model()->sensor_adr[s];
  }

  torch::Tensor Reward(const torch::Tensor&, const torch::Tensor&,
                       const torch::Tensor& next_obs) const override {
    auto vx = next_obs.select(-1, off() ? 0 : 8);
    return Tolerance(vx, kRunSpeed, INFINITY, kRunSpeed, Sigmoid::kLinear, 0);
  }

 protected:
  void ResetModel() override {
    RandomizeJoints(false);
    for (int i = 0; i < kSettleSteps; ++i) mj_step(model(), data());
    data()->time = 0;
  }
  void Observe(float* out) const override {
    for (int i = 1; i < 9; ++i) *out++ = static_cast<float>(data()->qpos[i]);
    for (int i = 0; i < 9; ++i) *out++ = static_cast<float>(data()->qvel[i]);
  }
  double StepReward(const float*, double, bool* terminated) const override {
    *terminated = false;
    return Tolerance(ForwardVelocity(0), kRunSpeed, INFINITY, kRunSpeed, Sigmoid::kLinear, 0);
  }
  double ForwardVelocity(double) const override { return data()->sensordata[vel_adr_]; }

 private:
  int vel_adr_ = 0;
};

std::unique_ptr<Env> MakeDmcCheetahRun(const EnvOptions& options) {
  return std::make_unique<DmcCheetah>(options);
}

const TaskRegistrar kDmcCheetahRun("dmc_cheetah_run", MakeDmcCheetahRun,
                                   TaskTwin::DmControl("cheetah/run"));

}  // namespace
}  // namespace mbrl
