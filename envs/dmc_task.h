#pragma once
/// Base of the DMC-style tasks: no termination (episodes end at max_steps), and each step ends
/// with mj_step1 as dm_control's does.
#include <random>
#include <utility>

#include "envs/mujoco_env.h"

namespace mbrl {

class DmcTask : public MujocoEnv {
 public:
  template <class... Args>
  explicit DmcTask(Args&&... args) : MujocoEnv(std::forward<Args>(args)...) {
    finish_with_step1_ = true;
  }
  torch::Tensor Terminated(const torch::Tensor& next_obs) const final {
    return torch::zeros({next_obs.size(0)}, next_obs.options().dtype(torch::kBool));
  }

 protected:
  /// Limited joints uniform in their range; unlimited hinges uniform in [-pi, pi] if asked.
  void RandomizeJoints(bool unlimited_hinges) {
    const mjModel* m = model();
    for (int j = 0; j < m->njnt; ++j) {
      double& q = data()->qpos[m->jnt_qposadr[j]];
      if (m->jnt_limited[j])
        q = std::uniform_real_distribution<double>(m->jnt_range[2 * j],
                                                   m->jnt_range[2 * j + 1])(rng());
      else if (unlimited_hinges && m->jnt_type[j] == mjJNT_HINGE)
        q = Uniform(M_PI);
    }
  }
};

}  // namespace mbrl
