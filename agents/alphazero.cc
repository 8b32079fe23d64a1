// AlphaZero on the true model (A0C-like): networks propose and value, the simulator is searched,
// the search teaches the networks. Search states are the twin's physics rows; the networks see
// their observations.
#include "agents/alphazero.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <cmath>

#include "agents/agent.h"
#include "agents/simulator.h"
#include "mbrl/core/check.h"
#include "mbrl/core/mlp.h"
#include "mbrl/core/runtime.h"
#include "mbrl/models/angle_features.h"

namespace mbrl {
namespace {

constexpr double kEdge = 1 - 1e-6;  // squashed actions are kept inside (-1, 1) for atanh

// Policy (mean, log std of a tanh-squashed Gaussian) and value networks on observation features.
struct Nets {
  Nets(int obs_dim, int act_dim, const AlphaZeroConfig& cfg)
      : features(obs_dim, cfg.angle_dims, "alphazero.angle_dims"),
        policy(features.out_dim(), 2 * act_dim, cfg.units, cfg.layers, false),
        value(features.out_dim(), 1, cfg.units, cfg.layers, false) {}
  std::vector<torch::Tensor> parameters() const {
    auto p = policy->parameters();
    for (const auto& v : value->parameters()) p.push_back(v);
    return p;
  }
  AngleFeatures features;
  MlpNet policy, value;
};

// log density, in action space, of actions a [N,K,A] under the squashed Gaussian of mean, log_std
// [N,A]; `mid`, `half` map (-1, 1) to the bounds.
torch::Tensor SquashedLogProb(const torch::Tensor& a, const torch::Tensor& mean,
                              const torch::Tensor& log_std, const torch::Tensor& mid,
                              const torch::Tensor& half) {
  const auto y = ((a - mid) / half).clamp(-kEdge, kEdge);
  const auto u = torch::atanh(y);
  const auto z = (u - mean.unsqueeze(1)) / log_std.exp().unsqueeze(1);
  const auto log_normal = -0.5 * z.square() - log_std.unsqueeze(1) - 0.5 * std::log(2 * M_PI);
  return (log_normal - torch::log(half * (1 - y.square()) + 1e-6)).sum(-1);
}

// K proposals per state: (1 - f) K from the policy, f K uniform; prior by Sampled MuZero's
// correction for that mixture; value from the value net.
class NetEvaluator : public Evaluator {
 public:
  NetEvaluator(Simulator* sim, Nets* nets, const AlphaZeroConfig& cfg)
      : sim_(sim),
        nets_(nets),
        cfg_(cfg),
        low_(torch::tensor(sim->env().spec().act_low)),
        high_(torch::tensor(sim->env().spec().act_high)),
        mid_((low_ + high_) / 2),
        half_((high_ - low_) / 2),
        gen_(at::detail::createCPUGenerator(0)) {}
  void Seed(uint64_t seed) { gen_.set_current_seed(seed); }

  // mean, log_std [N,A] of observations [N,O]
  std::pair<torch::Tensor, torch::Tensor> Policy(const torch::Tensor& obs) const {
    const auto out = nets_->policy->forward(nets_->features(obs)).chunk(2, -1);
    return {out[0], out[1].clamp(-5, 1)};
  }
  torch::Tensor LogProb(const torch::Tensor& a, const torch::Tensor& mean,
                        const torch::Tensor& log_std) const {
    return SquashedLogProb(a, mean, log_std, mid_, half_);
  }

  Evaluation Evaluate(const torch::Tensor& states) override {
    const auto obs = sim_->Observe(states);
    const int64_t n = obs.size(0), k = cfg_.children, a_dim = low_.size(0);
    const int64_t ku = std::llround(cfg_.uniform_fraction * k), kp = k - ku;
    const auto [mean, log_std] = Policy(obs);
    const auto u =
        mean.unsqueeze(1) + log_std.exp().unsqueeze(1) * torch::randn({n, kp, a_dim}, gen_);
    const auto from_pi = mid_ + half_ * torch::tanh(u).clamp(-kEdge, kEdge);
    const auto uniform = low_ + (high_ - low_) * torch::rand({n, ku, a_dim}, gen_);
    const auto actions = torch::cat({from_pi, uniform}, 1);
    const auto logp_pi = LogProb(actions, mean, log_std);
    const double f = static_cast<double>(ku) / k;
    const double log_u = -torch::log(high_ - low_).sum().item<double>();
    const auto logp_beta = f == 0
                               ? logp_pi
                               : torch::logaddexp(logp_pi + std::log1p(-f + 1e-12),
                                                  torch::full_like(logp_pi, log_u + std::log(f)));
    auto value = nets_->value->forward(nets_->features(obs)).squeeze(-1) * cfg_.value_scale;
    if (cfg_.rollout_steps > 0)
      value = (1 - cfg_.rollout_mix) * value + cfg_.rollout_mix * Rollouts(states);
    return {value, actions, SampledPrior(logp_pi, logp_beta)};
  }

 private:
  // the return of a random rollout from each state [N,S] -> [N]
  torch::Tensor Rollouts(const torch::Tensor& states) {
    const auto s = states.to(torch::kCPU, torch::kDouble).contiguous();
    const int t = cfg_.rollout_steps, hold = cfg_.rollout_hold;
    auto out = torch::empty({s.size(0)});
    for (int64_t i = 0; i < s.size(0); ++i) {
      const auto draws =
          low_ + (high_ - low_) * torch::rand({(t + hold - 1) / hold, low_.size(0)}, gen_);
      out.data_ptr<float>()[i] = static_cast<float>(
          sim_->Rollout(s.data_ptr<double>() + i * s.size(1),
                        draws.repeat_interleave(hold, 0).narrow(0, 0, t), cfg_.search.discount));
    }
    return out;
  }

  Simulator* sim_;
  Nets* nets_;
  const AlphaZeroConfig& cfg_;
  torch::Tensor low_, high_, mid_, half_;
  torch::Generator gen_;
};

// Search targets in a ring: observation, root actions, target policy over them, value target.
struct Targets {
  Targets(int64_t capacity, int obs_dim, int k, int act_dim)
      : obs(torch::zeros({capacity, obs_dim})),
        actions(torch::zeros({capacity, k, act_dim})),
        policy(torch::zeros({capacity, k})),
        value(torch::zeros({capacity})) {}
  void Add(const torch::Tensor& o, const torch::Tensor& a, const torch::Tensor& p,
           const torch::Tensor& z) {
    const int64_t cap = obs.size(0);
    for (int64_t i = 0; i < o.size(0); ++i, ++added) {
      const int64_t slot = added % cap;
      obs[slot].copy_(o[i]), actions[slot].copy_(a[i]), policy[slot].copy_(p[i]);
      value[slot].copy_(z[i]);
    }
  }
  int64_t size() const { return std::min<int64_t>(added, obs.size(0)); }

  torch::Tensor obs, actions, policy, value;
  int64_t added = 0;
};

class AlphaZeroAgent : public Agent {
 public:
  AlphaZeroAgent(const AlphaZeroConfig& cfg, const ThreadsConfig& threads, const Env& env,
                 torch::Device, uint64_t seed)
      : cfg_(cfg),
        threads_(threads),
        env_(AsMujoco(env, "alphazero")),
        sim_(MakeTwin(env, "alphazero"), 1),
        nets_(env.spec().obs_dim, env.spec().act_dim, cfg_),
        evaluator_(&sim_, &nets_, cfg_),
        opt_(nets_.parameters(), torch::optim::AdamOptions(cfg.lr)),
        targets_(cfg.capacity, env.spec().obs_dim, cfg.children, env.spec().act_dim),
        train_gen_(at::detail::createCPUGenerator(DeriveSeed(seed, 3))) {
    eval_cfg_ = cfg_.search;
    eval_cfg_.root_noise = 0;
    eval_cfg_.temperature = 0;
    eval_cfg_.gumbel_scale = 0;
  }

  void BeginEpisode(uint64_t seed) override {
    search_seed_ = DeriveSeed(seed, 1);
    evaluator_.Seed(DeriveSeed(seed, 2));
    episode_ = {};
  }

  torch::Tensor Act(const torch::Tensor& obs, bool eval) override {
    ScopedThreads pools(threads_.plan);
    TreeSearch search(eval ? eval_cfg_ : cfg_.search, DeriveSeed(search_seed_, ++acts_));
    const SearchResult r = search.Run(sim_.StateOf(env_), sim_, evaluator_);
    sim_.CountAction();
    if (!eval) {
      episode_.obs.push_back(obs.to(torch::kFloat));
      episode_.actions.push_back(r.actions.to(torch::kFloat));
      episode_.policy.push_back(cfg_.search.rule == "gumbel" ? r.policy
                                                             : r.visits / r.visits.sum());
      episode_.root_value.push_back(r.value);
    }
    return r.action.to(torch::kFloat);
  }

  void AfterStep(const ReplayBuffer& buffer, int64_t, Metrics*) override {
    if (episode_.obs.size() == episode_.rewards.size()) return;  // not this agent's step
    const Batch last = buffer.Recent(1);
    episode_.rewards.push_back(last.reward.item<double>());
    episode_.terminated = last.terminated.item<double>() > 0;
    episode_.last_obs = last.next_obs[0];
  }

  void AfterEpisode(const ReplayBuffer&, int64_t, Metrics* m) override {
    sim_.Report(m);
    const int64_t t = static_cast<int64_t>(episode_.rewards.size());
    if (t == 0) return;
    targets_.Add(torch::stack(episode_.obs).narrow(0, 0, t),
                 torch::stack(episode_.actions).narrow(0, 0, t),
                 torch::stack(episode_.policy).narrow(0, 0, t).to(torch::kFloat), ValueTargets());
    if (targets_.size() < cfg_.batch_size) return;
    ScopedThreads pools(threads_.train);
    const int updates = std::max(1, static_cast<int>(std::lround(cfg_.updates_per_step * t)));
    double lp = 0, lv = 0;
    for (int i = 0; i < updates; ++i) {
      const auto [p, v] = Update();
      lp += p, lv += v;
    }
    m->Set("policy_loss", lp / updates);
    m->Set("value_loss", lv / updates);
  }

  std::vector<std::string> MetricNames() const override { return {"policy_loss", "value_loss"}; }

  void Save(torch::serialize::OutputArchive& ar) const override {
    torch::serialize::OutputArchive p, v, o;
    nets_.policy->save(p);
    nets_.value->save(v);
    opt_.save(o);
    ar.write("policy", p);
    ar.write("value", v);
    ar.write("optimizer", o);
    ar.write("targets_obs", targets_.obs);
    ar.write("targets_actions", targets_.actions);
    ar.write("targets_policy", targets_.policy);
    ar.write("targets_value", targets_.value);
    ar.write("targets_added", torch::tensor(targets_.added));
    ar.write("train_rng", train_gen_.get_state());
  }
  void Load(torch::serialize::InputArchive& ar) override {
    torch::serialize::InputArchive p, v, o;
    ar.read("policy", p);
    ar.read("value", v);
    ar.read("optimizer", o);
    nets_.policy->load(p);
    nets_.value->load(v);
    opt_.load(o);
    targets_.obs = ReadTensor(ar, "targets_obs");
    targets_.actions = ReadTensor(ar, "targets_actions");
    targets_.policy = ReadTensor(ar, "targets_policy");
    targets_.value = ReadTensor(ar, "targets_value");
    targets_.added = ReadTensor(ar, "targets_added").item<int64_t>();
    train_gen_.set_state(ReadTensor(ar, "train_rng"));
  }

 private:
  struct EpisodeRecord {
    std::vector<torch::Tensor> obs, actions, policy;
    std::vector<double> root_value, rewards;
    bool terminated = false;
    torch::Tensor last_obs;
  };

  // z_t = sum_{i<n} g^i r_{t+i} + g^n v_{t+n}: v the search's root value, past the end the value
  // net's estimate of the last observation (0 after termination).
  torch::Tensor ValueTargets() {
    const auto& e = episode_;
    const int64_t t = static_cast<int64_t>(e.rewards.size());
    const double g = cfg_.search.discount;
    double tail = 0;
    if (!e.terminated) {
      torch::NoGradGuard no_grad;
      tail = nets_.value->forward(nets_.features(e.last_obs.unsqueeze(0))).item<double>() *
             cfg_.value_scale;
    }
    std::vector<float> z(t);
    for (int64_t i = 0; i < t; ++i) {
      double ret = 0, d = 1;
      int64_t j = i;
      for (; j < std::min(t, i + cfg_.n_step); ++j, d *= g) ret += d * e.rewards[j];
      ret += d * (j < t ? e.root_value[j] : tail);
      z[i] = static_cast<float>(ret / cfg_.value_scale);
    }
    return torch::tensor(z);
  }

  std::pair<double, double> Update() {
    const auto idx = torch::randint(targets_.size(), {cfg_.batch_size}, train_gen_);
    const auto obs = targets_.obs.index_select(0, idx);
    const auto [mean, log_std] = evaluator_.Policy(obs);
    const auto logp = evaluator_.LogProb(targets_.actions.index_select(0, idx), mean, log_std);
    const auto policy_loss = -(targets_.policy.index_select(0, idx) * logp).sum(-1).mean() -
                             cfg_.entropy * log_std.sum(-1).mean();
    const auto v = nets_.value->forward(nets_.features(obs)).squeeze(-1);
    const auto value_loss = (v - targets_.value.index_select(0, idx)).square().mean();
    opt_.zero_grad();
    (policy_loss + value_loss).backward();
    opt_.step();
    return {policy_loss.item<double>(), value_loss.item<double>()};
  }

  AlphaZeroConfig cfg_;
  SearchConfig eval_cfg_;
  ThreadsConfig threads_;
  const MujocoEnv& env_;
  Simulator sim_;
  Nets nets_;
  NetEvaluator evaluator_;
  torch::optim::Adam opt_;
  Targets targets_;
  torch::Generator train_gen_;
  EpisodeRecord episode_;
  uint64_t search_seed_ = 0;
  int64_t acts_ = 0;
};

const AgentRegistrar<AlphaZeroConfig> kRegistered("alphazero",
                                                  MakeAgentOf<AlphaZeroAgent, AlphaZeroConfig>);

}  // namespace
}  // namespace mbrl
