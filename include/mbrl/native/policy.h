#pragma once
/// A deployable policy without LibTorch: an MLP whose last layer goes through tanh and an affine
/// map into the action bounds. Eigen and the standard library only; the file format is in
/// docs/formats.md ("Native policy").
#include <Eigen/Core>
#include <string>
#include <vector>

namespace mbrl {

using RowMatrixXf = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

struct PolicyNet {
  enum class Activation { kRelu, kSilu, kTanh };
  int obs_dim = 0, act_dim = 0;
  Activation activation = Activation::kRelu;  // between layers, not after the last one
  std::vector<RowMatrixXf> w;                 // layer l: y = w[l] x + b[l], w[l] [out,in]
  std::vector<Eigen::VectorXf> b;             // [out]
  Eigen::VectorXf act_scale, act_shift;       // action = scale * tanh(last layer) + shift, [A]

  /// Throws std::runtime_error naming `what` when shapes do not chain or values are not finite.
  void Validate(const std::string& what) const;
};

const char* ActivationName(PolicyNet::Activation a);

/// Writes `net` to `path` (temporary file + rename, so a reader never sees half a file).
void SavePolicy(const PolicyNet& net, const std::string& path);
/// Reads and validates a policy file; errors name the file and what is wrong.
PolicyNet LoadPolicy(const std::string& path);

/// Computes deterministic actions with preallocated scratch; one instance per thread.
class NativePolicy {
 public:
  explicit NativePolicy(PolicyNet net);
  static NativePolicy Load(const std::string& path) { return NativePolicy(LoadPolicy(path)); }

  /// obs [O] -> action [A]; allocates nothing.
  void Act(const float* obs, float* action);
  /// obs [B,O] -> actions [B,A].
  RowMatrixXf ActBatch(const RowMatrixXf& obs);

  const PolicyNet& net() const { return net_; }

 private:
  PolicyNet net_;
  std::vector<Eigen::VectorXf> h_;  // per-layer outputs
};

}  // namespace mbrl
