#pragma once
/// MLP blocks shared by world models and learners: Linear -> [LayerNorm] -> SiLU per hidden layer,
/// then a linear output layer.
#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <vector>

namespace mbrl {

class MlpNetImpl : public torch::nn::Module {
 public:
  /// `layers` hidden layers of `units`; out 0 = no output layer (returns the last hidden layer).
  MlpNetImpl(int64_t in, int64_t out, int64_t units, int layers, bool layernorm);
  torch::Tensor forward(const torch::Tensor& x);  // [..,in] -> [..,out]
  /// Scales the output layer's weights and zeroes its bias (e.g. 0 for zero-initialised heads).
  void ScaleOutput(double scale);

 private:
  torch::nn::Sequential net_;
  torch::nn::Linear out_{nullptr};
};
TORCH_MODULE(MlpNet);

/// Switches gradient tracking of a module's trainable parameters off for a scope (gradients flow
/// through it to its inputs) and back on at the scope's end, also when an exception leaves it.
class FrozenParameters {
 public:
  explicit FrozenParameters(const torch::nn::Module& m);
  ~FrozenParameters();
  FrozenParameters(const FrozenParameters&) = delete;
  FrozenParameters& operator=(const FrozenParameters&) = delete;

 private:
  std::vector<torch::Tensor> params_;
};

/// symlog(x) = sign(x) log(1 + |x|) and its inverse.
torch::Tensor Symlog(const torch::Tensor& x);
torch::Tensor Symexp(const torch::Tensor& x);

/// Two-hot encoding over fixed bins in symlog space (DreamerV3's reward and value heads).
class TwoHot {
 public:
  explicit TwoHot(int bins = 255, double low = -20, double high = 20);
  /// logits [..,bins] -> expected value in real space [..].
  torch::Tensor Mean(const torch::Tensor& logits) const;
  /// Cross-entropy of logits [..,bins] against two-hot(symlog(target)) [..] -> [..].
  torch::Tensor Loss(const torch::Tensor& logits, const torch::Tensor& target) const;
  int bins() const { return bins_; }

 private:
  int bins_;
  double low_, high_;
};

}  // namespace mbrl
