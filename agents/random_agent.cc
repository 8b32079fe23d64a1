#include "agents/random_agent.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

namespace mbrl {

RandomAgent::RandomAgent(const EnvSpec& spec)
    : low_(torch::tensor(spec.act_low)),
      range_(torch::tensor(spec.act_high) - low_),
      gen_(at::detail::createCPUGenerator(0)) {}

void RandomAgent::BeginEpisode(uint64_t seed) { gen_.set_current_seed(seed); }

torch::Tensor RandomAgent::Act(const torch::Tensor&, bool) {
  return low_ + range_ * torch::rand(low_.sizes(), gen_);
}

}  // namespace mbrl
