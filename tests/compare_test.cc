// mbrl compare: statistics with known answers, grouping, and the report on synthetic runs.
#include "mbrl/analysis/compare.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "tests/test_util.h"

namespace mbrl {
namespace {
namespace fs = std::filesystem;

TEST(Compare, MeanAndIqmOfKnownSets) {
  EXPECT_DOUBLE_EQ(Iqm({100, 1, 3, 2, 4}), 3);           // drops 1 and 100
  EXPECT_DOUBLE_EQ(Iqm({8, 7, 6, 5, 4, 3, 2, 1}), 4.5);  // drops 1, 2, 7, 8
  EXPECT_DOUBLE_EQ(Iqm({1, 2, 3}), 2);                   // n < 4: plain mean
  EXPECT_DOUBLE_EQ(Mean({1, 2, 3, 4, 100}), 22);
}

TEST(Compare, BootstrapCiCoversTheTruthAndIsStratified) {
  std::mt19937_64 rng(3);
  std::normal_distribution<double> score(50, 10);
  std::vector<double> x(30);
  for (auto& v : x) v = score(rng);
  const Interval m = StratifiedBootstrapCi({x}, Mean);
  EXPECT_LT(m.lo, 50);
  EXPECT_GT(m.hi, 50);
  EXPECT_LT(m.lo, Mean(x));
  EXPECT_GT(m.hi, Mean(x));
  EXPECT_NEAR(m.hi - m.lo, 2 * 1.96 * 10 / std::sqrt(30.0), 2.5);  // about the normal width
  const Interval i = StratifiedBootstrapCi({x}, Iqm);
  EXPECT_LT(i.lo, 50);
  EXPECT_GT(i.hi, 50);
  const Interval again = StratifiedBootstrapCi({x}, Mean);
  EXPECT_EQ(m.lo, again.lo);  // seeded
  // resampling within strata keeps each task's count: the pooled mean never moves
  const Interval s = StratifiedBootstrapCi({{0, 0, 0}, {10, 10, 10}}, Mean);
  EXPECT_DOUBLE_EQ(s.lo, 5);
  EXPECT_DOUBLE_EQ(s.hi, 5);
}

// A run directory with training returns `r(step)` every 100 steps up to `steps`.
void WriteRun(const std::string& dir, const std::string& agent, int seed, double lr, int steps,
              const std::function<double(int)>& r) {
  fs::create_directories(dir);
  nlohmann::json cfg = {{"agent", agent},
                        {"seed", seed},
                        {"env", {{"name", "cartpole_swingup"}}},
                        {"model", {{"lr", lr}}}};
  std::ofstream(dir + "/config.json") << cfg.dump();
  std::ofstream m(dir + "/metrics.jsonl");
  for (int s = 100, e = 1; s <= steps; s += 100, ++e)
    m << nlohmann::json{{"env_step", s}, {"episode", e}, {"return", r(s)}, {"wall_time", s / 50.0}}
             .dump()
      << "\n";
}

TEST(Compare, ReportOnSyntheticRuns) {
  const std::string root = testing::TempDir() + "/mbrl_compare";
  fs::remove_all(root);
  // pets: final score = 10 * seed (seeds 0..4) -> mean 20, IQM of {0,10,20,30,40} = 20
  // sac: constant 7; sac with another lr: its own group
  for (int s = 0; s < 5; ++s) {
    WriteRun(root + "/pets_s" + std::to_string(s), "pets", s, 1e-3, 2000,
             [s](int) { return 10.0 * s; });
    WriteRun(root + "/sac_s" + std::to_string(s), "sac", s, 1e-3, 1500, [](int) { return 7.0; });
  }
  WriteRun(root + "/sac_lr_s0", "sac", 0, 3e-4, 1500, [](int) { return 1.0; });
  const std::string out = root + "/report";
  auto r = Shell(std::string(MBRL_BINARY) + " compare '" + root + "/*_s*' --out " + out);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("11 runs"), std::string::npos) << r.out;
  for (const char* f : {"report.md", "report.html", "summary.csv", "curves_cartpole_swingup.svg",
                        "final_cartpole_swingup.svg"})
    EXPECT_TRUE(fs::exists(out + "/" + f)) << f;
  std::ifstream csv(out + "/summary.csv");
  std::string header, line;
  std::getline(csv, header);
  std::map<std::string, std::vector<std::string>> rows;
  while (std::getline(csv, line)) {
    std::vector<std::string> cells;
    std::string cell;
    bool quoted = false;
    for (char c : line) {
      if (c == '"')
        quoted = !quoted;
      else if (c == ',' && !quoted)
        cells.push_back(cell), cell.clear();
      else
        cell += c;
    }
    cells.push_back(cell);
    rows[cells[1] + "|" + cells[2]] = cells;
  }
  ASSERT_EQ(rows.size(), 3u);
  const auto& pets = rows.at("pets|");
  EXPECT_EQ(pets[3], "5");                   // seeds
  EXPECT_EQ(pets[4], "2000");                // final step
  EXPECT_DOUBLE_EQ(std::stod(pets[5]), 20);  // mean
  EXPECT_DOUBLE_EQ(std::stod(pets[8]), 20);  // IQM
  EXPECT_LE(std::stod(pets[6]), 20);
  EXPECT_GE(std::stod(pets[7]), 20);
  EXPECT_NEAR(std::stod(pets[12]), 50, 1e-9);  // env steps per second
  EXPECT_DOUBLE_EQ(std::stod(rows.at("sac|model.lr=0.001")[8]), 7);
  EXPECT_DOUBLE_EQ(std::stod(rows.at("sac|model.lr=0.0003")[8]), 1);
  EXPECT_EQ(rows.at("sac|model.lr=0.0003")[3], "1");
  // a budget past a group's runs has no score
  r = Shell(std::string(MBRL_BINARY) + " compare " + root + "/sac_s0 --budgets 1000,1600 --out " +
            root + "/report2");
  ASSERT_EQ(r.code, 0) << r.err;
  std::ifstream md(root + "/report2/report.md");
  const std::string text((std::istreambuf_iterator<char>(md)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("| 7.0 | — |"), std::string::npos) << text;
  // a bad directory is a one-line error
  r = Shell(std::string(MBRL_BINARY) + " compare " + root + "/nothing_here");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("nothing_here"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace mbrl

namespace mbrl {
namespace {

TEST(Sweep, LocalGridRunsEveryJobAndCompareReadsIt) {
  const std::string root = testing::TempDir() + "/mbrl_sweep";
  fs::remove_all(root);
  const std::string bin = MBRL_BINARY, cfg = MBRL_SOURCE_DIR "/configs/random_cartpole.json";
  auto r = Shell(bin + " sweep " + cfg +
                 " --seeds 0-1 --set env.name=cartpole_swingup,inverted_pendulum"
                 " --set total_env_steps=400 --parallel 2 --out " +
                 root + "/s");
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("4/4 jobs completed"), std::string::npos) << r.out;
  int runs = 0;
  for (const auto& e : fs::directory_iterator(root + "/s/runs")) {
    ++runs;
    EXPECT_TRUE(fs::exists(e.path() / "metrics.jsonl")) << e.path();
  }
  EXPECT_EQ(runs, 4);
  r = Shell(bin + " compare " + root + "/s --out " + root + "/report");
  ASSERT_EQ(r.code, 0) << r.err;
  std::ifstream csv(root + "/report/summary.csv");
  std::string line;
  int groups = -1;  // header
  while (std::getline(csv, line)) ++groups;
  EXPECT_EQ(groups, 2);  // one per task, 2 seeds each
  // Slurm: a job array script, checked but not submitted
  r = Shell(bin + " sweep " + cfg + " --seeds 0-2 --slurm --dry-run --partition debug --out " +
            root + "/slurm");
  ASSERT_EQ(r.code, 0) << r.err;
  std::ifstream sb(root + "/slurm/sweep.sbatch");
  const std::string script((std::istreambuf_iterator<char>(sb)), std::istreambuf_iterator<char>());
  EXPECT_NE(script.find("#SBATCH --array=0-2"), std::string::npos) << script;
  EXPECT_NE(script.find("#SBATCH --partition=debug"), std::string::npos) << script;
  // each phase's wide pool (Dreamer: OpenBLAS for training and updates) gets the job's cores
  r = Shell(bin + " sweep " + MBRL_SOURCE_DIR "/configs/dreamer_dmc_cartpole.json" +
            " --seeds 0 --slurm --dry-run --cpus 4 --out " + root + "/dreamer");
  ASSERT_EQ(r.code, 0) << r.err;
  std::ifstream jl(root + "/dreamer/jobs.txt");
  const std::string jobs((std::istreambuf_iterator<char>(jl)), std::istreambuf_iterator<char>());
  for (const char* want :
       {"threads.plan.torch=4", "threads.plan.blas=1", "threads.train.torch=1",
        "threads.train.blas=4", "threads.update.torch=1", "threads.update.blas=4"})
    EXPECT_NE(jobs.find(want), std::string::npos) << want << " not in " << jobs;
  // bad keys fail before any job starts
  r = Shell(bin + " sweep " + cfg + " --set no.such_key=1 --out " + root + "/bad");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("no"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(root + "/bad/runs"));
}

}  // namespace
}  // namespace mbrl
