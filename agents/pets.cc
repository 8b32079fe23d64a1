#include "agents/pets.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <chrono>

#include "agents/agent.h"
#include "mbrl/core/check.h"
#include "mbrl/core/runtime.h"
#include "mbrl/models/rollout.h"

namespace mbrl {
namespace {

class PetsAgent : public Agent {
 public:
  PetsAgent(const PetsConfig& cfg, const ThreadsConfig& threads, const Env& env,
            torch::Device device, uint64_t seed)
      : cfg_(cfg),
        threads_(threads),
        env_(&env),
        device_(device),
        model_(env.spec().obs_dim, env.spec().act_dim, cfg.model),
        planner_(MakePlanner(cfg.planner, env.spec().act_low, env.spec().act_high, device,
                             DeriveSeed(seed, 1))),
        gen_(at::detail::createCPUGenerator(DeriveSeed(seed, 2))),
        train_gen_(at::detail::createCPUGenerator(DeriveSeed(seed, 3))),
        propagation_(ParsePropagation(cfg.propagation)),
        low_(torch::tensor(env.spec().act_low)),
        high_(torch::tensor(env.spec().act_high)) {
    MBRL_CHECK(cfg.true_reward || cfg.model.learned_reward,
               "pets.true_reward is false but pets.model.learned_reward is off: no reward to plan "
               "with");
    model_->to(device);
  }

  void BeginEpisode(uint64_t seed) override {
    gen_.set_current_seed(seed);
    planner_->Reset();
    t_ = 0;
  }

  torch::Tensor Act(const torch::Tensor& obs, bool) override {
    if (!trained_) return low_ + (high_ - low_) * torch::rand(low_.sizes(), gen_);
    const int k = cfg_.planner.replan_every;
    if (t_ % k == 0) {
      const auto t0 = std::chrono::steady_clock::now();
      ScopedThreads pools(threads_.plan);
      RewardFn reward;
      TerminationFn done;
      if (cfg_.true_reward)
        reward = [env = env_](const torch::Tensor& o, const torch::Tensor& a,
                              const torch::Tensor& n) { return env->Reward(o, a, n); };
      if (cfg_.true_termination)
        done = [env = env_](const torch::Tensor& n) { return env->Terminated(n); };
      plan_ =
          planner_
              ->Plan(MakeObjective(model_, obs, reward, done, cfg_.particles, propagation_, gen_))
              .to(torch::kCPU);
      plan_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      ++plans_;
    }
    return plan_[t_++ % k];
  }

  void AfterStep(const ReplayBuffer& buffer, int64_t env_step, Metrics* m) override {
    if (cfg_.train_every > 0 && episodes_ >= cfg_.random_episodes &&
        env_step - last_train_step_ >= cfg_.train_every) {
      Train(buffer, m);
      last_train_step_ = env_step;
    }
  }

  void AfterEpisode(const ReplayBuffer& buffer, int64_t env_step, Metrics* m) override {
    ++episodes_;
    if (plans_ > 0) {
      m->Set("plan_ms", 1000 * plan_seconds_ / plans_);
      m->Set("planner_evals", static_cast<double>(planner_->evaluations()));
    }
    plans_ = 0;
    plan_seconds_ = 0;
    if (episodes_ >= cfg_.random_episodes && (cfg_.train_every == 0 || !trained_)) {
      Train(buffer, m);
      last_train_step_ = env_step;
    }
  }

  std::vector<std::string> MetricNames() const override {
    return {"model_train_loss", "model_holdout_mse", "model_epochs",
            "model_train_s",    "plan_ms",           "planner_evals"};
  }

  void Save(torch::serialize::OutputArchive& ar) const override {
    torch::serialize::OutputArchive model_ar;
    model_->save(model_ar);
    ar.write("model", model_ar);
    ar.write("trained", torch::tensor(static_cast<int64_t>(trained_)));
    ar.write("episodes", torch::tensor(static_cast<int64_t>(episodes_)));
    ar.write("train_rng", train_gen_.get_state());
  }
  void Load(torch::serialize::InputArchive& ar) override {
    torch::serialize::InputArchive model_ar;
    ar.read("model", model_ar);
    model_->load(model_ar);
    model_->to(device_);
    trained_ = ReadTensor(ar, "trained").item<int64_t>() != 0;
    episodes_ = static_cast<int>(ReadTensor(ar, "episodes").item<int64_t>());
    train_gen_.set_state(ReadTensor(ar, "train_rng"));
  }

 private:
  void Train(const ReplayBuffer& buffer, Metrics* m) {
    const auto t0 = std::chrono::steady_clock::now();
    ScopedThreads pools(threads_.train);
    const auto stats = TrainEnsemble(model_, buffer.All(), train_gen_);
    trained_ = true;
    m->Set("model_train_loss", stats.train_loss);
    m->Set("model_holdout_mse", stats.holdout_mse);
    m->Set("model_epochs", stats.epochs);
    m->Set("model_train_s",
           std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }

  PetsConfig cfg_;
  ThreadsConfig threads_;
  const Env* env_;
  torch::Device device_;
  Ensemble model_;
  std::unique_ptr<Planner> planner_;
  torch::Generator gen_, train_gen_;
  Propagation propagation_;
  torch::Tensor low_, high_, plan_;
  bool trained_ = false;
  int episodes_ = 0, t_ = 0, plans_ = 0;
  int64_t last_train_step_ = 0;
  double plan_seconds_ = 0;
};

const AgentRegistrar<PetsConfig> kRegistered("pets", MakeAgentOf<PetsAgent, PetsConfig>);

}  // namespace

}  // namespace mbrl
