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
