#include "mbrl/models/angle_features.h"

#include <torch/torch.h>

#include <algorithm>

#include "mbrl/core/check.h"

namespace mbrl {

AngleFeatures::AngleFeatures(int obs_dim, const std::vector<int>& angle_dims,
                             const std::string& key) {
  for (int d : angle_dims)
    MBRL_CHECK(d < obs_dim, key, ": ", d, " is not an observation dim (obs has ", obs_dim, ")");
  std::vector<int64_t> plain, angle;
  for (int d = 0; d < obs_dim; ++d) {
    const bool is_angle = std::find(angle_dims.begin(), angle_dims.end(), d) != angle_dims.end();
    (is_angle ? angle : plain).push_back(d);
  }
  plain_ = torch::tensor(plain, torch::kInt64);
  angle_ = torch::tensor(angle, torch::kInt64);
  out_dim_ = obs_dim + static_cast<int>(angle.size());
}

torch::Tensor AngleFeatures::operator()(const torch::Tensor& obs) const {
  if (empty()) return obs;
  auto th = obs.index_select(-1, angle_.to(obs.device()));
  return torch::cat({obs.index_select(-1, plain_.to(obs.device())), torch::sin(th), torch::cos(th)},
                    -1);
}

}  // namespace mbrl
