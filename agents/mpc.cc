// MPC on the true model: each plan simulates the planner's candidate sequences in a twin of the
// run's env, from the env's current state.
#include "agents/mpc.h"

#include <torch/torch.h>

#include "agents/agent.h"
#include "agents/simulator.h"
#include "mbrl/core/runtime.h"

namespace mbrl {
namespace {

class MpcAgent : public Agent {
 public:
  MpcAgent(const MpcConfig& cfg, const ThreadsConfig& threads, const Env& env, torch::Device device,
           uint64_t seed)
      : cfg_(cfg),
        threads_(threads),
        env_(AsMujoco(env, "mpc")),
        sim_(MakeTwin(env, "mpc"), 1),
        planner_(MakePlanner(cfg.planner, env.spec().act_low, env.spec().act_high, device,
                             DeriveSeed(seed, 1))) {}

  void BeginEpisode(uint64_t) override {
    planner_->Reset();
    t_ = 0;
  }
  torch::Tensor Act(const torch::Tensor&, bool) override {
    ScopedThreads pools(threads_.plan);
    const int k = cfg_.planner.replan_every;
    if (t_ % k == 0)
      plan_ =
          planner_->Plan(sim_.ReturnObjective(sim_.StateOf(env_), cfg_.discount)).to(torch::kCPU);
    sim_.CountAction();
    return plan_[t_++ % k];
  }
  void AfterEpisode(const ReplayBuffer&, int64_t, Metrics* m) override { sim_.Report(m); }
  std::vector<std::string> MetricNames() const override { return {Simulator::kMetric}; }

 private:
  MpcConfig cfg_;
  ThreadsConfig threads_;
  const MujocoEnv& env_;
  Simulator sim_;
  std::unique_ptr<Planner> planner_;
  torch::Tensor plan_;
  int t_ = 0;
};

const AgentRegistrar<MpcConfig> kRegistered("mpc", MakeAgentOf<MpcAgent, MpcConfig>);

}  // namespace
}  // namespace mbrl
