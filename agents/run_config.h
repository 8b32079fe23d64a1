#pragma once
/// The typed configuration of a training run. Defaults live here; configs/*.json hold differences.
#include <cstdint>
#include <string>

#include "agents/dreamer.h"
#include "agents/mbpo.h"
#include "agents/pets.h"
#include "mbrl/config/config.h"
#include "mbrl/core/runtime.h"

namespace mbrl {

using config::AtLeast;
using config::Between;
using config::OneOf;

struct EnvConfig {
  std::string name = "cartpole_swingup";
  std::string xml;    // MJCF path replacing the built-in model ("" = built-in)
  int max_steps = 0;  // episode length override (0 = task default)
  // bool velocity_obs: see EnvOptions (prepend dx/dt for an exact batched reward)
  int action_repeat = 1;  // env steps per agent step
  bool velocity_obs = false;
  template <class V>
  void Visit(V& v) {
    v("name", name);
    v("xml", xml);
    v("max_steps", max_steps, AtLeast(0));
    v("action_repeat", action_repeat, AtLeast(1));
    v("velocity_obs", velocity_obs);
  }
};

/// Uniform random actions (the baseline every agent must beat).
struct RandomAgentConfig {
  template <class V>
  void Visit(V&) {}
};

struct PhaseThreadsConfig : PhaseThreads {
  template <class V>
  void Visit(V& v) {
    v("torch", torch, Between(1, 256));
    v("blas", blas, Between(0, 256));  // 0 = leave OpenBLAS as is
  }
};

/// Thread pools per phase. Measured on 2 cores (docs/results.md): planning is fastest with the
/// rollout split over torch's threads and 1 OpenBLAS thread; ensemble training with its members
/// split over torch's 2 threads and 1 OpenBLAS thread; actor-critic updates (batch 256, 256 wide)
/// run their critic and actor branches on torch's 2 threads with 1 OpenBLAS thread. The RSSM's
/// world-model step (one autograd graph) is faster on torch 1 / OpenBLAS 2: its configs say so.
struct ThreadsConfig {
  PhaseThreadsConfig plan{{2, 1}}, train{{2, 1}}, update{{2, 1}};
  template <class V>
  void Visit(V& v) {
    v("plan", plan);
    v("train", train);
    v("update", update);
  }
};

struct RunConfig {
  std::string agent = "random";
  int seed = 0;
  std::string device = "auto";
  ThreadsConfig threads;
  EnvConfig env;
  int64_t total_env_steps = 10000;
  int64_t buffer_capacity = 1000000;
  int eval_every = 0;  // training episodes between evaluations (0 = none)
  int eval_episodes = 1;
  int checkpoint_every = 1;  // training episodes between checkpoints
  std::string runs_dir = "runs";
  bool progress = true;
  RandomAgentConfig random;
  PetsConfig pets;
  MbpoConfig mbpo;
  SacAgentConfig sac;
  DreamerConfig dreamer;
  PlanetConfig planet;

  template <class V>
  void Visit(V& v) {
    v("agent", agent, OneOf({"random", "pets", "mbpo", "sac", "dreamer", "planet"}));
    v("seed", seed, AtLeast(0));
    v("device", device, OneOf({"auto", "cpu", "cuda"}));
    v("threads", threads);
    v("env", env);
    v("total_env_steps", total_env_steps, AtLeast(1));
    v("buffer_capacity", buffer_capacity, AtLeast(1));
    v("eval_every", eval_every, AtLeast(0));
    v("eval_episodes", eval_episodes, AtLeast(1));
    v("checkpoint_every", checkpoint_every, AtLeast(1));
    v("runs_dir", runs_dir);
    v("progress", progress);
    // only the chosen agent's section is a valid key
    if (agent == "random") v("random", random);
    if (agent == "pets") v("pets", pets);
    if (agent == "mbpo") v("mbpo", mbpo);
    if (agent == "sac") v("sac", sac);
    if (agent == "dreamer") v("dreamer", dreamer);
    if (agent == "planet") v("planet", planet);
  }
};

/// Loads files (layered) + overrides; the task name is checked against the registry.
RunConfig LoadRunConfig(const std::vector<std::string>& files,
                        const std::vector<std::string>& overrides, config::Json* resolved);

}  // namespace mbrl
