// MCTS on the true model: each action is a tree search over the task itself. The run's env is
// only read (its state); a twin of it (same task and options) is set and stepped by the search.
#include "agents/mcts.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "agents/agent.h"
#include "envs/mujoco_env.h"
#include "mbrl/core/check.h"
#include "mbrl/core/runtime.h"

namespace mbrl {
namespace {

// A PhysicsState as one float64 row [qpos, qvel, act, qacc_warmstart, time] and back.
class StateCodec {
 public:
  explicit StateCodec(const mjModel* m) : nq_(m->nq), nv_(m->nv), na_(m->na) {}
  int64_t size() const { return nq_ + 2 * nv_ + na_ + 1; }
  void Pack(const PhysicsState& s, double* p) const {
    for (const auto* v : {&s.qpos, &s.qvel, &s.act, &s.qacc_warmstart})
      p = std::copy(v->begin(), v->end(), p);
    *p = s.time;
  }
  torch::Tensor Pack(const PhysicsState& s) const {
    auto row = torch::empty({size()}, torch::kDouble);
    Pack(s, row.data_ptr<double>());
    return row;
  }
  PhysicsState Unpack(const double* p) const {
    PhysicsState s;
    const auto take = [&p](int n) {
      std::vector<double> v(p, p + n);
      p += n;
      return v;
    };
    s.qpos = take(nq_);
    s.qvel = take(nv_);
    s.act = take(na_);
    s.qacc_warmstart = take(nv_);
    s.time = *p;
    return s;
  }

 private:
  int nq_, nv_, na_;
};

// The task as a StepModel: each row is set, stepped once, read back.
class Simulator : public StepModel {
 public:
  Simulator(MujocoEnv* env, StateCodec codec) : env_(env), codec_(codec) {}
  Out Step(const torch::Tensor& states, const torch::Tensor& actions) override {
    const int64_t n = states.size(0);
    const auto s = states.to(torch::kCPU, torch::kDouble).contiguous();
    const auto a = actions.to(torch::kCPU, torch::kFloat).contiguous();
    Out out{torch::empty({n}), torch::empty({n, codec_.size()}, torch::kDouble),
            torch::empty({n}, torch::kBool)};
    for (int64_t i = 0; i < n; ++i) {
      env_->SetState(codec_.Unpack(s.data_ptr<double>() + i * codec_.size()));
      const StepResult r = env_->Step(a[i]);
      out.reward.data_ptr<float>()[i] = static_cast<float>(r.reward);
      out.done.data_ptr<bool>()[i] = r.terminated;
      codec_.Pack(env_->GetState(), out.next_state.data_ptr<double>() + i * codec_.size());
    }
    return out;
  }

 private:
  MujocoEnv* env_;
  StateCodec codec_;
};

// K uniform actions per state with a uniform prior; value: the discounted return of a random
// rollout of `steps` steps (stops at termination).
class RolloutEvaluator : public Evaluator {
 public:
  RolloutEvaluator(MujocoEnv* env, StateCodec codec, const MctsConfig& cfg)
      : env_(env),
        codec_(codec),
        cfg_(cfg),
        low_(torch::tensor(env->spec().act_low)),
        high_(torch::tensor(env->spec().act_high)),
        gen_(at::detail::createCPUGenerator(0)) {}
  void Seed(uint64_t seed) { gen_.set_current_seed(seed); }

  Evaluation Evaluate(const torch::Tensor& states) override {
    const int64_t n = states.size(0), k = cfg_.children, a = low_.size(0);
    const auto s = states.to(torch::kCPU, torch::kDouble).contiguous();
    auto value = torch::zeros({n});
    for (int64_t i = 0; i < n && cfg_.rollout_steps > 0; ++i) {
      env_->SetState(codec_.Unpack(s.data_ptr<double>() + i * codec_.size()));
      const auto acts = low_ + (high_ - low_) * torch::rand({cfg_.rollout_steps, a}, gen_);
      double g = 0, discount = 1;
      for (int t = 0; t < cfg_.rollout_steps; ++t) {
        const StepResult r = env_->Step(acts[t]);
        g += discount * r.reward;
        discount *= cfg_.search.discount;
        if (r.terminated) break;
      }
      value.data_ptr<float>()[i] = static_cast<float>(g);
    }
    auto actions = low_ + (high_ - low_) * torch::rand({n, k, a}, gen_);
    return {value, actions, torch::full({n, k}, 1.0 / k)};
  }

 private:
  MujocoEnv* env_;
  StateCodec codec_;
  const MctsConfig& cfg_;
  torch::Tensor low_, high_;
  torch::Generator gen_;
};

const MujocoEnv& RequireMujoco(const Env& env) {
  const auto* mj = dynamic_cast<const MujocoEnv*>(&env);
  MBRL_CHECK(mj, "mcts: ", env.spec().name, " is not a MuJoCo task (no state to search from)");
  return *mj;
}

class MctsAgent : public Agent {
 public:
  MctsAgent(const MctsConfig& cfg, const ThreadsConfig&, const Env& env, torch::Device,
            uint64_t seed)
      : cfg_(cfg),
        env_(RequireMujoco(env)),
        twin_(MakeEnv(env.spec().name, env_.options())),
        sim_(dynamic_cast<MujocoEnv*>(twin_.get())),
        codec_(env_.model()),
        model_(sim_, codec_),
        evaluator_(sim_, codec_, cfg_),
        search_(cfg_.search, seed) {}

  void BeginEpisode(uint64_t seed) override {
    search_ = TreeSearch(cfg_.search, DeriveSeed(seed, 1));
    evaluator_.Seed(DeriveSeed(seed, 2));
  }
  torch::Tensor Act(const torch::Tensor&, bool) override {
    return search_.Run(codec_.Pack(env_.GetState()), model_, evaluator_).action.to(torch::kFloat);
  }

 private:
  MctsConfig cfg_;
  const MujocoEnv& env_;
  std::unique_ptr<Env> twin_;
  MujocoEnv* sim_;
  StateCodec codec_;
  Simulator model_;
  RolloutEvaluator evaluator_;
  TreeSearch search_;
};

const AgentRegistrar<MctsConfig> kRegistered("mcts", MakeAgentOf<MctsAgent, MctsConfig>);

}  // namespace
}  // namespace mbrl
