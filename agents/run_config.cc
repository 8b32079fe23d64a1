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
    throw Error((files.empty() ? std::string("config") : files.back()) +
                ": env.name: unknown task '" + cfg.env.name + "'" +
                (close.empty() ? "" : " (did you mean '" + close + "'?)"));
  }
  const std::string src = files.empty() ? std::string("config") : files.back();
  const auto check_model = [&](const EnsembleConfig& m, const std::string& key) {
    MBRL_CHECK(m.elites <= m.members, src, ": ", key, ".elites (", m.elites, ") must be <= ", key,
               ".members (", m.members, ")");
    MBRL_CHECK(m.weight_decay.size() == 1 || m.weight_decay.size() == size_t(m.layers) + 1, src,
               ": ", key, ".weight_decay: expected 1 value or one per layer (", key,
               ".layers + 1 = ", m.layers + 1, "), got ", m.weight_decay.size());
  };
  if (cfg.agent == "pets") {
    const auto& p = cfg.pets;
    check_model(p.model, "pets.model");
    MBRL_CHECK(p.planner.replan_every <= p.planner.horizon, src, ": pets.planner.replan_every (",
               p.planner.replan_every, ") must be <= pets.planner.horizon (", p.planner.horizon,
               ")");
    MBRL_CHECK(p.true_reward || p.model.learned_reward, src,
               ": pets.true_reward is false but pets.model.learned_reward is off");
  }
  if (cfg.agent == "mbpo") {
    const auto& p = cfg.mbpo;
    check_model(p.model, "mbpo.model");
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
