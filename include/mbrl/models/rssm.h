#pragma once
/// Recurrent state-space model (PlaNet / Dreamer world model) on vector observations: a GRU
/// deterministic state plus a Gaussian or categorical stochastic state, an observation encoder and
/// decoder, reward and continue heads, trained on [B,T] sequences with balanced, free-bits KL.
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>
#include <torch/optim/adam.h>
#include <torch/serialize/archive.h>
#include <torch/types.h>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "mbrl/config/config.h"
#include "mbrl/core/batch.h"
#include "mbrl/core/mlp.h"
#include "mbrl/models/angle_features.h"
#include "mbrl/planners/planner.h"

namespace mbrl {

struct RssmConfig {
  int deter = 200;              // GRU state size
  int stoch = 30;               // Gaussian latent dims, or categorical groups
  int classes = 0;              // classes per categorical group (0 = Gaussian latents)
  int units = 200;              // width of every MLP and of the GRU input layer
  int layers = 2;               // hidden layers of encoder, decoder and heads
  bool layernorm = true;        // LayerNorm + SiLU in every MLP and in the GRU
  double unimix = 0.01;         // categorical: mix of uniform into the class probabilities
  double min_std = 0.1;         // Gaussian: lower bound of the latent std
  double free_nats = 1.0;       // KL below this (per step, summed over latents) is not penalised
  double kl_dyn = 0.5;          // weight of KL(sg(post) || prior): trains the prior
  double kl_rep = 0.1;          // weight of KL(post || sg(prior)): regularises the posterior
  bool symlog_obs = true;       // encoder input and decoder target in symlog space
  std::vector<int> angle_dims;  // observation dims encoded and decoded as (sin, cos)
  std::string reward_head = "mse";  // mse | twohot (255 bins, symexp)
  bool continue_head = true;        // predict 1 - terminated (else always continue)
  double lr = 3e-4;
  double eps = 1e-8;
  double grad_clip = 100;  // max global grad norm (0 = off)
  int batch_size = 16;
  int seq_len = 64;

  template <class V>
  void Visit(V& v) {
    v("deter", deter, config::AtLeast(1));
    v("stoch", stoch, config::AtLeast(1));
    v("classes", classes, config::AtLeast(0));
    v("units", units, config::AtLeast(1));
    v("layers", layers, config::AtLeast(0));
    v("layernorm", layernorm);
    v("unimix", unimix, config::Between(0, 1));
    v("min_std", min_std, config::AtLeast(0));
    v("free_nats", free_nats, config::AtLeast(0));
    v("kl_dyn", kl_dyn, config::AtLeast(0));
    v("kl_rep", kl_rep, config::AtLeast(0));
    v("symlog_obs", symlog_obs);
    v("angle_dims", angle_dims, config::AtLeast(0));
    v("reward_head", reward_head, config::OneOf({"mse", "twohot"}));
    v("continue_head", continue_head);
    v("lr", lr, config::Between(1e-9, 1));
    v("eps", eps, config::Between(0, 1));
    v("grad_clip", grad_clip, config::AtLeast(0));
    v("batch_size", batch_size, config::AtLeast(1));
    v("seq_len", seq_len, config::AtLeast(2));
  }
};

/// Latent state of a batch: deter [B,D], stoch [B,S] (categorical: S = groups*classes one-hot),
/// stats [B,2S] Gaussian (mean, std) or [B,S] categorical logits of the distribution of stoch.
struct RssmState {
  torch::Tensor deter, stoch, stats;
  RssmState Detach() const { return {deter.detach(), stoch.detach(), stats.detach()}; }
};

/// Observe's output over a sequence: every tensor [B,T,..]; mask [B,T] (set by ObserveBatch)
/// is 1 where imagination may start: a real step (not padding) that is not terminal.
struct RssmSequence {
  torch::Tensor deter, stoch, post_stats, prior_stats, mask;
  torch::Tensor Features() const { return torch::cat({deter, stoch}, -1); }
  /// The posterior states where mask is 1 (all if undefined) flattened to [N,..]: imagination
  /// start states.
  RssmState Flat() const;
};

/// Means over one training step's batch.
struct RssmStats {
  double loss = 0, recon = 0, reward = 0, cont = 0, kl = 0;
  RssmStats& operator+=(const RssmStats& o) {
    loss += o.loss, recon += o.recon, reward += o.reward, cont += o.cont, kl += o.kl;
    return *this;
  }
};

class RssmImpl : public torch::nn::Module {
 public:
  RssmImpl(int obs_dim, int act_dim, const RssmConfig& cfg);

  RssmState Initial(int64_t batch) const;
  int64_t FeatureSize() const { return cfg_.deter + StochSize(); }
  static torch::Tensor Features(const RssmState& s) { return torch::cat({s.deter, s.stoch}, -1); }

  /// Prior step: state, action [B,A] -> next prior state (stoch sampled).
  RssmState ImagineStep(const RssmState& prev, const torch::Tensor& act, torch::Generator& gen);
  /// Posterior step: state, action [B,A] taken in it, observation [B,O] that followed. `sample`
  /// false: stoch is the posterior's mode (Gaussian mean, categorical one-hot of the likeliest
  /// class), so the step is deterministic (evaluation, exported policies).
  RssmState ObserveStep(const RssmState& prev, const torch::Tensor& act, const torch::Tensor& obs,
                        torch::Generator& gen, bool sample = true);
  /// Posteriors over obs [B,T,O] where act [B,T,A] is the action taken before each observation
  /// (act[:,0] is ignored: step 0 starts from `start`, or from Initial when undefined).
  RssmSequence Observe(const torch::Tensor& obs, const torch::Tensor& act, torch::Generator& gen,
                       const RssmState* start = nullptr);
  /// H prior steps from `start` under fixed actions [B,H,A] -> features [H+1,B,F] (start first).
  torch::Tensor Imagine(const RssmState& start, const torch::Tensor& actions,
                        torch::Generator& gen);
  /// H prior steps under a policy feat [B,F] -> action [B,A]: features [H+1,B,F], actions [H,B,A].
  std::pair<torch::Tensor, torch::Tensor> Imagine(
      const RssmState& start, int horizon,
      const std::function<torch::Tensor(const torch::Tensor&)>& policy, torch::Generator& gen);

  /// Heads on features [..,F]: reward [..], continue probability [..], decoded obs [..,O+K]
  /// (angle dims as sin and cos after the other dims, see AngleFeatures).
  torch::Tensor Reward(const torch::Tensor& feat);
  torch::Tensor Continue(const torch::Tensor& feat);
  torch::Tensor Decode(const torch::Tensor& feat);

  /// Builds the [B,T+1] observation sequence of transitions [B,T] (obs then the last next_obs).
  /// Returns the posteriors; the training loss is in `Update`.
  RssmSequence ObserveBatch(const SequenceBatch& batch, torch::Generator& gen);
  /// One gradient step on a batch of sequences; `posteriors` (optional) receives them, detached.
  RssmStats Update(const SequenceBatch& batch, torch::Generator& gen,
                   RssmSequence* posteriors = nullptr);
  /// Loss of one batch without a step: total loss (with graph) and its parts.
  std::pair<torch::Tensor, RssmStats> Loss(const SequenceBatch& batch, const RssmSequence& seq);

  /// KL(p || q) per row for two stats tensors [..,*] -> [..] (summed over latents).
  torch::Tensor Kl(const torch::Tensor& p, const torch::Tensor& q) const;

  /// Checkpoint entries: weights "rssm" and optimizer "rssm_optimizer".
  void SaveTo(torch::serialize::OutputArchive& ar) const;
  void LoadFrom(torch::serialize::InputArchive& ar);
  const RssmConfig& config() const { return cfg_; }
  int obs_dim() const { return obs_dim_; }
  int act_dim() const { return act_dim_; }

 private:
  int64_t StochSize() const {
    return cfg_.classes ? int64_t{cfg_.stoch} * cfg_.classes : cfg_.stoch;
  }
  int64_t StatsSize() const { return cfg_.classes ? StochSize() : 2 * int64_t{cfg_.stoch}; }
  // raw network output [..,StatsSize] -> stats (std bounded / unimix logits)
  torch::Tensor MakeStats(const torch::Tensor& raw) const;
  torch::Tensor Sample(const torch::Tensor& stats, torch::Generator& gen) const;
  torch::Tensor Mode(const torch::Tensor& stats) const;
  // GRU step of the deterministic state: stoch [B,S], act [B,A], deter [B,D] -> [B,D]
  torch::Tensor Deter(const torch::Tensor& stoch, const torch::Tensor& act,
                      const torch::Tensor& deter);
  // obs [..,O] -> encoder input and decoder target [..,O+K] (angles as sin/cos, then symlog)
  torch::Tensor ObsFeatures(const torch::Tensor& obs) const;
  torch::Tensor Embed(const torch::Tensor& obs);

  RssmConfig cfg_;
  int obs_dim_, act_dim_;
  AngleFeatures angles_;
  torch::nn::Linear img_in_{nullptr}, gru_{nullptr};
  torch::nn::LayerNorm img_norm_{nullptr}, gru_norm_{nullptr};
  MlpNet prior_{nullptr}, post_{nullptr}, encoder_{nullptr}, decoder_{nullptr}, reward_{nullptr},
      cont_{nullptr};
  std::unique_ptr<TwoHot> twohot_;
  std::unique_ptr<torch::optim::Adam> opt_;
};
TORCH_MODULE(Rssm);

/// Latent planning objective (PlaNet): candidate actions [N,H,A] in [-1,1] are imagined from
/// `belief` (one state, [1,..]) and scored by the summed predicted reward, discounted by the
/// predicted continue probability -> [N].
Objective MakeObjective(Rssm model, const RssmState& belief, torch::Generator gen);

}  // namespace mbrl
