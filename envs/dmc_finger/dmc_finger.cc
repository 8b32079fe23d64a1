// DMC finger spin (shared/TASKS-DMC.md section 8): obs [proximal, distal, tip - spinner (x, z),
// qvel (proximal, distal, hinge), ln(1 + touch top, bottom)] (9); r = 1 if the spinner's hinge
// velocity <= -15 rad/s else 0, a function of the observation (the batched reward is exact).
// 1000 steps of 0.02 s (2 x 0.01), no termination. Reset: proximal, distal ~ U(their ranges),
// hinge ~ U(-pi, pi), redrawn until no contact; at rest.
#include <cmath>

#include "envs/dmc_task.h"
#include "envs/tolerance.h"
#include "mbrl/core/check.h"

namespace mbrl {
namespace {

constexpr double kSpinVelocity = 15;

class DmcFinger : public DmcTask {
 public:
  explicit DmcFinger(const EnvOptions& o)
      : DmcTask("dmc_finger_spin", "dmc_finger.xml", o, 2, 1000, 9, false) {
    const mjModel* m = model();
    tip_ = mj_name2id(m, mjOBJ_SITE, "tip");
    spinner_ = mj_name2id(m, mjOBJ_BODY, "spinner");
    const int top = mj_name2id(m, mjOBJ_SENSOR, "touchtop");
    const int bottom = mj_name2id(m, mjOBJ_SENSOR, "touchbottom");
    MBRL_CHECK(tip_ >= 0 && spinner_ >= 0 && top >= 0 && bottom >= 0 && m->nq == 3 &&
                   m->njnt == 3 && m->nu == 2,
               spec().name,
               ": MJCF needs site 'tip', body 'spinner', touch sensors 'touchtop' and "
               "'touchbottom', 3 hinges and 2 actuators");
    touch_[0] = m->sensor_adr[top], touch_[1] = m->sensor_adr[bottom];
  }

  torch::Tensor Reward(const torch::Tensor&, const torch::Tensor&,
                       const torch::Tensor& next_obs) const override {
    return Tolerance(next_obs.select(-1, 6), -INFINITY, -kSpinVelocity);
  }

 protected:
  void ResetModel() override {
    const mjModel* m = model();
    mjData* d = data();
    do {
      for (int j = 0; j < m->njnt; ++j) {
        const double lo = m->jnt_limited[j] ? m->jnt_range[2 * j] : -M_PI;
        const double hi = m->jnt_limited[j] ? m->jnt_range[2 * j + 1] : M_PI;
        d->qpos[m->jnt_qposadr[j]] = std::uniform_real_distribution<double>(lo, hi)(rng());
      }
      mj_forward(m, d);
    } while (d->ncon > 0);
  }
  void Observe(float* out) const override {
    const mjData* d = data();
    *out++ = static_cast<float>(d->qpos[0]), *out++ = static_cast<float>(d->qpos[1]);
    for (int k : {0, 2}) {
      *out++ = static_cast<float>(d->site_xpos[3 * tip_ + k] - d->xpos[3 * spinner_ + k]);
    }
    for (int i = 0; i < 3; ++i) *out++ = static_cast<float>(d->qvel[i]);
    for (int adr : touch_) *out++ = static_cast<float>(std::log1p(d->sensordata[adr]));
  }
  double StepReward(const float*, double, bool* terminated) const override {
    *terminated = false;
    return Tolerance(data()->qvel[2], -INFINITY, -kSpinVelocity);
  }

 private:
  int tip_ = -1, spinner_ = -1;
  int touch_[2] = {0, 0};
};

std::unique_ptr<Env> MakeDmcFingerSpin(const EnvOptions& options) {
  return std::make_unique<DmcFinger>(options);
}

const TaskRegistrar kDmcFingerSpin("dmc_finger_spin", MakeDmcFingerSpin,
                                   TaskTwin::DmControl("finger/spin"));

}  // namespace
}  // namespace mbrl
