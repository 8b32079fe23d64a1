// MBPO end to end through the shipped config on a tiny fast task, and its pieces.
#include <gtest/gtest.h>

#include <filesystem>

#include "agents/mbpo.h"
#include "agents/run_config.h"
#include "agents/trainer.h"
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

TEST(Mbpo, LearnsToBalanceFarAboveRandom) {
  // inverted_pendulum with 100-step episodes: random play falls after ~5 steps (return ~5)
  const std::string runs = testing::TempDir() + "/mbrl_mbpo_e2e";
  std::filesystem::remove_all(runs);
  std::vector<std::string> ov = {"runs_dir=" + runs, "env.max_steps=100", "total_env_steps=2000",
                                 "progress=false", "seed=0", "eval_every=0",
                                 "mbpo.initial_steps=300", "mbpo.model_train_freq=100",
                                 "mbpo.epoch_length=100", "mbpo.rollout_batch=2000",
                                 "mbpo.model.hidden=64", "mbpo.model.layers=3",
                                 "mbpo.model.max_epochs=10", "mbpo.updates_per_step=5",
                                 "mbpo.retain_epochs=2", "mbpo.sac.hidden=64",
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
  const double last5 = (r[r.size() - 1] + r[r.size() - 2] + r[r.size() - 3] + r[r.size() - 4] +
                        r[r.size() - 5]) / 5;
  EXPECT_GE(last5, 50.0) << "returns of the last five full episodes average " << last5;
  EXPECT_TRUE(rows.back().Find("sac_critic_loss"));
  // retain 2 epochs of 2000 rollouts: the buffer holds two rounds, not only the last one
  EXPECT_EQ(*rows.back().Find("model_buffer"), 4000.0);
  // the checkpoint plays back (deterministic policy) and the run resumes
  const auto eval = Evaluate(dir, 1);
  ASSERT_EQ(eval.size(), 1u);
  EXPECT_GE(eval[0], 20.0);
  auto more = cfg;
  more.total_env_steps = 2100;
  Train(more, resolved, dir);
  EXPECT_GT(ReadMetricsJsonl(dir + "/metrics.jsonl").size(), rows.size());
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
