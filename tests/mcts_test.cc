// MCTS on the true model (agents/mcts.cc): it beats random play clearly on cartpole_swingup, and
// searching never disturbs the run's env (the recorded episode replays exactly).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <filesystem>

#include "agents/run_config.h"
#include "agents/trainer.h"
#include "envs/env.h"
#include "mbrl/data/dataset.h"
#include "tests/test_util.h"

namespace mbrl {
namespace {

std::string TrainRun(const std::string& config, const std::string& runs,
                     const std::vector<std::string>& extra) {
  std::filesystem::remove_all(runs);
  std::vector<std::string> ov = {"runs_dir=" + runs, "progress=false", "total_env_steps=200",
                                 "final_eval_episodes=2", "seed=1"};
  ov.insert(ov.end(), extra.begin(), extra.end());
  config::Json resolved;
  const RunConfig cfg = LoadRunConfig({config}, ov, &resolved);
  return Train(cfg, resolved);
}

TEST(Mcts, BeatsRandomClearlyAndLeavesTheRunsEnvAlone) {
  const std::string mcts = TrainRun(MBRL_SOURCE_DIR "/configs/mcts_cartpole.json",
                                    testing::TempDir() + "/mbrl_runs_mcts", {});
  const std::string random =
      TrainRun(MBRL_SOURCE_DIR "/configs/random_cartpole.json",
               testing::TempDir() + "/mbrl_runs_mcts_random",
               {"total_env_steps=1000", "final_eval_episodes=5", "eval_every=0"});
  const auto final_of = [](const std::string& dir) {
    return config::Json::parse(FileText(dir + "/final_eval.json"))["returns"]
        .get<std::vector<double>>();
  };
  const auto m = final_of(mcts), r = final_of(random);
  ASSERT_EQ(m.size(), 2u);
  ASSERT_EQ(r.size(), 5u);
  // a pole swung up for a quarter of the episode earns about 50; random play stays near 0
  EXPECT_GT(*std::min_element(m.begin(), m.end()), *std::max_element(r.begin(), r.end()) + 25);

  // the episode in the dataset replays exactly in a fresh env: the search stepped its own twin
  const DatasetInfo info = Dataset::ReadInfo(mcts + "/dataset");
  const Episode ep = Dataset::ReadEpisode(mcts + "/dataset", info, 0);
  auto env = MakeEnv("cartpole_swingup");
  ASSERT_TRUE(torch::equal(env->Reset(ep.seed), ep.observations[0]));
  for (int64_t t = 0; t < ep.steps(); ++t)
    ASSERT_TRUE(torch::equal(env->Step(ep.actions[t]).obs, ep.observations[t + 1])) << t;
}

}  // namespace
}  // namespace mbrl
