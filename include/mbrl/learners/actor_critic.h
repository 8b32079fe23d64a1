#pragma once
/// Dreamer's behaviour learner: an actor and a critic trained on imagined trajectories of latent
/// features with λ-returns, a slow EMA critic, return normalisation by the 5th-95th percentile
/// range (DreamerV3) and an entropy bonus. Knows nothing of the world model that imagined them.
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>
#include <torch/optim/adam.h>
#include <torch/serialize/archive.h>
#include <torch/types.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "mbrl/config/config.h"
#include "mbrl/core/mlp.h"
#include "mbrl/native/policy.h"

namespace mbrl {

struct ActorCriticConfig {
  int horizon = 15;
  int units = 256;
  int layers = 2;
  bool layernorm = true;
  double actor_lr = 8e-5;
  double critic_lr = 8e-5;
  double eps = 1e-5;
  double grad_clip = 100;  // max global grad norm of each network (0 = off)
  double gamma = 0.99;
  double lambda = 0.95;
  double entropy = 3e-4;  // weight of the entropy bonus
  double min_std = 0.1, max_std = 1.0;
  std::string actor_grad = "dynamics";  // dynamics (backprop through the model) | reinforce
  bool return_norm = true;              // divide returns by max(1, EMA of the P95-P5 range)
  double return_norm_decay = 0.99;
  double slow_critic_decay = 0.98;  // EMA of the critic (slow critic)
  bool slow_target = true;  // λ-returns bootstrap from the slow critic (else the critic, as V3)
  double slow_reg = 0;      // weight of a loss pulling the critic toward the slow critic (V3: 1)
  std::string value_head = "mse";  // mse | twohot

  template <class V>
  void Visit(V& v) {
    v("horizon", horizon, config::AtLeast(1));
    v("units", units, config::AtLeast(1));
    v("layers", layers, config::AtLeast(1));
    v("layernorm", layernorm);
    v("actor_lr", actor_lr, config::Between(1e-9, 1));
    v("critic_lr", critic_lr, config::Between(1e-9, 1));
    v("eps", eps, config::Between(0, 1));
    v("grad_clip", grad_clip, config::AtLeast(0));
    v("gamma", gamma, config::Between(0, 1));
    v("lambda", lambda, config::Between(0, 1));
    v("entropy", entropy, config::AtLeast(0));
    v("min_std", min_std, config::Between(1e-6, 10));
    v("max_std", max_std, config::Between(1e-6, 10));
    v("actor_grad", actor_grad, config::OneOf({"dynamics", "reinforce"}));
    v("return_norm", return_norm);
    v("return_norm_decay", return_norm_decay, config::Between(0, 1));
    v("slow_critic_decay", slow_critic_decay, config::Between(0, 1));
    v("slow_target", slow_target);
    v("slow_reg", slow_reg, config::AtLeast(0));
    v("value_head", value_head, config::OneOf({"mse", "twohot"}));
  }
};

/// An imagined batch of N trajectories of H steps, time-major.
struct ImaginedTrajectory {
  torch::Tensor feat;    // [H+1,N,F] latent features, start first
  torch::Tensor reward;  // [H,N] predicted reward of step t (on arriving in feat[t+1])
  torch::Tensor cont;    // [H,N] predicted continue probability after step t
  torch::Tensor logp;    // [H,N] log-probability of the actor's action at step t
};

/// The actor's draw for a batch: action [N,A] in [-1,1] and its log-probability [N].
struct ActorSample {
  torch::Tensor act, logp;
};

struct ActorCriticStats {
  double actor_loss = 0, critic_loss = 0, entropy = 0, ret = 0, value = 0, return_scale = 0;
  ActorCriticStats& operator+=(const ActorCriticStats& o) {
    actor_loss += o.actor_loss, critic_loss += o.critic_loss, entropy += o.entropy;
    ret += o.ret, value += o.value, return_scale += o.return_scale;
    return *this;
  }
};

class ActorCriticImpl : public torch::nn::Module {
 public:
  ActorCriticImpl(int feat_dim, int act_dim, const ActorCriticConfig& cfg, torch::Device device);

  /// Sampled action with a graph to the actor's parameters: through the action itself for
  /// dynamics backprop; only through the log-probability for REINFORCE (action detached).
  ActorSample Sample(const torch::Tensor& feat, torch::Generator& gen);
  /// Mean action tanh(mu) [N,A] (evaluation).
  torch::Tensor Mode(const torch::Tensor& feat);
  /// One actor and critic step on imagined trajectories (feat carries the actor's graph for
  /// dynamics backprop).
  ActorCriticStats Update(const ImaginedTrajectory& traj);
  /// λ-returns [H,N] from rewards, continues [H,N] and values [H+1,N].
  static torch::Tensor LambdaReturns(const torch::Tensor& reward, const torch::Tensor& cont,
                                     const torch::Tensor& value, double gamma, double lambda);

  void SaveTo(torch::serialize::OutputArchive& ar) const;
  void LoadFrom(torch::serialize::InputArchive& ar);
  const ActorCriticConfig& config() const { return cfg_; }
  MlpNet actor() const { return actor_; }

 private:
  torch::Tensor Value(MlpNet& net, const torch::Tensor& feat);

  ActorCriticConfig cfg_;
  int act_dim_;
  MlpNet actor_{nullptr}, critic_{nullptr}, slow_{nullptr};
  std::unique_ptr<TwoHot> twohot_;
  torch::Tensor scale_;  // [1] EMA of the return range
  std::unique_ptr<torch::optim::Adam> actor_opt_, critic_opt_;
};
TORCH_MODULE(ActorCritic);

}  // namespace mbrl
