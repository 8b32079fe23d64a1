#pragma once
/// Environment seam: the Env interface and the task registry.
#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace mbrl {

struct EnvSpec {
  std::string name;
  int obs_dim = 0;
  int act_dim = 0;
  std::vector<float> act_low, act_high;  // [A]
  double dt = 0;                          // seconds per Step (timestep * frame_skip)
  int max_steps = 0;                      // truncation horizon
};

struct StepResult {
  torch::Tensor obs;  // [O] float32
  double reward = 0;
  bool terminated = false;  // MDP end (fall, failure)
  bool truncated = false;   // time limit
};

/// A continuous-control task. Besides stepping, each task gives its reward and termination as
/// batched torch functions so planners can score model rollouts with the true task definition.
class Env {
 public:
  virtual ~Env() = default;
  virtual const EnvSpec& spec() const = 0;
  /// Starts an episode; the reset noise is drawn from `seed` alone. Returns obs [O].
  virtual torch::Tensor Reset(uint64_t seed) = 0;
  /// Applies `action` [A] (clipped to bounds) for one control step.
  virtual StepResult Step(const torch::Tensor& action) = 0;
  /// Batched reward: obs [N,O], act [N,A], next_obs [N,O] -> [N] (float32).
  virtual torch::Tensor Reward(const torch::Tensor& obs, const torch::Tensor& act,
                               const torch::Tensor& next_obs) const = 0;
  /// Batched termination: next_obs [N,O] -> [N] bool.
  virtual torch::Tensor Terminated(const torch::Tensor& next_obs) const = 0;
};

struct EnvOptions {
  std::string xml;    // MJCF path replacing the built-in model ("" = built-in)
  int max_steps = 0;  // episode length (0 = task default)
  /// Prepends the forward velocity the reward uses to the observation (tasks whose reward is
  /// forward progress: the step's mean dx/dt; dmc_* tasks: the centre-of-mass x velocity after
  /// the step), so the batched reward is exact on predicted observations.
  bool velocity_obs = false;
};

/// Registered task names, sorted.
std::vector<std::string> EnvNames();
/// Builds a task. Unknown names and unsupported options throw mbrl::Error.
std::unique_ptr<Env> MakeEnv(const std::string& name, const EnvOptions& options = {});

}  // namespace mbrl
