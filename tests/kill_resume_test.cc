// Crash-resume, proven: SIGKILL a training run at random moments (inside dataset, metrics and
// checkpoint writes too), resume each time, and compare with an uninterrupted run. Driven by
// events, not by the machine's speed: when the run finishes before twenty kills have landed, the
// test raises its step budget and resumes it; the reference run then trains to the final budget.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <random>

#include "mbrl/data/dataset.h"
#include "tests/test_util.h"

namespace mbrl {
namespace {
namespace fs = std::filesystem;

std::string OnlyRun(const std::string& runs) {
  std::vector<fs::path> dirs;
  if (fs::exists(runs))
    for (const auto& e : fs::directory_iterator(runs)) dirs.push_back(e.path());
  EXPECT_LE(dirs.size(), 1u);
  return dirs.empty() ? "" : dirs[0].string();
}

// Milliseconds until a fresh run has written its config.json (start-up; a few times longer under
// the sanitizers): kills land from half of it on.
int StartupMs(const std::vector<std::string>& args, const std::string& runs) {
  const auto t0 = std::chrono::steady_clock::now();
  const pid_t pid = Spawn(args);
  int code = -1;
  bool exited = false;
  while (!exited && !fs::exists(OnlyRun(runs) + "/config.json")) exited = WaitFor(pid, 1, &code);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  if (!exited) WaitFor(pid, -1, &code);
  EXPECT_EQ(code, 0);
  return static_cast<int>(ms);
}

// After a kill: the dataset opens and the metrics match it (or trail it by one row).
void ExpectConsistent(const std::string& dir, int kills) {
  // the HDF5 file appears complete (created as .tmp, then renamed) or not at all
  if (dir.empty() || !Dataset::Exists(dir + "/dataset")) return;
  int64_t n = 0, steps = 0;
  ASSERT_NO_THROW(Dataset::ReadInfo(dir + "/dataset", &n, &steps)) << "after kill " << kills;
  const auto episodes = Column(dir, "episode");
  EXPECT_GE(static_cast<int64_t>(episodes.size()), n - 1) << "after kill " << kills;
  EXPECT_LE(static_cast<int64_t>(episodes.size()), n + 1) << "after kill " << kills;
}

TEST(KillResume, TwentySigkillsLoseNothingButTheEpisodeInProgress) {
  constexpr int kKills = 20;
  constexpr int64_t kEpisode = 200;           // cartpole_swingup's fixed episode length
  constexpr int64_t kRaise = 100 * kEpisode;  // budgets stay whole episodes: nothing is cut
  const std::string root = testing::TempDir() + "/mbrl_kill_resume";
  fs::remove_all(root);
  const auto fresh_args = [](const std::string& runs, int64_t budget) {
    return std::vector<std::string>{
        "train",          MBRL_SOURCE_DIR "/configs/random_cartpole.json",
        "seed=3",         "total_env_steps=" + std::to_string(budget),
        "progress=false", "runs_dir=" + runs};
  };
  const int startup_ms = StartupMs(fresh_args(root + "/probe", kEpisode), root + "/probe");
  std::cerr << "a run writes its config after " << startup_ms << " ms\n";

  const std::string runs = root + "/killed";
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> delay_ms(0, std::max(1000, startup_ms));
  int64_t budget = kRaise;
  int kills = 0, code = -1;
  while (kills < kKills) {
    const std::string dir = OnlyRun(runs);
    // before config.json exists there is nothing to resume: start again
    const bool fresh = dir.empty() || !fs::exists(dir + "/config.json");
    if (fresh && !dir.empty()) fs::remove_all(dir);
    const auto args = fresh ? fresh_args(runs, budget)
                            : std::vector<std::string>{"train", "--resume", dir, "progress=false",
                                                       "total_env_steps=" + std::to_string(budget)};
    const pid_t pid = Spawn(args);
    const int wait_ms = startup_ms / 2 + delay_ms(rng);
    if (WaitFor(pid, wait_ms, &code)) {  // the run reached its budget first: raise it
      ASSERT_EQ(code, 0) << "run failed after " << kills << " kills";
      budget += kRaise;
      std::cerr << "finished before kill " << kills + 1 << ": budget raised to " << budget << "\n";
      continue;
    }
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    ++kills;
    std::cerr << (fresh ? "start" : "resume") << ", killed after " << wait_ms << " ms\n";
    ExpectConsistent(OnlyRun(runs), kills);
  }
  // a final clean resume (or start, if no kill left a config) to the budget
  std::string dir = OnlyRun(runs);
  const bool fresh = dir.empty() || !fs::exists(dir + "/config.json");
  if (fresh && !dir.empty()) fs::remove_all(dir);
  ASSERT_TRUE(
      WaitFor(Spawn(fresh ? fresh_args(runs, budget)
                          : std::vector<std::string>{"train", "--resume", dir, "progress=false",
                                                     "total_env_steps=" + std::to_string(budget)}),
              -1, &code));
  ASSERT_EQ(code, 0);
  dir = OnlyRun(runs);

  // the uninterrupted reference to the same budget
  const std::string whole_runs = root + "/whole";
  ASSERT_TRUE(WaitFor(Spawn(fresh_args(whole_runs, budget)), -1, &code));
  ASSERT_EQ(code, 0);
  const std::string whole = OnlyRun(whole_runs);

  EXPECT_EQ(kills, kKills);
  // the killed-and-resumed run equals the uninterrupted one: no episode lost or repeated, no gap
  EXPECT_EQ(Column(dir, "episode"), Column(whole, "episode"));
  EXPECT_EQ(Column(dir, "env_step"), Column(whole, "env_step"));
  EXPECT_EQ(Column(dir, "return"), Column(whole, "return"));
  const auto episodes = Column(dir, "episode");
  for (size_t i = 0; i < episodes.size(); ++i) ASSERT_EQ(episodes[i], i + 1.0);
  int64_t n1 = 0, s1 = 0, n2 = 0, s2 = 0;
  Dataset::ReadInfo(whole + "/dataset", &n1, &s1);
  Dataset::ReadInfo(dir + "/dataset", &n2, &s2);
  EXPECT_EQ(n2, n1);
  EXPECT_EQ(s2, s1);
  EXPECT_EQ(s2, budget);
  EXPECT_EQ(n2, budget / kEpisode);
}

}  // namespace
}  // namespace mbrl
