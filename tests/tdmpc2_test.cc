// TD-MPC2's pieces: the latent building blocks (Mish, SimNorm, member subsets), elite MPPI with
// proposals, the model's update and checkpoint, the agent end to end on the inverted pendulum,
// and one-line errors for bad settings.
#include "mbrl/models/tdmpc2.h"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/script.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <sstream>

#include "agents/run_config.h"
#include "agents/trainer.h"
#include "mbrl/export/export.h"
#include "mbrl/models/latent_net.h"
#include "mbrl/native/program.h"
#include "mbrl/planners/planner.h"
#include "tests/test_util.h"

namespace mbrl {
namespace {

TEST(LatentNet, FastMishEqualsTorchMishAndItsGradient) {
  auto x = (torch::randn({4096}) * 6).requires_grad_(true);
  auto y = FastMish(x);
  auto gy = torch::randn({4096});
  auto g = torch::autograd::grad({y}, {x}, {gy})[0];
  auto x2 = x.detach().clone().requires_grad_(true);
  auto y2 = torch::mish(x2);
  auto g2 = torch::autograd::grad({y2}, {x2}, {gy})[0];
  EXPECT_LT((y - y2).abs().max().item<double>(), 1e-5);
  EXPECT_LT((g - g2).abs().max().item<double>(), 1e-5);
  // far tails: no overflow, identity on the right, zero on the left
  auto tails = FastMish(torch::tensor({-100.f, 100.f}));
  EXPECT_NEAR(tails[0].item<double>(), 0, 1e-6);
  EXPECT_NEAR(tails[1].item<double>(), 100, 1e-4);
}

// The fused LayerNorm + affine + Mish (forward, backward, no-grad forward) against torch's ops
// under autograd; U = 50 is no multiple of a vector width, scales reach Mish's far tails.
TEST(LatentNet, FusedLayerNormMishEqualsTheTorchOpsAndTheirGradients) {
  torch::manual_seed(7);
  auto h = (torch::randn({3, 37, 50}) * 4 + 1).requires_grad_(true);
  auto w = (torch::randn({3, 1, 50}) * 8).requires_grad_(true);
  auto b = torch::randn({3, 1, 50}).requires_grad_(true);
  auto gy = torch::randn({3, 37, 50});
  auto y = LayerNormMish(h, w, b);
  auto g = torch::autograd::grad({y}, {h, w, b}, {gy});
  auto y2 = torch::mish(torch::addcmul(b, torch::layer_norm(h, {50}), w));
  auto g2 = torch::autograd::grad({y2}, {h, w, b}, {gy});
  EXPECT_LT((y - y2).abs().max().item<double>(), 1e-4);
  for (int i = 0; i < 3; ++i)
    EXPECT_LT(((g[i] - g2[i]).abs() / (g2[i].abs() + 1)).max().item<double>(), 1e-4) << i;
  torch::NoGradGuard ng;
  EXPECT_LT((LayerNormMish(h, w, b) - y2).abs().max().item<double>(), 1e-4);
}

// Hash-masked dropout: drops a p fraction, scales the rest by 1/(1-p), the gradient has the same
// mask, a new mask per call, identity in eval mode.
TEST(LatentNet, FastDropoutDropsAFractionPAndItsGradientUsesTheSameMask) {
  torch::manual_seed(3);
  auto x = (torch::rand({200000}) + 1).requires_grad_(true);
  auto y = FastDropout(x, 0.3, /*train=*/true);
  auto g = torch::autograd::grad({y}, {x}, {torch::ones_like(y)})[0];
  const auto kept = y.detach() != 0;
  EXPECT_NEAR(1 - kept.to(torch::kFloat).mean().item<double>(), 0.3, 0.005);
  EXPECT_TRUE(
      torch::allclose(y.detach().masked_select(kept), x.detach().masked_select(kept) / 0.7));
  EXPECT_TRUE(torch::equal(g != 0, kept));
  EXPECT_FALSE(torch::equal(FastDropout(x, 0.3, true).detach() != 0, kept));
  EXPECT_TRUE(torch::equal(FastDropout(x, 0.3, false), x));
}

TEST(LatentNet, SimNormMakesSimplicesAndMembersAreSlicesOfTheEnsemble) {
  auto z = SimNorm(torch::randn({3, 5, 16}), 8);
  EXPECT_TRUE(torch::allclose(z.view({3, 5, 2, 8}).sum(-1), torch::ones({3, 5, 2})));
  EXPECT_GE(z.min().item<double>(), 0);
  NormedMlpOptions o;
  o.members = 4, o.units = 16, o.simnorm = 4;
  NormedMlp net(6, 8, o);
  net->eval();
  auto x = torch::randn({10, 6});
  auto all = net->forward(x);  // [4,10,8]
  ASSERT_EQ(all.sizes(), (std::vector<int64_t>{4, 10, 8}));
  auto idx = torch::tensor({3, 1}, torch::kLong);
  EXPECT_TRUE(torch::allclose(net->Members(x, idx), all.index_select(0, idx), 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(all.view({4, 10, 2, 4}).sum(-1), torch::ones({4, 10, 2})));
}

// A narrow optimum far from the centre: with 1 iteration a proposal at it is what finds it.
TEST(Planners, EliteMppiTakesProposalsIntoItsPopulation) {
  PlannerConfig cfg;
  cfg.type = "elite_mppi", cfg.horizon = 3, cfg.iterations = 1, cfg.population = 16;
  cfg.elite_fraction = 0.125, cfg.temperature = 1e-3;
  const std::vector<float> lo(4, -1.f), hi(4, 1.f);
  const auto target = torch::full({3, 4}, 0.9);
  Objective f = [&](const torch::Tensor& a) { return -(a - target).square().sum({1, 2}); };
  auto without = MakePlanner(cfg, lo, hi, torch::kCPU, 3)->Plan(f);
  auto planner = MakePlanner(cfg, lo, hi, torch::kCPU, 3);
  auto with = planner->Plan(f, target.unsqueeze(0));
  EXPECT_LT((with - target).abs().max().item<double>(), 1e-6);
  EXPECT_GT((without - target).abs().max().item<double>(), 0.2);
  ASSERT_TRUE(planner->spread().defined());
  EXPECT_GE(planner->spread().min().item<double>(), cfg.min_std - 1e-6);
  // several iterations without help reach it too; the result stays within bounds
  cfg.iterations = 8, cfg.population = 256, cfg.temperature = 1;
  auto found = MakePlanner(cfg, lo, hi, torch::kCPU, 3)->Plan(f);
  EXPECT_LT((found - target).abs().max().item<double>(), 0.15);
  EXPECT_LE(found.abs().max().item<double>(), 1.0);
  EXPECT_THROW(planner->Plan(f, torch::zeros({16, 3, 4})), Error);  // no room left
}

struct Sequences {
  torch::Tensor obs, act, reward, terminated, mask;
};

// obs follow a fixed linear map of (obs, act); reward is a function of obs
Sequences LinearSystem(int64_t b, int64_t t) {
  torch::manual_seed(5);
  auto a_mat = torch::randn({4, 4}) * 0.3, b_mat = torch::randn({2, 4});
  std::vector<torch::Tensor> obs = {torch::randn({b, 4})};
  auto act = torch::rand({t, b, 2}) * 2 - 1;
  std::vector<torch::Tensor> rew;
  for (int64_t i = 0; i < t; ++i) {
    rew.push_back(obs.back().select(1, 0).tanh());
    obs.push_back(torch::tanh(obs.back().mm(a_mat) + act[i].mm(b_mat)));
  }
  return {torch::stack(obs), act, torch::stack(rew), torch::zeros({t, b}), torch::ones({t, b})};
}

TEST(TdMpc2, UpdatesLowerTheModelLossesAndACheckpointRestoresTheModel) {
  TdMpc2Config cfg;
  cfg.latent = 32, cfg.units = 64, cfg.enc_units = 64;
  cfg.lr = 1e-3;
  TdMpc2 model(4, 2, cfg, 0.9);
  auto gen = at::detail::createCPUGenerator(1);
  const auto d = LinearSystem(64, cfg.horizon);
  TdMpc2Stats first, last;
  for (int i = 0; i < 300; ++i) {
    auto s = model->Update(d.obs, d.act, d.reward, d.terminated, d.mask, gen);
    if (i < 10) first += s;
    if (i >= 290) last += s;
  }
  EXPECT_LT(last.reward, 0.5 * first.reward);
  EXPECT_LT(last.value, first.value);
  EXPECT_TRUE(std::isfinite(last.pi));
  // checkpoint round trip: the same planning values from the same generator state
  torch::serialize::OutputArchive out;
  model->SaveTo(out);
  std::ostringstream bytes;
  out.save_to(bytes);
  TdMpc2 copy(4, 2, cfg, 0.9);
  copy->train(false);
  torch::serialize::InputArchive in;
  std::istringstream src(bytes.str());
  in.load_from(src);
  copy->LoadFrom(in);
  torch::NoGradGuard ng;
  auto z = model->Encode(d.obs[0].narrow(0, 0, 1));
  auto acts = torch::rand({8, 3, 2}) * 2 - 1;
  auto g1 = at::detail::createCPUGenerator(9), g2 = at::detail::createCPUGenerator(9);
  EXPECT_TRUE(torch::allclose(model->Value(z, acts, g1),
                              copy->Value(copy->Encode(d.obs[0].narrow(0, 0, 1)), acts, g2)));
}

std::string TrainRun(const std::string& config, const std::string& runs,
                     const std::vector<std::string>& extra) {
  std::filesystem::remove_all(runs);
  std::vector<std::string> ov = {"runs_dir=" + runs, "progress=false", "final_eval_episodes=2",
                                 "seed=1"};
  ov.insert(ov.end(), extra.begin(), extra.end());
  config::Json resolved;
  return Train(LoadRunConfig({config}, ov, &resolved), resolved);
}

std::vector<double> FinalReturns(const std::string& dir) {
  return config::Json::parse(FileText(dir + "/final_eval.json"))["returns"]
      .get<std::vector<double>>();
}

// A lean model and planner: the agent balances far longer than random play within 2500 steps.
TEST(TdMpc2, BeatsRandomClearlyOnTheInvertedPendulumAndResumes) {
  const std::string dir = TrainRun(
      MBRL_SOURCE_DIR "/configs/tdmpc2_inverted_pendulum.json",
      testing::TempDir() + "/mbrl_runs_tdmpc2",
      {"total_env_steps=2500", "tdmpc2.model.latent=32", "tdmpc2.model.units=64",
       "tdmpc2.model.enc_units=64", "tdmpc2.model.batch_size=64", "tdmpc2.planner.population=128",
       "tdmpc2.planner.iterations=3", "tdmpc2.proposals=8"});
  const auto a = FinalReturns(dir);
  const auto r = FinalReturns(TrainRun(MBRL_SOURCE_DIR "/configs/random_cartpole.json",
                                       testing::TempDir() + "/mbrl_runs_tdmpc2_random",
                                       {"env.name=inverted_pendulum", "total_env_steps=1000",
                                        "final_eval_episodes=5", "eval_every=0"}));
  ASSERT_EQ(a.size(), 2u);
  EXPECT_GT(*std::min_element(a.begin(), a.end()), 3 * *std::max_element(r.begin(), r.end()));
  auto resumed = Shell(std::string(MBRL_BINARY) + " train --resume " + dir +
                       " total_env_steps=2600 progress=false");
  EXPECT_EQ(resumed.code, 0) << resumed.err;
  // evaluation with the policy prior alone (no planning), and a bad override
  auto prior = Shell(std::string(MBRL_BINARY) + " eval " + dir + " --episodes 1 tdmpc2.act=prior");
  ASSERT_EQ(prior.code, 0) << prior.err;
  EXPECT_NE(prior.out.find("\"overrides\":[\"tdmpc2.act=prior\"]"), std::string::npos) << prior.out;
  EXPECT_NE(Shell(std::string(MBRL_BINARY) + " eval " + dir + " tdmpc2.act=tree").code, 0);
}

// `mbrl export` of a TD-MPC2 run: encoder + prior mean as a stateless program acts like the agent
// with tdmpc2.act=prior along an episode in every format: TorchScript (C++ and Python), the
// native runtime, and ONNX (onnxruntime, when installable).
TEST(TdMpc2, ExportedPriorActsLikeTheAgentInEveryFormat) {
  const std::string runs = testing::TempDir() + "/mbrl_runs_tdmpc2_export";
  const std::string dir = TrainRun(
      MBRL_SOURCE_DIR "/configs/tdmpc2_dmc_cartpole.json", runs,
      {"env.name=reacher", "total_env_steps=600", "env.action_repeat=2", "final_eval_episodes=1",
       "eval_every_steps=0", "tdmpc2.seed_steps=50", "tdmpc2.model.latent=16",
       "tdmpc2.model.simnorm=4", "tdmpc2.model.units=32", "tdmpc2.model.enc_units=32",
       "tdmpc2.model.batch_size=16", "tdmpc2.planner.population=32", "tdmpc2.planner.iterations=2",
       "tdmpc2.proposals=4"});
  const std::string ts = ExportRun(dir, ExportFormat::kTorchScript);
  const std::string onnx = ExportRun(dir, ExportFormat::kOnnx);
  const std::string native_path = ExportRun(dir, ExportFormat::kNative);
  EXPECT_EQ(native_path, dir + "/export/policy.mbrlr");
  auto module = torch::jit::load(ts);
  auto native = NativeRecurrentPolicy::Load(native_path);
  RunConfig cfg;
  std::unique_ptr<Env> env;
  auto agent = LoadRunAgent(dir, &cfg, &env, {"tdmpc2.act=prior"});
  agent->BeginEpisode(5);
  auto obs = env->Reset(5);
  Eigen::VectorXf native_act(env->spec().act_dim);
  std::vector<torch::Tensor> seen, acts;
  float worst = 0, worst_native = 0;
  for (bool done = false; !done;) {
    auto want = agent->Act(obs, /*eval=*/true).to(torch::kFloat);
    auto o = obs.to(torch::kFloat).contiguous().view({1, -1});
    worst = std::max(worst,
                     (module.forward({o}).toTensor().view({-1}) - want).abs().max().item<float>());
    native.Act(o.data_ptr<float>(), nullptr, native_act.data());
    for (int64_t i = 0; i < want.numel(); ++i)
      worst_native = std::max(worst_native, std::abs(native_act[i] - want[i].item<float>()));
    seen.push_back(o.view({-1}));
    acts.push_back(want);
    auto step = env->Step(want);
    obs = step.obs;
    done = step.terminated || step.truncated;
  }
  EXPECT_LE(worst, 1e-5);
  EXPECT_LE(worst_native, 1e-5);
  const auto a = torch::stack(acts);  // [T,A]
  EXPECT_GT(a.std(0).max().item<float>(), 0.01) << "constant actions prove little";
  ExpectPythonExportsAct(runs, torch::stack(seen), a, ts, onnx, /*recurrent=*/false);
}

TEST(TdMpc2, BadSettingsGetOneLineErrors) {
  const auto error_of = [](const std::vector<std::string>& ov) {
    try {
      LoadRunConfig({MBRL_SOURCE_DIR "/configs/tdmpc2_dmc_cartpole.json"}, ov, nullptr);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const auto has = [&](const std::vector<std::string>& ov, const std::string& text) {
    const auto e = error_of(ov);
    EXPECT_NE(e.find(text), std::string::npos) << e;
    EXPECT_EQ(e.find('\n'), std::string::npos) << e;
  };
  has({"tdmpc2.planner.horizon=0"}, "tdmpc2.planner.horizon");
  has({"tdmpc2.model.horizon=0"}, "tdmpc2.model.horizon");
  has({"tdmpc2.planner.elite_fraction=0.002"}, "needs at least 2");
  has({"tdmpc2.model.num_q=1"}, "tdmpc2.model.num_q");
  has({"tdmpc2.proposals=512"}, "tdmpc2.proposals (512) must be <");
}

}  // namespace
}  // namespace mbrl
