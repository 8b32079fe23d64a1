#pragma once
/// TD-MPC2's implicit world model (Hansen et al. 2024): encoder and latent dynamics with SimNorm
/// latents, a two-hot reward head, an ensemble of two-hot Q heads with an EMA target, and a
/// squashed-Gaussian policy prior; trained on short sequences by latent consistency, reward and TD
/// losses weighted rho^t, the prior by the scaled Q ensemble plus entropy. No decoder.
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>
#include <torch/optim/adam.h>
#include <torch/serialize/archive.h>
#include <torch/types.h>

#include <memory>
#include <string>
#include <vector>

#include "mbrl/config/config.h"
#include "mbrl/core/batch.h"
#include "mbrl/core/check.h"
#include "mbrl/core/mlp.h"
#include "mbrl/models/latent_net.h"
#include "mbrl/planners/planner.h"

namespace mbrl {

struct TdMpc2Config {
  // architecture (TD-MPC2's 5M default is latent 512, units 512, enc_units 256; the 2-core
  // default here is smaller, docs/results.md says why)
  int latent = 128;
  int units = 256;      // hidden width of dynamics, reward, Q and policy
  int enc_units = 256;  // encoder hidden width
  int enc_layers = 1;   // encoder hidden layers
  int simnorm = 8;      // SimNorm group size
  int num_q = 5;
  double dropout = 0.01;  // Q heads, first layer
  int bins = 101;         // two-hot bins over symlog [vmin, vmax]
  double vmin = -10, vmax = 10;
  double log_std_min = -10, log_std_max = 2;
  double entropy_coef = 1e-4;
  // losses
  int horizon = 3;  // unrolled steps per training sequence
  double rho = 0.5;
  double consistency_coef = 20, reward_coef = 0.1, value_coef = 0.1;
  double scale_tau = 0.01;  // EMA of the 5-95 % range of Q that scales the policy loss
  // optimisation
  double lr = 3e-4;
  double enc_lr_scale = 0.3;
  double grad_clip = 20;
  double tau = 0.01;  // target Q Polyak rate
  int batch_size = 256;

  void Validate(const std::string& src, const std::string& key) const {
    MBRL_CHECK(num_q >= 2, src, ": ", key, ".num_q: the Q ensemble needs at least 2 heads, got ",
               num_q);
    MBRL_CHECK(latent % simnorm == 0, src, ": ", key, ".latent (", latent,
               ") must be a multiple of ", key, ".simnorm (", simnorm, ")");
    MBRL_CHECK(vmin < vmax, src, ": ", key, ".vmin must be < ", key, ".vmax");
  }
  template <class V>
  void Visit(V& v) {
    v("latent", latent, config::AtLeast(2));
    v("units", units, config::AtLeast(1));
    v("enc_units", enc_units, config::AtLeast(1));
    v("enc_layers", enc_layers, config::AtLeast(0));
    v("simnorm", simnorm, config::AtLeast(1));
    v("num_q", num_q, config::AtLeast(0));
    v("dropout", dropout, config::Between(0, 0.9));
    v("bins", bins, config::AtLeast(2));
    v("vmin", vmin);
    v("vmax", vmax);
    v("log_std_min", log_std_min);
    v("log_std_max", log_std_max);
    v("entropy_coef", entropy_coef, config::AtLeast(0));
    v("horizon", horizon, config::AtLeast(1));
    v("rho", rho, config::Between(0, 1));
    v("consistency_coef", consistency_coef, config::AtLeast(0));
    v("reward_coef", reward_coef, config::AtLeast(0));
    v("value_coef", value_coef, config::AtLeast(0));
    v("scale_tau", scale_tau, config::Between(0, 1));
    v("lr", lr, config::Between(1e-9, 1));
    v("enc_lr_scale", enc_lr_scale, config::Between(0, 10));
    v("grad_clip", grad_clip, config::AtLeast(0));
    v("tau", tau, config::Between(0, 1));
    v("batch_size", batch_size, config::AtLeast(1));
  }
};

/// Policy prior output on latents [..,L]: tanh(mean), a reparameterised sample in (-1,1) and its
/// log-likelihood [..] (summed over the action dims, with the tanh correction).
struct PriorSample {
  torch::Tensor mean, action, logp;
};

/// Means of one update's losses.
struct TdMpc2Stats {
  double consistency = 0, reward = 0, value = 0, pi = 0, entropy = 0, scale = 0, grad_norm = 0;
  TdMpc2Stats& operator+=(const TdMpc2Stats& o);
};

class TdMpc2Impl : public torch::nn::Module {
 public:
  /// `discount` per agent step (TD-MPC2 derives it from the episode length).
  TdMpc2Impl(int obs_dim, int act_dim, const TdMpc2Config& cfg, double discount);

  torch::Tensor Encode(const torch::Tensor& obs);                           // [..,O] -> [..,L]
  torch::Tensor Next(const torch::Tensor& z, const torch::Tensor& a);       // -> [..,L]
  torch::Tensor Reward(const torch::Tensor& z, const torch::Tensor& a);     // expected [..]
  PriorSample Pi(const torch::Tensor& z, torch::Generator& gen);
  /// Q logits of every head: z [N,L], a [N,A] -> [E,N,bins] (target: the EMA copy).
  torch::Tensor QLogits(const torch::Tensor& z, const torch::Tensor& a, bool target = false);
  /// Mean ("avg") or minimum ("min") of two heads drawn from gen, in real space [N].
  torch::Tensor QPair(const torch::Tensor& z, const torch::Tensor& a, bool min, bool target,
                      torch::Generator& gen);

  /// Planning value of action sequences [N,H,A] from one latent z [1,L]: discounted predicted
  /// rewards plus the discounted Q (two heads averaged) of the prior's action at the end -> [N].
  torch::Tensor Value(const torch::Tensor& z, const torch::Tensor& actions, torch::Generator& gen);
  /// `n` sequences [n,H,A] rolled out from z [1,L] with sampled prior actions (planner proposals).
  torch::Tensor Proposals(const torch::Tensor& z, int64_t n, int horizon, torch::Generator& gen);

  /// One update on time-major sequences: obs [T+1,B,O], act [T,B,A] in [-1,1], reward [T,B],
  /// terminated [T,B], mask [T,B] (1 = real step), T = cfg.horizon. Model step, then prior step,
  /// then the target Q's Polyak step.
  TdMpc2Stats Update(const torch::Tensor& obs, const torch::Tensor& act, const torch::Tensor& reward,
                     const torch::Tensor& terminated, const torch::Tensor& mask,
                     torch::Generator& gen);

  /// Checkpoint entries "tdmpc2", "tdmpc2_opt", "tdmpc2_pi_opt", "tdmpc2_scale".
  void SaveTo(torch::serialize::OutputArchive& ar) const;
  void LoadFrom(torch::serialize::InputArchive& ar);
  const TdMpc2Config& config() const { return cfg_; }
  double discount() const { return discount_; }
  NormedMlp encoder() const { return encoder_; }
  NormedMlp dynamics() const { return dynamics_; }
  NormedMlp reward_net() const { return reward_; }
  NormedMlp pi_net() const { return pi_; }
  NormedMlp q_net() const { return q_; }

 private:
  torch::Tensor PiLoss(const torch::Tensor& zs, torch::Generator& gen, TdMpc2Stats* stats);

  TdMpc2Config cfg_;
  int act_dim_;
  double discount_;
  NormedMlp encoder_{nullptr}, dynamics_{nullptr}, reward_{nullptr}, pi_{nullptr}, q_{nullptr},
      q_target_{nullptr};
  TwoHot twohot_;
  std::vector<torch::Tensor> model_params_;  // what opt_ steps: all but the prior and target
  torch::Tensor scale_;  // running 5-95 % range of Q [1]
  std::unique_ptr<torch::optim::Adam> opt_, pi_opt_;
};
TORCH_MODULE(TdMpc2);

/// The planner's objective: TdMpc2Impl::Value from latent z [1,L].
Objective MakeObjective(TdMpc2 model, const torch::Tensor& z, torch::Generator gen);

}  // namespace mbrl
