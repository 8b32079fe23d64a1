// Dreamer and PlaNet end to end through the real config path on a tiny fast task.
#include <gtest/gtest.h>
#include <torch/script.h>

#include <filesystem>
#include <iostream>
#include <numeric>
#include <vector>

#include "agents/run_config.h"
#include "agents/trainer.h"
#include "mbrl/core/check.h"
#include "mbrl/logging/metrics_writer.h"
#include "mbrl/native/program.h"
#include "tests/test_util.h"

namespace mbrl {
namespace {

std::vector<std::string> OneThreadEach(std::vector<std::string> ov) {
  // ctest may run two tests at once on 2 cores: one thread per pool
  for (const char* phase : {"plan", "train", "update"})
    for (const char* pool : {"torch", "blas"})
      ov.push_back(std::string("threads.") + phase + "." + pool + "=1");
  return ov;
}

double MeanOfLast(std::vector<double> v, size_t n) {
  return std::accumulate(v.end() - n, v.end(), 0.0) / n;
}

// reacher run of `episodes` 50-step episodes whose first 10 are uniform-random play (about -42):
// the last five must average above -25
void ExpectReachingFarAboveRandom(const std::string& dir, size_t episodes) {
  const auto r = Column(dir, "return");
  ASSERT_EQ(r.size(), episodes);
  const double random = MeanOfLast({r.begin(), r.begin() + 10}, 10);
  const double last = MeanOfLast(r, 5);
  EXPECT_LT(random, -35.0) << "the prefill episodes are not uniform-random play";
  EXPECT_GT(last, -25.0) << "last five episodes average " << last << ", random " << random;
}

TEST(Dreamer, LearnsToReachFarAboveRandom) {
  // reacher: 50-step episodes, dense reward; uniform random play averages about -42
  const std::string runs = testing::TempDir() + "/mbrl_dreamer_e2e";
  std::filesystem::remove_all(runs);
  const auto ov = OneThreadEach({"runs_dir=" + runs,
                                 "env.name=reacher",
                                 "env.action_repeat=1",
                                 "total_env_steps=1500",
                                 "progress=false",
                                 "seed=0",
                                 "eval_every=0",
                                 "dreamer.prefill=500",
                                 "dreamer.pretrain=50",
                                 "dreamer.train_ratio=128",
                                 "dreamer.imagine_starts=128",
                                 "dreamer.model.deter=32",
                                 "dreamer.model.units=64",
                                 "dreamer.model.stoch=8",
                                 "dreamer.model.classes=8",
                                 "dreamer.model.seq_len=16",
                                 "dreamer.model.lr=1e-3",
                                 "dreamer.behavior.units=64",
                                 "dreamer.behavior.horizon=10",
                                 "dreamer.behavior.actor_lr=1e-3",
                                 "dreamer.behavior.critic_lr=1e-3"});
  config::Json resolved;
  auto cfg = LoadRunConfig({MBRL_SOURCE_DIR "/configs/dreamer_dmc_cartpole.json"}, ov, &resolved);
  const std::string dir = Train(cfg, resolved);
  ExpectReachingFarAboveRandom(dir, 30);
  const auto rows = ReadMetricsJsonl(dir + "/metrics.jsonl");
  EXPECT_GT(*rows.back().Find("train_updates"), 400.0);
  EXPECT_TRUE(rows.back().Find("wm_kl"));
  // the checkpoint plays back with the mean action and the run resumes
  const auto eval = Evaluate(dir, 1);
  ASSERT_EQ(eval.size(), 1u);
  EXPECT_GT(eval[0], -25.0);
  auto more = cfg;
  more.total_env_steps = 1550;
  Train(more, resolved, dir);
  EXPECT_EQ(Column(dir, "return").size(), 31u);
}

// `mbrl export` of a Dreamer run: the RSSM posterior step + actor with its state carried
// between calls acts like the loaded agent along an episode, in every format: TorchScript (C++
// and Python), the native runtime, and ONNX (onnxruntime, when installable).
TEST(Dreamer, ExportedRecurrentPolicyActsLikeTheAgent) {
  const std::vector<std::vector<std::string>> variants = {
      {"dreamer.model.classes=8"},
      {"dreamer.model.classes=0", "dreamer.model.layernorm=false",
       "dreamer.behavior.layernorm=false", "dreamer.model.symlog_obs=false"}};
  for (const auto& variant : variants) {
    SCOPED_TRACE(variant[0]);
    const std::string runs = testing::TempDir() + "/mbrl_dreamer_export";
    std::filesystem::remove_all(runs);
    auto ov = OneThreadEach({"runs_dir=" + runs, "env.name=reacher", "env.action_repeat=1",
                             "total_env_steps=150", "progress=false", "seed=0", "eval_every=0",
                             "dreamer.prefill=100", "dreamer.pretrain=10", "dreamer.train_ratio=64",
                             "dreamer.imagine_starts=32", "dreamer.model.deter=16",
                             "dreamer.model.units=32", "dreamer.model.stoch=4",
                             "dreamer.model.seq_len=8", "dreamer.model.batch_size=4",
                             "dreamer.behavior.units=32", "dreamer.behavior.actor_lr=1e-2",
                             // the critic is not exported; this one keeps the tiny actor's
                             // actions varied (the config's saturates them here)
                             "dreamer.behavior.value_head=mse", "dreamer.behavior.slow_target=true",
                             "dreamer.behavior.slow_reg=0", "dreamer.behavior.critic_lr=8e-5",
                             "dreamer.model.continue_head=true"});
    ov.insert(ov.end(), variant.begin(), variant.end());
    config::Json resolved;
    auto cfg = LoadRunConfig({MBRL_SOURCE_DIR "/configs/dreamer_dmc_cartpole.json"}, ov, &resolved);
    const std::string dir = Train(cfg, resolved);
    const std::string path = ExportRun(dir, ExportFormat::kTorchScript);
    EXPECT_EQ(path, dir + "/export/policy.pt");
    const std::string onnx = ExportRun(dir, ExportFormat::kOnnx);
    const std::string native_path = ExportRun(dir, ExportFormat::kNative);
    EXPECT_EQ(native_path, dir + "/export/policy.mbrlr");
    auto module = torch::jit::load(path);
    auto native = NativeRecurrentPolicy::Load(native_path);
    RunConfig loaded;
    std::unique_ptr<Env> env;
    auto agent = LoadRunAgent(dir, &loaded, &env);
    EXPECT_EQ(module.attr("obs_dim").toInt(), env->spec().obs_dim);
    agent->BeginEpisode(3);
    auto obs = env->Reset(3);
    auto state = module.run_method("initial_state", 1).toTensor();
    Eigen::VectorXf native_state = native.InitialState();
    Eigen::VectorXf native_act(env->spec().act_dim);
    std::vector<torch::Tensor> seen, acts;
    float worst = 0, worst_native = 0;
    for (bool done = false; !done;) {
      auto want = agent->Act(obs, /*eval=*/true);
      auto out = module.forward({obs.view({1, -1}), state}).toTuple()->elements();
      worst = std::max(worst, (out[0].toTensor().view({-1}) - want).abs().max().item<float>());
      state = out[1].toTensor();
      auto o = obs.to(torch::kFloat).contiguous();
      native.Act(o.data_ptr<float>(), native_state.data(), native_act.data());
      auto w = want.to(torch::kFloat).contiguous();
      worst_native =
          std::max(worst_native,
                   (native_act - Eigen::Map<const Eigen::VectorXf>(w.data_ptr<float>(), w.numel()))
                       .cwiseAbs()
                       .maxCoeff());
      seen.push_back(obs);
      acts.push_back(want);
      auto step = env->Step(want);
      obs = step.obs;
      done = step.terminated || step.truncated;
    }
    EXPECT_LE(worst, 1e-5);
    EXPECT_LE(worst_native, 1e-5);
    const auto a = torch::stack(acts);  // [T,A]
    ASSERT_EQ(a.size(0), 50);
    EXPECT_GT(a.std(0).max().item<float>(), 0.01) << "constant actions prove little";
    ExpectPythonExportsAct(runs, torch::stack(seen), a, path, onnx, /*recurrent=*/true);
  }
}

TEST(Planet, LearnsToReachFarAboveRandomAndResumes) {
  // reacher as in the Dreamer test: 10 uniform-random episodes, then 15 planned ones
  const std::string runs = testing::TempDir() + "/mbrl_planet_e2e";
  std::filesystem::remove_all(runs);
  const auto ov = OneThreadEach(
      {"runs_dir=" + runs, "env.name=reacher", "env.action_repeat=1", "total_env_steps=1250",
       "progress=false", "seed=0", "eval_every=0", "planet.prefill_episodes=10",
       "planet.train_steps=50", "planet.exploration_noise=0.1", "planet.model.deter=32",
       "planet.model.units=64", "planet.model.stoch=8", "planet.model.seq_len=16",
       "planet.model.batch_size=16", "planet.model.angle_dims=[]", "planet.planner.population=100",
       "planet.planner.iterations=3", "planet.planner.horizon=10"});
  config::Json resolved;
  auto cfg = LoadRunConfig({MBRL_SOURCE_DIR "/configs/planet_cartpole.json"}, ov, &resolved);
  const std::string dir = Train(cfg, resolved);
  ExpectReachingFarAboveRandom(dir, 25);
  const auto rows = ReadMetricsJsonl(dir + "/metrics.jsonl");
  EXPECT_FALSE(rows[0].Find("plan_ms"));  // random prefill episodes
  EXPECT_GT(*rows.back().Find("plan_ms"), 0.0);
  EXPECT_TRUE(rows.back().Find("wm_loss"));
  auto more = cfg;
  more.total_env_steps = 1300;
  Train(more, resolved, dir);
  EXPECT_EQ(Column(dir, "return").size(), 26u);
}

}  // namespace
}  // namespace mbrl
