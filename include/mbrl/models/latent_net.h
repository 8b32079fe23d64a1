#pragma once
/// Building blocks of decoder-free latent models (TD-MPC2, the MuZero family): normed MLPs whose
/// weights carry a leading member dimension (one network, or an ensemble evaluated with one
/// batched matmul per layer), SimNorm latents, Mish activations.
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <vector>

namespace mbrl {

/// Simplicial normalisation (Lavoie et al. 2022): softmax over consecutive groups of `group`
/// entries of the last dimension [..,L] (L divisible by group).
torch::Tensor SimNorm(const torch::Tensor& x, int64_t group);

/// Mish (Misra 2019), x tanh(softplus(x)), equal to torch::mish to float rounding and faster
/// on CPU; differentiable.
torch::Tensor FastMish(const torch::Tensor& x);
/// mish(LayerNorm(h) * w + b) per member: h [E,N,U], w, b [E,1,U] (LayerNorm eps 1e-5, no
/// affine of its own). On CPU float one fused pass per row with its own backward; elsewhere the
/// unfused ops.
/// Inverted dropout (identity unless `train`); on CPU float its mask is hashed from a seed drawn
/// from torch's default generator, so the backward recomputes it instead of storing it.
torch::Tensor FastDropout(const torch::Tensor& x, double p, bool train);
torch::Tensor LayerNormMish(const torch::Tensor& h, const torch::Tensor& w, const torch::Tensor& b);

struct NormedMlpOptions {
  int64_t members = 1;    // E networks with separate weights
  int64_t units = 256;    // hidden width
  int layers = 2;         // hidden layers: Linear -> [Dropout] -> LayerNorm -> Mish
  double dropout = 0;     // on the first hidden layer, in training mode only
  int64_t simnorm = 0;    // > 0: the output is Linear -> LayerNorm -> SimNorm(group = simnorm)
  bool zero_out = false;  // output layer starts at zero (value and reward heads)
};

/// E MLPs held as weights [E,in,out]: x [N,in] (shared by all members) or [E,N,in] -> [E,N,out].
/// Weights start truncated-normal with std 0.02, biases at 0 (TD-MPC2's initialisation).
class NormedMlpImpl : public torch::nn::Module {
 public:
  NormedMlpImpl(int64_t in, int64_t out, const NormedMlpOptions& opt);
  torch::Tensor forward(const torch::Tensor& x);
  /// The members `index` (int64 [K]) only: x [N,in] or [K,N,in] -> [K,N,out].
  torch::Tensor Members(const torch::Tensor& x, const torch::Tensor& index);
  /// One network (E = 1) on x [..,in] -> [..,out].
  torch::Tensor Single(const torch::Tensor& x);
  /// Polyak update towards `src` (same shape): p <- (1 - tau) p + tau src.
  void LerpTowards(const NormedMlpImpl& src, double tau);
  const NormedMlpOptions& options() const { return opt_; }
  /// Layer weights [E,in,out], biases [E,1,out], LayerNorm scales and shifts [E,1,out] (layers
  /// with a norm only; the plain output layer has none), input layer first.
  std::vector<torch::Tensor> w, b, ln_w, ln_b;

 private:
  torch::Tensor Run(torch::Tensor h, const std::vector<torch::Tensor>& w,
                    const std::vector<torch::Tensor>& b, const std::vector<torch::Tensor>& ln_w,
                    const std::vector<torch::Tensor>& ln_b);
  NormedMlpOptions opt_;
};
TORCH_MODULE(NormedMlp);

}  // namespace mbrl
