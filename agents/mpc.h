#pragma once
/// MPC on the true model: a CEM-family planner scores action sequences by simulating them in a
/// twin of the task (as MuJoCo MPC does); the reference for search at equal simulated steps.
#include <string>

#include "mbrl/config/config.h"
#include "mbrl/planners/planner.h"

namespace mbrl {

struct MpcConfig {
  PlannerConfig planner = [] {
    PlannerConfig p;
    p.type = "icem";
    p.horizon = 30;
    p.iterations = 3;
    p.population = 100;
    return p;
  }();
  double discount = 1;  // per env step, within a sequence's return

  void Validate(const std::string& src) const {
    MBRL_CHECK(planner.replan_every <= planner.horizon, src, ": mpc.planner.replan_every (",
               planner.replan_every, ") must be <= mpc.planner.horizon (", planner.horizon, ")");
  }
  template <class V>
  void Visit(V& v) {
    v("planner", planner);
    v("discount", discount, config::Between(0, 1));
  }
};

}  // namespace mbrl
