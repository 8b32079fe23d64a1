#include "agents/mbpo.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>

#include "agents/agent.h"
#include "mbrl/core/check.h"
#include "mbrl/core/runtime.h"
#include "mbrl/models/rollout.h"

namespace mbrl {

void MbpoConfig::Validate(const std::string& src) const {
  model.Validate(src, "mbpo.model");
  MBRL_CHECK(true_reward || model.learned_reward, src,
             ": mbpo.true_reward is false but mbpo.model.learned_reward is off");
  try {
    RolloutLength(rollout_schedule, 0);
  } catch (const Error& e) {
    throw Error(src + ": " + e.what());
  }
}

int RolloutLength(const std::vector<int>& s, double epoch) {
  MBRL_CHECK(s.size() == 4 && s[0] <= s[1] && s[2] <= s[3] && s[2] >= 1,
             "mbpo.rollout_schedule: expected [min_epoch, max_epoch, min_len, max_len] with "
             "min <= max and min_len >= 1");
  if (epoch <= s[0] || s[1] == s[0]) return epoch <= s[0] ? s[2] : s[3];
  const double f = std::min(1.0, (epoch - s[0]) / (s[1] - s[0]));
  return static_cast<int>(std::floor(s[2] + f * (s[3] - s[2])));
}

RolloutStats BranchedRollout(torch::Tensor obs, int steps, const ModelStepFn& step,
                             const TerminationFn& terminated, ReplayBuffer& out) {
  RolloutStats stats;
  for (int t = 0; t < steps && obs.size(0) > 0; ++t) {
    const ModelStep s = step(obs);
    const auto done = terminated(s.next_obs);
    const Batch b{obs.cpu(), s.act.cpu(), s.reward.cpu(), s.next_obs.cpu(),
                  done.to(torch::kFloat32).cpu()};
    out.AddBatch(b);
    stats.rows += b.obs.size(0);
    stats.reward += b.reward.sum(torch::kFloat64).item<double>();
    stats.terminated += b.terminated.sum(torch::kFloat64).item<double>();
    obs = s.next_obs.index_select(0, (~done).nonzero().squeeze(1));
  }
  return stats;
}

namespace {

constexpr int64_t kRolloutChunk = 20000;  // start states per model forward (bounds memory)

class MbpoAgent : public Agent {
 public:
  MbpoAgent(const MbpoConfig& cfg, const ThreadsConfig& threads, const Env& env,
            torch::Device device, uint64_t seed)
      : cfg_(cfg),
        threads_(threads),
        env_(&env),
        device_(device),
        model_(env.spec().obs_dim, env.spec().act_dim, cfg.model),
        sac_(env.spec().obs_dim, env.spec().act_dim, env.spec().act_low, env.spec().act_high,
             cfg.sac, device),
        model_buffer_(ModelCapacity(cfg), env.spec().obs_dim, env.spec().act_dim),
        train_gen_(at::detail::createCPUGenerator(DeriveSeed(seed, 2))),
        act_gen_(at::detail::createCPUGenerator(DeriveSeed(seed, 1))),
        low_(torch::tensor(env.spec().act_low)),
        high_(torch::tensor(env.spec().act_high)) {
    MBRL_CHECK(cfg.true_reward || cfg.model.learned_reward,
               "mbpo.true_reward is false but mbpo.model.learned_reward is off: no reward for "
               "model rollouts");
    RolloutLength(cfg.rollout_schedule, 0);  // validates the schedule
    model_->to(device);
  }

  // Model rows kept for SAC: retain_epochs epochs of rollouts of length k (as MBPO resizes its
  // pool when k changes); the ring holds enough for the longest k.
  static int64_t ModelRows(const MbpoConfig& c, int k) {
    const int64_t rounds = std::max(1, c.epoch_length / c.model_train_freq);
    return static_cast<int64_t>(c.rollout_batch) * k * rounds * c.retain_epochs;
  }
  static int64_t ModelCapacity(const MbpoConfig& c) {
    return ModelRows(c, c.rollout_schedule.at(3));  // max_len >= min_len (RolloutLength)
  }

  void BeginEpisode(uint64_t seed) override { act_gen_ = at::detail::createCPUGenerator(seed); }

  torch::Tensor Act(const torch::Tensor& obs, bool eval) override {
    if (!eval && steps_ < cfg_.initial_steps)
      return low_ + (high_ - low_) * torch::rand(low_.sizes(), act_gen_);
    ScopedThreads pools(threads_.update);
    return sac_->Act(obs.reshape({1, -1}), eval, act_gen_).reshape({-1});
  }

  void AfterStep(const ReplayBuffer& buffer, int64_t, Metrics* m) override {
    ++steps_;
    if (steps_ < cfg_.initial_steps) return;
    if ((steps_ - cfg_.initial_steps) % cfg_.model_train_freq == 0) {
      TrainModel(buffer, m);
      Rollouts(buffer, m);
    } else if (model_buffer_.size() == 0) {
      Rollouts(buffer, m);  // resumed: one round from the checkpointed model and policy
    }
    const auto t0 = std::chrono::steady_clock::now();
    ScopedThreads pools(threads_.update);
    const int64_t batch = cfg_.sac.batch_size;
    const int64_t n_real = model_buffer_.size() == 0
                               ? batch
                               : static_cast<int64_t>(std::llround(cfg_.real_ratio * batch));
    for (int g = 0; g < cfg_.updates_per_step; ++g) {
      Batch real = buffer.Sample(n_real, train_gen_);
      if (n_real < batch) {
        Batch fake = model_buffer_.Sample(batch - n_real, train_gen_, ModelRows(cfg_, k_));
        real = Batch{torch::cat({real.obs, fake.obs}), torch::cat({real.act, fake.act}),
                     torch::cat({real.reward, fake.reward}),
                     torch::cat({real.next_obs, fake.next_obs}),
                     torch::cat({real.terminated, fake.terminated})};
      }
      sac_->Update(real, train_gen_);
    }
    sac_->CheckFiniteStats();
    update_seconds_ += Since(t0);
  }

  void AfterEpisode(const ReplayBuffer&, int64_t, Metrics* m) override {
    for (const auto& [k, v] : sac_->TakeStats()) m->Set("sac_" + k, v);
    m->Set("sac_updates", static_cast<double>(sac_->updates()));
    // seconds spent in the episode's updates, model trainings and rollout rounds
    m->Set("sac_update_s", update_seconds_);
    m->Set("model_train_s", model_seconds_);
    m->Set("rollout_s", rollout_seconds_);
    m->Set("model_buffer",
           static_cast<double>(std::min(model_buffer_.size(), ModelRows(cfg_, k_))));
    update_seconds_ = model_seconds_ = rollout_seconds_ = 0;
  }

  std::vector<std::string> MetricNames() const override {
    return {
        "model_train_loss", "model_holdout_mse", "model_epochs", "model_train_s", "rollout_length",
        "rollout_reward",   "rollout_done",      "rollout_s",    "model_buffer",  "sac_critic_loss",
        "sac_actor_loss",   "sac_alpha",         "sac_entropy",  "sac_q",         "sac_updates",
        "sac_update_s"};
  }

  void Save(torch::serialize::OutputArchive& ar) const override {
    torch::serialize::OutputArchive model_ar;
    model_->save(model_ar);
    ar.write("model", model_ar);
    if (model_trainer_) {
      torch::serialize::OutputArchive opt_ar;
      model_trainer_->Save(opt_ar);
      ar.write("model_opt", opt_ar);
    }
    sac_->SaveTo(ar);
    ar.write("steps", torch::tensor(steps_));
    ar.write("train_rng", train_gen_.get_state());
  }

  std::optional<PolicyNet> Policy() const override { return sac_->Policy(); }

  void Load(torch::serialize::InputArchive& ar) override {
    torch::serialize::InputArchive model_ar;
    ar.read("model", model_ar);
    model_->load(model_ar);
    model_->to(device_);
    torch::serialize::InputArchive opt_ar;
    if (ar.try_read("model_opt", opt_ar)) ModelTrainer().Load(opt_ar);
    sac_->LoadFrom(ar);
    steps_ = ReadTensor(ar, "steps").item<int64_t>();
    train_gen_.set_state(ReadTensor(ar, "train_rng"));
  }

 private:
  static double Since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }

  // one trainer for the whole run: Adam's moments carry over between retrainings
  EnsembleTrainer& ModelTrainer() {
    ScopedThreads pools(threads_.train);  // its member groups follow the training threads
    if (!model_trainer_) model_trainer_.emplace(model_, cfg_.model.batch_size);
    return *model_trainer_;
  }

  void TrainModel(const ReplayBuffer& buffer, Metrics* m) {
    const auto t0 = std::chrono::steady_clock::now();
    ScopedThreads pools(threads_.train);
    const auto stats = TrainEnsemble(model_, buffer.All(), train_gen_, nullptr, &ModelTrainer());
    m->Set("model_train_loss", stats.train_loss);
    m->Set("model_holdout_mse", stats.holdout_mse);
    m->Set("model_epochs", stats.epochs);
    model_seconds_ += Since(t0);
  }

  // k-step branched rollouts from real start states with the current policy; a random elite per
  // row and step; rows stop at predicted terminations (task's termination function)
  void Rollouts(const ReplayBuffer& buffer, Metrics* m) {
    const auto t0 = std::chrono::steady_clock::now();
    ScopedThreads pools(threads_.train);
    torch::NoGradGuard ng;
    // epochs count from the end of the random phase, as in MBPO's schedule
    const double epoch = static_cast<double>(steps_ - cfg_.initial_steps) / cfg_.epoch_length;
    const int k = k_ = RolloutLength(cfg_.rollout_schedule, epoch);
    const auto elites = model_->Members(model_->elites);
    const int obs_dim = model_->obs_dim();
    const ModelStepFn step = [&](const torch::Tensor& obs) {
      auto act = sac_->Act(obs, false, train_gen_);
      auto perm = MemberPermutation(obs.size(0), elites.members(), train_gen_, device_);
      auto out = SampleThroughMembers(elites, model_->Inputs(obs, act), perm, train_gen_);
      auto next = obs + out.narrow(1, 0, obs_dim);
      auto reward = cfg_.true_reward ? env_->Reward(obs, act, next) : out.select(1, obs_dim);
      CheckFinite(out, "model prediction (branched rollout)");
      return ModelStep{act, next, reward};
    };
    const TerminationFn done = [this](const torch::Tensor& next) { return env_->Terminated(next); };
    RolloutStats all;
    for (int64_t done_rows = 0; done_rows < cfg_.rollout_batch; done_rows += kRolloutChunk) {
      const int64_t n = std::min<int64_t>(kRolloutChunk, cfg_.rollout_batch - done_rows);
      all += BranchedRollout(buffer.Sample(n, train_gen_).obs.to(device_), k, step, done,
                             model_buffer_);
    }
    m->Set("rollout_length", k);
    m->Set("rollout_reward", all.reward / all.rows);  // mean model reward per transition
    m->Set("rollout_done", all.terminated / all.rows);
    rollout_seconds_ += Since(t0);
  }

  MbpoConfig cfg_;
  ThreadsConfig threads_;
  const Env* env_;
  torch::Device device_;
  Ensemble model_;
  std::optional<EnsembleTrainer> model_trainer_;
  Sac sac_;
  ReplayBuffer model_buffer_;
  torch::Generator train_gen_, act_gen_;
  torch::Tensor low_, high_;
  int64_t steps_ = 0;
  int k_ = 1;  // rollout length of the last round
  double update_seconds_ = 0, model_seconds_ = 0, rollout_seconds_ = 0;
};

const AgentRegistrar<MbpoConfig> kRegistered("mbpo", MakeAgentOf<MbpoAgent, MbpoConfig>);

}  // namespace

}  // namespace mbrl
