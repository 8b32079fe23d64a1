#pragma once
/// Environment seam: the Env interface and the task registry.
#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace mbrl {

struct EnvSpec {
  std::string name;
  int obs_dim = 0;
  int act_dim = 0;
  std::vector<float> act_low, act_high;  // [A]
  double dt = 0;                         // seconds per Step (timestep * frame_skip)
  int max_steps = 0;                     // truncation horizon
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

/// The reference a task reproduces, where one exists (docs/tasks.md).
struct TaskTwin {
  std::string gymnasium_id;                // e.g. "Hopper-v5"
  std::string entry_point;                 // gymnasium.envs.mujoco.hopper_v5:HopperEnv
  std::optional<double> reward_threshold;  // as Gymnasium registers it
  std::string dm_control;                  // domain/task, e.g. "walker/walk"

  static TaskTwin Gymnasium(std::string id, std::string entry_point,
                            std::optional<double> reward_threshold) {
    return {std::move(id), std::move(entry_point), reward_threshold, ""};
  }
  static TaskTwin DmControl(std::string domain_task) {
    return {"", "", std::nullopt, std::move(domain_task)};
  }
};

using TaskFactory = std::unique_ptr<Env> (*)(const EnvOptions&);

/// Registers a task; a task's own file holds one static registrar per task:
///   const TaskRegistrar kHopper("hopper", MakeHopper, TaskTwin::Gymnasium(...));
struct TaskRegistrar {
  TaskRegistrar(const std::string& name, TaskFactory factory, TaskTwin twin = {});
};

/// Registered task names, sorted.
std::vector<std::string> EnvNames();
/// Builds a task. Unknown names and unsupported options throw mbrl::Error.
std::unique_ptr<Env> MakeEnv(const std::string& name, const EnvOptions& options = {});
/// The task's twin (empty fields when it has none). Unknown names throw mbrl::Error.
const TaskTwin& FindTaskTwin(const std::string& name);
/// Gymnasium's EnvSpec.to_json() of the twin with `max_steps` (what Minari stores as env_spec).
std::string GymnasiumSpecJson(const TaskTwin& twin, int max_steps);

}  // namespace mbrl
