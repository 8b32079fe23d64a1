#pragma once
/// TD-MPC2 (Hansen et al. 2024): an implicit latent world model with Q ensemble and policy prior,
/// and MPPI over latent rollouts seeded with the prior's proposals, bootstrapped with Q.
#include <string>

#include "mbrl/config/config.h"
#include "mbrl/models/tdmpc2.h"
#include "mbrl/native/program.h"
#include "mbrl/planners/planner.h"

namespace mbrl {

struct TdMpc2AgentConfig {
  TdMpc2Config model;
  PlannerConfig planner = [] {
    PlannerConfig p;  // TD-MPC2: 512 samples, 64 elites, 6 iterations, horizon 3
    p.type = "elite_mppi";
    p.horizon = 3;
    p.iterations = 6;
    p.population = 512;
    p.elite_fraction = 0.125;
    p.temperature = 2;  // softmax(score / 2): TD-MPC2's exp(0.5 * score)
    p.min_std = 0.05;
    p.max_std = 2;
    return p;
  }();
  int proposals = 24;     // prior trajectories in every planning iteration
  int seed_steps = 2500;  // uniform-random agent steps, then as many updates at once
  double updates_per_step = 1;
  double discount = 0.99;    // per agent step (TD-MPC2: (L/5 - 1)/(L/5) in [0.95, 0.995])
  std::string act = "plan";  // plan | prior: act with the planner or with the prior alone

  void Validate(const std::string& src) const {
    model.Validate(src, "tdmpc2.model");
    const long elites = std::lround(planner.elite_fraction * planner.population);
    MBRL_CHECK(elites >= 2, src, ": tdmpc2.planner.elite_fraction: ", elites,
               " elites of a population of ", planner.population, "; needs at least 2");
    MBRL_CHECK(proposals < planner.population, src, ": tdmpc2.proposals (", proposals,
               ") must be < tdmpc2.planner.population (", planner.population, ")");
    MBRL_CHECK(planner.min_std <= planner.max_std, src,
               ": tdmpc2.planner.min_std must be <= max_std");
  }
  template <class V>
  void Visit(V& v) {
    v("model", model);
    v("planner", planner);
    v("proposals", proposals, config::AtLeast(0));
    v("seed_steps", seed_steps, config::AtLeast(1));
    v("updates_per_step", updates_per_step, config::AtLeast(0));
    v("discount", discount, config::Between(0, 1));
    v("act", act, config::OneOf({"plan", "prior"}));
  }
};

/// The prior policy for export: tanh(mean of the prior at Encode(obs)) scaled into the env's
/// bounds (act_scale, act_shift [A]), as a stateless program (agents/tdmpc2_export.cc).
PolicyProgram TdMpc2PolicyProgram(const TdMpc2& model, int obs_dim, int act_dim,
                                  const torch::Tensor& act_scale, const torch::Tensor& act_shift);

}  // namespace mbrl
