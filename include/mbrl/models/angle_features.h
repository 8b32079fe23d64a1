#pragma once
/// Angle observations as network features: the columns listed in `angle_dims` are replaced by
/// their sine and cosine, so a model sees a periodic angle as a bounded, continuous input.
#include <torch/types.h>

#include <string>
#include <vector>

namespace mbrl {

class AngleFeatures {
 public:
  AngleFeatures() = default;
  /// `key` names the config entry in errors (e.g. "model.angle_dims").
  AngleFeatures(int obs_dim, const std::vector<int>& angle_dims, const std::string& key);

  /// obs [..,O] -> [..,O+K]: the plain columns, then sin and cos of the K angle columns.
  torch::Tensor operator()(const torch::Tensor& obs) const;
  int out_dim() const { return out_dim_; }
  bool empty() const { return angle_.numel() == 0; }

 private:
  torch::Tensor plain_, angle_;  // int64 column indices
  int out_dim_ = 0;
};

}  // namespace mbrl
