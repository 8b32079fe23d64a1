// TD-MPC2: latent world model + Q ensemble + policy prior, planned with elite MPPI whose
// population carries the prior's rollouts; one model update per agent step after the seed steps.
#include "agents/tdmpc2.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <chrono>

#include "agents/agent.h"
#include "agents/latent.h"
#include "mbrl/core/random.h"
#include "mbrl/core/runtime.h"

namespace mbrl {
namespace {

double Seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

class TdMpc2Agent : public Agent {
 public:
  TdMpc2Agent(const TdMpc2AgentConfig& cfg, const ThreadsConfig& threads, const Env& env,
              torch::Device device, uint64_t seed)
      : cfg_(cfg),
        threads_(threads),
        bounds_(env.spec(), device),
        obs_dim_(env.spec().obs_dim),
        model_(env.spec().obs_dim, env.spec().act_dim, cfg.model, cfg.discount),
        planner_(MakePlanner(cfg.planner, std::vector<float>(env.spec().act_dim, -1.f),
                             std::vector<float>(env.spec().act_dim, 1.f), device,
                             DeriveSeed(seed, 1))),
        act_gen_(at::detail::createCPUGenerator(DeriveSeed(seed, 2))),
        train_gen_(at::detail::createCPUGenerator(DeriveSeed(seed, 3))) {
    model_->to(device);
    model_->train(false);
  }

  void BeginEpisode(uint64_t seed) override {
    act_gen_ = at::detail::createCPUGenerator(seed);
    planner_->Reset();
  }

  torch::Tensor Act(const torch::Tensor& obs, bool eval) override {
    torch::NoGradGuard ng;
    ScopedThreads pools(threads_.plan);
    torch::Tensor act;  // [1,A] in [-1,1]
    if (!eval && steps_ < cfg_.seed_steps) {
      act = Rand({1, bounds_.dim()}, act_gen_, bounds_.options()) * 2 - 1;
    } else {
      const auto t0 = std::chrono::steady_clock::now();
      auto z = model_->Encode(obs.to(bounds_.options().device()).view({1, -1}));
      act = cfg_.act == "plan" ? Plan(z, eval) : Prior(z, eval);
      plan_seconds_ += Seconds(t0);
      ++plans_;
    }
    return bounds_.ToEnv(act).reshape({-1}).to(torch::kCPU);
  }

  void AfterStep(const ReplayBuffer& buffer, int64_t, Metrics*) override {
    if (++steps_ < cfg_.seed_steps) return;
    const auto t0 = std::chrono::steady_clock::now();
    credit_ += steps_ == cfg_.seed_steps ? cfg_.seed_steps : cfg_.updates_per_step;
    ScopedThreads pools(threads_.update);
    for (; credit_ >= 1; credit_ -= 1) Update(buffer);
    update_seconds_ += Seconds(t0);
  }

  void AfterEpisode(const ReplayBuffer&, int64_t, Metrics* m) override {
    if (sum_count_ > 0) {
      const double n = sum_count_;
      m->Set("consistency_loss", sum_.consistency / n);
      m->Set("reward_loss", sum_.reward / n);
      m->Set("value_loss", sum_.value / n);
      m->Set("pi_loss", sum_.pi / n);
      m->Set("pi_entropy", sum_.entropy / n);
      m->Set("q_scale", sum_.scale / n);
      m->Set("grad_norm", sum_.grad_norm / n);
      m->Set("update_ms", 1000 * update_seconds_ / n);
    }
    if (plans_ > 0) m->Set("plan_ms", 1000 * plan_seconds_ / plans_);
    m->Set("train_updates", static_cast<double>(updates_));
    sum_ = {};
    sum_count_ = plans_ = 0;
    update_seconds_ = plan_seconds_ = 0;
  }

  std::vector<std::string> MetricNames() const override {
    return {"consistency_loss", "reward_loss", "value_loss", "pi_loss", "pi_entropy",
            "q_scale",          "grad_norm",   "update_ms",  "plan_ms", "train_updates"};
  }

  std::optional<PolicyProgram> Program() const override {
    return TdMpc2PolicyProgram(model_, obs_dim_, static_cast<int>(bounds_.dim()), bounds_.scale(),
                               bounds_.shift());
  }

  void Save(torch::serialize::OutputArchive& ar) const override {
    model_->SaveTo(ar);
    ar.write("steps", torch::tensor(steps_));
    ar.write("updates", torch::tensor(updates_));
    ar.write("credit", torch::tensor(credit_, torch::kFloat64));
    ar.write("train_rng", train_gen_.get_state());
  }

  void Load(torch::serialize::InputArchive& ar) override {
    model_->LoadFrom(ar);
    steps_ = ReadTensor(ar, "steps").item<int64_t>();
    updates_ = ReadTensor(ar, "updates").item<int64_t>();
    credit_ = ReadTensor(ar, "credit").item<double>();
    train_gen_.set_state(ReadTensor(ar, "train_rng"));
  }

 private:
  // elite MPPI from z [1,L] with the prior's rollouts among its candidates; exploration noise
  // from the planner's final spread
  torch::Tensor Plan(const torch::Tensor& z, bool eval) {
    const int h = cfg_.planner.horizon;
    auto objective = MakeObjective(model_, z, act_gen_);
    auto plan = cfg_.proposals > 0
                    ? planner_->Plan(objective, model_->Proposals(z, cfg_.proposals, h, act_gen_))
                    : planner_->Plan(objective);
    auto act = plan.narrow(0, 0, 1);
    const auto& spread = planner_->spread();
    if (!eval && spread.defined())
      act = act + spread.narrow(0, 0, 1) * Randn(act.sizes(), act_gen_, act.options());
    return act.clamp(-1, 1);
  }

  torch::Tensor Prior(const torch::Tensor& z, bool eval) {
    auto p = model_->Pi(z, act_gen_);
    return eval ? p.mean : p.action;
  }

  // sequences of model.horizon steps, time-major, actions in [-1,1]
  void Update(const ReplayBuffer& buffer) {
    const auto& m = cfg_.model;
    auto batch = buffer.SampleSequences(m.batch_size, m.horizon, train_gen_);
    auto obs = torch::cat({batch.obs.narrow(1, 0, 1), batch.next_obs}, 1).transpose(0, 1);
    auto mask = batch.mask.defined() ? batch.mask : torch::ones_like(batch.reward);
    sum_ += model_->Update(obs, bounds_.FromEnv(batch.act).transpose(0, 1),
                           batch.reward.transpose(0, 1), batch.terminated.transpose(0, 1),
                           mask.transpose(0, 1), train_gen_);
    ++sum_count_;
    ++updates_;
  }

  TdMpc2AgentConfig cfg_;
  ThreadsConfig threads_;
  ActionBounds bounds_;
  int obs_dim_;
  TdMpc2 model_;
  std::unique_ptr<Planner> planner_;
  torch::Generator act_gen_, train_gen_;
  int64_t steps_ = 0, updates_ = 0;
  double credit_ = 0;
  TdMpc2Stats sum_;
  int sum_count_ = 0, plans_ = 0;
  double update_seconds_ = 0, plan_seconds_ = 0;
};

const AgentRegistrar<TdMpc2AgentConfig> kRegistered("tdmpc2",
                                                    MakeAgentOf<TdMpc2Agent, TdMpc2AgentConfig>);

}  // namespace
}  // namespace mbrl
