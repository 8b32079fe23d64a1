#pragma once
/// PlaNet: an RSSM world model and CEM planning in its latent space.
#include "mbrl/config/config.h"
#include "mbrl/models/rssm.h"
#include "mbrl/planners/planner.h"

namespace mbrl {

struct PlanetConfig {
  RssmConfig model = [] {
    RssmConfig m;  // PlaNet: Gaussian latents, deter 200, stoch 30, free nats 3
    m.free_nats = 3;
    m.kl_dyn = 0.8;
    m.kl_rep = 0.2;
    m.batch_size = 50;
    m.seq_len = 50;
    m.lr = 1e-3;
    return m;
  }();
  PlannerConfig planner = [] {
    PlannerConfig p;
    p.type = "cem";
    p.horizon = 12;
    p.iterations = 10;
    p.population = 1000;
    p.elite_fraction = 0.1;
    p.alpha = 0;
    return p;
  }();
  int prefill_episodes = 5;        // uniform-random episodes before the first model
  int train_steps = 100;           // model updates after each episode
  double exploration_noise = 0.3;  // Gaussian action noise (units of the half range)

  template <class V>
  void Visit(V& v) {
    v("model", model);
    v("planner", planner);
    v("prefill_episodes", prefill_episodes, config::AtLeast(1));
    v("train_steps", train_steps, config::AtLeast(0));
    v("exploration_noise", exploration_noise, config::AtLeast(0));
  }
};

}  // namespace mbrl
