#pragma once
/// Soft actor-critic on Batches: squashed-Gaussian actor, twin Q critics held as one [2,in,out]
/// module with Polyak-averaged targets, automatic entropy tuning. Knows nothing of models.
#include <torch/nn/module.h>
#include <torch/optim/adam.h>
#include <torch/serialize/archive.h>
#include <torch/types.h>

#include <memory>
#include <vector>

#include "mbrl/config/config.h"
#include "mbrl/core/batch.h"
#include "mbrl/native/policy.h"

namespace mbrl {

struct SacConfig {
  int hidden = 256;
  int layers = 2;
  double actor_lr = 3e-4;
  double critic_lr = 3e-4;
  double alpha_lr = 3e-4;
  double gamma = 0.99;
  double tau = 0.005;  // Polyak step of the target critics
  int batch_size = 256;
  double target_entropy = 0;  // 0 = -act_dim (the SAC default)
  bool learn_alpha = true;
  double init_alpha = 1.0;
  double critic_grad_clip = 0;  // max global grad norm of the critics (0 = off)

  template <class V>
  void Visit(V& v) {
    v("hidden", hidden, config::AtLeast(1));
    v("layers", layers, config::AtLeast(1));
    v("actor_lr", actor_lr, config::Between(0, 1));
    v("critic_lr", critic_lr, config::Between(0, 1));
    v("alpha_lr", alpha_lr, config::Between(0, 1));
    v("gamma", gamma, config::Between(0, 1));
    v("tau", tau, config::Between(0, 1));
    v("batch_size", batch_size, config::AtLeast(1));
    v("target_entropy", target_entropy);
    v("learn_alpha", learn_alpha);
    v("init_alpha", init_alpha, config::Between(1e-8, 1e8));
    v("critic_grad_clip", critic_grad_clip, config::AtLeast(0));
  }
};

/// Plain MLP of weight tensors: [in,out] (or [K,in,out] for K stacked nets), ReLU between.
struct Mlp {
  std::vector<torch::Tensor> w, b;
  // [B,in] -> [B,out] or [K,B,in] -> [K,B,out]
  torch::Tensor Forward(const torch::Tensor& x) const;
};

class SacImpl : public torch::nn::Module {
 public:
  /// Actions in [low, high] per dim; internally the policy lives in [-1, 1].
  SacImpl(int obs_dim, int act_dim, std::vector<float> low, std::vector<float> high,
          const SacConfig& cfg, torch::Device device);
  ~SacImpl() override;

  /// obs [B,O] -> actions [B,A] in bounds; stochastic unless `deterministic`.
  torch::Tensor Act(const torch::Tensor& obs, bool deterministic, torch::Generator& gen);
  /// One update: critics, actor, temperature, Polyak. Actions in env bounds.
  void Update(const Batch& batch, torch::Generator& gen);
  /// The gradients of one update into the actor's and critics' .grad(), with the policy noise
  /// eps [2,B,A] (for s' and for s); computed by hand, no autograd graph. Update = this + steps.
  void Gradients(const Batch& batch, const torch::Tensor& eps);

  /// Means since the last call: critic_loss, actor_loss, alpha, entropy, q; resets the sums.
  std::vector<std::pair<std::string, double>> TakeStats();
  /// Throws NonFiniteError if a loss or statistic of the updates since TakeStats is NaN/Inf (one
  /// host sync: call it after a phase of updates, not after each).
  void CheckFiniteStats() const;
  int64_t updates() const { return updates_; }
  /// Checkpoint entries "sac" (weights, targets, temperature) and "sac_optimizers" (moments).
  void SaveTo(torch::serialize::OutputArchive& ar) const;
  void LoadFrom(torch::serialize::InputArchive& ar);
  const Mlp& actor() const { return actor_; }
  /// Deterministic action as in Act, for exporters and tests: obs [B,O] -> [B,A].
  torch::Tensor Deterministic(const torch::Tensor& obs) const;
  /// The deterministic policy as a deployable network (what `mbrl export` writes).
  PolicyNet Policy() const;

 private:
  SacConfig cfg_;
  int act_dim_;
  double target_entropy_;
  torch::Device device_;
  torch::Tensor scale_, shift_;  // env action = scale * a + shift
  Mlp actor_, critic_, target_;  // critic/target weights [2,in,out]
  torch::Tensor log_alpha_;
  std::unique_ptr<torch::optim::Adam> actor_opt_, critic_opt_, alpha_opt_;
  torch::Tensor sums_;  // [5] running sums of the stats
  struct Work;
  std::unique_ptr<Work> work_;
  int64_t updates_ = 0, since_ = 0;
};
TORCH_MODULE(Sac);

}  // namespace mbrl
