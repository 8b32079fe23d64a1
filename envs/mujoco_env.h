#pragma once
/// MuJoCo base for tasks: owns mjModel/mjData, frame skip, seeded reset noise, action clipping,
/// truncation. Tasks implement the observation, reward, termination and reset noise.
#include <mujoco/mujoco.h>

#include <map>
#include <random>
#include <string>
#include <vector>

#include "envs/env.h"

namespace mbrl {

/// The embedded MJCF text of `file` (e.g. "hopper.xml"), built from envs/*/*.xml.
const std::map<std::string, std::string>& EmbeddedMjcf();

/// The physics state of a MuJoCo task: what a recorded state replays from.
struct PhysicsState {
  std::vector<double> qpos, qvel, act;  // [nq], [nv], [na]
  std::vector<double> qacc_warmstart;   // [nv]: the solver's warm start (matters in contact)
  double time = 0;
  std::vector<double> task;  // model fields the task drew at reset (dmc_reacher's target)
  std::string rng;           // the task's RNG (std::mt19937_64 as text); empty: left as it is
};

class MujocoEnv : public Env {
 public:
  ~MujocoEnv() override;
  MujocoEnv(const MujocoEnv&) = delete;
  MujocoEnv& operator=(const MujocoEnv&) = delete;

  const EnvSpec& spec() const override { return spec_; }
  torch::Tensor Reset(uint64_t seed) override;
  StepResult Step(const torch::Tensor& action) override;

  const mjModel* model() const { return m_; }
  mjData* data() const { return d_; }
  int frame_skip() const { return frame_skip_; }
  /// The options the task was made with: MakeEnv(spec().name, options()) makes a twin.
  const EnvOptions& options() const { return options_; }
  PhysicsState GetState() const;
  /// Sets the state (sizes checked), then mj_forward; the episode's step count restarts at 0.
  /// Returns the observation [O] of the state.
  torch::Tensor SetState(const PhysicsState& state);
  /// Number of MuJoCo warnings raised since the model was loaded (0 on a healthy task).
  int WarningCount() const;

 protected:
  /// Loads options.xml if non-empty, else the embedded `builtin_xml`. `obs_dim` is the task's
  /// own observation size; velocity_obs adds one leading entry where `velocity_reward` is true.
  MujocoEnv(std::string name, const std::string& builtin_xml, const EnvOptions& options,
            int frame_skip, int default_max_steps, int obs_dim, bool velocity_reward);

  /// Adds the task's reset noise to qpos/qvel (already at qpos0 / 0) using rng().
  virtual void ResetModel() = 0;
  /// Writes the observation [O] into `out`.
  virtual void Observe(float* out) const = 0;
  /// Reward and termination of the step just taken. `x_before` is qpos[0] before the step.
  virtual double StepReward(const float* act, double x_before, bool* terminated) const = 0;
  /// The forward velocity that velocity_obs prepends, after a step (and after Reset, with
  /// x_before = qpos[0]). Default: the step's mean dx/dt of qpos[0].
  virtual double ForwardVelocity(double x_before) const;

  std::mt19937_64& rng() { return rng_; }
  double Uniform(double a) { return std::uniform_real_distribution<double>(-a, a)(rng_); }
  double Normal(double s) { return std::normal_distribution<double>(0.0, s)(rng_); }

  /// Index offset of the task's own observation (1 with velocity_obs).
  int off() const { return velocity_obs_ ? 1 : 0; }

  /// Calls mj_rnePostConstraint after stepping (tasks that observe cfrc_ext).
  bool need_rne_post_ = false;
  /// Calls mj_step1 after the frame_skip mj_steps (dm_control's step), so positions, site/geom
  /// poses and position/velocity sensors match the new qpos/qvel; touch keeps the last substep's.
  bool finish_with_step1_ = false;

  /// For tasks that set model fields at reset (e.g. a target's geom_pos).
  mjModel* mutable_model() { return m_; }
  /// The model fields such a task drew (PhysicsState::task), and setting them back.
  virtual std::vector<double> TaskFields() const { return {}; }
  virtual void SetTaskFields(const std::vector<double>&) {}

 private:
  torch::Tensor MakeObs() const;

  EnvSpec spec_;
  EnvOptions options_;
  mjModel* m_ = nullptr;
  mjData* d_ = nullptr;
  int frame_skip_;
  bool velocity_obs_;
  double velocity_ = 0;  // dx/dt of the last step
  int steps_ = 0;
  std::mt19937_64 rng_;
  std::vector<float> act_;
};

}  // namespace mbrl
