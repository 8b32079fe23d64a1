#include "mbrl/core/registry.h"

#include "agents/agent.h"
#include "mbrl/core/check.h"
#include "mbrl/core/runtime.h"

namespace mbrl {
namespace {

struct Entry {
  std::function<std::unique_ptr<AgentSection>()> section;
  AgentFactory make;
};

Registry<Entry>& Agents() {
  static Registry<Entry> agents("agent", "agent");  // filled by the agents' static registrars
  return agents;
}

}  // namespace

void RegisterAgent(const std::string& name, std::function<std::unique_ptr<AgentSection>()> section,
                   AgentFactory make) {
  Agents().Add(name, Entry{std::move(section), std::move(make)});
}

std::vector<std::string> AgentNames() { return Agents().Names(); }

std::unique_ptr<AgentSection> MakeAgentSection(const std::string& name) {
  return Agents().Find(name).section();
}

std::unique_ptr<Agent> MakeAgent(const RunConfig& cfg, const Env& env, torch::Device device) {
  return Agents().Find(cfg.agent).make(cfg.section(), cfg.threads, env, device,
                                       DeriveSeed(cfg.seed, 11));
}

}  // namespace mbrl
