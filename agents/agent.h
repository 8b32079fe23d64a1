#pragma once
/// What the run loop drives. Agents are short compositions of models, planners and learners.
#include <torch/serialize.h>
#include <torch/types.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agents/run_config.h"
#include "envs/env.h"
#include "mbrl/core/metrics.h"
#include "mbrl/core/runtime.h"
#include "mbrl/data/replay_buffer.h"
#include "mbrl/native/program.h"

namespace mbrl {

class Agent {
 public:
  virtual ~Agent() = default;
  /// Episode start; `seed` drives the agent's own randomness for the episode.
  virtual void BeginEpisode(uint64_t seed) = 0;
  /// obs [O] -> action [A] within the task's bounds; `eval` turns exploration off.
  virtual torch::Tensor Act(const torch::Tensor& obs, bool eval) = 0;
  /// After each agent step (training updates of off-policy learners).
  virtual void AfterStep(const ReplayBuffer&, int64_t /*env_step*/, Metrics*) {}
  /// After each training episode (model retraining).
  virtual void AfterEpisode(const ReplayBuffer&, int64_t /*env_step*/, Metrics*) {}
  /// Metric keys this agent reports (CSV columns).
  virtual std::vector<std::string> MetricNames() const { return {}; }
  virtual void Save(torch::serialize::OutputArchive&) const {}
  virtual void Load(torch::serialize::InputArchive&) {}
  /// The deterministic (eval) policy as a network, for `mbrl export`; none for planning agents.
  virtual std::optional<PolicyNet> Policy() const { return std::nullopt; }
  /// The eval policy as a program (obs[, state] -> action[, next state]), for agents whose
  /// policy is not a plain MLP of the observation (Dreamer's RSSM step, TD-MPC2's encoder + prior).
  virtual std::optional<PolicyProgram> Program() const { return std::nullopt; }
};

/// Builds the agent `cfg.agent` for `env`, with its section of `cfg`.
std::unique_ptr<Agent> MakeAgent(const RunConfig& cfg, const Env& env, torch::Device device);

using AgentFactory = std::function<std::unique_ptr<Agent>(
    const AgentSection&, const ThreadsConfig&, const Env&, torch::Device, uint64_t seed)>;
void RegisterAgent(const std::string& name, std::function<std::unique_ptr<AgentSection>()> section,
                   AgentFactory make);

/// The factory of an agent class constructed from (config, threads, env, device, seed).
template <class A, class Config>
std::unique_ptr<Agent> MakeAgentOf(const Config& cfg, const ThreadsConfig& threads, const Env& env,
                                   torch::Device device, uint64_t seed) {
  return std::make_unique<A>(cfg, threads, env, device, seed);
}

/// Registers an agent whose config struct is Config; an agent's own .cc holds one, e.g.
///   const AgentRegistrar<PetsConfig> kPets("pets", MakeAgentOf<PetsAgent, PetsConfig>);
/// The config appears under the agent's name ("pets": {...}) in run configs.
template <class Config>
struct AgentRegistrar {
  using Factory = std::unique_ptr<Agent> (*)(const Config&, const ThreadsConfig&, const Env&,
                                             torch::Device, uint64_t seed);
  AgentRegistrar(const std::string& name, Factory make) {
    RegisterAgent(
        name, [] { return std::make_unique<TypedSection<Config>>(); },
        [make](const AgentSection& s, const ThreadsConfig& threads, const Env& env,
               torch::Device device, uint64_t seed) {
          return make(static_cast<const TypedSection<Config>&>(s).cfg, threads, env, device, seed);
        });
  }
};

}  // namespace mbrl
