// Tree search on small MDPs with known answers: a bandit, a chain, a continuous 1-D task.
#include "mbrl/search/search.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <set>
#include <vector>

namespace mbrl {
namespace {

// The same K actions (1-D) everywhere, with a uniform prior and value 0.
class FixedActions : public Evaluator {
 public:
  explicit FixedActions(std::vector<float> actions) : actions_(torch::tensor(actions)) {}
  Evaluation Evaluate(const torch::Tensor& states) override {
    const int64_t n = states.size(0), k = actions_.size(0);
    ++calls;
    return {torch::zeros({n}), actions_.view({1, k, 1}).expand({n, k, 1}),
            torch::full({n, k}, 1.0f / k)};
  }
  int calls = 0;

 private:
  torch::Tensor actions_;
};

// K actions drawn uniformly in [-1, 1] for every state (seeded), uniform prior, value 0.
class UniformActions : public Evaluator {
 public:
  UniformActions(int k, uint64_t seed)
      : k_(k), gen_(torch::make_generator<at::CPUGeneratorImpl>(seed)) {}
  Evaluation Evaluate(const torch::Tensor& states) override {
    const int64_t n = states.size(0);
    return {torch::zeros({n}), torch::rand({n, k_, 1}, gen_) * 2 - 1,
            torch::full({n, k_}, 1.0f / k_)};
  }

 private:
  int k_;
  torch::Generator gen_;
};

// One step: reward 1 - (a - 0.5)^2, then done.
class Bandit : public StepModel {
 public:
  Out Step(const torch::Tensor& s, const torch::Tensor& a) override {
    ++calls;
    max_batch = std::max<int64_t>(max_batch, s.size(0));
    return {1 - (a.select(1, 0) - 0.5).square(), s.clone(), torch::ones({s.size(0)}, torch::kBool)};
  }
  int calls = 0;
  int64_t max_batch = 0;
};

// Positions 0..4, action < 0 moves left (not below 0), else right; reaching 4 pays 1 and ends.
class Chain : public StepModel {
 public:
  Out Step(const torch::Tensor& s, const torch::Tensor& a) override {
    auto x = (s.select(1, 0) + torch::where(a.select(1, 0) < 0, -1.0f, 1.0f)).clamp_min(0);
    auto done = x >= 4;
    return {done.to(torch::kFloat), x.unsqueeze(1), done};
  }
};

// x' = x + a, reward -|x'|, three steps (state [x, t]).
class Line : public StepModel {
 public:
  Out Step(const torch::Tensor& s, const torch::Tensor& a) override {
    auto x = s.select(1, 0) + a.select(1, 0), t = s.select(1, 1) + 1;
    return {-x.abs(), torch::stack({x, t}, 1), t >= 3};
  }
};

// gumbel: without root noise, which is for exploration (the acting choice keeps g, so it takes a
// near-best arm at times by design)
SearchConfig Config(const std::string& rule, int sims, int batch = 1) {
  SearchConfig c;
  c.rule = rule;
  c.gumbel_scale = 0;
  c.simulations = sims;
  c.batch = batch;
  return c;
}

TEST(Search, BanditFindsTheBestArmAndItsValue) {
  for (const std::string rule : {"puct", "uct", "gumbel"}) {
    Bandit model;
    FixedActions eval({-1, -0.5, 0, 0.5, 1});
    const SearchResult r = TreeSearch(Config(rule, 200), 0).Run(torch::zeros({1}), model, eval);
    EXPECT_FLOAT_EQ(r.action.item<float>(), 0.5f) << rule;
    EXPECT_FLOAT_EQ(r.q[3].item<float>(), 1.0f) << rule;
    EXPECT_FLOAT_EQ(r.q[0].item<float>(), 1 - 2.25f) << rule;
    EXPECT_EQ(r.visits.sum().item<float>(), 200) << rule;
    EXPECT_GT(r.value, 0.6) << rule;  // mostly the best arm's 1
  }
}

TEST(Search, VisitsConcentrateWithMoreSimulations) {
  for (const std::string rule : {"puct", "uct", "gumbel"}) {
    std::vector<double> share;
    for (int sims : {25, 100, 400}) {
      Bandit model;
      FixedActions eval({-1, -0.5, 0, 0.5, 1});
      const auto r = TreeSearch(Config(rule, sims), 0).Run(torch::zeros({1}), model, eval);
      // sequential halving spends fixed shares per phase: Gumbel's improved policy concentrates
      share.push_back(rule == "gumbel" ? r.policy[3].item<double>()
                                       : r.visits[3].item<double>() / sims);
    }
    EXPECT_LT(share[0], share[1]) << rule;
    EXPECT_LT(share[1], share[2]) << rule;
  }
}

TEST(Search, ChainFindsTheGoalAndTheDiscountedValue) {
  for (const std::string rule : {"puct", "uct", "gumbel"}) {
    Chain model;
    FixedActions eval({-1, 1});
    SearchConfig c = Config(rule, 1000);
    c.discount = 0.9;
    const auto r = TreeSearch(c, 1).Run(torch::zeros({1}), model, eval);
    EXPECT_FLOAT_EQ(r.action.item<float>(), 1.f) << rule;
    // the goal is 4 steps away: the best return after moving right is 0.9^3, and the mean of
    // the returns seen through that edge approaches it from below
    EXPECT_LE(r.q[1].item<double>(), std::pow(0.9, 3) + 1e-6) << rule;
    EXPECT_GT(r.q[1].item<double>(), 0.5 * std::pow(0.9, 3)) << rule;
    EXPECT_LT(r.q[0].item<double>(), r.q[1].item<double>()) << rule;
  }
}

// Sequential halving spends a small budget on simple regret: 16 arms, 32 simulations (each arm
// once, then the better half again, ...) pick the best arm, and the improved policy (the training
// target) ranks it first and all but drops the worst arm. With m = 4 and Gumbel noise, four arms
// are tried, a different four for different seeds, and the action is one of them.
TEST(Search, GumbelHalvingFindsTheBestOfManyArmsOnASmallBudget) {
  std::vector<float> arms;
  for (int j = 0; j < 16; ++j) arms.push_back(-1 + 2.f * j / 15);  // arm 11 is nearest 0.5
  Bandit model;
  FixedActions eval(arms);
  const auto r = TreeSearch(Config("gumbel", 32), 3).Run(torch::zeros({1}), model, eval);
  EXPECT_FLOAT_EQ(r.action.item<float>(), arms[11]);
  EXPECT_EQ(r.visits.min().item<float>(), 1);
  EXPECT_EQ(r.visits.sum().item<float>(), 32);
  EXPECT_EQ(r.policy.argmax().item<int64_t>(), 11);
  EXPECT_NEAR(r.policy.sum().item<double>(), 1, 1e-6);
  EXPECT_LT(r.policy[0].item<double>(), 0.01);

  std::set<std::vector<float>> subsets;
  for (uint64_t seed = 0; seed < 5; ++seed) {
    SearchConfig c = Config("gumbel", 32);
    c.gumbel_m = 4;
    c.gumbel_scale = 1;
    const auto q = TreeSearch(c, seed).Run(torch::zeros({1}), model, eval);
    const auto tried = q.visits > 0;
    EXPECT_EQ(tried.sum().item<int64_t>(), 4) << seed;
    const int64_t pick = (q.actions.squeeze(1) == q.action).nonzero()[0][0].item<int64_t>();
    EXPECT_TRUE(tried[pick].item<bool>()) << seed;
    const auto v = tried.to(torch::kFloat).contiguous();
    subsets.insert({v.data_ptr<float>(), v.data_ptr<float>() + v.numel()});
  }
  EXPECT_GT(subsets.size(), 1u);
}

TEST(Search, ContinuousLineFindsTheOptimalActionsAndValue) {
  for (const std::string rule : {"puct", "uct"}) {
    // from x = 2: -1, -1, then the smallest step (+-0.2): return -1 - 0 - 0.99^2 * 0.2. The
    // mean of the returns through the first -1 is below that and rises toward it with more
    // simulations.
    const double best = -1 - 0.99 * 0.99 * 0.2;
    std::vector<double> q;
    for (int sims : {250, 2000, 16000}) {
      Line model;
      FixedActions grid({-1, -0.6, -0.2, 0.2, 0.6, 1});
      const auto r =
          TreeSearch(Config(rule, sims, 4), 2).Run(torch::tensor({2.0f, 0.0f}), model, grid);
      EXPECT_FLOAT_EQ(r.action.item<float>(), -1.f) << rule << " " << sims;
      q.push_back(r.q[0].item<double>());
      EXPECT_LE(q.back(), best + 1e-6) << rule;
    }
    EXPECT_LT(q[0], q[1]) << rule;
    EXPECT_LT(q[1], q[2]) << rule;
    // actions sampled uniformly within the bounds: the search moves left, within [-1, 1]
    Line model2;
    UniformActions uniform(8, 3);
    SearchConfig c = Config(rule, 400, 8);
    c.progressive_widening = rule == "uct";
    const auto u = TreeSearch(c, 2).Run(torch::tensor({2.0f, 0.0f}), model2, uniform);
    EXPECT_LT(u.action.item<float>(), 0.f) << rule;
    EXPECT_TRUE((u.actions.abs() <= 1).all().item<bool>()) << rule;
    EXPECT_TRUE((u.action.abs() <= 1).all().item<bool>()) << rule;
  }
}

TEST(Search, DeterministicForASeedAndBatchedLeaves) {
  const auto run = [](uint64_t seed, Bandit* model, FixedActions* eval) {
    SearchConfig c = Config("puct", 64);
    c.root_noise = 0.25;
    c.temperature = 1;
    return TreeSearch(c, seed).Run(torch::zeros({1}), *model, *eval);
  };
  Bandit m1, m2;
  FixedActions e1({-1, 0, 0.5, 1}), e2({-1, 0, 0.5, 1});
  const auto a = run(5, &m1, &e1), b = run(5, &m2, &e2);
  EXPECT_TRUE(torch::equal(a.visits, b.visits));
  EXPECT_TRUE(torch::equal(a.action, b.action));
  EXPECT_EQ(m1.calls, 4);  // one expansion per arm, one state each
  EXPECT_EQ(m1.max_batch, 1);
  // 8 leaves per call: virtual visits spread one batch over the four arms, one model call
  Bandit m3;
  FixedActions e3({-1, 0, 0.5, 1});
  const auto c = TreeSearch(Config("puct", 64, 8), 5).Run(torch::zeros({1}), m3, e3);
  EXPECT_EQ(m3.calls, 1);
  EXPECT_EQ(m3.max_batch, 4);
  EXPECT_EQ(e3.calls, 2);  // the root, then the four leaves at once
  EXPECT_EQ(c.visits.sum().item<float>(), 64);
  EXPECT_EQ(c.visits.argmax().item<int64_t>(), 2);
}

// reuse_tree: a search from the state of the last search's chosen child continues that subtree
// (its visits plus the new simulations); another state starts afresh.
TEST(Search, ReusesTheChosenChildsSubtree) {
  Chain model;
  FixedActions eval({-1, 1});
  SearchConfig c = Config("puct", 100);
  c.reuse_tree = true;
  TreeSearch search(c, 1);
  const auto r1 = search.Run(torch::zeros({1}), model, eval);
  ASSERT_FLOAT_EQ(r1.action.item<float>(), 1.f);
  const float below = r1.visits[1].item<float>() - 1;  // the child's own expansion is no edge
  const auto r2 = search.Run(torch::ones({1}), model, eval);
  EXPECT_EQ(r2.visits.sum().item<float>(), below + 100);
  EXPECT_FLOAT_EQ(r2.action.item<float>(), 1.f);
  const auto r3 = search.Run(torch::full({1}, 3.0f), model, eval);  // not the chosen child
  EXPECT_EQ(r3.visits.sum().item<float>(), 100);
}

TEST(Search, ProgressiveWideningLimitsTheChildrenTried) {
  Bandit model;
  FixedActions eval({-1, -0.75, -0.5, -0.25, 0, 0.25, 0.5, 0.75, 1});
  SearchConfig c = Config("uct", 9);
  c.progressive_widening = true;  // ceil(sqrt(N)) children at N visits
  const auto r = TreeSearch(c, 0).Run(torch::zeros({1}), model, eval);
  EXPECT_EQ((r.visits > 0).sum().item<int64_t>(), 3);  // sqrt(9): 3 children, not all 9
  c.progressive_widening = false;
  Bandit model2;
  const auto all = TreeSearch(c, 0).Run(torch::zeros({1}), model2, eval);
  EXPECT_EQ((all.visits > 0).sum().item<int64_t>(), 9);  // UCT tries every child first
}

TEST(Search, SampledPriorCorrectsForTheProposal) {
  const auto logp_pi = torch::log(torch::tensor({{0.5f, 0.3f, 0.2f}}));
  // samples drawn from pi itself: each sample counts 1/K
  EXPECT_TRUE(torch::allclose(SampledPrior(logp_pi, logp_pi), torch::full({1, 3}, 1.f / 3)));
  // uniform proposal: the prior is pi (renormalised over the samples)
  const auto uniform = torch::full({1, 3}, std::log(0.5f));
  EXPECT_TRUE(torch::allclose(SampledPrior(logp_pi, uniform), logp_pi.exp()));
}

}  // namespace
}  // namespace mbrl
