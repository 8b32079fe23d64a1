// PETS end to end through the shipped config, on a tiny fast task.
#include <gtest/gtest.h>

#include <filesystem>
#include <numeric>

#include "agents/run_config.h"
#include "agents/trainer.h"
#include "mbrl/logging/metrics_writer.h"

namespace mbrl {
namespace {

std::vector<double> Returns(const std::string& dir) {
  std::vector<double> r;
  for (const auto& row : ReadMetricsJsonl(dir + "/metrics.jsonl")) r.push_back(*row.Find("return"));
  return r;
}

std::string RunPets(const std::string& runs, const std::vector<std::string>& extra) {
  // inverted_pendulum with 100-step episodes: random play falls after ~5 steps (mean return 5.1
  // over 147 episodes); a smaller model and planner keep the test fast
  std::vector<std::string> ov = {"runs_dir=" + runs, "env.name=inverted_pendulum",
                                 "env.max_steps=100", "total_env_steps=700", "progress=false",
                                 "pets.random_episodes=8", "pets.model.hidden=64",
                                 "pets.model.layers=3", "pets.model.members=5",
                                 "pets.model.elites=3", "pets.planner.horizon=10",
                                 "pets.planner.population=60", "pets.particles=5"};
  // ctest runs two tests at once on 2 cores: one thread per pool
  for (const char* phase : {"plan", "train", "update"})
    for (const char* pool : {"torch", "blas"})
      ov.push_back(std::string("threads.") + phase + "." + pool + "=1");
  ov.insert(ov.end(), extra.begin(), extra.end());
  config::Json resolved;
  auto cfg = LoadRunConfig({MBRL_SOURCE_DIR "/configs/pets_icem_cartpole.json"}, ov, &resolved);
  return Train(cfg, resolved);
}

TEST(Pets, LearnsToBalanceFarAboveRandom) {
  const std::string runs = testing::TempDir() + "/mbrl_pets_e2e";
  std::filesystem::remove_all(runs);
  const std::string dir = RunPets(runs, {"seed=0"});
  const auto r = Returns(dir);
  ASSERT_GE(r.size(), 11u);
  // the last three episodes (all planned) average at least 10x random's 5.1
  const double last3 = (r[r.size() - 1] + r[r.size() - 2] + r[r.size() - 3]) / 3;
  EXPECT_GE(last3, 50.0) << "returns of the last three episodes average " << last3;
  // the run reports model and planner metrics
  const auto rows = ReadMetricsJsonl(dir + "/metrics.jsonl");
  EXPECT_TRUE(rows.back().Find("model_holdout_mse"));
  EXPECT_TRUE(rows.back().Find("plan_ms"));
}

TEST(Pets, BadSettingsNameTheKey) {
  auto load = [](const std::vector<std::string>& ov) {
    LoadRunConfig({MBRL_SOURCE_DIR "/configs/pets_cartpole.json"}, ov, nullptr);
  };
  EXPECT_THROW(load({"pets.planner.horizon=0"}), Error);
  EXPECT_THROW(load({"pets.propagation=ts2"}), Error);
  EXPECT_THROW(load({"pets.model.elites=9"}), Error);  // caught when the model is built
}

}  // namespace
}  // namespace mbrl
