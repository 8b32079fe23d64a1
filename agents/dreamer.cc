// Dreamer: RSSM world model + actor-critic trained on imagined latent trajectories.
#include "agents/dreamer.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <chrono>

#include "agents/agent.h"
#include "agents/latent.h"
#include "mbrl/core/random.h"
#include "mbrl/core/runtime.h"

namespace mbrl {
namespace {

class DreamerAgent : public Agent {
 public:
  DreamerAgent(const DreamerConfig& cfg, const ThreadsConfig& threads, const Env& env,
               torch::Device device, uint64_t seed)
      : cfg_(cfg),
        threads_(threads),
        device_(device),
        bounds_(env.spec(), device),
        rssm_(env.spec().obs_dim, env.spec().act_dim, cfg.model),
        ac_(static_cast<int>(rssm_->FeatureSize()), env.spec().act_dim, cfg.behavior, device),
        act_gen_(at::detail::createCPUGenerator(DeriveSeed(seed, 1))),
        train_gen_(at::detail::createCPUGenerator(DeriveSeed(seed, 2))),
        belief_(rssm_) {
    rssm_->to(device);
  }

  void BeginEpisode(uint64_t seed) override {
    act_gen_ = at::detail::createCPUGenerator(seed);
    belief_.Reset();
  }

  torch::Tensor Act(const torch::Tensor& obs, bool eval) override {
    torch::NoGradGuard ng;
    ScopedThreads pools(threads_.update);
    torch::Tensor act;  // [1,A] in [-1,1]
    if (!eval && steps_ < cfg_.prefill) {
      act = Rand({1, bounds_.dim()}, act_gen_, bounds_.options()) * 2 - 1;
    } else {
      auto feat = belief_.Observe(obs, act_gen_, /*sample=*/!eval);
      act = eval ? ac_->Mode(feat) : ac_->Sample(feat, act_gen_).act;
      belief_.Took(act);
    }
    return bounds_.ToEnv(act).reshape({-1}).to(torch::kCPU);
  }

  void AfterStep(const ReplayBuffer& buffer, int64_t, Metrics*) override {
    if (++steps_ < cfg_.prefill) return;
    const auto t0 = std::chrono::steady_clock::now();
    int updates = 0;
    if (!pretrained_) {
      updates = cfg_.pretrain;
      pretrained_ = true;
    }
    credit_ += cfg_.train_ratio / (cfg_.model.batch_size * cfg_.model.seq_len);
    updates += static_cast<int>(credit_);
    credit_ -= static_cast<int>(credit_);
    for (int i = 0; i < updates; ++i) Train(buffer);
    train_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }

  void AfterEpisode(const ReplayBuffer&, int64_t, Metrics* m) override {
    if (sum_.count > 0) {
      const double n = sum_.count;
      const std::pair<const char*, double> values[] = {{"wm_loss", sum_.wm.loss},
                                                       {"wm_recon", sum_.wm.recon},
                                                       {"wm_reward", sum_.wm.reward},
                                                       {"wm_cont", sum_.wm.cont},
                                                       {"wm_kl", sum_.wm.kl},
                                                       {"actor_loss", sum_.ac.actor_loss},
                                                       {"critic_loss", sum_.ac.critic_loss},
                                                       {"actor_entropy", sum_.ac.entropy},
                                                       {"imag_return", sum_.ac.ret},
                                                       {"imag_value", sum_.ac.value},
                                                       {"return_scale", sum_.ac.return_scale}};
      for (const auto& [k, v] : values) m->Set(k, v / n);
    }
    m->Set("train_updates", static_cast<double>(updates_));
    m->Set("train_s", train_seconds_);
    sum_ = {};
    train_seconds_ = 0;
  }

  std::vector<std::string> MetricNames() const override {
    return {"wm_loss",      "wm_recon",      "wm_reward",     "wm_cont",     "wm_kl",
            "actor_loss",   "critic_loss",   "actor_entropy", "imag_return", "imag_value",
            "return_scale", "train_updates", "train_s"};
  }

  std::optional<PolicyProgram> Program() const override {
    return DreamerPolicyProgram(rssm_, ac_, bounds_.scale(), bounds_.shift());
  }

  void Save(torch::serialize::OutputArchive& ar) const override {
    rssm_->SaveTo(ar);
    ac_->SaveTo(ar);
    ar.write("steps", torch::tensor(steps_));
    ar.write("updates", torch::tensor(updates_));
    ar.write("credit", torch::tensor(credit_, torch::kFloat64));
    ar.write("train_rng", train_gen_.get_state());
  }

  void Load(torch::serialize::InputArchive& ar) override {
    rssm_->LoadFrom(ar);
    ac_->LoadFrom(ar);
    steps_ = ReadTensor(ar, "steps").item<int64_t>();
    updates_ = ReadTensor(ar, "updates").item<int64_t>();
    credit_ = ReadTensor(ar, "credit").item<double>();
    train_gen_.set_state(ReadTensor(ar, "train_rng"));
    pretrained_ = steps_ >= cfg_.prefill;
  }

 private:
  void Train(const ReplayBuffer& buffer) {
    RssmSequence post;
    {
      ScopedThreads pools(threads_.train);
      auto batch = buffer.SampleSequences(cfg_.model.batch_size, cfg_.model.seq_len, train_gen_);
      batch.act = bounds_.FromEnv(batch.act);
      sum_.wm += rssm_->Update(batch, train_gen_, &post);
    }
    ScopedThreads pools(threads_.update);
    auto start = post.Flat();
    if (cfg_.imagine_starts > 0 && cfg_.imagine_starts < start.deter.size(0)) {
      auto idx = torch::randperm(start.deter.size(0), train_gen_)
                     .narrow(0, 0, cfg_.imagine_starts)
                     .to(device_);
      start = {start.deter.index_select(0, idx), start.stoch.index_select(0, idx),
               start.stats.index_select(0, idx)};
    }
    sum_.ac += ImagineAndLearn(rssm_, ac_, start, train_gen_);
    ++sum_.count;
    ++updates_;
  }

  struct Sums {
    RssmStats wm;
    ActorCriticStats ac;
    int count = 0;
  };

  DreamerConfig cfg_;
  ThreadsConfig threads_;
  torch::Device device_;
  ActionBounds bounds_;
  Rssm rssm_;
  ActorCritic ac_;
  torch::Generator act_gen_, train_gen_;
  Belief belief_;
  int64_t steps_ = 0, updates_ = 0;
  double credit_ = 0, train_seconds_ = 0;
  bool pretrained_ = false;
  Sums sum_;
};

}  // namespace

ActorCriticStats ImagineAndLearn(Rssm& rssm, ActorCritic& ac, const RssmState& start,
                                 torch::Generator& gen) {
  // backprop reaches the actions through the frozen world model (input gradients only)
  FrozenParameters frozen(*rssm);
  const int horizon = ac->config().horizon;
  std::vector<torch::Tensor> logps;
  auto [feat, acts] = rssm->Imagine(
      start, horizon,
      [&](const torch::Tensor& f) {
        auto s = ac->Sample(f, gen);
        logps.push_back(s.logp);
        return s.act;
      },
      gen);
  auto next = feat.narrow(0, 1, horizon);
  ImaginedTrajectory traj{feat, rssm->Reward(next), rssm->Continue(next), torch::stack(logps)};
  return ac->Update(traj);
}

namespace {
const AgentRegistrar<DreamerConfig> kRegistered("dreamer",
                                                MakeAgentOf<DreamerAgent, DreamerConfig>);
}  // namespace

}  // namespace mbrl
