#pragma once
/// Planners optimise action sequences against an Objective; they never see a model.
#include <torch/types.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "mbrl/config/config.h"

namespace mbrl {

/// Scores candidate action sequences: [N,H,A] -> [N] (higher is better).
using Objective = std::function<torch::Tensor(const torch::Tensor& actions)>;

class Planner {
 public:
  virtual ~Planner() = default;
  /// Best sequence [H,A] within bounds, warm-started from the previous plan shifted by
  /// `replan_every` steps.
  virtual torch::Tensor Plan(const Objective& objective) = 0;
  /// As Plan, with `proposals` [P,H,A] (e.g. a policy's rollouts) taking P places of the
  /// population in every iteration (P < population).
  torch::Tensor Plan(const Objective& objective, const torch::Tensor& proposals);
  /// The per-step spread [H,A] the last plan ended with (elite_mppi), else undefined: agents
  /// that explore around the plan draw their noise from it.
  const torch::Tensor& spread() const { return spread_; }
  /// Episode boundary: forget the warm start.
  virtual void Reset() = 0;
  /// Objective evaluations (sequences scored) since construction.
  int64_t evaluations() const { return evaluations_; }

 protected:
  int64_t evaluations_ = 0;
  torch::Tensor proposals_;  // [P,H,A] for the current Plan call, else undefined
  torch::Tensor spread_;
};

struct PlannerConfig {
  std::string type = "cem";  // cem | icem | mppi | elite_mppi | random
  int horizon = 15;
  int iterations = 5;
  int population = 350;
  double elite_fraction = 0.1;
  double alpha = 0.1;       // momentum on mean and variance (cem, icem)
  int replan_every = 1;     // env steps between plans: the warm start shifts by this much
  // icem
  double noise_beta = 2.0;         // colored-noise exponent (0 = white)
  double population_decay = 1.25;  // population_i = population / decay^i
  double keep_elites = 0.3;        // fraction of elites carried to the next iteration / step
  // mppi
  double temperature = 1.0;
  double noise_std = 0.5;  // in units of the half action range
  double smoothing = 0.6;  // noise filter: u_t = s * e_t + (1 - s) * u_{t-1}
  // elite_mppi (TD-MPC's MPPI): Gaussian std bounds in units of the half action range
  double min_std = 0.05;
  double max_std = 2;

  template <class V>
  void Visit(V& v) {
    v("type", type, config::OneOf({"cem", "icem", "mppi", "elite_mppi", "random"}));
    v("horizon", horizon, config::AtLeast(1));
    v("iterations", iterations, config::AtLeast(1));
    v("population", population, config::AtLeast(2));
    v("elite_fraction", elite_fraction, config::Between(1e-6, 1));
    v("alpha", alpha, config::Between(0, 1));
    v("replan_every", replan_every, config::AtLeast(1));
    v("noise_beta", noise_beta, config::Between(0, 5));
    v("population_decay", population_decay, config::AtLeast(1));
    v("keep_elites", keep_elites, config::Between(0, 1));
    v("temperature", temperature, config::AtLeast(1e-9));
    v("noise_std", noise_std, config::AtLeast(0));
    v("smoothing", smoothing, config::Between(0, 1));
    v("min_std", min_std, config::AtLeast(0));
    v("max_std", max_std, config::AtLeast(1e-9));
  }
};

/// Builds a planner for actions in [low, high] ([A] each). Throws mbrl::Error on bad settings
/// (e.g. fewer than 2 elites, replan_every > horizon).
std::unique_ptr<Planner> MakePlanner(const PlannerConfig& cfg, const std::vector<float>& low,
                                     const std::vector<float>& high, torch::Device device,
                                     uint64_t seed);

}  // namespace mbrl
