// DMC walker walk (shared/TASKS-DMC.md section 5): obs [xx, xz of the 7 bodies, torso height,
// qvel] (24); r = stand * (5 move + 1) / 6 with stand = (3 tol(h, (1.2, inf), 0.6) + (1 + zz) /
// 2) / 4 and move = clip(vx, 0, 1), vx the x velocity of the walker's centre of mass (torso
// subtreelinvel). 1000 steps of 0.025 s (10 x 0.0025), no termination. Reset: rooty ~ U(-pi, pi),
// hinges ~ U(their ranges), at rest. The torso's zz equals its xx (planar pitch). vx is not in the
// observation: with env.velocity_obs (obs[0] = vx) the batched reward is exact, else it uses the
// torso's rootx velocity qvel[1] (obs[16]), an approximation (docs/tasks-dmc.md).
#include <cmath>

#include "envs/dmc_task.h"
#include "envs/tolerance.h"
#include "mbrl/core/check.h"

namespace mbrl {
namespace {

constexpr double kStandHeight = 1.2, kWalkSpeed = 1;

class DmcWalker : public DmcTask {
 public:
  explicit DmcWalker(const EnvOptions& o)
      : DmcTask("dmc_walker_walk", "dmc_walker.xml", o, 10, 1000, 24, true) {
    const int s = mj_name2id(model(), mjOBJ_SENSOR, "torso_subtreelinvel");
    torso_ = mj_name2id(model(), mjOBJ_BODY, "torso");
    MBRL_CHECK(s >= 0 && torso_ == 1 && model()->nbody == 8 && model()->nq == 9 && model()->nu == 6,
               spec().name,
               ": MJCF needs sensor 'torso_subtreelinvel', 7 bodies from 'torso', nq = 9 and 6 "
               "actuators");
    vel_adr_ = model()->sensor_adr[s];
  }

  torch::Tensor Reward(const torch::Tensor&, const torch::Tensor&,
                       const torch::Tensor& next_obs) const override {
    const int o = off();
    auto standing =
        Tolerance(next_obs.select(-1, o + 14), kStandHeight, INFINITY, kStandHeight / 2);
    auto upright = (1 + next_obs.select(-1, o)) / 2;  // torso zz = xx
    auto stand = (3 * standing + upright) / 4;
    auto vx = next_obs.select(-1, o ? 0 : 16);
    auto move = Tolerance(vx, kWalkSpeed, INFINITY, kWalkSpeed / 2, Sigmoid::kLinear, 0.5);
    return stand * (5 * move + 1) / 6;
  }

 protected:
  void ResetModel() override { RandomizeJoints(true); }
  void Observe(float* out) const override {
    for (int b = 1; b < 8; ++b) {
      const double* r = data()->xmat + 9 * b;
      *out++ = static_cast<float>(r[0]), *out++ = static_cast<float>(r[2]);  // xx, xz
    }
    *out++ = static_cast<float>(data()->xpos[3 * torso_ + 2]);
    for (int i = 0; i < 9; ++i) *out++ = static_cast<float>(data()->qvel[i]);
  }
  double StepReward(const float*, double, bool* terminated) const override {
    *terminated = false;
    const double h = data()->xpos[3 * torso_ + 2], zz = data()->xmat[9 * torso_ + 8];
    const double stand =
        (3 * Tolerance(h, kStandHeight, INFINITY, kStandHeight / 2) + (1 + zz) / 2) / 4;
    const double move =
        Tolerance(ForwardVelocity(0), kWalkSpeed, INFINITY, kWalkSpeed / 2, Sigmoid::kLinear, 0.5);
    return stand * (5 * move + 1) / 6;
  }
  double ForwardVelocity(double) const override { return data()->sensordata[vel_adr_]; }

 private:
  int vel_adr_ = 0, torso_ = -1;
};

std::unique_ptr<Env> MakeDmcWalkerWalk(const EnvOptions& options) {
  return std::make_unique<DmcWalker>(options);
}

const TaskRegistrar kDmcWalkerWalk("dmc_walker_walk", MakeDmcWalkerWalk,
                                   TaskTwin::DmControl("walker/walk"));

}  // namespace
}  // namespace mbrl
