#pragma once
/// Model-free SAC, the baseline of MBPO.
#include "mbrl/config/config.h"
#include "mbrl/learners/sac.h"

namespace mbrl {

/// Model-free SAC on real transitions only (the baseline of MBPO).
struct SacAgentConfig {
  SacConfig sac;
  int initial_steps = 5000;  // uniform-random env steps before the first update
  int updates_per_step = 1;

  template <class V>
  void Visit(V& v) {
    v("sac", sac);
    v("initial_steps", initial_steps, config::AtLeast(1));
    v("updates_per_step", updates_per_step, config::AtLeast(0));
  }
};

}  // namespace mbrl
