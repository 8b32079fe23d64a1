// PlaNet: RSSM world model + CEM planning over latent imagined trajectories.
#include "agents/planet.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <chrono>

#include "agents/agent.h"
#include "agents/dreamer.h"
#include "agents/latent.h"
#include "mbrl/core/random.h"
#include "mbrl/core/runtime.h"

namespace mbrl {
namespace {

class PlanetAgent : public Agent {
 public:
  PlanetAgent(const PlanetConfig& cfg, const ThreadsConfig& threads, const Env& env,
              torch::Device device, uint64_t seed)
      : cfg_(cfg),
        threads_(threads),
        bounds_(env.spec(), device),
        rssm_(env.spec().obs_dim, env.spec().act_dim, cfg.model),
        // the planner searches the world model's [-1,1] action box
        planner_(MakePlanner(cfg.planner, std::vector<float>(env.spec().act_dim, -1.f),
                             std::vector<float>(env.spec().act_dim, 1.f), device,
                             DeriveSeed(seed, 1))),
        act_gen_(at::detail::createCPUGenerator(DeriveSeed(seed, 2))),
        train_gen_(at::detail::createCPUGenerator(DeriveSeed(seed, 3))),
        belief_(rssm_) {
    rssm_->to(device);
  }

  void BeginEpisode(uint64_t seed) override {
    act_gen_ = at::detail::createCPUGenerator(seed);
    planner_->Reset();
    belief_.Reset();
  }

  torch::Tensor Act(const torch::Tensor& obs, bool eval) override {
    torch::NoGradGuard ng;
    ScopedThreads pools(threads_.plan);
    torch::Tensor act;  // [1,A] in [-1,1]
    if (!trained_) {
      act = Rand({1, bounds_.dim()}, act_gen_, bounds_.options()) * 2 - 1;
    } else {
      const auto t0 = std::chrono::steady_clock::now();
      belief_.Observe(obs, act_gen_);
      act = planner_->Plan(MakeObjective(rssm_, belief_.state(), act_gen_)).narrow(0, 0, 1);
      if (!eval && cfg_.exploration_noise > 0)
        act = (act + cfg_.exploration_noise * Randn(act.sizes(), act_gen_, act.options()))
                  .clamp(-1, 1);
      belief_.Took(act);
      plan_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      ++plans_;
    }
    return bounds_.ToEnv(act).reshape({-1}).to(torch::kCPU);
  }

  void AfterEpisode(const ReplayBuffer& buffer, int64_t, Metrics* m) override {
    if (plans_ > 0) m->Set("plan_ms", 1000 * plan_seconds_ / plans_);
    plans_ = 0;
    plan_seconds_ = 0;
    if (++episodes_ < cfg_.prefill_episodes) return;
    const auto t0 = std::chrono::steady_clock::now();
    ScopedThreads pools(threads_.train);
    RssmStats sum;
    for (int i = 0; i < cfg_.train_steps; ++i) {
      auto batch = buffer.SampleSequences(cfg_.model.batch_size, cfg_.model.seq_len, train_gen_);
      batch.act = bounds_.FromEnv(batch.act);
      sum += rssm_->Update(batch, train_gen_);
    }
    trained_ = true;
    const double n = std::max(1, cfg_.train_steps);
    m->Set("wm_loss", sum.loss / n);
    m->Set("wm_recon", sum.recon / n);
    m->Set("wm_reward", sum.reward / n);
    m->Set("wm_kl", sum.kl / n);
    m->Set("train_s", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }

  std::vector<std::string> MetricNames() const override {
    return {"wm_loss", "wm_recon", "wm_reward", "wm_kl", "train_s", "plan_ms"};
  }

  void Save(torch::serialize::OutputArchive& ar) const override {
    rssm_->SaveTo(ar);
    ar.write("episodes", torch::tensor(static_cast<int64_t>(episodes_)));
    ar.write("trained", torch::tensor(static_cast<int64_t>(trained_)));
    ar.write("train_rng", train_gen_.get_state());
  }

  void Load(torch::serialize::InputArchive& ar) override {
    rssm_->LoadFrom(ar);
    episodes_ = static_cast<int>(ReadTensor(ar, "episodes").item<int64_t>());
    trained_ = ReadTensor(ar, "trained").item<int64_t>() != 0;
    train_gen_.set_state(ReadTensor(ar, "train_rng"));
  }

 private:
  PlanetConfig cfg_;
  ThreadsConfig threads_;
  ActionBounds bounds_;
  Rssm rssm_;
  std::unique_ptr<Planner> planner_;
  torch::Generator act_gen_, train_gen_;
  Belief belief_;
  bool trained_ = false;
  int episodes_ = 0, plans_ = 0;
  double plan_seconds_ = 0;
};

const AgentRegistrar<PlanetConfig> kRegistered("planet", MakeAgentOf<PlanetAgent, PlanetConfig>);

}  // namespace

}  // namespace mbrl
