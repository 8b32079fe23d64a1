#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "mbrl/core/check.h"
#include "mbrl/core/runtime.h"
#include "mbrl/models/ensemble.h"
#include "mbrl/models/rollout.h"

namespace mbrl {
namespace {

// s' = s + 0.1 a + noise, noise std 0.05 on dim 0 and 0.01 on dim 1; r = -|s'|^2
Batch LinearSystem(int64_t n, uint64_t seed) {
  auto gen = at::detail::createCPUGenerator(seed);
  Batch b;
  b.obs = torch::rand({n, 2}, gen) * 4 - 2;
  b.act = torch::rand({n, 1}, gen) * 2 - 1;
  auto noise = torch::randn({n, 2}, gen) * torch::tensor({0.05f, 0.01f});
  b.next_obs = b.obs + 0.1 * b.act + noise;
  b.reward = -b.next_obs.square().sum(1);
  b.terminated = torch::zeros({n});
  return b;
}

EnsembleConfig Small() {
  EnsembleConfig c;
  c.members = 5;
  c.elites = 3;
  c.hidden = 64;
  c.layers = 2;
  c.max_epochs = 300;
  c.patience = 20;
  c.learned_reward = true;
  return c;
}

TEST(Ensemble, LearnsMeanAndNoiseOfALinearSystem) {
  torch::manual_seed(0);
  Ensemble model(2, 1, Small());
  auto gen = at::detail::createCPUGenerator(1);
  auto stats = TrainEnsemble(model, LinearSystem(4000, 2), gen);
  EXPECT_GT(stats.epochs, 1);
  auto test = LinearSystem(1000, 3);
  torch::NoGradGuard ng;
  auto x = model->Inputs(test.obs, test.act);
  auto [mean, lv] =
      EnsembleImpl::Forward(model->Members(model->elites), x.unsqueeze(0).expand({3, -1, -1}));
  auto delta_true = 0.1 * test.act.expand({-1, 2});
  // mean delta within a fraction of the noise level; predicted std near the true std
  auto err = (mean.mean(0).narrow(1, 0, 2) - delta_true).abs().mean(0);
  EXPECT_LT(err[0].item<float>(), 0.02);
  EXPECT_LT(err[1].item<float>(), 0.01);
  auto sd = torch::exp(0.5 * lv.narrow(2, 0, 2)).mean(std::vector<int64_t>{0, 1});
  EXPECT_NEAR(sd[0].item<float>(), 0.05, 0.015);
  EXPECT_NEAR(sd[1].item<float>(), 0.01, 0.005);
  EXPECT_EQ(model->elites.numel(), 3);
  EXPECT_EQ(std::get<0>(at::_unique(model->elites)).numel(), 3);
}

// a NaN target poisons the loss: TrainEnsemble throws NonFiniteError naming it
TEST(Ensemble, NanInTheDataIsANonFiniteLossError) {
  EnsembleConfig c = Small();
  c.max_epochs = 2;
  Ensemble model(2, 1, c);
  auto gen = at::detail::createCPUGenerator(1);
  Batch data = LinearSystem(300, 4);
  data.reward[7] = NAN;
  try {
    TrainEnsemble(model, data, gen);
    FAIL() << "no error";
  } catch (const NonFiniteError& e) {
    EXPECT_NE(std::string(e.what()).find("model training loss is not finite"), std::string::npos)
        << e.what();
  }
}

// The trainer's hand-derived gradients and Adam step give the weights and loss of autograd +
// torch::optim::Adam, with all members in one group or split over two threads, with one weight
// decay for all weights and biases or one per layer on the weights only (no decay on the bounds).
TEST(Ensemble, TrainerStepsMatchAutogradAndAdam) {
  for (const bool bounds : {false, true}) {
    for (const int threads : {1, 2}) {
      for (const bool per_layer : {false, true}) {
        SCOPED_TRACE("learn_logvar_bounds " + std::to_string(bounds) + ", threads " +
                     std::to_string(threads) + ", per-layer decay " + std::to_string(per_layer));
        ScopedThreads pools({threads, 1});
        auto cfg = Small();
        cfg.learn_logvar_bounds = bounds;
        if (per_layer) {  // large enough to move the weights visibly in three steps
          cfg.weight_decay = {0.3, 0.0, 0.1};
          cfg.decay_biases = false;
        }
        torch::manual_seed(3);
        Ensemble fused(2, 1, cfg), ref(2, 1, cfg);
        {
          torch::NoGradGuard ng;
          for (size_t i = 0; i < ref->parameters().size(); ++i)
            ref->parameters()[i].copy_(fused->parameters()[i]);
        }
        std::vector<torch::Tensor> initial;
        for (const auto& p : ref->parameters()) initial.push_back(p.detach().clone());
        auto gen = at::detail::createCPUGenerator(5);
        auto x = torch::randn({200, 3}, gen), y = 0.1 * torch::randn({200, 3}, gen);
        EnsembleTrainer trainer(fused, 64);
        std::vector<torch::optim::OptimizerParamGroup> groups;
        const auto group = [&](std::vector<torch::Tensor> params, double wd) {
          groups.emplace_back(std::move(params),
                              std::make_unique<torch::optim::AdamOptions>(
                                  torch::optim::AdamOptions(cfg.lr).weight_decay(wd)));
        };
        for (size_t i = 0; i < ref->w.size(); ++i) {
          const double wd = cfg.weight_decay[per_layer ? i : 0];
          group({ref->w[i]}, wd);
          group({ref->b[i]}, cfg.decay_biases ? wd : 0);
        }
        if (bounds) group({ref->min_logvar, ref->max_logvar}, 0);
        torch::optim::Adam opt(std::move(groups), torch::optim::AdamOptions(cfg.lr));
        double ref_loss = 0;
        for (const int64_t batch : {64, 64, 40}) {
          auto rows = torch::randint(200, {cfg.members, batch}, gen, torch::kInt64);
          trainer.Step(x, y, rows);
          auto idx = rows.reshape({-1});
          auto [mean, lv] = EnsembleImpl::Forward(
              ref->Members(), x.index_select(0, idx).view({cfg.members, batch, -1}));
          auto yb = y.index_select(0, idx).view({cfg.members, batch, -1});
          auto nll = ((mean - yb).square() * torch::exp(-lv) + lv).mean({1, 2}).sum();
          if (bounds) nll = nll + 0.01 * (ref->max_logvar.sum() - ref->min_logvar.sum());
          opt.zero_grad();
          nll.backward();
          opt.step();
          ref_loss += nll.item<double>();
        }
        EXPECT_NEAR(trainer.TakeLoss().item<double>(), ref_loss, 1e-4 * std::abs(ref_loss));
        EXPECT_EQ(trainer.TakeLoss().item<double>(), 0.0);
        const auto names = fused->named_parameters();
        const auto ref_params = ref->named_parameters();
        for (size_t i = 0; i < ref_params.size(); ++i) {
          const auto& key = ref_params[i].key();
          const auto& want = ref_params[i].value();
          EXPECT_LT((want - names[key]).abs().max().item<double>(), 1e-5) << key;
          // three Adam steps move every parameter by about 3 lr
          EXPECT_GT((want - initial[i]).abs().max().item<double>(), 1e-3) << key;
        }
      }
    }
  }
}

TEST(Ensemble, WeightDecayIsOneValueOrOnePerLayer) {
  auto c = Small();  // 2 hidden layers: 3 weight matrices
  c.weight_decay = {1e-4, 2e-4};
  try {
    Ensemble(2, 1, c);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(
        std::string(e.what()).find("model.weight_decay: expected 1 value or one per layer (3), "
                                   "got 2"),
        std::string::npos)
        << e.what();
  }
  // a number in JSON is a list of one (configs and runs from before the per-layer option)
  auto read = config::FromJson<EnsembleConfig>(config::Json::parse(R"({"weight_decay": 1e-4})"));
  EXPECT_EQ(read.weight_decay, std::vector<double>{1e-4});
  EXPECT_THROW(config::FromJson<EnsembleConfig>(config::Json::parse(R"({"weight_decay": "x"})")),
               Error);
}

TEST(Ensemble, AngleDimsBecomeSinCos) {
  auto c = Small();
  c.angle_dims = {1};
  Ensemble model(2, 1, c);
  auto f = model->Features(torch::tensor({{0.5f, 0.3f}}), torch::tensor({{0.7f}}));
  auto want = torch::tensor({{0.5f, std::sin(0.3f), std::cos(0.3f), 0.7f}});
  EXPECT_TRUE(torch::allclose(f, want));
  c.angle_dims = {2};
  EXPECT_THROW(Ensemble(2, 1, c), Error);
}

TEST(Ensemble, SaveLoadKeepsWeightsNormaliserAndElites) {
  Ensemble a(2, 1, Small());
  auto gen = at::detail::createCPUGenerator(4);
  auto cfg = Small();
  cfg.max_epochs = 3;
  Ensemble trained(2, 1, cfg);
  TrainEnsemble(trained, LinearSystem(500, 5), gen);
  const std::string path = testing::TempDir() + "/ensemble.pt";
  torch::save(trained, path);
  Ensemble loaded(2, 1, cfg);
  torch::load(loaded, path);
  EXPECT_TRUE(torch::equal(loaded->elites, trained->elites));
  EXPECT_TRUE(torch::equal(loaded->in_mean, trained->in_mean));
  auto obs = torch::randn({4, 2}), act = torch::randn({4, 1});
  auto x1 = trained->Inputs(obs, act), x2 = loaded->Inputs(obs, act);
  EXPECT_TRUE(torch::equal(x1, x2));
  auto y1 = EnsembleImpl::Forward(trained->Members(), x1.unsqueeze(0).expand({5, -1, -1})).first;
  auto y2 = EnsembleImpl::Forward(loaded->Members(), x2.unsqueeze(0).expand({5, -1, -1})).first;
  EXPECT_TRUE(torch::equal(y1, y2));
}

TEST(Ensemble, KeptTrainerCarriesAdamStateAcrossCallsAndCheckpoints) {
  // two training calls with one trainer == first call, checkpoint of model and trainer, second
  // call in a new process; a fresh trainer for the second call gives other weights
  auto cfg = Small();
  cfg.max_epochs = 2;
  cfg.patience = 2;
  cfg.learn_logvar_bounds = true;
  const auto d1 = LinearSystem(300, 11), d2 = LinearSystem(400, 12);
  torch::manual_seed(0);
  Ensemble a(2, 1, cfg);
  EnsembleTrainer ta(a, cfg.batch_size);
  auto gen = at::detail::createCPUGenerator(13);
  TrainEnsemble(a, d1, gen, nullptr, &ta);
  torch::serialize::OutputArchive model_ar, opt_ar;
  a->save(model_ar);
  ta.Save(opt_ar);
  const std::string mp = testing::TempDir() + "/kept_model.pt",
                    op = testing::TempDir() + "/kept_opt.pt";
  model_ar.save_to(mp);
  opt_ar.save_to(op);
  const auto gen_state = gen.get_state();
  TrainEnsemble(a, d2, gen, nullptr, &ta);

  const auto second_call = [&](bool load_trainer) {
    Ensemble b(2, 1, cfg);
    torch::serialize::InputArchive mi, oi;
    mi.load_from(mp);
    b->load(mi);
    EnsembleTrainer tb(b, cfg.batch_size);
    if (load_trainer) {
      oi.load_from(op);
      tb.Load(oi);
    }
    auto g = at::detail::createCPUGenerator(0);
    g.set_state(gen_state);
    TrainEnsemble(b, d2, g, nullptr, &tb);
    return b;
  };
  const auto resumed = second_call(true), fresh = second_call(false);
  for (size_t i = 0; i < a->w.size(); ++i) {
    EXPECT_TRUE(torch::equal(resumed->w[i], a->w[i])) << "layer " << i;
    EXPECT_FALSE(torch::allclose(fresh->w[i], a->w[i])) << "layer " << i;
  }
  EXPECT_TRUE(torch::equal(resumed->max_logvar, a->max_logvar));
  // a trainer of another shape refuses the state
  auto other = cfg;
  other.hidden = 8;
  Ensemble c(2, 1, other);
  EnsembleTrainer tc(c, cfg.batch_size);
  torch::serialize::InputArchive oi;
  oi.load_from(op);
  EXPECT_THROW(tc.Load(oi), Error);
}

TEST(Ensemble, BootstrapRowsDifferPerMemberAndStayFixedThroughATrainingCall) {
  // MBPO pitfall: bootstrap indices must differ per member and stay fixed through training.
  // The hook sees the rows [E,B] of every minibatch; an epoch's rows per member, sorted, are that
  // member's resampled multiset.
  auto cfg = Small();
  cfg.hidden = 16;
  cfg.batch_size = 64;
  cfg.holdout = 0.2;
  cfg.max_epochs = 4;
  cfg.patience = 4;             // no early stop before the last epoch
  const int64_t n_train = 240;  // 300 rows, 60 held out
  const auto data = LinearSystem(300, 10);
  const auto epochs_seen = [&](bool bootstrap) {
    cfg.bootstrap = bootstrap;
    torch::manual_seed(0);
    Ensemble model(2, 1, cfg);
    auto gen = at::detail::createCPUGenerator(11);
    std::vector<std::vector<torch::Tensor>> batches(cfg.max_epochs);
    TrainEnsemble(model, data, gen, [&](int epoch, const torch::Tensor& rows) {
      batches.at(epoch).push_back(rows.clone());
    });
    std::vector<torch::Tensor> epochs;  // [E,n_train] rows in visiting order
    for (const auto& b : batches) epochs.push_back(torch::cat(b, 1));
    return epochs;
  };

  const auto boot = epochs_seen(true);
  ASSERT_EQ(boot.size(), 4u);
  ASSERT_EQ(boot[0].sizes(), torch::IntArrayRef({5, n_train}));
  const auto multiset = std::get<0>(boot[0].sort(1));  // [E,n_train]
  EXPECT_GE(multiset.min().item<int64_t>(), 0);
  EXPECT_LT(multiset.max().item<int64_t>(), n_train);
  for (size_t e = 1; e < boot.size(); ++e) {
    // same rows (with the same repeats) every epoch, only visited in a fresh order
    EXPECT_TRUE(torch::equal(std::get<0>(boot[e].sort(1)), multiset)) << "epoch " << e;
    EXPECT_FALSE(torch::equal(boot[e], boot[0])) << "epoch " << e;
  }
  for (int64_t i = 0; i < 5; ++i) {
    // drawn with replacement: about 1 - 1/e = 63% distinct rows
    const auto distinct = std::get<0>(at::_unique(multiset[i])).numel();
    EXPECT_LT(distinct, n_train * 8 / 10) << "member " << i;
    for (int64_t j = 0; j < i; ++j)
      EXPECT_FALSE(torch::equal(multiset[i], multiset[j])) << "members " << i << ", " << j;
  }
  // without bootstrap every member sees each training row once per epoch
  const auto plain = epochs_seen(false);
  ASSERT_EQ(plain.size(), 4u);
  const auto all_rows = torch::arange(n_train, torch::kInt64).expand({5, n_train});
  for (const auto& rows : plain) EXPECT_TRUE(torch::equal(std::get<0>(rows.sort(1)), all_rows));
}

TEST(Objective, RanksSequencesByModelRolloutsForEveryPropagation) {
  Ensemble model(2, 1, Small());
  auto gen = at::detail::createCPUGenerator(6);
  TrainEnsemble(model, LinearSystem(4000, 7), gen);
  RewardFn reward = [](const torch::Tensor&, const torch::Tensor&, const torch::Tensor& next) {
    return -next.square().sum(-1);
  };
  const auto start = torch::tensor({1.0f, 1.0f});
  // pushing toward the origin (a = -1) beats pushing away (a = +1) and doing nothing
  auto actions =
      torch::stack({torch::full({8, 1}, -1.f), torch::zeros({8, 1}), torch::full({8, 1}, 1.f)});
  for (auto p : {Propagation::kTs1, Propagation::kTsInf, Propagation::kExpectation}) {
    auto f = MakeObjective(model, start, reward, nullptr, 7, p, at::detail::createCPUGenerator(8));
    auto r = f(actions);
    ASSERT_EQ(r.sizes(), torch::IntArrayRef({3}));
    EXPECT_GT(r[0].item<float>(), r[1].item<float>());
    EXPECT_GT(r[1].item<float>(), r[2].item<float>());
  }
  // the learned reward head gives the same ranking
  auto learned = MakeObjective(model, start, nullptr, nullptr, 7, Propagation::kTs1,
                               at::detail::createCPUGenerator(9));
  auto rl = learned(actions);
  EXPECT_GT(rl[0].item<float>(), rl[2].item<float>());
}

TEST(Objective, RewardIsMaskedAfterTermination) {
  Ensemble model(2, 1, Small());
  RewardFn one = [](const torch::Tensor& o, const torch::Tensor&, const torch::Tensor&) {
    return torch::ones({o.size(0)});
  };
  TerminationFn always = [](const torch::Tensor& n) {
    return torch::ones({n.size(0)}, torch::kBool);
  };
  auto f = MakeObjective(model, torch::zeros({2}), one, always, 4, Propagation::kTsInf,
                         at::detail::createCPUGenerator(0));
  auto r = f(torch::zeros({5, 6, 1}));
  EXPECT_TRUE(torch::allclose(r, torch::ones({5})));  // only the first step counts
  auto g = MakeObjective(model, torch::zeros({2}), one, nullptr, 3, Propagation::kTs1,
                         at::detail::createCPUGenerator(0));
  EXPECT_TRUE(torch::allclose(g(torch::zeros({5, 6, 1})), torch::full({5}, 6.f)));
  EXPECT_THROW(f(torch::zeros({5, 6, 2})), Error);  // wrong action dim
}

TEST(Objective, SameValuesForAnyThreadCountAndChunking) {
  // rollouts run in fixed chunks of candidates with per-chunk generators, so a larger population
  // (several chunks) scores the same on 1 or 2 threads
  Ensemble model(2, 1, Small());
  RewardFn reward = [](const torch::Tensor&, const torch::Tensor&, const torch::Tensor& next) {
    return -next.square().sum(-1);
  };
  auto actions = torch::rand({600, 5, 1}, at::detail::createCPUGenerator(3)) * 2 - 1;
  const auto score = [&](int threads) {
    ScopedThreads pools({threads, 1});
    return MakeObjective(model, torch::tensor({1.0f, -1.0f}), reward, nullptr, 10,
                         Propagation::kTs1, at::detail::createCPUGenerator(4))(actions);
  };
  auto one = score(1), two = score(2);
  EXPECT_TRUE(torch::equal(one, two));
  // and different candidates see different noise (no chunk reuses another's generator)
  auto same = torch::zeros({600, 5, 1});
  auto r = MakeObjective(model, torch::tensor({1.0f, -1.0f}), reward, nullptr, 10,
                         Propagation::kTs1, at::detail::createCPUGenerator(4))(same);
  EXPECT_GT(r.narrow(0, 0, 200).std().item<float>(), 0.f);
  EXPECT_FALSE(torch::equal(r.narrow(0, 0, 200), r.narrow(0, 400, 200)));
}

}  // namespace
}  // namespace mbrl
