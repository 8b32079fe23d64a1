// DMC pendulum swingup (shared/TASKS-DMC.md section 10): obs [cos th, sin th, thdot] (3), th = 0
// upright; r = 1 if cos th >= cos 8 deg else 0 (a function of the observation: the batched
// reward is exact). 1000 steps of 0.02 s, no termination; starts at th ~ U(-pi, pi) at rest.
#include <cmath>

#include "envs/dmc_task.h"
#include "envs/tolerance.h"
#include "mbrl/core/check.h"

namespace mbrl {
namespace {

const double kCosBound = std::cos(8 * M_PI / 180);

class DmcPendulum : public DmcTask {
 public:
  explicit DmcPendulum(const EnvOptions& o)
      : DmcTask("dmc_pendulum_swingup", "dmc_pendulum.xml", o, 1, 1000, 3, false) {
    pole_ = mj_name2id(model(), mjOBJ_BODY, "pole");
    MBRL_CHECK(pole_ >= 0 && model()->nq == 1 && model()->nu == 1, spec().name,
               ": MJCF needs body 'pole', nq = 1 and one actuator");
  }

  torch::Tensor Reward(const torch::Tensor&, const torch::Tensor&,
                       const torch::Tensor& next_obs) const override {
    return Tolerance(next_obs.select(-1, 0), kCosBound, 1);
  }

 protected:
  void ResetModel() override { data()->qpos[0] = Uniform(M_PI); }
  void Observe(float* out) const override {
    const double* r = data()->xmat + 9 * pole_;
    *out++ = static_cast<float>(r[8]), *out++ = static_cast<float>(r[2]);  // zz, xz
    *out++ = static_cast<float>(data()->qvel[0]);
  }
  double StepReward(const float*, double, bool* terminated) const override {
    *terminated = false;
    return Tolerance(data()->xmat[9 * pole_ + 8], kCosBound, 1);
  }

 private:
  int pole_ = -1;
};

std::unique_ptr<Env> MakeDmcPendulumSwingup(const EnvOptions& options) {
  return std::make_unique<DmcPendulum>(options);
}

const TaskRegistrar kDmcPendulumSwingup("dmc_pendulum_swingup", MakeDmcPendulumSwingup,
                                        TaskTwin::DmControl("pendulum/swingup"));

}  // namespace
}  // namespace mbrl
