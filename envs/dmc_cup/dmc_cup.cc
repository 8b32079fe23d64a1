// DMC ball in cup catch (shared/TASKS-DMC.md section 9): obs [qpos (cup_x, cup_z, ball_x,
// ball_z), qvel] (8); r = 1 if the ball's centre is within the target box shrunk by the ball's
// radius (|dx|, |dz| < 0.05 - 0.025, target site - ball body), else 0. The bodies only slide, so
// this is a function of qpos and the batched reward is exact. 1000 steps of 0.02 s (10 x 0.002),
// no termination. Reset: ball_x ~ U(-0.2, 0.2), ball_z ~ U(0.2, 0.5), redrawn until no contact.
#include <cmath>

#include "envs/dmc_task.h"
#include "mbrl/core/check.h"

namespace mbrl {
namespace {

class DmcCup : public DmcTask {
 public:
  explicit DmcCup(const EnvOptions& o)
      : DmcTask("dmc_cup_catch", "dmc_cup.xml", o, 10, 1000, 8, false) {
    const mjModel* m = model();
    target_ = mj_name2id(m, mjOBJ_SITE, "target");
    ball_ = mj_name2id(m, mjOBJ_BODY, "ball");
    const int ball_geom = mj_name2id(m, mjOBJ_GEOM, "ball");
    const int cup = mj_name2id(m, mjOBJ_BODY, "cup");
    MBRL_CHECK(target_ >= 0 && ball_ >= 0 && ball_geom >= 0 && cup >= 0 && m->nq == 4 && m->nu == 2,
               spec().name,
               ": MJCF needs site 'target', bodies 'cup' and 'ball', geom 'ball', "
               "nq = 4 and 2 actuators");
    for (int k : {0, 2}) {
      half_[k / 2] = m->site_size[3 * target_ + k] - m->geom_size[3 * ball_geom];
      // target - ball at qpos = 0 (bodies translate only)
      offset_[k / 2] =
          m->body_pos[3 * cup + k] + m->site_pos[3 * target_ + k] - m->body_pos[3 * ball_ + k];
    }
  }

  torch::Tensor Reward(const torch::Tensor&, const torch::Tensor&,
                       const torch::Tensor& next_obs) const override {
    auto dx = (offset_[0] + next_obs.select(-1, 0) - next_obs.select(-1, 2)).abs();
    auto dz = (offset_[1] + next_obs.select(-1, 1) - next_obs.select(-1, 3)).abs();
    return ((dx < half_[0]) & (dz < half_[1])).to(next_obs.scalar_type());
  }

 protected:
  void ResetModel() override {
    mjData* d = data();
    do {
      d->qpos[2] = std::uniform_real_distribution<double>(-0.2, 0.2)(rng());
      d->qpos[3] = std::uniform_real_distribution<double>(0.2, 0.5)(rng());
      mj_forward(model(), d);
    } while (d->ncon > 0);
  }
  void Observe(float* out) const override {
    for (int i = 0; i < 4; ++i) *out++ = static_cast<float>(data()->qpos[i]);
    for (int i = 0; i < 4; ++i) *out++ = static_cast<float>(data()->qvel[i]);
  }
  double StepReward(const float*, double, bool* terminated) const override {
    *terminated = false;
    const mjData* d = data();
    bool in = true;
    for (int k : {0, 2}) {
      in = in && std::abs(d->site_xpos[3 * target_ + k] - d->xpos[3 * ball_ + k]) < half_[k / 2];
    }
    return in ? 1.0 : 0.0;
  }

 private:
  int target_ = -1, ball_ = -1;
  double half_[2] = {0, 0}, offset_[2] = {0, 0};
};

std::unique_ptr<Env> MakeDmcCupCatch(const EnvOptions& options) {
  return std::make_unique<DmcCup>(options);
}

const TaskRegistrar kDmcCupCatch("dmc_cup_catch", MakeDmcCupCatch,
                                 TaskTwin::DmControl("ball_in_cup/catch"));

}  // namespace
}  // namespace mbrl
