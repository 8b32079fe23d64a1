#pragma once
/// Tree search over a StepModel: sampled-action UCT (the seeds' MCTS), PUCT (AlphaZero /
/// MuZero) and Gumbel search (Gumbel MuZero, EfficientZero V2), with progressive widening, min-max
/// value normalisation, discounting, Dirichlet root noise, Sampled MuZero's prior correction and a
/// visit-count policy with temperature. Search never includes models or envs: an agent adapts a
/// simulator or a learned model to StepModel and to Evaluator, as it adapts a model to an Objective
/// for planners. Leaves are expanded in batches (virtual loss), so each StepModel / Evaluator call
/// sees up to `batch` states.
#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "mbrl/config/config.h"

namespace mbrl {

/// A batched model of an MDP: states [N,S] (a simulator's serialised state or a latent), actions
/// [N,A] -> reward [N], next states [N,S], done [N] (bool). Rows are independent.
class StepModel {
 public:
  virtual ~StepModel() = default;
  struct Out {
    torch::Tensor reward, next_state, done;
  };
  virtual Out Step(const torch::Tensor& states, const torch::Tensor& actions) = 0;
};

/// What search knows of a state before it is explored: a value estimate and K candidate actions
/// with their search prior (rows sum to 1).
struct Evaluation {
  torch::Tensor value;    // [N]
  torch::Tensor actions;  // [N,K,A], within the action bounds
  torch::Tensor prior;    // [N,K]
};

/// Evaluates states [N,S] (a policy/value network, or uniform proposals with rollouts).
class Evaluator {
 public:
  virtual ~Evaluator() = default;
  virtual Evaluation Evaluate(const torch::Tensor& states) = 0;
};

/// Sampled MuZero's correction (Hubert et al. 2021): for K actions drawn from a proposal beta,
/// the search prior is beta_hat / beta * pi, with beta_hat the samples' empirical distribution
/// (1/K each); normalised per row. logp_pi, logp_beta [N,K] -> prior [N,K].
torch::Tensor SampledPrior(const torch::Tensor& logp_pi, const torch::Tensor& logp_beta);

struct SearchConfig {
  // puct (AlphaZero/MuZero) | uct (the seeds' UCB1 on children) | gumbel (Danihelka et al. 2022:
  // sequential halving over Gumbel-top-m root actions, improved-policy selection below the root)
  std::string rule = "puct";
  int simulations = 64;
  int batch = 8;  // leaves expanded per StepModel / Evaluator call
  double discount = 0.99;
  double uct_c = 1.4142135623730951;           // UCT exploration constant (on normalised values)
  double pb_c_init = 1.25, pb_c_base = 19652;  // PUCT (MuZero, Appendix B)
  double dirichlet_alpha = 0.3;
  double root_noise = 0;   // exploration fraction of the root prior (0 = none)
  double temperature = 0;  // visit-count policy N^(1/T); 0 = the most visited child
  // progressive widening: a node with N visits may use ceil(pw_c * N^pw_alpha) of its children
  // keep the chosen child's subtree for the next search when it starts from that child's state
  // (a deterministic model: the true simulator)
  bool reuse_tree = false;
  bool progressive_widening = false;
  double pw_c = 1, pw_alpha = 0.5;
  // gumbel: m root actions considered, Gumbel noise scale (0 = none), sigma(q) =
  // (c_visit + max_b N(b)) * c_scale * q on normalised q
  int gumbel_m = 16;
  double gumbel_scale = 1, c_visit = 50, c_scale = 0.1;

  template <class V>
  void Visit(V& v) {
    v("rule", rule, config::OneOf({"puct", "uct", "gumbel"}));
    v("simulations", simulations, config::AtLeast(1));
    v("batch", batch, config::AtLeast(1));
    v("discount", discount, config::Between(0, 1));
    v("uct_c", uct_c, config::AtLeast(0));
    v("pb_c_init", pb_c_init, config::AtLeast(0));
    v("pb_c_base", pb_c_base, config::AtLeast(1));
    v("dirichlet_alpha", dirichlet_alpha, config::AtLeast(1e-6));
    v("root_noise", root_noise, config::Between(0, 1));
    v("temperature", temperature, config::AtLeast(0));
    v("reuse_tree", reuse_tree);
    v("progressive_widening", progressive_widening);
    v("pw_c", pw_c, config::AtLeast(1e-6));
    v("pw_alpha", pw_alpha, config::Between(0, 1));
    v("gumbel_m", gumbel_m, config::AtLeast(1));
    v("gumbel_scale", gumbel_scale, config::AtLeast(0));
    v("c_visit", c_visit, config::AtLeast(0));
    v("c_scale", c_scale, config::AtLeast(0));
  }
};

/// What a search found at the root.
struct SearchResult {
  torch::Tensor actions;  // [K,A] the root's candidate actions
  torch::Tensor visits;   // [K] float
  torch::Tensor q;        // [K] mean discounted return of each child (0 if unvisited)
  torch::Tensor policy;   // [K] visit-count policy at the temperature; gumbel: the improved
                          // policy softmax(log prior + sigma(completed q)), the training target
  torch::Tensor action;   // [A] the chosen action
  double value = 0;       // the root's mean return over all simulations
};

class TreeSearch {
 public:
  TreeSearch(SearchConfig cfg, uint64_t seed);
  /// Searches from `root` [S] (one state).
  SearchResult Run(const torch::Tensor& root, StepModel& model, Evaluator& evaluator);

 private:
  struct Node;
  struct Edge;
  struct Tree;

  SearchConfig cfg_;
  std::mt19937_64 rng_;
  std::shared_ptr<Tree> kept_;  // the last search's tree (reuse_tree)
  int kept_child_ = -1;         // its chosen child
};

}  // namespace mbrl
