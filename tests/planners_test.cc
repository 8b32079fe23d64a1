#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mbrl/core/check.h"
#include "mbrl/planners/planner.h"

namespace mbrl {
namespace {

constexpr int kH = 10, kA = 2;

// a smooth optimum inside the bounds [-1, 1]
torch::Tensor Target(int shift = 0) {
  auto t = torch::arange(shift, shift + kH, torch::kFloat32).unsqueeze(1);
  return torch::cat({0.6f * torch::sin(0.5 * t), -0.3f + 0.2f * torch::cos(0.3 * t)}, 1);
}

// quadratic objective [N,H,A] -> [N]; records whether every candidate stayed in bounds
Objective Quadratic(const torch::Tensor& target, bool* in_bounds) {
  return [target, in_bounds](const torch::Tensor& a) {
    if (in_bounds) *in_bounds = *in_bounds && a.abs().max().item<float>() <= 1.f;
    return -(a - target).square().sum({1, 2});
  };
}

PlannerConfig Config(const std::string& type) {
  PlannerConfig c;
  c.type = type;
  c.horizon = kH;
  c.population = type == "random" ? 4000 : 300;
  c.iterations = type == "random" ? 1 : type == "mppi" ? 30 : 8;
  c.temperature = 0.1;
  c.noise_std = 0.2;
  c.smoothing = 1.0;
  return c;
}

const std::vector<float> kLow(kA, -1.f), kHigh(kA, 1.f);

TEST(Planners, FindTheOptimumOfAQuadraticWithinBounds) {
  const std::pair<std::string, double> cases[] = {
      {"cem", 0.05}, {"icem", 0.1}, {"mppi", 0.1}, {"random", 0.4}};
  for (const auto& [type, tol] : cases) {
    SCOPED_TRACE(type);
    auto planner = MakePlanner(Config(type), kLow, kHigh, torch::kCPU, 3);
    bool in_bounds = true;
    auto plan = planner->Plan(Quadratic(Target(), &in_bounds));
    EXPECT_EQ(plan.sizes(), torch::IntArrayRef({kH, kA}));
    EXPECT_TRUE(in_bounds);
    EXPECT_LE(plan.abs().max().item<float>(), 1.f);
    const float err = (plan - Target()).abs().mean().item<float>();
    EXPECT_LT(err, tol) << "mean error " << err;
    EXPECT_GT(planner->evaluations(), 0);
  }
}

TEST(Planners, OptimumOutsideBoundsPushesToTheBound) {
  for (const std::string type : {"cem", "icem", "mppi"}) {
    SCOPED_TRACE(type);
    auto planner = MakePlanner(Config(type), kLow, kHigh, torch::kCPU, 4);
    bool in_bounds = true;
    auto plan = planner->Plan(Quadratic(torch::full({kH, kA}, 3.f), &in_bounds));
    EXPECT_TRUE(in_bounds);
    // PETS-style CEM caps the variance by the distance to the bound, so it approaches slowly
    EXPECT_GT(plan.mean().item<float>(), 0.7f);
    EXPECT_LE(plan.max().item<float>(), 1.f);
  }
}

TEST(Planners, WarmStartShiftsThePreviousPlan) {
  // a one-iteration planner that tracked a moving target starts each plan from its previous
  // solution shifted by one step, so it beats a fresh one-iteration planner on the first H-1 steps
  for (const std::string type : {"cem", "icem", "mppi"}) {
    SCOPED_TRACE(type);
    auto one = Config(type);
    one.iterations = 1;
    auto warm = MakePlanner(one, kLow, kHigh, torch::kCPU, 5);
    auto fresh = MakePlanner(one, kLow, kHigh, torch::kCPU, 5);
    for (int i = 0; i < 6; ++i) warm->Plan(Quadratic(Target(i), nullptr));
    auto next = Target(6);
    auto pw = warm->Plan(Quadratic(next, nullptr));
    auto pf = fresh->Plan(Quadratic(next, nullptr));
    const float ew = (pw - next).narrow(0, 0, kH - 1).abs().mean().item<float>();
    const float ef = (pf - next).narrow(0, 0, kH - 1).abs().mean().item<float>();
    EXPECT_LT(ew, 0.5f * ef) << "warm " << ew << " fresh " << ef;
    // after Reset the planner starts from the centre again: like the fresh one
    warm->Reset();
    auto pr = warm->Plan(Quadratic(next, nullptr));
    EXPECT_GT((pr - next).narrow(0, 0, kH - 1).abs().mean().item<float>(), ew);
  }
}

TEST(Planners, DeterministicForASeed) {
  for (const std::string type : {"cem", "icem", "mppi", "random"}) {
    SCOPED_TRACE(type);
    auto a = MakePlanner(Config(type), kLow, kHigh, torch::kCPU, 9);
    auto b = MakePlanner(Config(type), kLow, kHigh, torch::kCPU, 9);
    auto c = MakePlanner(Config(type), kLow, kHigh, torch::kCPU, 10);
    for (int i = 0; i < 2; ++i) {
      auto pa = a->Plan(Quadratic(Target(i), nullptr));
      auto pb = b->Plan(Quadratic(Target(i), nullptr));
      auto pc = c->Plan(Quadratic(Target(i), nullptr));
      EXPECT_TRUE(torch::equal(pa, pb));
      EXPECT_FALSE(torch::equal(pa, pc));
    }
  }
}

TEST(Planners, NanScoresAreNeverChosen) {
  auto planner = MakePlanner(Config("cem"), kLow, kHigh, torch::kCPU, 1);
  auto target = Target();
  auto plan = planner->Plan([&](const torch::Tensor& a) {
    auto r = -(a - target).square().sum({1, 2});
    return torch::where(a.select(2, 0).select(1, 0) > 0.5, torch::full_like(r, NAN), r);
  });
  EXPECT_TRUE(torch::isfinite(plan).all().item<bool>());
  EXPECT_LE(plan[0][0].item<float>(), 0.5f + 1e-6f);
}

TEST(Planners, BadSettingsAreErrors) {
  auto c = Config("cem");
  c.population = 5;
  c.elite_fraction = 1.0;
  EXPECT_NO_THROW(MakePlanner(c, kLow, kHigh, torch::kCPU, 0));
  c.replan_every = kH + 1;
  EXPECT_THROW(MakePlanner(c, kLow, kHigh, torch::kCPU, 0), Error);
  EXPECT_THROW(MakePlanner(Config("cem"), {1.f}, {-1.f}, torch::kCPU, 0), Error);
  auto bad = MakePlanner(Config("cem"), kLow, kHigh, torch::kCPU, 0);
  EXPECT_THROW(bad->Plan([](const torch::Tensor&) { return torch::zeros({3}); }), Error);
}

}  // namespace
}  // namespace mbrl
