#pragma once
/// AlphaZero for continuous control (A0C, Moerland et al. 2018; Sampled MuZero's proposals): a
/// squashed-Gaussian policy and a value network guide sampled PUCT (or Gumbel) search on the true
/// simulator, and learn from it: the policy from the root's visit distribution, the value from
/// n-step returns of the agent's own episodes bootstrapped with the search's root values.
#include <string>
#include <vector>

#include "mbrl/config/config.h"
#include "mbrl/search/search.h"

namespace mbrl {

struct AlphaZeroConfig {
  SearchConfig search = [] {
    SearchConfig s;
    s.rule = "puct";
    s.simulations = 50;
    s.batch = 8;
    s.root_noise = 0.25;
    s.dirichlet_alpha = 0.3;
    s.temperature = 1;  // while training; evaluation takes the most visited child
    return s;
  }();
  int children = 8;                // K actions per node: from the policy and uniform
  double uniform_fraction = 0.25;  // share of the K drawn uniformly within the bounds
  std::vector<int> angle_dims;     // observation columns fed to the networks as sin/cos
  int units = 64, layers = 2;
  double lr = 1e-3;
  int batch_size = 128;
  double updates_per_step = 1;  // gradient steps per env step, taken after each episode
  int n_step = 10;              // value target: n rewards, then the search value
  int capacity = 100000;        // search targets kept
  double entropy = 0.01;        // bonus on the policy's (pre-squash) Gaussian entropy
  double value_scale = 1;       // value targets are divided by this (the net learns G / scale)
  // AlphaGo's leaf value (Silver et al. 2016): (1 - mix) V + mix R, R the return of a random
  // rollout of rollout_steps env steps, each random action held rollout_hold steps
  int rollout_steps = 0;
  int rollout_hold = 5;
  double rollout_mix = 0.5;

  void Validate(const std::string& src) const {
    MBRL_CHECK(children <= search.simulations, src, ": alphazero.children (", children,
               ") must be <= alphazero.search.simulations (", search.simulations,
               "): each child needs a simulation");
  }
  template <class V>
  void Visit(V& v) {
    v("search", search);
    v("children", children, config::AtLeast(1));
    v("uniform_fraction", uniform_fraction, config::Between(0, 1));
    v("angle_dims", angle_dims);
    v("units", units, config::AtLeast(1));
    v("layers", layers, config::AtLeast(1));
    v("lr", lr, config::AtLeast(0));
    v("batch_size", batch_size, config::AtLeast(1));
    v("updates_per_step", updates_per_step, config::AtLeast(0));
    v("n_step", n_step, config::AtLeast(1));
    v("capacity", capacity, config::AtLeast(1));
    v("entropy", entropy, config::AtLeast(0));
    v("value_scale", value_scale, config::AtLeast(1e-9));
    v("rollout_steps", rollout_steps, config::AtLeast(0));
    v("rollout_hold", rollout_hold, config::AtLeast(1));
    v("rollout_mix", rollout_mix, config::Between(0, 1));
  }
};

}  // namespace mbrl
