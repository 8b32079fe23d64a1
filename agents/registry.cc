#include "agents/agent.h"
#include "agents/random_agent.h"
#include "mbrl/core/check.h"
#include "mbrl/core/runtime.h"

namespace mbrl {

std::unique_ptr<Agent> MakePetsAgent(const PetsConfig& cfg, const ThreadsConfig& threads,
                                     const Env& env, torch::Device device, uint64_t seed);

std::unique_ptr<Agent> MakeMbpoAgent(const MbpoConfig& cfg, const ThreadsConfig& threads,
                                     const Env& env, torch::Device device, uint64_t seed);

std::unique_ptr<Agent> MakeSacAgent(const SacAgentConfig& cfg, const ThreadsConfig& threads,
                                    const Env& env, torch::Device device, uint64_t seed);

std::unique_ptr<Agent> MakeDreamerAgent(const DreamerConfig& cfg, const ThreadsConfig& threads,
                                        const Env& env, torch::Device device, uint64_t seed);

std::unique_ptr<Agent> MakePlanetAgent(const PlanetConfig& cfg, const ThreadsConfig& threads,
                                       const Env& env, torch::Device device, uint64_t seed);

std::unique_ptr<Agent> MakeAgent(const RunConfig& cfg, const Env& env, torch::Device device) {
  if (cfg.agent == "random") return std::make_unique<RandomAgent>(env.spec());
  if (cfg.agent == "pets") return MakePetsAgent(cfg.pets, cfg.threads, env, device, DeriveSeed(cfg.seed, 11));
  if (cfg.agent == "mbpo") return MakeMbpoAgent(cfg.mbpo, cfg.threads, env, device, DeriveSeed(cfg.seed, 11));
  if (cfg.agent == "sac") return MakeSacAgent(cfg.sac, cfg.threads, env, device, DeriveSeed(cfg.seed, 11));
  if (cfg.agent == "dreamer")
    return MakeDreamerAgent(cfg.dreamer, cfg.threads, env, device, DeriveSeed(cfg.seed, 11));
  if (cfg.agent == "planet")
    return MakePlanetAgent(cfg.planet, cfg.threads, env, device, DeriveSeed(cfg.seed, 11));
  throw Error("agent: unknown agent '" + cfg.agent + "'");
}

}  // namespace mbrl
