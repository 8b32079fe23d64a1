// DMC reacher easy (shared/TASKS-DMC.md section 7): obs [shoulder, wrist, target - finger (x, y),
// qvel] (6); r = 1 if |target - finger| <= 0.05 + 0.01 (target + finger radii) else 0, a function
// of the observation (the batched reward is exact). 1000 steps of 0.02 s, no termination. Reset:
// shoulder ~ U(-pi, pi), wrist ~ U(its range), target at radius U(0.05, 0.2), angle U(0, 2 pi).
#include <cmath>

#include "envs/dmc_task.h"
#include "envs/tolerance.h"
#include "mbrl/core/check.h"

namespace mbrl {
namespace {

constexpr double kTargetRadius = 0.05;  // easy

class DmcReacher : public DmcTask {
 public:
  explicit DmcReacher(const EnvOptions& o)
      : DmcTask("dmc_reacher_easy", "dmc_reacher.xml", o, 1, 1000, 6, false) {
    target_ = mj_name2id(model(), mjOBJ_GEOM, "target");
    finger_ = mj_name2id(model(), mjOBJ_GEOM, "finger");
    MBRL_CHECK(target_ >= 0 && finger_ >= 0 && model()->nq == 2 && model()->nu == 2, spec().name,
               ": MJCF needs geoms 'target' and 'finger', nq = 2 and 2 actuators");
    mutable_model()->geom_size[3 * target_] = kTargetRadius;
    radii_ = kTargetRadius + model()->geom_size[3 * finger_];
  }

  torch::Tensor Reward(const torch::Tensor&, const torch::Tensor&,
                       const torch::Tensor& next_obs) const override {
    return Tolerance(next_obs.slice(-1, 2, 4).square().sum(-1).sqrt(), 0, radii_);
  }

 protected:
  void ResetModel() override {
    const mjModel* m = model();
    data()->qpos[0] = Uniform(M_PI);
    data()->qpos[1] =
        std::uniform_real_distribution<double>(m->jnt_range[2], m->jnt_range[3])(rng());
    const double angle = std::uniform_real_distribution<double>(0, 2 * M_PI)(rng());
    const double radius = std::uniform_real_distribution<double>(0.05, 0.2)(rng());
    mutable_model()->geom_pos[3 * target_] = radius * std::sin(angle);
    mutable_model()->geom_pos[3 * target_ + 1] = radius * std::cos(angle);
  }
  std::vector<double> TaskFields() const override {
    return {model()->geom_pos[3 * target_], model()->geom_pos[3 * target_ + 1]};
  }
  void SetTaskFields(const std::vector<double>& f) override {
    mutable_model()->geom_pos[3 * target_] = f[0];
    mutable_model()->geom_pos[3 * target_ + 1] = f[1];
  }
  void Observe(float* out) const override {
    *out++ = static_cast<float>(data()->qpos[0]), *out++ = static_cast<float>(data()->qpos[1]);
    *out++ = static_cast<float>(Delta(0)), *out++ = static_cast<float>(Delta(1));
    *out++ = static_cast<float>(data()->qvel[0]), *out++ = static_cast<float>(data()->qvel[1]);
  }
  double StepReward(const float*, double, bool* terminated) const override {
    *terminated = false;
    return Tolerance(std::hypot(Delta(0), Delta(1)), 0, radii_);
  }

 private:
  // Component k of geom_xpos(target) - geom_xpos(finger).
  double Delta(int k) const {
    return data()->geom_xpos[3 * target_ + k] - data()->geom_xpos[3 * finger_ + k];
  }

  int target_ = -1, finger_ = -1;
  double radii_ = 0;
};

std::unique_ptr<Env> MakeDmcReacherEasy(const EnvOptions& options) {
  return std::make_unique<DmcReacher>(options);
}

const TaskRegistrar kDmcReacherEasy("dmc_reacher_easy", MakeDmcReacherEasy,
                                    TaskTwin::DmControl("reacher/easy"));

}  // namespace
}  // namespace mbrl
