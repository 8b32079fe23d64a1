#pragma once
#include "agents/agent.h"

namespace mbrl {

/// Uniform random actions within the task's bounds (the baseline every agent must beat).
struct RandomAgentConfig {
  template <class V>
  void Visit(V&) {}
};

/// Uniform random actions within the task's bounds.
class RandomAgent : public Agent {
 public:
  explicit RandomAgent(const EnvSpec& spec);
  void BeginEpisode(uint64_t seed) override;
  torch::Tensor Act(const torch::Tensor& obs, bool eval) override;

 private:
  torch::Tensor low_, range_;  // [A]
  torch::Generator gen_;
};

}  // namespace mbrl
