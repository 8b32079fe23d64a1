#include "agents/agent.h"
#include "agents/random_agent.h"
#include "mbrl/core/check.h"

namespace mbrl {

std::unique_ptr<Agent> MakeAgent(const RunConfig& cfg, const Env& env, torch::Device) {
  if (cfg.agent == "random") return std::make_unique<RandomAgent>(env.spec());
  throw Error("agent: unknown agent '" + cfg.agent + "'");
}

}  // namespace mbrl
