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

namespace {
const AgentRegistrar<RandomAgentConfig> kRegistered(
    "random",
    [](const RandomAgentConfig&, const ThreadsConfig&, const Env& env, torch::Device,
       uint64_t) -> std::unique_ptr<Agent> { return std::make_unique<RandomAgent>(env.spec()); });
}  // namespace

}  // namespace mbrl
