// Model-free SAC: the baseline MBPO must beat at equal env steps.
#include "agents/sac_agent.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <chrono>

#include "agents/agent.h"
#include "mbrl/core/runtime.h"

namespace mbrl {
namespace {

class SacAgent : public Agent {
 public:
  SacAgent(const SacAgentConfig& cfg, const ThreadsConfig& threads, const Env& env,
           torch::Device device, uint64_t seed)
      : cfg_(cfg),
        threads_(threads),
        sac_(env.spec().obs_dim, env.spec().act_dim, env.spec().act_low, env.spec().act_high,
             cfg.sac, device),
        train_gen_(at::detail::createCPUGenerator(DeriveSeed(seed, 2))),
        act_gen_(at::detail::createCPUGenerator(DeriveSeed(seed, 1))),
        low_(torch::tensor(env.spec().act_low)),
        high_(torch::tensor(env.spec().act_high)) {}

  void BeginEpisode(uint64_t seed) override { act_gen_ = at::detail::createCPUGenerator(seed); }

  torch::Tensor Act(const torch::Tensor& obs, bool eval) override {
    if (!eval && steps_ < cfg_.initial_steps)
      return low_ + (high_ - low_) * torch::rand(low_.sizes(), act_gen_);
    ScopedThreads pools(threads_.update);
    return sac_->Act(obs.reshape({1, -1}), eval, act_gen_).reshape({-1});
  }

  void AfterStep(const ReplayBuffer& buffer, int64_t, Metrics*) override {
    if (++steps_ < cfg_.initial_steps) return;
    const auto t0 = std::chrono::steady_clock::now();
    ScopedThreads pools(threads_.update);
    for (int g = 0; g < cfg_.updates_per_step; ++g)
      sac_->Update(buffer.Sample(cfg_.sac.batch_size, train_gen_), train_gen_);
    sac_->CheckFiniteStats();
    update_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }

  void AfterEpisode(const ReplayBuffer&, int64_t, Metrics* m) override {
    for (const auto& [k, v] : sac_->TakeStats()) m->Set("sac_" + k, v);
    m->Set("sac_updates", static_cast<double>(sac_->updates()));
    m->Set("sac_update_s", update_seconds_);
    update_seconds_ = 0;
  }

  std::vector<std::string> MetricNames() const override {
    return {"sac_critic_loss", "sac_actor_loss", "sac_alpha",   "sac_entropy",
            "sac_q",           "sac_updates",    "sac_update_s"};
  }

  void Save(torch::serialize::OutputArchive& ar) const override {
    sac_->SaveTo(ar);
    ar.write("steps", torch::tensor(steps_));
    ar.write("train_rng", train_gen_.get_state());
  }

  std::optional<PolicyNet> Policy() const override { return sac_->Policy(); }

  void Load(torch::serialize::InputArchive& ar) override {
    sac_->LoadFrom(ar);
    steps_ = ReadTensor(ar, "steps").item<int64_t>();
    train_gen_.set_state(ReadTensor(ar, "train_rng"));
  }

 private:
  SacAgentConfig cfg_;
  ThreadsConfig threads_;
  Sac sac_;
  torch::Generator train_gen_, act_gen_;
  torch::Tensor low_, high_;
  int64_t steps_ = 0;
  double update_seconds_ = 0;
};

const AgentRegistrar<SacAgentConfig> kRegistered("sac", MakeAgentOf<SacAgent, SacAgentConfig>);

}  // namespace

}  // namespace mbrl
