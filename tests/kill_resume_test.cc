// Crash-resume, proven: SIGKILL a training run at random moments (inside dataset, metrics and
// checkpoint writes too), resume each time, and compare with an uninterrupted run.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <random>
#include <thread>

#include "mbrl/data/dataset.h"
#include "tests/test_util.h"

namespace mbrl {
namespace {
namespace fs = std::filesystem;

// Starts `mbrl <args>` (stdout/stderr to /dev/null); returns its pid.
pid_t Spawn(const std::vector<std::string>& args) {
  const pid_t pid = fork();
  if (pid == 0) {
    std::vector<char*> argv;
    static const std::string bin = MBRL_BINARY;
    argv.push_back(const_cast<char*>(bin.c_str()));
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    std::freopen("/dev/null", "w", stdout);
    std::freopen("/dev/null", "w", stderr);
    execv(bin.c_str(), argv.data());
    _exit(127);
  }
  return pid;
}

// Waits for `pid` up to `ms` milliseconds; returns true if it exited (status in *code).
bool WaitFor(pid_t pid, int ms, int* code) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  int status = 0;
  while (std::chrono::steady_clock::now() < end) {
    if (waitpid(pid, &status, WNOHANG) == pid) {
      *code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return false;
}

std::string OnlyRun(const std::string& runs) {
  std::vector<fs::path> dirs;
  if (fs::exists(runs))
    for (const auto& e : fs::directory_iterator(runs)) dirs.push_back(e.path());
  EXPECT_LE(dirs.size(), 1u);
  return dirs.empty() ? "" : dirs[0].string();
}

TEST(KillResume, TwentySigkillsLoseNothingButTheEpisodeInProgress) {
  const std::string root = testing::TempDir() + "/mbrl_kill_resume";
  fs::remove_all(root);
  const std::vector<std::string> cfg = {"train", MBRL_SOURCE_DIR "/configs/random_cartpole.json",
                                        "total_env_steps=40000", "seed=3", "progress=false"};
  auto with = [&](const std::string& runs) {
    auto a = cfg;
    a.push_back("runs_dir=" + runs);
    return a;
  };
  int code = -1;
  // the reference run also measures how long a run takes to write its config.json: kills land
  // from half that time on (start-up takes a few times longer under the sanitizers)
  const auto t0 = std::chrono::steady_clock::now();
  const pid_t ref = Spawn(with(root + "/whole"));
  bool exited = false;
  while (!exited && !fs::exists(OnlyRun(root + "/whole") + "/config.json"))
    exited = WaitFor(ref, 1, &code);
  const int startup_ms = static_cast<int>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count());
  std::cerr << "a run writes its config after " << startup_ms << " ms\n";
  ASSERT_TRUE(exited || WaitFor(ref, 300000, &code));
  ASSERT_EQ(code, 0);
  const std::string whole = OnlyRun(root + "/whole");

  const std::string runs = root + "/killed";
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> delay_ms(0, 1000);
  int kills = 0, finished = 0;
  std::string dir;
  while (!finished) {
    dir = OnlyRun(runs);
    // before config.json exists there is nothing to resume: start again
    const bool fresh = dir.empty() || !fs::exists(dir + "/config.json");
    if (fresh && !dir.empty()) fs::remove_all(dir);
    std::vector<std::string> args =
        fresh ? with(runs) : std::vector<std::string>{"train", "--resume", dir, "progress=false"};
    const pid_t pid = Spawn(args);
    const int wait_ms = startup_ms / 2 + delay_ms(rng);
    std::cerr << (fresh ? "start" : "resume") << " then kill after " << wait_ms << " ms\n";
    if (kills < 20 && !WaitFor(pid, wait_ms, &code)) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
      ++kills;
      dir = OnlyRun(runs);
      // the HDF5 file appears complete (created as .tmp, then renamed) or not at all
      if (dir.empty() || !fs::exists(dir + "/dataset/data/main_data.hdf5")) continue;
      // after every kill: the dataset opens and the metrics match it (or trail it by one row)
      int64_t n = 0, steps = 0;
      ASSERT_NO_THROW(Dataset::ReadInfo(dir + "/dataset", &n, &steps)) << "after kill " << kills;
      const auto episodes = Column(dir, "episode");
      EXPECT_GE(static_cast<int64_t>(episodes.size()), n - 1) << "after kill " << kills;
      EXPECT_LE(static_cast<int64_t>(episodes.size()), n + 1) << "after kill " << kills;
      continue;
    }
    ASSERT_TRUE(kills >= 20 ? WaitFor(pid, 300000, &code) : true);
    ASSERT_EQ(code, 0) << "run failed after " << kills << " kills";
    dir = OnlyRun(runs);  // a fresh start made a new directory
    finished = 1;
  }
  EXPECT_EQ(kills, 20);
  // the killed-and-resumed run equals the uninterrupted one
  EXPECT_EQ(Column(dir, "episode"), Column(whole, "episode"));
  EXPECT_EQ(Column(dir, "env_step"), Column(whole, "env_step"));
  EXPECT_EQ(Column(dir, "return"), Column(whole, "return"));
  int64_t n1 = 0, s1 = 0, n2 = 0, s2 = 0;
  Dataset::ReadInfo(whole + "/dataset", &n1, &s1);
  Dataset::ReadInfo(dir + "/dataset", &n2, &s2);
  EXPECT_EQ(n2, n1);
  EXPECT_EQ(s2, s1);
  EXPECT_EQ(s2, 40000);
}

}  // namespace
}  // namespace mbrl
