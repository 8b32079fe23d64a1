#pragma once
/// The true model: a twin of a run's MuJoCo task, set to recorded states and stepped, as the
/// StepModel of a tree search and as the Objective of a planner (the mcts, mpc and alphazero
/// agents). The run's own env is only read.
#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <string>

#include "envs/mujoco_env.h"
#include "mbrl/core/metrics.h"
#include "mbrl/planners/planner.h"
#include "mbrl/search/search.h"

namespace mbrl {

/// A PhysicsState as one float64 row [qpos, qvel, act, qacc_warmstart, time, task].
class StateCodec {
 public:
  explicit StateCodec(const MujocoEnv& env);
  int64_t size() const { return nq_ + 2 * nv_ + na_ + 1 + nt_; }
  torch::Tensor Pack(const PhysicsState& s) const;  // [S] float64
  PhysicsState Unpack(const double* row) const;

 private:
  int nq_, nv_, na_, nt_;
};

/// `env` as a MuJoCo task; `who` names the agent in the error when it is not one.
const MujocoEnv& AsMujoco(const Env& env, const std::string& who);
/// A twin of the MuJoCo task `env` (same task and options).
std::unique_ptr<MujocoEnv> MakeTwin(const Env& env, const std::string& who);

/// The twin as a StepModel: each row is set and stepped with its action held for `repeat` env
/// steps (rewards summed; done when a step terminates). Counts every env step it simulates.
class Simulator : public StepModel {
 public:
  Simulator(std::unique_ptr<MujocoEnv> twin, int repeat);
  const StateCodec& codec() const { return codec_; }
  MujocoEnv& env() { return *twin_; }
  /// The state row [S] of `env` (the run's env, read only).
  torch::Tensor StateOf(const MujocoEnv& env) const { return codec_.Pack(env.GetState()); }

  Out Step(const torch::Tensor& states, const torch::Tensor& actions) override;
  /// Observations [N,O] of states [N,S].
  torch::Tensor Observe(const torch::Tensor& states);
  /// The discounted return of actions [T,A] from state `row` (stops at termination).
  double Rollout(const double* row, const torch::Tensor& actions, double discount);
  /// Planner objective from state [S]: the return of each sequence [N,H,A] (stops at
  /// termination), discounted per step.
  Objective ReturnObjective(const torch::Tensor& state, double discount);

  int64_t steps() const { return steps_; }
  /// An agent step (action) taken; Report sets kMetric, the env steps simulated per action since
  /// the last report.
  void CountAction() { ++actions_; }
  void Report(Metrics* m);
  static constexpr const char* kMetric = "sim_steps_per_action";

 private:
  std::unique_ptr<MujocoEnv> twin_;
  StateCodec codec_;
  int repeat_;
  int64_t steps_ = 0, actions_ = 0, reported_ = 0;
};

}  // namespace mbrl
