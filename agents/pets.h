#pragma once
/// PETS: probabilistic ensemble + trajectory sampling + MPC with a CEM-family planner.
#include <string>

#include "mbrl/config/config.h"
#include "mbrl/models/ensemble.h"
#include "mbrl/planners/planner.h"

namespace mbrl {

struct PetsConfig {
  EnsembleConfig model;
  PlannerConfig planner;
  int particles = 20;
  std::string propagation = "ts1";  // ts1 | tsinf | expectation
  int random_episodes = 1;          // uniform-random episodes before the first model
  int train_every = 0;              // env steps between retraining (0 = after each episode)
  bool true_reward = true;          // the task's batched reward (false: the model's reward head)
  bool true_termination = true;     // the task's batched termination (false: none)

  void Validate(const std::string& src) const {
    model.Validate(src, "pets.model");
    MBRL_CHECK(planner.replan_every <= planner.horizon, src, ": pets.planner.replan_every (",
               planner.replan_every, ") must be <= pets.planner.horizon (", planner.horizon, ")");
    MBRL_CHECK(true_reward || model.learned_reward, src,
               ": pets.true_reward is false but pets.model.learned_reward is off");
  }

  template <class V>
  void Visit(V& v) {
    v("model", model);
    v("planner", planner);
    v("particles", particles, config::AtLeast(1));
    v("propagation", propagation, config::OneOf({"ts1", "tsinf", "expectation"}));
    v("random_episodes", random_episodes, config::AtLeast(1));
    v("train_every", train_every, config::AtLeast(0));
    v("true_reward", true_reward);
    v("true_termination", true_termination);
  }
};

}  // namespace mbrl
