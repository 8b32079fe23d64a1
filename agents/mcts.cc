// MCTS on the true model: each action is a tree search over the task itself. The run's env is
// only read (its state); a twin of it (same task and options) is set and stepped by the search.
#include "agents/mcts.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "agents/agent.h"
#include "agents/simulator.h"
#include "mbrl/core/runtime.h"

namespace mbrl {
namespace {

// K uniform actions per state with a uniform prior; value: the discounted return of a random
// rollout of `steps` env steps (stops at termination), each random action held `hold` steps.
class RolloutEvaluator : public Evaluator {
 public:
  RolloutEvaluator(Simulator* sim, const MctsConfig& cfg)
      : sim_(sim),
        cfg_(cfg),
        low_(torch::tensor(sim->env().spec().act_low)),
        high_(torch::tensor(sim->env().spec().act_high)),
        gen_(at::detail::createCPUGenerator(0)) {}
  void Seed(uint64_t seed) { gen_.set_current_seed(seed); }

  Evaluation Evaluate(const torch::Tensor& states) override {
    const int64_t n = states.size(0), k = cfg_.children, a = low_.size(0);
    const auto s = states.to(torch::kCPU, torch::kDouble).contiguous();
    auto value = torch::zeros({n});
    const int t = cfg_.rollout_steps, hold = cfg_.rollout_hold;
    // per env step, so a tree edge of `action_repeat` steps discounts as the same span here
    const double discount = std::pow(cfg_.search.discount, 1.0 / cfg_.action_repeat);
    for (int64_t i = 0; i < n && t > 0; ++i) {
      const auto draws = Uniform({(t + hold - 1) / hold, a});
      const auto acts = draws.repeat_interleave(hold, 0).narrow(0, 0, t);
      value.data_ptr<float>()[i] =
          static_cast<float>(sim_->Rollout(s.data_ptr<double>() + i * s.size(1), acts, discount));
    }
    return {value, Uniform({n, k, a}), torch::full({n, k}, 1.0 / k)};
  }

 private:
  torch::Tensor Uniform(at::IntArrayRef shape) {
    return low_ + (high_ - low_) * torch::rand(shape, gen_);
  }

  Simulator* sim_;
  const MctsConfig& cfg_;
  torch::Tensor low_, high_;
  torch::Generator gen_;
};

class MctsAgent : public Agent {
 public:
  MctsAgent(const MctsConfig& cfg, const ThreadsConfig& threads, const Env& env, torch::Device,
            uint64_t seed)
      : cfg_(cfg),
        threads_(threads),
        env_(AsMujoco(env, "mcts")),
        sim_(MakeTwin(env, "mcts"), cfg.action_repeat),
        evaluator_(&sim_, cfg_),
        search_(cfg_.search, seed) {}

  void BeginEpisode(uint64_t seed) override {
    search_ = TreeSearch(cfg_.search, DeriveSeed(seed, 1));
    evaluator_.Seed(DeriveSeed(seed, 2));
  }
  torch::Tensor Act(const torch::Tensor&, bool) override {
    ScopedThreads pools(threads_.plan);
    sim_.CountAction();
    return search_.Run(sim_.StateOf(env_), sim_, evaluator_).action.to(torch::kFloat);
  }
  void AfterEpisode(const ReplayBuffer&, int64_t, Metrics* m) override { sim_.Report(m); }
  std::vector<std::string> MetricNames() const override { return {Simulator::kMetric}; }

 private:
  MctsConfig cfg_;
  ThreadsConfig threads_;
  const MujocoEnv& env_;
  Simulator sim_;
  RolloutEvaluator evaluator_;
  TreeSearch search_;
};

const AgentRegistrar<MctsConfig> kRegistered("mcts", MakeAgentOf<MctsAgent, MctsConfig>);

}  // namespace
}  // namespace mbrl
