// SAC learner on its own: Bellman targets honour terminations; it learns a tiny control task.
#include "mbrl/learners/sac.h"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <set>
#include <string>

#include "mbrl/core/check.h"
#include "mbrl/core/runtime.h"
#include "mbrl/data/replay_buffer.h"

namespace mbrl {
namespace {

std::set<std::string> ThreadIds() {
  std::set<std::string> ids;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/task"))
    ids.insert(e.path().filename().string());
  return ids;
}

// Agents enter a phase's pools every step. Re-setting the same counts must start no threads:
// LibTorch's set_num_threads rebuilds its pthreadpool, whose new workers busy-wait on a core.
TEST(Runtime, ReenteringTheSamePoolsStartsNoThreads) {
  ScopedThreads outer({2, 1});
  const auto before = ThreadIds();
  for (int i = 0; i < 20; ++i) ScopedThreads inner({2, 1});
  EXPECT_EQ(ThreadIds(), before);
}

SacConfig Small() {
  SacConfig c;
  c.hidden = 64;
  c.batch_size = 128;
  c.actor_lr = c.critic_lr = 1e-3;
  return c;
}

// Q of a one-step bandit with reward 1: with done = 1 the target is r (Q -> 1); with done = 0 it
// bootstraps (Q -> 1 / (1 - gamma) = 2 at gamma 0.5). Entropy bonus off (alpha ~ 0).
double FittedQ(bool done) {
  torch::manual_seed(0);
  ScopedThreads pools({1, 1});
  SacConfig c = Small();
  c.gamma = 0.5;
  c.learn_alpha = false;
  c.init_alpha = 1e-8;
  c.tau = 0.1;
  c.hidden = 32;
  Sac sac(2, 1, std::vector<float>{-1.f}, std::vector<float>{1.f}, c, torch::kCPU);
  auto gen = at::detail::createCPUGenerator(1);
  const int64_t n = 128;
  auto obs = torch::rand({n, 2}, gen);
  Batch b{obs, torch::rand({n, 1}, gen) * 2 - 1, torch::ones({n}), obs,
          torch::full({n}, done ? 1.f : 0.f)};
  for (int i = 0; i < 600; ++i) sac->Update(b, gen);
  sac->TakeStats();
  sac->Update(b, gen);
  for (const auto& [k, v] : sac->TakeStats())
    if (k == "q") return v;
  return NAN;
}

// an Inf reward poisons the critic loss: the check after the update phase names the stat and
// the updates; finite updates pass it
TEST(Sac, NonFiniteLossIsDetectedAfterAnUpdatePhase) {
  Sac sac(2, 1, std::vector<float>{-1.f}, std::vector<float>{1.f}, Small(), torch::kCPU);
  auto gen = at::detail::createCPUGenerator(1);
  const int64_t n = 16;
  auto obs = torch::rand({n, 2}, gen);
  Batch b{obs, torch::zeros({n, 1}), torch::ones({n}), obs, torch::zeros({n})};
  sac->Update(b, gen);
  EXPECT_NO_THROW(sac->CheckFiniteStats());
  b.reward[3] = INFINITY;
  sac->Update(b, gen);
  try {
    sac->CheckFiniteStats();
    FAIL() << "no error";
  } catch (const NonFiniteError& e) {
    EXPECT_NE(std::string(e.what()).find("sac critic_loss in updates 1-2"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(sac->TakeStats(), NonFiniteError);
}

// The hand-derived gradients of one update equal autograd's on the same losses, written here
// independently: critics on the Bellman error against the target critics, the actor on
// alpha log pi - min Q through the critics, with a non-trivial action range, some terminations,
// log-std values beyond the clamp, and both thread settings (the two branches in parallel).
TEST(Sac, HandGradientsMatchAutograd) {
  for (int threads : {1, 2}) {
    ScopedThreads pools({threads, 1});
    torch::manual_seed(4);
    SacConfig c = Small();
    c.hidden = 24;
    c.tau = 0.5;
    const std::vector<float> low{-2.f, 0.f}, high{1.f, 3.f};
    Sac sac(3, 2, low, high, c, torch::kCPU);
    auto gen = at::detail::createCPUGenerator(5);
    const int64_t n = 40;
    auto obs = torch::randn({n, 3}, gen), next = torch::randn({n, 3}, gen);
    auto act = torch::rand({n, 2}, gen) * 3 + torch::tensor({-2.f, 0.f});
    Batch b{obs, act, torch::randn({n}, gen), next,
            (torch::rand({n}, gen) < 0.3).to(torch::kFloat32)};
    for (int i = 0; i < 3; ++i) sac->Update(b, gen);  // targets now differ from the critics
    auto params = sac->named_parameters();
    {  // push some log-std outputs past the clamp at +2
      torch::NoGradGuard ng;
      params["actor_b2"].narrow(0, 2, 1).fill_(2.5);
    }
    auto eps = torch::randn({2, n, 2}, gen);
    sac->Gradients(b, eps);

    auto buffers = sac->named_buffers();
    const auto net = [&](const std::string& name, torch::Tensor x, bool detach) {
      for (int i = 0; i < 3; ++i) {
        auto w = (name == "target" ? buffers : params)[name + "_w" + std::to_string(i)];
        auto bias = (name == "target" ? buffers : params)[name + "_b" + std::to_string(i)];
        if (detach) w = w.detach(), bias = bias.detach();
        x = torch::matmul(x, w) + bias;
        if (i < 2) x = torch::relu(x);
      }
      return x;
    };
    const double alpha = params["log_alpha"].exp().item<double>();
    const auto policy = [&](torch::Tensor s, torch::Tensor e) {  // -> action in [-1,1], log pi
      auto out = net("actor", s, false);
      auto mean = out.narrow(1, 0, 2), log_std = out.narrow(1, 2, 2).clamp(-20, 2);
      auto u = mean + log_std.exp() * e;
      auto a = torch::tanh(u);  // log(1 - a^2) in its stable form below
      auto logp = (-0.5 * ((u - mean) / log_std.exp()).square() - log_std -
                   0.5 * std::log(2 * M_PI) - 2 * (std::log(2.0) - u - torch::softplus(-2 * u)))
                      .sum(1);
      return std::make_pair(a, logp);
    };
    const auto scale = (torch::tensor(high) - torch::tensor(low)) / 2;
    const auto shift = (torch::tensor(high) + torch::tensor(low)) / 2;
    torch::Tensor y;
    {
      torch::NoGradGuard ng;
      auto [a2, logp2] = policy(next, eps[0]);
      auto q2 = net("target", torch::cat({next, a2}, 1).unsqueeze(0), false).squeeze(-1);
      y = b.reward + c.gamma * (1 - b.terminated) * (std::get<0>(q2.min(0)) - alpha * logp2);
    }
    auto q = net("critic", torch::cat({obs, (act - shift) / scale}, 1).unsqueeze(0), false);
    auto critic_loss = 0.5 * (q.squeeze(-1) - y).square().mean(1).sum();
    auto [a, logp] = policy(obs, eps[1]);
    auto qa = net("critic", torch::cat({obs, a}, 1).unsqueeze(0), true).squeeze(-1);
    auto actor_loss = (alpha * logp - std::get<0>(qa.min(0))).mean();  // ties: one index

    for (const auto& [loss, prefix] : {std::make_pair(critic_loss, std::string("critic")),
                                       std::make_pair(actor_loss, std::string("actor"))}) {
      std::vector<std::string> names;
      std::vector<torch::Tensor> inputs;
      for (const auto& item : params)
        if (item.key().rfind(prefix + "_", 0) == 0) {
          names.push_back(item.key());
          inputs.push_back(item.value());
        }
      ASSERT_EQ(names.size(), 6u);
      auto expected = torch::autograd::grad({loss}, inputs);
      for (size_t i = 0; i < names.size(); ++i) {
        auto got = inputs[i].grad();
        EXPECT_TRUE(torch::allclose(got, expected[i], 1e-4, 1e-6))
            << names[i] << " on " << threads << " threads: max diff "
            << (got - expected[i]).abs().max().item<double>() << " of "
            << expected[i].abs().max().item<double>();
      }
    }
  }
}

// Whole updates (gradients, both optimiser steps, Polyak, temperature, gradient clipping) give
// the same weights and statistics whether the branches run on one thread or two.
TEST(Sac, UpdatesAreTheSameOnOneAndTwoThreads) {
  const auto run = [](int threads) {
    ScopedThreads pools({threads, 1});
    torch::manual_seed(7);
    SacConfig c = Small();
    c.hidden = 32;
    c.critic_grad_clip = 1.0;
    Sac sac(3, 2, std::vector<float>{-1.f, -2.f}, std::vector<float>{1.f, 2.f}, c, torch::kCPU);
    auto gen = at::detail::createCPUGenerator(8);
    const int64_t n = 64;
    const auto first = sac->parameters()[0].detach().clone();
    for (int i = 0; i < 20; ++i) {
      auto obs = torch::randn({n, 3}, gen);
      Batch b{obs, torch::rand({n, 2}, gen) * 2 - 1, torch::randn({n}, gen), obs + 0.1,
              (torch::rand({n}, gen) < 0.2).to(torch::kFloat32)};
      sac->Update(b, gen);
    }
    EXPECT_FALSE(torch::allclose(first, sac->parameters()[0]));  // the updates moved the weights
    std::vector<torch::Tensor> state;
    for (const auto& t : sac->parameters()) state.push_back(t.detach().clone());
    for (const auto& t : sac->buffers()) state.push_back(t.clone());  // targets among them
    const auto stats = sac->TakeStats();
    EXPECT_EQ(stats.size(), 5u);
    for (const auto& [k, v] : stats) state.push_back(torch::tensor(v));
    return state;
  };
  const auto one = run(1), two = run(2);
  ASSERT_EQ(one.size(), two.size());
  for (size_t i = 0; i < one.size(); ++i)
    EXPECT_TRUE(torch::allclose(one[i], two[i], 1e-6, 1e-7)) << "tensor " << i;
}

TEST(Sac, TargetsStopBootstrappingAtTerminations) {
  EXPECT_NEAR(FittedQ(true), 1.0, 0.1);
  EXPECT_NEAR(FittedQ(false), 2.0, 0.2);
}

// 1-D reach: x' = clip(x + 0.2 a, -2, 2), reward -|x'|, 20 steps from x0 ~ U(-2, 2).
// Random play scores about -20; moving straight to 0 scores about -3.
double Episode(Sac& sac, ReplayBuffer* buffer, bool learn, bool deterministic,
               torch::Generator& gen) {
  double x = (torch::rand({1}, gen).item<double>() * 4) - 2, ret = 0;
  for (int t = 0; t < 20; ++t) {
    auto obs = torch::tensor({static_cast<float>(x)});
    auto a = learn && buffer->size() < 500
                 ? torch::rand({1}, gen) * 2 - 1
                 : sac->Act(obs.view({1, 1}), deterministic, gen).view({1});
    const double next = std::clamp(x + 0.2 * a.item<double>(), -2.0, 2.0);
    const double r = -std::abs(next);
    ret += r;
    if (learn) {
      buffer->Add(obs, a, static_cast<float>(r), torch::tensor({static_cast<float>(next)}), false,
                  t == 19);
      if (buffer->size() >= 500)
        for (int g = 0; g < 2; ++g) sac->Update(buffer->Sample(128, gen), gen);
    }
    x = next;
  }
  return ret;
}

TEST(Sac, LearnsOneDimensionalReaching) {
  torch::manual_seed(0);
  ScopedThreads pools({1, 1});
  Sac sac(1, 1, std::vector<float>{-1.f}, std::vector<float>{1.f}, Small(), torch::kCPU);
  ReplayBuffer buffer(20000, 1, 1);
  auto gen = at::detail::createCPUGenerator(3);
  for (int e = 0; e < 150; ++e) Episode(sac, &buffer, true, false, gen);
  double total = 0;
  for (int e = 0; e < 20; ++e) total += Episode(sac, &buffer, false, true, gen);
  // random actions average about -20 per episode (|x| stays near its start)
  EXPECT_GT(total / 20, -6.0);
}

TEST(Sac, NonFiniteLossesAreReportedWithTheUpdates) {
  ScopedThreads pools({1, 1});
  Sac sac(2, 1, std::vector<float>{-1.f}, std::vector<float>{1.f}, Small(), torch::kCPU);
  auto gen = at::detail::createCPUGenerator(0);
  const int64_t n = 8;
  Batch b{torch::zeros({n, 2}), torch::zeros({n, 1}), torch::full({n}, NAN), torch::zeros({n, 2}),
          torch::zeros({n})};
  sac->Update(b, gen);
  try {
    sac->TakeStats();
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("critic_loss"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace mbrl
