#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <cmath>

#include "mbrl/core/check.h"
#include "mbrl/planners/planner.h"

namespace mbrl {
namespace {

// shared state: bounds [A], the warm-start mean [H,A], RNG
class Base : public Planner {
 public:
  Base(const PlannerConfig& cfg, const std::vector<float>& low, const std::vector<float>& high,
       torch::Device device, uint64_t seed)
      : cfg_(cfg),
        gen_(at::detail::createCPUGenerator(seed)),
        elites_(std::max(2, static_cast<int>(std::lround(cfg.elite_fraction * cfg.population)))) {
    MBRL_CHECK(elites_ <= cfg.population, "planner: elites (", elites_, ") > population (",
               cfg.population, ")");
    MBRL_CHECK(!low.empty() && low.size() == high.size(), "planner: bad action bounds");
    MBRL_CHECK(cfg.replan_every <= cfg.horizon, "planner.replan_every (", cfg.replan_every,
               ") must be <= planner.horizon (", cfg.horizon, ")");
    const auto opt = torch::TensorOptions().device(device);
    low_ = torch::tensor(low).to(opt);
    high_ = torch::tensor(high).to(opt);
    MBRL_CHECK((high_ > low_).all().item<bool>(), "planner: action bounds must have low < high");
    device_ = device;
    Reset();
  }

  void Reset() override {
    mean_ = ((low_ + high_) / 2).expand({cfg_.horizon, low_.size(0)}).clone();
    fresh_ = true;
  }

 protected:
  int A() const { return static_cast<int>(low_.size(0)); }
  int H() const { return cfg_.horizon; }
  torch::Tensor Clamp(const torch::Tensor& x) const { return torch::max(torch::min(x, high_), low_); }
  // standard normal on the planner's device, drawn from our CPU generator (deterministic)
  torch::Tensor Randn(torch::IntArrayRef shape) {
    return torch::randn(shape, gen_).to(device_);
  }
  // shifts `x` [.., H, A] left by replan_every steps, filling the tail with `fill` [A]
  torch::Tensor Shift(const torch::Tensor& x, const torch::Tensor& fill) const {
    const int k = cfg_.replan_every;
    auto tail = fill.expand_as(x.narrow(-2, 0, k));
    return torch::cat({x.narrow(-2, k, H() - k), tail}, -2);
  }
  torch::Tensor Score(const Objective& f, const torch::Tensor& actions) {
    evaluations_ += actions.size(0);
    auto r = f(actions);
    MBRL_CHECK(r.dim() == 1 && r.size(0) == actions.size(0), "objective returned shape ",
               r.sizes(), " for ", actions.size(0), " sequences");
    return torch::nan_to_num(r, -1e10, -1e10, -1e10);  // a NaN rollout is never chosen
  }
  // the proposals (if any) in place of the last rows of sampled candidates [N,H,A]
  torch::Tensor WithProposals(const torch::Tensor& sampled) const {
    if (!proposals_.defined()) return sampled;
    const int64_t p = proposals_.size(0), n = sampled.size(0);
    MBRL_CHECK(proposals_.dim() == 3 && proposals_.size(1) == H() && proposals_.size(2) == A(),
               "planner: proposals of shape ", proposals_.sizes(), ", expected [P,", H(), ",",
               A(), "]");
    MBRL_CHECK(p < n, "planner: ", p, " proposals leave no room in a population of ", n);
    return torch::cat({sampled.narrow(0, 0, n - p), Clamp(proposals_.to(device_))}, 0);
  }

  PlannerConfig cfg_;
  torch::Generator gen_;
  torch::Device device_ = torch::kCPU;
  int elites_;  // cem, icem
  torch::Tensor low_, high_, mean_;  // [A], [A], [H,A]
  bool fresh_ = true;
};

// random shooting: best of `population` uniform sequences
class RandomShooting : public Base {
 public:
  using Base::Base;
  torch::Tensor Plan(const Objective& f) override {
    auto u = torch::rand({cfg_.population, H(), A()}, gen_).to(device_);
    auto actions = WithProposals(low_ + (high_ - low_) * u);
    return actions[Score(f, actions).argmax()];
  }
};

// PETS-style CEM: truncated normal within bounds, variance capped by the distance to the
// bounds, momentum alpha on mean and variance, warm start by shifting the previous mean
class Cem : public Base {
 public:
  using Base::Base;
  torch::Tensor Plan(const Objective& f) override {
    const auto init_var = (high_ - low_).square() / 16;  // [A]
    if (!fresh_) mean_ = Shift(mean_, (low_ + high_) / 2);
    fresh_ = false;
    auto mean = mean_;
    auto var = init_var.expand({H(), A()}).clone();
    for (int it = 0; it < cfg_.iterations; ++it) {
      auto lb = mean - low_, ub = high_ - mean;
      auto cvar = torch::min(torch::min((lb / 2).square(), (ub / 2).square()), var);
      auto z = Randn({cfg_.population, H(), A()});
      z = torch::clamp(z, -2, 2);  // truncation at 2 sigma (PETS)
      auto actions = WithProposals(Clamp(mean + cvar.sqrt() * z));
      auto score = Score(f, actions);
      auto top = std::get<1>(score.topk(elites_));
      auto elite = actions.index_select(0, top);
      mean = cfg_.alpha * mean + (1 - cfg_.alpha) * elite.mean(0);
      var = cfg_.alpha * var + (1 - cfg_.alpha) * elite.var(0, false);
    }
    mean_ = mean;
    return mean_.clone();
  }
};

// colored noise [N,H,A] with power spectrum 1/f^beta along H, unit variance
torch::Tensor ColoredNoise(int64_t n, int64_t h, int64_t a, double beta, torch::Generator& gen) {
  if (beta == 0 || h < 2) return torch::randn({n, h, a}, gen);
  auto freqs = torch::fft::rfftfreq(h, 1.0, torch::kFloat64);  // [h/2+1]
  freqs[0] = freqs[1];
  auto scale = freqs.pow(-beta / 2.0).to(torch::kFloat32);
  auto re = torch::randn({n, a, freqs.size(0)}, gen), im = torch::randn({n, a, freqs.size(0)}, gen);
  auto spec = torch::complex(re * scale, im * scale);
  auto x = torch::fft::irfft(spec, h, -1);  // [n,a,h]
  x = x / x.std().clamp_min(1e-8);  // unit variance overall; keeps the low-frequency power
  return x.transpose(1, 2).contiguous();
}

// iCEM (Pinneri et al. 2020): colored noise, decaying population, elites kept across
// iterations and shifted across steps, the mean added in the last iteration, best executed
class ICem : public Base {
 public:
  using Base::Base;
  void Reset() override {
    Base::Reset();
    kept_ = torch::Tensor();
  }
  torch::Tensor Plan(const Objective& f) override {
    const auto center = (low_ + high_) / 2;
    if (!fresh_) mean_ = Shift(mean_, center);
    fresh_ = false;
    auto mean = mean_;
    auto std = ((high_ - low_) / 2).expand({H(), A()}).clone();  // iCEM init std: half range
    const int keep = static_cast<int>(std::lround(cfg_.keep_elites * elites_));
    torch::Tensor best_actions;
    torch::Tensor best_score;
    torch::Tensor elite, elite_score;
    for (int it = 0; it < cfg_.iterations; ++it) {
      const int n = std::max(2 * elites_, static_cast<int>(cfg_.population /
                                                           std::pow(cfg_.population_decay, it)));
      auto noise = ColoredNoise(n, H(), A(), cfg_.noise_beta, gen_).to(device_);
      std::vector<torch::Tensor> parts = {WithProposals(Clamp(mean + std * noise))};
      if (it == 0 && kept_.defined() && keep > 0) {
        parts.push_back(Shift(kept_.narrow(0, 0, std::min<int64_t>(keep, kept_.size(0))), center));
      } else if (it > 0 && keep > 0) {
        parts.push_back(elite.narrow(0, 0, keep));
      }
      if (it == cfg_.iterations - 1) parts.push_back(mean.unsqueeze(0));
      auto actions = torch::cat(parts, 0);
      auto score = Score(f, actions);
      auto top = std::get<1>(score.topk(std::min<int64_t>(elites_, score.size(0))));
      elite = actions.index_select(0, top);
      elite_score = score.index_select(0, top);
      mean = cfg_.alpha * mean + (1 - cfg_.alpha) * elite.mean(0);
      std = cfg_.alpha * std + (1 - cfg_.alpha) * elite.std(0, false);
      if (!best_score.defined()) {
        best_score = elite_score[0];
        best_actions = elite[0];
      } else {  // no host sync: select on device
        best_actions = torch::where(elite_score[0] > best_score, elite[0], best_actions);
        best_score = torch::max(best_score, elite_score[0]);
      }
    }
    kept_ = elite;
    mean_ = mean;
    return best_actions.clone();
  }

 private:
  torch::Tensor kept_;  // elites of the last plan [K,H,A]
};

// MPPI: exponentially weighted average of smoothed-noise perturbations of the warm start
class Mppi : public Base {
 public:
  using Base::Base;
  torch::Tensor Plan(const Objective& f) override {
    if (!fresh_) mean_ = Shift(mean_, mean_[H() - 1]);
    fresh_ = false;
    const auto half = (high_ - low_) / 2;
    for (int it = 0; it < cfg_.iterations; ++it) {
      auto e = Randn({cfg_.population, H(), A()}) * (cfg_.noise_std * half);
      // first-order filter along the horizon
      std::vector<torch::Tensor> steps;
      auto u = e.select(1, 0);
      steps.push_back(u);
      for (int t = 1; t < H(); ++t) {
        u = cfg_.smoothing * e.select(1, t) + (1 - cfg_.smoothing) * u;
        steps.push_back(u);
      }
      auto actions = WithProposals(Clamp(mean_ + torch::stack(steps, 1)));
      auto score = Score(f, actions);
      auto w = torch::softmax((score - score.max()) / cfg_.temperature, 0);
      mean_ = (w.view({-1, 1, 1}) * actions).sum(0);
    }
    return mean_.clone();
  }
};

// TD-MPC's MPPI (Hansen et al. 2022, 2024): Gaussian samples around the warm-started mean, the
// top elites softmax-weighted by score refit mean and std (std within [min_std, max_std] of the
// half range); the returned sequence is an elite drawn by its weight, and `spread` the final std
class EliteMppi : public Base {
 public:
  using Base::Base;
  torch::Tensor Plan(const Objective& f) override {
    const auto center = (low_ + high_) / 2, half = (high_ - low_) / 2;
    if (!fresh_) mean_ = Shift(mean_, center);
    fresh_ = false;
    const auto lo = cfg_.min_std * half, hi = cfg_.max_std * half;
    auto mean = mean_;
    auto std = hi.expand({H(), A()}).clone();
    torch::Tensor elite, w;
    for (int it = 0; it < cfg_.iterations; ++it) {
      auto actions = WithProposals(Clamp(mean + std * Randn({cfg_.population, H(), A()})));
      auto score = Score(f, actions);
      auto [top_score, top] = score.topk(elites_);
      elite = actions.index_select(0, top);
      w = torch::softmax((top_score - top_score.max()) / cfg_.temperature, 0);
      auto wv = w.view({-1, 1, 1});
      mean = (wv * elite).sum(0);
      std = torch::max(torch::min(((wv * (elite - mean).square()).sum(0)).sqrt(), hi), lo);
    }
    mean_ = mean;
    spread_ = std;
    auto pick = torch::multinomial(w.to(torch::kCPU), 1, false, gen_).to(device_);
    return elite.index_select(0, pick).squeeze(0);
  }
};

}  // namespace

torch::Tensor Planner::Plan(const Objective& objective, const torch::Tensor& proposals) {
  proposals_ = proposals;
  try {
    auto plan = Plan(objective);
    proposals_ = torch::Tensor();
    return plan;
  } catch (...) {
    proposals_ = torch::Tensor();
    throw;
  }
}

std::unique_ptr<Planner> MakePlanner(const PlannerConfig& cfg, const std::vector<float>& low,
                                     const std::vector<float>& high, torch::Device device,
                                     uint64_t seed) {
  if (cfg.type == "cem") return std::make_unique<Cem>(cfg, low, high, device, seed);
  if (cfg.type == "icem") return std::make_unique<ICem>(cfg, low, high, device, seed);
  if (cfg.type == "mppi") return std::make_unique<Mppi>(cfg, low, high, device, seed);
  if (cfg.type == "elite_mppi") return std::make_unique<EliteMppi>(cfg, low, high, device, seed);
  if (cfg.type == "random") return std::make_unique<RandomShooting>(cfg, low, high, device, seed);
  throw Error("planner.type: unknown planner '" + cfg.type + "'");
}

}  // namespace mbrl
