#pragma once
/// Probabilistic ensemble: E Gaussian MLPs held as one module with weights [E,in,out], trained
/// with Gaussian NLL on state deltas (and optionally rewards), bootstrap, holdout early stopping.
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>
#include <torch/serialize/archive.h>
#include <torch/types.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "mbrl/config/config.h"
#include "mbrl/core/batch.h"
#include "mbrl/models/angle_features.h"

namespace mbrl {

struct EnsembleConfig {
  int members = 7;
  int elites = 5;
  int hidden = 200;
  int layers = 4;  // hidden layers
  double lr = 1e-3;
  // L2 decay per layer (input layer first, layers + 1 values) or one value for all layers
  std::vector<double> weight_decay = {5e-5};
  bool decay_biases = true;  // mbrl-lib decays biases too; the original PETS/MBPO code does not
  int batch_size = 256;
  int max_epochs = 100;  // per training call
  int patience = 5;      // epochs without a relative holdout improvement > `improvement`
  double improvement = 0.01;
  double holdout = 0.1;  // fraction of the data held out (at most max_holdout rows)
  int max_holdout = 5000;
  bool bootstrap = true;  // per-member resampling with replacement
  double min_logvar = -10.0;
  double max_logvar = 0.5;
  bool learn_logvar_bounds = false;  // bounds become parameters, with a 0.01 bound penalty
  bool learned_reward = false;       // predict the reward as an extra output
  std::vector<int> angle_dims;       // observation dims fed to the network as (sin, cos)

  /// Cross-field checks; `key` is the section's path (e.g. pets.model), `src` the config file.
  void Validate(const std::string& src, const std::string& key) const {
    MBRL_CHECK(elites <= members, src, ": ", key, ".elites (", elites, ") must be <= ", key,
               ".members (", members, ")");
    MBRL_CHECK(weight_decay.size() == 1 || weight_decay.size() == size_t(layers) + 1, src, ": ",
               key, ".weight_decay: expected 1 value or one per layer (", key,
               ".layers + 1 = ", layers + 1, "), got ", weight_decay.size());
  }
  template <class V>
  void Visit(V& v) {
    v("members", members, config::AtLeast(1));
    v("elites", elites, config::AtLeast(1));
    v("hidden", hidden, config::AtLeast(1));
    v("layers", layers, config::AtLeast(1));
    v("lr", lr, config::Between(1e-9, 1));
    v("weight_decay", weight_decay, config::AtLeast(0));
    v("decay_biases", decay_biases);
    v("batch_size", batch_size, config::AtLeast(1));
    v("max_epochs", max_epochs, config::AtLeast(1));
    v("patience", patience, config::AtLeast(1));
    v("improvement", improvement, config::AtLeast(0));
    v("holdout", holdout, config::Between(0, 0.9));
    v("max_holdout", max_holdout, config::AtLeast(0));
    v("bootstrap", bootstrap);
    v("min_logvar", min_logvar);
    v("max_logvar", max_logvar);
    v("learn_logvar_bounds", learn_logvar_bounds);
    v("learned_reward", learned_reward);
    v("angle_dims", angle_dims, config::AtLeast(0));
  }
};

/// Weights of a subset of members (e.g. the elites), gathered once for fast rollouts.
struct MemberWeights {
  std::vector<torch::Tensor> w, b;       // [K,in,out], [K,1,out]
  torch::Tensor min_logvar, max_logvar;  // [out]
  int64_t members() const { return w.front().size(0); }
};

class EnsembleImpl : public torch::nn::Module {
 public:
  EnsembleImpl(int obs_dim, int act_dim, const EnsembleConfig& cfg);

  /// Normalised network input from obs [..,O] and act [..,A] -> [..,in].
  torch::Tensor Inputs(const torch::Tensor& obs, const torch::Tensor& act) const;
  /// Unnormalised features (angles as sin/cos) [..,in].
  torch::Tensor Features(const torch::Tensor& obs, const torch::Tensor& act) const;
  /// Targets for a batch: next_obs - obs [N,O] (+ reward [N,1]).
  torch::Tensor Targets(const Batch& batch) const;
  /// x [K,N,in] through members -> mean, logvar [K,N,out].
  static std::pair<torch::Tensor, torch::Tensor> Forward(const MemberWeights& m,
                                                         const torch::Tensor& x);
  MemberWeights Members(const torch::Tensor& index = {}) const;  // all members when undefined

  int obs_dim() const { return obs_dim_; }
  int act_dim() const { return act_dim_; }
  int out_dim() const { return out_dim_; }
  const EnsembleConfig& config() const { return cfg_; }

  std::vector<torch::Tensor> w, b;
  torch::Tensor min_logvar, max_logvar;
  torch::Tensor in_mean, in_std;  // normaliser [in]
  torch::Tensor elites;           // int64 [K], best members by holdout MSE

 private:
  EnsembleConfig cfg_;
  int obs_dim_, act_dim_, in_dim_, out_dim_;
  AngleFeatures angles_;
};
TORCH_MODULE(Ensemble);

struct EnsembleTrainStats {
  double train_loss = 0;   // NLL of the last epoch
  double holdout_mse = 0;  // mean over elites at the restored best weights
  int epochs = 0;
};

/// Observes training: called per minibatch with its epoch and the rows each member fits on,
/// rows [E,B] (indices into the non-holdout rows).
using EnsembleBatchHook = std::function<void(int epoch, const torch::Tensor& rows)>;

/// Trains all members: one Adam step per call with hand-derived gradients into preallocated
/// buffers (no autograd graph, no allocation per step). On CPU the members are split into one
/// group per torch thread, each with its own matmuls; the split changes no member's arithmetic.
/// Same update as autograd + torch::optim::Adam (tested).
class EnsembleTrainer {
 public:
  EnsembleTrainer(Ensemble model, int64_t max_batch);
  ~EnsembleTrainer();
  EnsembleTrainer(const EnsembleTrainer&) = delete;
  EnsembleTrainer& operator=(const EnsembleTrainer&) = delete;

  /// One step on minibatch rows [E,B] (B <= max_batch) of normalised inputs x [N,in] and
  /// targets y [N,out]; the NLL summed over members accumulates on the device.
  void Step(const torch::Tensor& x, const torch::Tensor& y, const torch::Tensor& rows);
  /// Summed NLL since the last call (0-dim, on the device); resets it.
  torch::Tensor TakeLoss();
  /// Per-member MSE of the predicted mean on x [N,in], y [N,out] -> [E].
  torch::Tensor Mse(const torch::Tensor& x, const torch::Tensor& y) const;
  /// Adam moments and step count (checkpoints of agents that keep one trainer).
  void Save(torch::serialize::OutputArchive& ar) const;
  void Load(torch::serialize::InputArchive& ar);

 private:
  struct Slot;
  struct Group;
  Ensemble model_;
  int64_t max_batch_;
  std::vector<std::unique_ptr<Group>> groups_;
  std::vector<torch::Tensor> m_, v_;  // Adam moments of w0.., b0.. (and the bounds)
  std::vector<Slot> bounds_;          // learnable logvar bounds, shared by all members
  int64_t steps_ = 0;
};

/// Fits normaliser and weights on `data` (all of it; holdout split inside). Deterministic for gen.
/// `trainer` (built for this model with max_batch >= batch_size) keeps Adam's moments from one
/// call to the next, as the original MBPO and mbrl-lib do; without it each call starts fresh.
EnsembleTrainStats TrainEnsemble(Ensemble& model, const Batch& data, torch::Generator& gen,
                                 const EnsembleBatchHook& on_batch = nullptr,
                                 EnsembleTrainer* trainer = nullptr);

}  // namespace mbrl
