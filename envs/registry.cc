#include <algorithm>
#include <map>

#include "envs/env.h"
#include "envs/tasks.h"
#include "mbrl/core/check.h"

namespace mbrl {
namespace {

using Factory = std::unique_ptr<Env> (*)(const EnvOptions&);

const std::map<std::string, Factory>& Table() {
  static const std::map<std::string, Factory> table = {
      {"cartpole_swingup", MakeCartpoleSwingup},
      {"inverted_pendulum", MakeInvertedPendulum},
      {"half_cheetah", MakeHalfCheetah},
      {"hopper", MakeHopper},
      {"inverted_double_pendulum", MakeInvertedDoublePendulum},
      {"walker2d", MakeWalker2d},
      {"ant", MakeAnt},
      {"reacher", MakeReacher},
      {"pusher", MakePusher},
      {"swimmer", MakeSwimmer},
      {"dmc_cartpole_swingup", MakeDmcCartpoleSwingup},
      {"dmc_cartpole_balance", MakeDmcCartpoleBalance},
      {"dmc_pendulum_swingup", MakeDmcPendulumSwingup},
      {"dmc_cheetah_run", MakeDmcCheetahRun},
      {"dmc_walker_walk", MakeDmcWalkerWalk},
      {"dmc_reacher_easy", MakeDmcReacherEasy},
      {"dmc_finger_spin", MakeDmcFingerSpin},
      {"dmc_cup_catch", MakeDmcCupCatch},
  };
  return table;
}

}  // namespace

std::vector<std::string> EnvNames() {
  std::vector<std::string> names;
  for (const auto& [name, f] : Table()) names.push_back(name);
  return names;
}

std::unique_ptr<Env> MakeEnv(const std::string& name, const EnvOptions& options) {
  auto it = Table().find(name);
  if (it == Table().end()) {
    std::string all;
    for (const auto& n : EnvNames()) all += (all.empty() ? "" : ", ") + n;
    throw Error("env.name: unknown task '" + name + "' (known: " + all + ")");
  }
  MBRL_CHECK(options.max_steps >= 0, "env.max_steps must be >= 0, got ", options.max_steps);
  return it->second(options);
}

}  // namespace mbrl
