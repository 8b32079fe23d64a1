#pragma once
/// MCTS on the true model: the MuJoCo task itself (its state set and stepped) is the StepModel of
/// a sampled-action tree search; leaves are valued by random rollouts (or 0).
#include "mbrl/config/config.h"
#include "mbrl/search/search.h"

namespace mbrl {

struct MctsConfig {
  SearchConfig search = [] {
    SearchConfig s;
    s.rule = "uct";  // the seeds' MCTS
    s.simulations = 100;
    return s;
  }();
  int children = 8;  // K actions per node, uniform within the bounds
  int action_repeat =
      1;  // env steps a tree edge holds its action (the agent re-searches each step)
  int rollout_steps = 20;  // random-action rollout from each new leaf (0 = value 0)
  int rollout_hold = 1;    // rollout env steps per random action (1 = white noise)

  void Validate(const std::string& src) const {
    MBRL_CHECK(children <= search.simulations, src, ": mcts.children (", children,
               ") must be <= mcts.search.simulations (", search.simulations,
               "): each child needs a simulation");
  }
  template <class V>
  void Visit(V& v) {
    v("search", search);
    v("children", children, config::AtLeast(1));
    v("action_repeat", action_repeat, config::AtLeast(1));
    v("rollout_steps", rollout_steps, config::AtLeast(0));
    v("rollout_hold", rollout_hold, config::AtLeast(1));
  }
};

}  // namespace mbrl
