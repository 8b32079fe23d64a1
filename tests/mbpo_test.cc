// MBPO end to end through the shipped config on a tiny fast task, and its pieces.
#include "agents/mbpo.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <vector>

#include "agents/run_config.h"
#include "agents/trainer.h"
#include "mbrl/data/replay_buffer.h"
#include "mbrl/logging/metrics_writer.h"

namespace mbrl {
namespace {

TEST(Mbpo, RolloutLengthFollowsTheLinearSchedule) {
  const std::vector<int> s = {20, 100, 1, 15};
  EXPECT_EQ(RolloutLength(s, 0), 1);
  EXPECT_EQ(RolloutLength(s, 20), 1);
  EXPECT_EQ(RolloutLength(s, 60), 8);  // 1 + 0.5 * 14
  EXPECT_EQ(RolloutLength(s, 100), 15);
  EXPECT_EQ(RolloutLength(s, 500), 15);
  EXPECT_THROW(RolloutLength({1, 2, 3}, 0), Error);
  EXPECT_THROW(RolloutLength({5, 1, 1, 2}, 0), Error);
}

TEST(Mbpo, BranchedRolloutsStopAtPredictedTerminations) {
  // obs (row id, t); the stub model steps t + 1 with action = id and reward = new t, the task
  // terminates at t >= 3: rows starting at t = 2, 1, 0 terminate on their 1st, 2nd, 3rd step, the
  // row at t = -10 runs all 4 steps
  const TerminationFn terminal = [](const torch::Tensor& o) { return o.select(1, 1) >= 3; };
  std::vector<int64_t> rows_per_step;
  const ModelStepFn step = [&](const torch::Tensor& obs) {
    rows_per_step.push_back(obs.size(0));
    EXPECT_FALSE(terminal(obs).any().item<bool>()) << "stepped from a terminal state";
    auto next = obs + torch::tensor({0.f, 1.f});
    return ModelStep{obs.narrow(1, 0, 1).clone(), next, next.select(1, 1).clone()};
  };
  ReplayBuffer out(100, 2, 1);
  const auto start = torch::tensor({{0.f, 2.f}, {1.f, 1.f}, {2.f, 0.f}, {3.f, -10.f}});
  const RolloutStats stats = BranchedRollout(start, 4, step, terminal, out);

  EXPECT_EQ(rows_per_step, (std::vector<int64_t>{4, 3, 2, 1}));
  ASSERT_EQ(out.size(), 10);
  const Batch b = out.All();
  EXPECT_EQ(stats.rows, 10);
  EXPECT_DOUBLE_EQ(stats.terminated, 3);
  EXPECT_DOUBLE_EQ(stats.reward, b.reward.sum().item<double>());
  EXPECT_FALSE(terminal(b.obs).any().item<bool>()) << "a stored transition starts terminal";
  EXPECT_TRUE(torch::equal(b.terminated, terminal(b.next_obs).to(torch::kFloat32)));
  // the step's outputs stay with their rows after terminated rows drop out
  EXPECT_TRUE(torch::equal(b.act.squeeze(1), b.obs.select(1, 0)));
  EXPECT_TRUE(torch::equal(b.reward, b.next_obs.select(1, 1)));
  EXPECT_TRUE(torch::equal(b.next_obs.select(1, 0), b.obs.select(1, 0)));
  const auto id = b.obs.select(1, 0);
  const std::vector<int64_t> steps = {1, 2, 3, 4}, dones = {1, 1, 1, 0};
  for (int64_t r = 0; r < 4; ++r) {
    const auto mine = id == static_cast<float>(r);
    EXPECT_EQ(mine.sum().item<int64_t>(), steps[r]) << "row " << r;
    EXPECT_EQ(b.terminated.masked_select(mine).sum().item<float>(), dones[r]) << "row " << r;
  }
}

TEST(Mbpo, LearnsToBalanceFarAboveRandom) {
  // inverted_pendulum with 100-step episodes: random play falls after ~5 steps (return ~5)
  const std::string runs = testing::TempDir() + "/mbrl_mbpo_e2e";
  std::filesystem::remove_all(runs);
  std::vector<std::string> ov = {"runs_dir=" + runs,
                                 "env.max_steps=100",
                                 "total_env_steps=2000",
                                 "progress=false",
                                 "seed=0",
                                 "eval_every=0",
                                 "mbpo.initial_steps=300",
                                 "mbpo.model_train_freq=100",
                                 "mbpo.epoch_length=100",
                                 "mbpo.rollout_batch=2000",
                                 "mbpo.model.hidden=64",
                                 "mbpo.model.layers=3",
                                 "mbpo.model.weight_decay=[2.5e-5,5e-5,7.5e-5,1e-4]",
                                 "mbpo.model.max_epochs=10",
                                 "mbpo.updates_per_step=5",
                                 "mbpo.retain_epochs=2",
                                 "mbpo.sac.hidden=64",
                                 "mbpo.sac.batch_size=128"};
  // ctest runs two tests at once on 2 cores: one thread per pool
  for (const char* phase : {"plan", "train", "update"})
    for (const char* pool : {"torch", "blas"})
      ov.push_back(std::string("threads.") + phase + "." + pool + "=1");
  config::Json resolved;
  auto cfg = LoadRunConfig({MBRL_SOURCE_DIR "/configs/mbpo_inverted_pendulum.json"}, ov, &resolved);
  const std::string dir = Train(cfg, resolved);
  std::vector<double> r;
  const auto rows = ReadMetricsJsonl(dir + "/metrics.jsonl");
  for (const auto& row : rows) r.push_back(*row.Find("return"));
  ASSERT_GE(r.size(), 6u);
  r.pop_back();  // the last episode is cut by the step budget
  const double last5 =
      (r[r.size() - 1] + r[r.size() - 2] + r[r.size() - 3] + r[r.size() - 4] + r[r.size() - 5]) / 5;
  EXPECT_GE(last5, 50.0) << "returns of the last five full episodes average " << last5;
  EXPECT_TRUE(rows.back().Find("sac_critic_loss"));
  // retain 2 epochs of 2000 rollouts: the buffer holds two rounds, not only the last one
  EXPECT_EQ(*rows.back().Find("model_buffer"), 4000.0);
  // the checkpoint plays back (deterministic policy) and the run resumes
  const auto eval = Evaluate(dir, 1);
  ASSERT_EQ(eval.size(), 1u);
  EXPECT_GE(eval[0], 20.0);
  // model rollouts are not in the checkpoint: the resumed run makes one round at once instead
  // of training SAC on real data only until the next model retraining (step 2100)
  auto more = cfg;
  more.total_env_steps = 2050;
  Train(more, resolved, dir);
  const auto resumed = ReadMetricsJsonl(dir + "/metrics.jsonl");
  ASSERT_GT(resumed.size(), rows.size());
  EXPECT_EQ(*resumed.back().Find("model_buffer"), 2000.0);
  // the update count goes on from the checkpoint's
  EXPECT_GT(*resumed.back().Find("sac_updates"), *rows.back().Find("sac_updates"));
}

TEST(Mbpo, BadSettingsNameTheKey) {
  auto load = [](const std::vector<std::string>& ov) {
    LoadRunConfig({MBRL_SOURCE_DIR "/configs/mbpo_inverted_pendulum.json"}, ov, nullptr);
  };
  EXPECT_THROW(load({"mbpo.rollout_schedule=[1,2,3]"}), Error);
  EXPECT_THROW(load({"mbpo.real_ratio=1.5"}), Error);
  EXPECT_THROW(load({"mbpo.model.elites=9"}), Error);
}

}  // namespace
}  // namespace mbrl
