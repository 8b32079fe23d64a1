#pragma once
/// MBPO: probabilistic ensemble + short branched model rollouts from real states + SAC trained on
/// a mix of real and model transitions.
#include <functional>
#include <vector>

#include "mbrl/config/config.h"
#include "mbrl/data/replay_buffer.h"
#include "mbrl/learners/sac.h"
#include "mbrl/models/ensemble.h"
#include "mbrl/models/rollout.h"

namespace mbrl {

struct MbpoConfig {
  EnsembleConfig model = [] {
    EnsembleConfig m;
    m.learned_reward = true;
    m.holdout = 0.2;
    m.learn_logvar_bounds = true;  // as the original MBPO, with its per-layer weight decay
    m.weight_decay = {2.5e-5, 5e-5, 7.5e-5, 7.5e-5, 1e-4};
    m.decay_biases = false;
    return m;
  }();
  SacConfig sac;
  int initial_steps = 5000;    // uniform-random env steps before the first model
  int model_train_freq = 250;  // env steps between model retraining and rollout rounds
  int rollout_batch = 100000;  // start states per rollout round
  // [min_epoch, max_epoch, min_len, max_len]: rollout length grows linearly over epochs
  std::vector<int> rollout_schedule = {20, 150, 1, 15};
  int epoch_length = 1000;    // env steps per epoch (for the schedule and retention)
  int retain_epochs = 1;      // model transitions are kept this many epochs
  int updates_per_step = 20;  // G: SAC updates per env step
  double real_ratio = 0.05;   // share of real transitions in each SAC batch
  bool true_reward = false;   // the task's batched reward instead of the model's reward head

  void Validate(const std::string& src) const;

  template <class V>
  void Visit(V& v) {
    v("model", model);
    v("sac", sac);
    v("initial_steps", initial_steps, config::AtLeast(1));
    v("model_train_freq", model_train_freq, config::AtLeast(1));
    v("rollout_batch", rollout_batch, config::AtLeast(1));
    v("rollout_schedule", rollout_schedule, config::AtLeast(0));
    v("epoch_length", epoch_length, config::AtLeast(1));
    v("retain_epochs", retain_epochs, config::AtLeast(1));
    v("updates_per_step", updates_per_step, config::AtLeast(0));
    v("real_ratio", real_ratio, config::Between(0, 1));
    v("true_reward", true_reward);
  }
};

/// Rollout length at `epoch` for schedule [min_epoch, max_epoch, min_len, max_len].
int RolloutLength(const std::vector<int>& schedule, double epoch);

/// One model step from obs [R,O]: the policy's action [R,A], sampled next obs [R,O], reward [R].
struct ModelStep {
  torch::Tensor act, next_obs, reward;
};
using ModelStepFn = std::function<ModelStep(const torch::Tensor& obs)>;

/// What a branched rollout stored: transitions, summed model reward, terminated transitions.
struct RolloutStats {
  int64_t rows = 0;
  double reward = 0, terminated = 0;
  RolloutStats& operator+=(const RolloutStats& o) {
    rows += o.rows;
    reward += o.reward;
    terminated += o.terminated;
    return *this;
  }
};

/// Branched rollout of up to `steps` model steps from start states obs [N,O]: every step's
/// transitions go to `out` with terminated = terminated(next_obs), and terminated rows stop.
RolloutStats BranchedRollout(torch::Tensor obs, int steps, const ModelStepFn& step,
                             const TerminationFn& terminated, ReplayBuffer& out);

}  // namespace mbrl
