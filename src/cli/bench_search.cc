// `mbrl bench search`: simulations/s of the tree search alone (a stand-in model that only hands
// out precomputed outputs, as scripts/bench_lightzero_search.py does for LightZero's ctree), and
// of the tree with a learned latent model (NormedMlp dynamics, reward, value and policy heads of
// Sampled EfficientZero's MLP size) at network batches 1/8/64.
#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "mbrl/core/random.h"
#include "mbrl/core/runtime.h"
#include "mbrl/models/latent_net.h"
#include "mbrl/search/search.h"

namespace mbrl {
namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Outputs drawn once, handed out by rows (the tree's cost plus a slice per call).
class PooledModel : public StepModel, public Evaluator {
 public:
  PooledModel(int64_t latent, int64_t a, int64_t k, int64_t rows) : k_(k) {
    auto gen = at::detail::createCPUGenerator(0);
    next_ = Randn({rows, latent}, gen, {});
    reward_ = Randn({rows}, gen, {});
    value_ = Randn({rows}, gen, {});
    actions_ = Rand({rows, k, a}, gen, {}) * 2 - 1;
    prior_ = torch::softmax(Randn({rows, k}, gen, {}), -1);
    done_ = torch::zeros({rows}, torch::kBool);
  }
  Out Step(const torch::Tensor& s, const torch::Tensor&) override {
    const int64_t n = s.size(0), at = Take(n);
    return {reward_.narrow(0, at, n), next_.narrow(0, at, n), done_.narrow(0, at, n)};
  }
  Evaluation Evaluate(const torch::Tensor& s) override {
    const int64_t n = s.size(0), at = Take(n);
    return {value_.narrow(0, at, n), actions_.narrow(0, at, n), prior_.narrow(0, at, n)};
  }

 private:
  int64_t Take(int64_t n) {
    if (cursor_ + n > next_.size(0)) cursor_ = 0;
    cursor_ += n;
    return cursor_ - n;
  }
  int64_t k_, cursor_ = 0;
  torch::Tensor next_, reward_, value_, actions_, prior_, done_;
};

// A MuZero-style latent model: dynamics [L+A] -> L (SimNorm), reward [L+A] -> 1, value L -> 1,
// policy L -> 2A (squashed Gaussian; K samples per node, prior by Sampled MuZero's correction).
class LatentModel : public StepModel, public Evaluator {
 public:
  LatentModel(int64_t latent, int64_t a, int64_t k, int64_t units)
      : a_(a), k_(k), gen_(at::detail::createCPUGenerator(1)) {
    NormedMlpOptions o;
    o.units = units;
    o.layers = 1;
    NormedMlpOptions dyn = o;
    dyn.simnorm = 8;
    dynamics_ = NormedMlp(latent + a, latent, dyn);
    reward_ = NormedMlp(latent + a, 1, o);
    value_ = NormedMlp(latent, 1, o);
    policy_ = NormedMlp(latent, 2 * a, o);
  }
  Out Step(const torch::Tensor& s, const torch::Tensor& act) override {
    torch::NoGradGuard ng;
    auto x = torch::cat({s, act}, -1);
    return {reward_->Single(x).squeeze(-1), dynamics_->Single(x),
            torch::zeros({s.size(0)}, torch::kBool)};
  }
  Evaluation Evaluate(const torch::Tensor& s) override {
    torch::NoGradGuard ng;
    auto out = policy_->Single(s);
    auto mu = out.narrow(-1, 0, a_).unsqueeze(1), log_std = out.narrow(-1, a_, a_).unsqueeze(1);
    auto eps = Randn({s.size(0), k_, a_}, gen_, s.options());
    auto logp = (-0.5 * eps.square() - log_std).sum(-1);  // [N,K], up to a constant
    auto actions = torch::tanh(mu + eps * log_std.exp());
    return {value_->Single(s).squeeze(-1), actions, SampledPrior(logp, logp)};
  }

 private:
  int64_t a_, k_;
  torch::Generator gen_;
  NormedMlp dynamics_{nullptr}, reward_{nullptr}, value_{nullptr}, policy_{nullptr};
};

// Runs `roots` searches of `cfg` (one root each); returns simulations per second.
template <class Model>
double SimsPerSecond(const SearchConfig& cfg, Model& model, int64_t latent, double seconds) {
  TreeSearch search(cfg, 0);
  const auto root = torch::zeros({latent});
  search.Run(root, model, model);  // warm-up
  int64_t sims = 0;
  const auto t0 = Clock::now();
  do {
    search.Run(root, model, model);
    sims += cfg.simulations;
  } while (Since(t0) < seconds);
  return sims / Since(t0);
}

}  // namespace

int BenchSearch(const PhaseThreads& threads, double seconds) {
  ScopedThreads pools(threads);
  constexpr int64_t kLatent = 256, kUnits = 256;  // LightZero's MLP model: latent 256
  std::fprintf(stderr, "%-7s %3s %3s %5s %6s %14s\n", "case", "A", "K", "sims", "batch", "sims/s");
  for (const int64_t a : {1, 6}) {
    for (const int64_t k : {8, 16}) {
      for (const int batch : {1, 8, 64}) {
        SearchConfig cfg;
        cfg.simulations = 50;
        cfg.batch = batch;
        cfg.discount = 0.997;
        cfg.root_noise = 0.25;  // LightZero's collect-mode settings
        PooledModel pooled(kLatent, a, k, 4096);
        LatentModel learned(kLatent, a, k, kUnits);
        for (const bool net : {false, true}) {
          const double rate = net ? SimsPerSecond(cfg, learned, kLatent, seconds)
                                  : SimsPerSecond(cfg, pooled, kLatent, seconds);
          const char* name = net ? "model" : "tree";
          std::cout << nlohmann::json{{"bench", "search"},
                                      {"case", name},
                                      {"A", a},
                                      {"K", k},
                                      {"simulations", cfg.simulations},
                                      {"batch", batch},
                                      {"latent", kLatent},
                                      {"units", kUnits},
                                      {"sims_per_s", rate},
                                      {"threads", {threads.torch, threads.blas}}}
                           .dump()
                    << std::endl;
          std::fprintf(stderr, "%-7s %3ld %3ld %5d %6d %14.0f\n", name, a, k, cfg.simulations,
                       batch, rate);
        }
      }
    }
  }
  return 0;
}

}  // namespace mbrl
