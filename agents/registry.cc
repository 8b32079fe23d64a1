#include <map>

#include "agents/agent.h"
#include "mbrl/core/check.h"
#include "mbrl/core/runtime.h"

namespace mbrl {
namespace {

struct Entry {
  std::function<std::unique_ptr<AgentSection>()> section;
  AgentFactory make;
};

std::map<std::string, Entry>& Table() {
  static std::map<std::string, Entry> table;  // filled by the agents' static registrars
  return table;
}

const Entry& Find(const std::string& name) {
  auto it = Table().find(name);
  if (it == Table().end()) {
    std::string all;
    for (const auto& n : AgentNames()) all += (all.empty() ? "" : ", ") + n;
    throw Error("agent: unknown agent '" + name + "' (known: " + all + ")");
  }
  return it->second;
}

}  // namespace

void RegisterAgent(const std::string& name, std::function<std::unique_ptr<AgentSection>()> section,
                   AgentFactory make) {
  const bool added = Table().emplace(name, Entry{std::move(section), std::move(make)}).second;
  MBRL_CHECK(added, "agent '", name, "' registered twice");
}

std::vector<std::string> AgentNames() {
  std::vector<std::string> names;
  for (const auto& [name, e] : Table()) names.push_back(name);
  return names;
}

std::unique_ptr<AgentSection> MakeAgentSection(const std::string& name) {
  return Find(name).section();
}

std::unique_ptr<Agent> MakeAgent(const RunConfig& cfg, const Env& env, torch::Device device) {
  return Find(cfg.agent).make(cfg.section(), cfg.threads, env, device, DeriveSeed(cfg.seed, 11));
}

}  // namespace mbrl
