// RSSM world model and the Dreamer actor-critic pieces.
#include "mbrl/models/rssm.h"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "mbrl/core/mlp.h"
#include "mbrl/data/replay_buffer.h"
#include "mbrl/learners/actor_critic.h"

namespace mbrl {
namespace {

RssmConfig Small(int classes) {
  RssmConfig c;
  c.deter = 32;
  c.units = 64;
  c.stoch = 8;
  c.classes = classes;
  c.batch_size = 16;
  c.seq_len = 16;
  c.lr = 1e-3;
  c.free_nats = 0;  // KL always under pressure, so it must come down
  return c;
}

// A driven damped oscillator: obs (x, v, x*v), reward -x^2, 40-step episodes.
ReplayBuffer Oscillator(int episodes, torch::Generator& gen) {
  const int t_len = 40;
  ReplayBuffer buf(episodes * t_len, 3, 1);
  for (int e = 0; e < episodes; ++e) {
    auto obs = torch::zeros({t_len + 1, 3});
    auto act = torch::rand({t_len, 1}, gen) * 2 - 1;
    float x = torch::rand({1}, gen).item<float>() * 2 - 1, v = 0;
    for (int t = 0; t <= t_len; ++t) {
      obs[t] = torch::tensor({x, v, x * v});
      if (t == t_len) break;
      v += 0.2f * (-x - 0.1f * v + act[t][0].item<float>());
      x += 0.2f * v;
    }
    auto reward = -obs.narrow(0, 1, t_len).select(1, 0).pow(2);
    buf.AddEpisode(obs, act, reward, torch::zeros({t_len}), torch::zeros({t_len}));
  }
  return buf;
}

class RssmLatents : public testing::TestWithParam<int> {};

TEST_P(RssmLatents, ReconstructionRewardAndOpenLoopPredictionImproveOnASequenceTask) {
  torch::manual_seed(0);
  auto gen = at::detail::createCPUGenerator(1);
  auto buf = Oscillator(64, gen);
  const auto cfg = Small(GetParam());
  Rssm rssm(3, 1, cfg);
  auto batch = buf.SampleSequences(64, cfg.seq_len, gen);
  struct Eval {
    RssmStats stats;
    double open_loop;  // MSE of 10 decoded prior steps from the posterior at t=2
  };
  const auto eval = [&] {
    torch::NoGradGuard ng;
    auto eval_gen = at::detail::createCPUGenerator(7);
    auto seq = rssm->ObserveBatch(batch, eval_gen);
    auto obs = torch::cat({batch.obs, batch.next_obs.narrow(1, cfg.seq_len - 1, 1)}, 1);
    RssmState start{seq.deter.select(1, 2), seq.stoch.select(1, 2), seq.post_stats.select(1, 2)};
    // batch.act[:, t] leads from obs t to obs t+1
    auto feat = rssm->Imagine(start, batch.act.narrow(1, 2, 10), eval_gen);
    auto pred = rssm->Decode(feat.narrow(0, 1, 10)).transpose(0, 1);
    const double open_loop = (pred - obs.narrow(1, 3, 10)).pow(2).mean().item<double>();
    return Eval{rssm->Loss(batch, seq).second, open_loop};
  };
  for (int i = 0; i < 20; ++i) rssm->Update(buf.SampleSequences(16, cfg.seq_len, gen), gen);
  const Eval early = eval();
  for (int i = 0; i < 300; ++i) rssm->Update(buf.SampleSequences(16, cfg.seq_len, gen), gen);
  const Eval late = eval();
  EXPECT_LT(late.stats.recon, 0.4 * early.stats.recon)
      << early.stats.recon << " -> " << late.stats.recon;
  EXPECT_LT(late.stats.reward, 0.5 * early.stats.reward)
      << early.stats.reward << " -> " << late.stats.reward;
  // the prior has learned the dynamics: imagined futures track the real ones. (The posterior KL
  // itself does not fall here: as reconstructions sharpen the posterior carries more information,
  // and the balance settles near a constant rate.)
  EXPECT_LT(late.open_loop, 0.4 * early.open_loop) << early.open_loop << " -> " << late.open_loop;
  EXPECT_LT(late.stats.kl, 3.0);
}

INSTANTIATE_TEST_SUITE_P(GaussianAndCategorical, RssmLatents, testing::Values(0, 8));

TEST(Rssm, ImagineWithTheObservedActionsReproducesObservesPriors) {
  for (int classes : {0, 8}) {
    torch::manual_seed(0);
    Rssm rssm(3, 2, Small(classes));
    auto gen = at::detail::createCPUGenerator(3);
    torch::NoGradGuard ng;
    auto obs = torch::randn({4, 6, 3}, gen), act = torch::rand({4, 6, 2}, gen) * 2 - 1;
    auto seq = rssm->Observe(obs, act, gen);
    // from the posterior at t, the prior step under act[t+1] gives exactly Observe's prior t+1
    for (int t = 0; t + 1 < 6; ++t) {
      RssmState post{seq.deter.select(1, t), seq.stoch.select(1, t), seq.post_stats.select(1, t)};
      auto prior = rssm->ImagineStep(post, act.select(1, t + 1), gen);
      EXPECT_TRUE(torch::allclose(prior.deter, seq.deter.select(1, t + 1), 1e-5, 1e-6));
      EXPECT_TRUE(torch::allclose(prior.stats, seq.prior_stats.select(1, t + 1), 1e-5, 1e-6));
    }
    // the fixed-action Imagine walks the same deterministic path as repeated ImagineSteps
    RssmState start{seq.deter.select(1, 0), seq.stoch.select(1, 0), seq.post_stats.select(1, 0)};
    auto feat = rssm->Imagine(start, act.narrow(1, 1, 5), gen);
    ASSERT_EQ(feat.sizes(), (std::vector<int64_t>{6, 4, rssm->FeatureSize()}));
    EXPECT_TRUE(torch::equal(feat[0], RssmImpl::Features(start)));
    auto first = rssm->ImagineStep(start, act.select(1, 1), gen);
    EXPECT_TRUE(torch::allclose(feat[1].narrow(1, 0, 32), first.deter));
  }
}

// Angle dims are seen through sin and cos: an angle and the same angle one turn later give the
// same posterior, and the decoder predicts the (sin, cos) features.
TEST(Rssm, AngleDimsAreEncodedAndDecodedAsSinAndCos) {
  torch::manual_seed(0);
  auto gen = at::detail::createCPUGenerator(2);
  torch::NoGradGuard ng;
  auto obs = torch::randn({5, 3}, gen), act = torch::rand({5, 1}, gen) * 2 - 1;
  auto turned = obs.clone();
  turned.select(1, 1) += 2 * M_PI;
  for (bool angle : {false, true}) {
    RssmConfig cfg = Small(8);
    if (angle) cfg.angle_dims = {1};
    Rssm rssm(3, 1, cfg);
    auto start = rssm->Initial(5);
    auto a = rssm->ObserveStep(start, act, obs, gen, false);
    auto b = rssm->ObserveStep(start, act, turned, gen, false);
    EXPECT_EQ(torch::allclose(a.stats, b.stats, 1e-4, 1e-5), angle);
    EXPECT_EQ(rssm->Decode(RssmImpl::Features(a)).size(-1), angle ? 4 : 3);
  }
  RssmConfig bad = Small(0);
  bad.angle_dims = {3};
  try {
    Rssm rssm(3, 1, bad);
    FAIL() << "angle dim 3 of a 3-dim observation was accepted";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("model.angle_dims: 3"), std::string::npos) << e.what();
  }
}

// Padding after a short episode's end changes nothing: the loss of windows padded from 10 to 16
// steps equals the loss of the same 10 steps, and only real, non-terminal steps become
// imagination starts.
TEST(Rssm, PaddedStepsDoNotCountInTheLossOrTheStarts) {
  torch::manual_seed(0);
  auto gen = at::detail::createCPUGenerator(1);
  auto buf = Oscillator(8, gen);
  for (int classes : {0, 8}) {
    RssmConfig cfg = Small(classes);
    cfg.free_nats = 0.5;
    cfg.reward_head = classes ? "twohot" : "mse";
    Rssm rssm(3, 1, cfg);
    auto padded = buf.SampleSequences(6, 16, gen);
    padded.mask = torch::zeros({6, 16});
    padded.mask.narrow(1, 0, 10).fill_(1);
    padded.terminated.narrow(1, 9, 1).fill_(1);  // the short episode ends in a termination
    padded.reward.narrow(1, 10, 6).fill_(1e3);   // padding values must not matter
    SequenceBatch real{padded.obs.narrow(1, 0, 10),
                       padded.act.narrow(1, 0, 10),
                       padded.reward.narrow(1, 0, 10),
                       padded.next_obs.narrow(1, 0, 10),
                       padded.terminated.narrow(1, 0, 10),
                       padded.first.narrow(1, 0, 10),
                       {}};
    auto g1 = at::detail::createCPUGenerator(3), g2 = at::detail::createCPUGenerator(3);
    auto seq_padded = rssm->ObserveBatch(padded, g1);
    auto seq_real = rssm->ObserveBatch(real, g2);
    const auto a = rssm->Loss(padded, seq_padded).second, b = rssm->Loss(real, seq_real).second;
    for (auto [x, y] : {std::pair{a.loss, b.loss},
                        {a.recon, b.recon},
                        {a.reward, b.reward},
                        {a.cont, b.cont},
                        {a.kl, b.kl}})
      EXPECT_NEAR(x, y, 1e-5 * (1 + std::abs(y))) << "classes " << classes;
    // 10 transitions -> 11 posterior steps each; the last follows a termination: no start there
    auto starts = seq_padded.Flat();
    ASSERT_EQ(starts.deter.size(0), 6 * 10);
    // equal up to rounding (the two GEMMs have different sizes)
    EXPECT_TRUE(torch::allclose(starts.deter.view({6, 10, -1}), seq_real.deter.narrow(1, 0, 10),
                                1e-4, 1e-5));
  }
}

TEST(Rssm, CategoricalLatentsAreOneHotWithStraightThroughGradients) {
  torch::manual_seed(0);
  auto cfg = Small(8);
  Rssm rssm(3, 1, cfg);
  auto gen = at::detail::createCPUGenerator(0);
  auto s = rssm->ObserveStep(rssm->Initial(5), torch::zeros({5, 1}), torch::randn({5, 3}), gen);
  auto groups = s.stoch.view({5, cfg.stoch, cfg.classes});
  EXPECT_TRUE(torch::allclose(groups.sum(-1), torch::ones({5, cfg.stoch})));
  EXPECT_TRUE(torch::allclose(std::get<0>(groups.max(-1)), torch::ones({5, cfg.stoch})));
  // unimix: every class keeps at least 1 % / classes of probability
  EXPECT_GE(s.stats.exp().min().item<float>(), 0.01f / cfg.classes * 0.999f);
  s.stoch.sum().backward();  // gradient flows through the sample to the posterior network
  double grad = 0;
  for (const auto& p : rssm->parameters())
    if (p.grad().defined()) grad += p.grad().abs().sum().item<double>();
  EXPECT_GT(grad, 0);
}

TEST(Rssm, KlIsZeroForEqualDistributionsAndMatchesTheClosedForm) {
  Rssm gauss(3, 1, Small(0));
  auto p = torch::cat({torch::tensor({{0.5f, -1.f}}), torch::tensor({{1.f, 2.f}})}, 1);  // [1,4]
  auto q = torch::cat({torch::tensor({{0.f, 0.f}}), torch::tensor({{2.f, 1.f}})}, 1);
  EXPECT_NEAR(gauss->Kl(p, p).item<float>(), 0, 1e-6);
  // sum over dims of log(s2/s1) + (s1^2 + (m1-m2)^2) / (2 s2^2) - 1/2
  const double want =
      (std::log(2.0) + (1 + 0.25) / 8 - 0.5) + (std::log(0.5) + (4 + 1) / 2.0 - 0.5);
  EXPECT_NEAR(gauss->Kl(p, q).item<float>(), want, 1e-5);
  auto cfg = Small(2);
  cfg.stoch = 1;
  Rssm cat(3, 1, cfg);
  auto lp = torch::tensor({{std::log(0.25f), std::log(0.75f)}});
  auto lq = torch::tensor({{std::log(0.5f), std::log(0.5f)}});
  EXPECT_NEAR(cat->Kl(lp, lq).item<float>(), 0.25 * std::log(0.5) + 0.75 * std::log(1.5), 1e-6);
}

TEST(Rssm, TwoHotLossIsMinimalAtTheTargetAndMeanInvertsIt) {
  TwoHot th;
  for (float y : {-300.f, -1.f, 0.f, 0.37f, 5.f, 1000.f}) {
    // logits of exactly the two-hot target distribution
    auto target = torch::tensor({y});
    auto loss_at = [&](const torch::Tensor& logits) {
      return th.Loss(logits, target).item<float>();
    };
    auto logits = torch::full({1, th.bins()}, -30.f, torch::requires_grad());
    auto opt = torch::optim::Adam(std::vector<torch::Tensor>{logits}, 0.5);
    for (int i = 0; i < 300; ++i) {
      opt.zero_grad();
      th.Loss(logits, target).sum().backward();
      opt.step();
    }
    EXPECT_NEAR(th.Mean(logits.detach()).item<float>(), y, 1e-2 * std::max(1.f, std::abs(y)))
        << "target " << y;
    EXPECT_LT(loss_at(logits.detach()), loss_at(torch::zeros({1, th.bins()})));
  }
  EXPECT_NEAR(Symexp(Symlog(torch::tensor({-7.5f}))).item<float>(), -7.5f, 1e-5);
}

TEST(ActorCritic, LambdaReturnsMatchHandComputation) {
  auto r = torch::tensor({{1.f}, {2.f}, {3.f}});
  auto c = torch::tensor({{1.f}, {0.5f}, {1.f}});
  auto v = torch::tensor({{10.f}, {20.f}, {30.f}, {40.f}});
  const double g = 0.9, l = 0.8;
  auto ret = ActorCriticImpl::LambdaReturns(r, c, v, g, l);
  const double r2 = 3 + g * 1 * 40;
  const double r1 = 2 + g * 0.5 * ((1 - l) * 30 + l * r2);
  const double r0 = 1 + g * 1 * ((1 - l) * 20 + l * r1);
  EXPECT_NEAR(ret[2][0].item<float>(), r2, 1e-4);
  EXPECT_NEAR(ret[1][0].item<float>(), r1, 1e-4);
  EXPECT_NEAR(ret[0][0].item<float>(), r0, 1e-4);
  // lambda 0: one-step TD targets
  auto td = ActorCriticImpl::LambdaReturns(r, c, v, g, 0);
  EXPECT_NEAR(td[1][0].item<float>(), 2 + g * 0.5 * 30, 1e-4);
}

// A differentiable "world" where the feature after an action is the action itself and the reward
// is -(a - 0.5)^2: dynamics backprop must move the actor's mean to 0.5. Also with DreamerV3's
// critic (λ-returns from the critic itself, pulled toward the slow critic, two-hot head): its
// values must stay at or below the true value (<= 0; rewards are never positive), which fails if
// the actor's objective leaks into the critic's parameters.
TEST(ActorCritic, DynamicsBackpropFindsTheBestActionOfADifferentiableModel) {
  struct Variant {
    const char* grad;
    bool slow_target;
    const char* value_head;
  };
  for (const auto& v : {Variant{"dynamics", true, "mse"}, Variant{"reinforce", true, "mse"},
                        Variant{"dynamics", false, "twohot"}}) {
    const auto grad = v.grad;
    SCOPED_TRACE(std::string(grad) + (v.slow_target ? " slow" : " fast") + " " + v.value_head);
    torch::manual_seed(0);
    ActorCriticConfig cfg;
    cfg.units = 32;
    cfg.horizon = 3;
    cfg.actor_lr = 3e-3;
    cfg.critic_lr = 3e-3;
    cfg.actor_grad = grad;
    cfg.slow_target = v.slow_target;
    cfg.slow_reg = v.slow_target ? 0 : 1;
    cfg.value_head = v.value_head;
    ActorCritic ac(2, 1, cfg, torch::kCPU);
    auto gen = at::detail::createCPUGenerator(0);
    const int64_t n = 128;
    ActorCriticStats stats;
    for (int i = 0; i < 250; ++i) {
      std::vector<torch::Tensor> feats{torch::zeros({n, 2})}, logps, rewards;
      for (int t = 0; t < cfg.horizon; ++t) {
        auto s = ac->Sample(feats.back(), gen);
        logps.push_back(s.logp);
        rewards.push_back(-(s.act.squeeze(-1) - 0.5).pow(2));
        feats.push_back(torch::cat({s.act, torch::ones({n, 1})}, 1));
      }
      stats = ac->Update({torch::stack(feats), torch::stack(rewards), torch::ones({cfg.horizon, n}),
                          torch::stack(logps)});
    }
    EXPECT_LE(stats.value, 0.05);
    torch::NoGradGuard ng;
    const float a0 = ac->Mode(torch::zeros({1, 2})).item<float>();
    const float a1 = ac->Mode(torch::tensor({{0.5f, 1.f}})).item<float>();
    EXPECT_NEAR(a0, 0.5, 0.1) << grad;
    EXPECT_NEAR(a1, 0.5, 0.1) << grad;
  }
}

}  // namespace
}  // namespace mbrl
