#include "agents/run_config.h"

#include <algorithm>

#include "envs/env.h"

namespace mbrl {

RunConfig LoadRunConfig(const std::vector<std::string>& files,
                        const std::vector<std::string>& overrides, config::Json* resolved) {
  RunConfig cfg = config::Load<RunConfig>(files, overrides, resolved);
  const auto names = EnvNames();
  if (std::find(names.begin(), names.end(), cfg.env.name) == names.end()) {
    const std::string close = config::ClosestKey(cfg.env.name, names);
    throw Error((files.empty() ? std::string("config") : files.back()) + ": env.name: unknown task '" +
                cfg.env.name + "'" + (close.empty() ? "" : " (did you mean '" + close + "'?)"));
  }
  const std::string src = files.empty() ? std::string("config") : files.back();
  if (cfg.agent == "pets") {
    const auto& p = cfg.pets;
    MBRL_CHECK(p.model.elites <= p.model.members, src, ": pets.model.elites (", p.model.elites,
               ") must be <= pets.model.members (", p.model.members, ")");
    MBRL_CHECK(p.planner.replan_every <= p.planner.horizon, src, ": pets.planner.replan_every (",
               p.planner.replan_every, ") must be <= pets.planner.horizon (", p.planner.horizon,
               ")");
    MBRL_CHECK(p.true_reward || p.model.learned_reward, src,
               ": pets.true_reward is false but pets.model.learned_reward is off");
  }
  if (cfg.agent == "mbpo") {
    const auto& p = cfg.mbpo;
    MBRL_CHECK(p.model.elites <= p.model.members, src, ": mbpo.model.elites (", p.model.elites,
               ") must be <= mbpo.model.members (", p.model.members, ")");
    MBRL_CHECK(p.true_reward || p.model.learned_reward, src,
               ": mbpo.true_reward is false but mbpo.model.learned_reward is off");
    try {
      RolloutLength(p.rollout_schedule, 0);
    } catch (const Error& e) {
      throw Error(src + ": " + e.what());
    }
  }
  return cfg;
}

}  // namespace mbrl
