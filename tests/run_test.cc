// End-to-end tests of the run loop and the mbrl CLI with the random agent.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <torch/torch.h>

#include <array>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "agents/run_config.h"
#include "agents/trainer.h"
#include "mbrl/data/dataset.h"
#include "mbrl/logging/metrics_writer.h"
#include "tests/test_util.h"

namespace mbrl {
namespace {
namespace fs = std::filesystem;

std::string Runs(const std::string& name) {
  const std::string d = testing::TempDir() + "/mbrl_runs_" + name;
  fs::remove_all(d);
  return d;
}

std::string Train(const std::vector<std::string>& overrides, const std::string& resume = "") {
  config::Json resolved;
  std::vector<std::string> files;
  if (!resume.empty()) files.push_back(resume + "/config.json");
  auto cfg = LoadRunConfig(files, overrides, &resolved);
  return mbrl::Train(cfg, resolved, resume);
}

TEST(Run, DirectoryLayoutMetricsDatasetCheckpoint) {
  const std::string runs = Runs("layout");
  const std::string dir = Train({"runs_dir=" + runs, "seed=4", "total_env_steps=1000",
                                 "env.name=cartpole_swingup", "eval_every=2", "progress=false"});
  EXPECT_NE(dir.find("_random_cartpole_swingup_s4"), std::string::npos);
  const std::string data =
      dir + "/dataset/mbrl/cartpole_swingup/" + fs::path(dir).filename().string() + "-v0/data/";
  for (const std::string& f : {dir + "/config.json", dir + "/metrics.csv", dir + "/metrics.jsonl",
                               dir + "/checkpoints/latest.pt", dir + "/final_eval.json",
                               data + "metadata.json", data + "main_data.hdf5"})
    EXPECT_TRUE(fs::exists(f)) << f;
  EXPECT_EQ(Column(dir, "episode"), (std::vector<double>{1, 2, 3, 4, 5}));
  EXPECT_EQ(Column(dir, "env_step"), (std::vector<double>{200, 400, 600, 800, 1000}));
  const auto rows = ReadMetricsJsonl(dir + "/metrics.jsonl");
  EXPECT_TRUE(rows[1].Find("eval_return") && !rows[0].Find("eval_return"));
  for (const char* k : {"return", "length", "wall_time", "steps_per_s"})
    EXPECT_TRUE(rows[4].Find(k));
  int64_t n = 0, steps = 0;
  Dataset::ReadInfo(dir + "/dataset", &n, &steps);
  EXPECT_EQ(n, 5);
  EXPECT_EQ(steps, 1000);
  // the saved config reproduces the run's settings
  auto saved = LoadRunConfig({dir + "/config.json"}, {}, nullptr);
  EXPECT_EQ(saved.seed, 4);
}

TEST(Run, BudgetCutsTheLastEpisodeAndActionRepeatCountsEnvSteps) {
  const std::string dir = Train({"runs_dir=" + Runs("budget"), "total_env_steps=500",
                                 "env.action_repeat=2", "progress=false"});
  EXPECT_EQ(Column(dir, "env_step"), (std::vector<double>{200, 400, 500}));
  EXPECT_EQ(Column(dir, "length"), (std::vector<double>{100, 100, 50}));  // agent steps
  auto info = Dataset::ReadInfo(dir + "/dataset");
  auto last = Dataset::ReadEpisode(dir + "/dataset", info, 2);
  EXPECT_TRUE(last.truncations[-1].item<bool>());
}

TEST(Run, ResumeContinuesWithoutLossOrDuplicates) {
  // the first part ends on an episode boundary (cartpole episodes are 200 steps), as after a kill
  const std::vector<std::string> base = {"runs_dir=" + Runs("resume"), "env.name=cartpole_swingup",
                                         "seed=2", "progress=false"};
  auto with = [&](std::vector<std::string> extra) {
    extra.insert(extra.begin(), base.begin(), base.end());
    return extra;
  };
  const std::string whole = Train(with({"total_env_steps=3000"}));
  const std::string part = Train(with({"total_env_steps=1200"}));
  Train({"total_env_steps=3000"}, part);
  EXPECT_EQ(Column(part, "episode"), Column(whole, "episode"));
  EXPECT_EQ(Column(part, "env_step"), Column(whole, "env_step"));
  EXPECT_EQ(Column(part, "return"), Column(whole, "return"));
  int64_t n1 = 0, s1 = 0, n2 = 0, s2 = 0;
  Dataset::ReadInfo(whole + "/dataset", &n1, &s1);
  Dataset::ReadInfo(part + "/dataset", &n2, &s2);
  EXPECT_EQ(n1, n2);
  EXPECT_EQ(s1, s2);
  EXPECT_EQ(s2, 3000);
}

TEST(Run, ResumeRepairsMetricsAfterAKillBetweenWrites) {
  const std::string dir =
      Train({"runs_dir=" + Runs("repair"), "total_env_steps=1000", "progress=false"});
  const auto full = Column(dir, "return");
  // killed after the dataset append but before the metrics row: drop the last row
  std::ifstream in(dir + "/metrics.jsonl");
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  std::ofstream out(dir + "/metrics.jsonl", std::ios::trunc);
  for (size_t i = 0; i + 1 < lines.size(); ++i) out << lines[i] << "\n";
  out.close();
  // ... and a csv row from the future that the dataset never got
  std::ofstream(dir + "/metrics.csv", std::ios::app) << "1200,6,1,200,1,1,\n";
  Train({}, dir);
  EXPECT_EQ(Column(dir, "episode"), (std::vector<double>{1, 2, 3, 4, 5}));
  const auto repaired = Column(dir, "return");
  ASSERT_EQ(repaired.size(), full.size());
  EXPECT_NEAR(repaired.back(), full.back(), 1e-9);
}

// Files in `dir` whose name starts with `prefix`.
int CountFiles(const std::string& dir, const std::string& prefix) {
  int n = 0;
  for (const auto& e : fs::directory_iterator(dir))
    n += e.path().filename().string().rfind(prefix, 0) == 0;
  return n;
}

// --resume of a run whose dataset is missing, truncated or another run's: one line naming the
// file, non-zero exit, nothing changed (metrics, checkpoint, TensorBoard files); --from-checkpoint
// continues from the checkpoint and sets the unusable data aside
TEST(Run, ResumeRefusesADatasetThatDoesNotMatchAndChangesNothing) {
  const std::string bin = MBRL_BINARY;
  const std::string runs = Runs("resume_refuses");
  const std::string dir = Train(
      {"runs_dir=" + runs, "total_env_steps=1000", "progress=false", "final_eval_episodes=1"});
  const std::string other = Train({"runs_dir=" + runs + "_other", "total_env_steps=600",
                                   "progress=false", "final_eval_episodes=1"});
  const std::string data = dir + "/dataset", moved = dir + "/moved_away";
  const std::string file = Dataset::MainFile(data, "");
  const std::string metrics = FileText(dir + "/metrics.jsonl");
  const std::string checkpoint = FileText(dir + "/checkpoints/latest.pt");
  const int events = CountFiles(dir, "events.out.tfevents.");
  const auto resume = [&](const std::string& want) {
    auto r = Shell(bin + " train --resume " + dir + " total_env_steps=2000 progress=false");
    EXPECT_NE(r.code, 0) << want;
    EXPECT_NE(r.err.find(want), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("--from-checkpoint"), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_EQ(FileText(dir + "/metrics.jsonl"), metrics);
    EXPECT_EQ(FileText(dir + "/checkpoints/latest.pt"), checkpoint);
    EXPECT_EQ(CountFiles(dir, "events.out.tfevents."), events);
  };
  fs::rename(data, moved);  // missing
  resume("main_data.hdf5: missing, but the run has a checkpoint at episode 5 and 5 metric rows");
  fs::copy(moved, data, fs::copy_options::recursive);  // truncated
  fs::resize_file(file, fs::file_size(file) / 2);
  resume("main_data.hdf5");
  fs::remove_all(data);  // another run's (3 episodes)
  fs::copy(other + "/dataset", data, fs::copy_options::recursive);
  resume("holds 3 episodes but the checkpoint is at episode 5");

  // --from-checkpoint: the foreign dataset is kept aside, the run goes on from episode 5
  auto r = Shell(bin + " train --resume " + dir +
                 " --from-checkpoint total_env_steps=2000 progress=false final_eval_episodes=1");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Column(dir, "episode"), (std::vector<double>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}));
  EXPECT_EQ(Column(dir, "env_step").back(), 2000);
  EXPECT_EQ(CountFiles(dir, "dataset.unused-"), 1);
  EXPECT_EQ(CountFiles(dir, "metrics.jsonl.unused-"), 1);
  int64_t n = 0, steps = 0;
  const DatasetInfo info = Dataset::ReadInfo(data, &n, &steps);
  EXPECT_EQ(info.first_episode, 5);
  EXPECT_EQ(info.first_step, 1000);
  EXPECT_EQ(n, 5);
  EXPECT_EQ(steps, 1000);
  // and a plain resume of it later counts from there
  r = Shell(bin + " train --resume " + dir + " total_env_steps=2400 progress=false");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Column(dir, "episode").back(), 12);
  EXPECT_EQ(Column(dir, "env_step").back(), 2400);
}

// Every run evaluates its final policy when it ends (final_eval.json, the seeds `mbrl eval` plays),
// and evaluations can be scheduled by env steps
TEST(Run, FinalEvaluationAndEvaluationsEveryNSteps) {
  const std::string bin = MBRL_BINARY;
  const std::string dir =
      Train({"runs_dir=" + Runs("final_eval"), "total_env_steps=2000", "progress=false",
             "eval_every=0", "eval_every_steps=500", "eval_episodes=1", "final_eval_episodes=4"});
  std::vector<double> eval_steps;
  for (const auto& row : ReadMetricsJsonl(dir + "/metrics.jsonl"))
    if (row.Find("eval_return")) eval_steps.push_back(*row.Find("env_step"));
  // 200-step episodes: the ones ending past 500, 1000, 1500 and 2000 steps
  EXPECT_EQ(eval_steps, (std::vector<double>{600, 1000, 1600, 2000}));
  const auto j = config::Json::parse(FileText(dir + "/final_eval.json"));
  EXPECT_EQ(j["env_step"], 2000);
  EXPECT_EQ(j["episode"], 10);
  EXPECT_EQ(j["episodes"], 4);
  EXPECT_EQ(j["reason"], "end");
  auto ev = Shell(bin + " eval " + dir + " --episodes 4");
  ASSERT_EQ(ev.code, 0) << ev.err;
  EXPECT_EQ(config::Json::parse(ev.out)["returns"], j["returns"]);
}

// the dataset a run writes opens in h5py (Debian's python3-h5py) with the Minari layout
TEST(Run, DatasetReadsBackWithH5py) {
  if (Shell("/usr/bin/python3 -c 'import h5py'").code != 0) GTEST_SKIP() << "no h5py";
  const std::string dir =
      Train({"runs_dir=" + Runs("h5py"), "env.name=inverted_pendulum", "total_env_steps=1500",
             "progress=false"});  // one action dimension: the bounds are still [A] arrays
  auto r = Shell("/usr/bin/python3 " MBRL_SOURCE_DIR "/tests/scripts/check_dataset.py " + dir +
                 "/dataset");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("ok"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(" 1500"), std::string::npos) << r.out;
}

// PyPI's minari opens a run's dataset as written: minari.load_dataset by id, list, iterate,
// sample, and recover_environment() giving the Gymnasium twin (none for dmc_* tasks)
TEST(Run, MinariOpensTheDatasetAsWritten) {
  const std::string py = VenvPython("venv-minari", "minari, gymnasium, mujoco",
                                    "'minari[hdf5]>=0.5,<0.6' 'gymnasium[mujoco]>=1.0'", false);
  if (py.empty()) GTEST_SKIP() << "minari not installable (offline?)";
  for (const auto& [task, twin] :
       {std::pair<std::string, std::string>{"inverted_pendulum", "InvertedPendulum-v5"},
        {"dmc_cartpole_swingup", ""}}) {
    const std::string dir =
        Train({"runs_dir=" + Runs("minari_" + task), "env.name=" + task, "total_env_steps=1200",
               "progress=false", "final_eval_episodes=0"});
    const DatasetInfo info = Dataset::ReadInfo(dir + "/dataset");
    EXPECT_EQ(info.dataset_id, "mbrl/" + task + "/" + fs::path(dir).filename().string() + "-v0");
    config::Json want = {
        {"id", info.dataset_id}, {"twin", twin}, {"episodes", config::Json::array()}};
    int64_t n = 0;
    Dataset::ReadInfo(dir + "/dataset", &n);
    for (int64_t i = 0; i < n; ++i) {
      const Episode ep = Dataset::ReadEpisode(dir + "/dataset", info, i);
      const auto values = [](const torch::Tensor& t) {
        auto c = t.contiguous();
        return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
      };
      want["episodes"].push_back({{"length", ep.steps()},
                                  {"return", ep.rewards.sum().item<double>()},
                                  {"obs0", values(ep.observations[0])},
                                  {"last_action", values(ep.actions[-1])},
                                  {"terminated", ep.terminations[-1].item<bool>()}});
    }
    std::ofstream(dir + "/expected.json") << want.dump();
    auto r = Shell(py + " " MBRL_SOURCE_DIR "/tests/scripts/check_minari.py " + dir + "/dataset " +
                   dir + "/expected.json");
    EXPECT_EQ(r.code, 0) << task << ": " << r.err;
    EXPECT_NE(r.out.find("ok " + std::to_string(n) + " 1200"), std::string::npos) << r.out;
  }
}

TEST(Cli, TrainPrintConfigEvalEnvs) {
  const std::string bin = MBRL_BINARY;
  const std::string cfg = std::string(MBRL_SOURCE_DIR) + "/configs/random_cartpole.json";
  auto printed = Shell(bin + " train " + cfg + " seed=9 --print-config");
  ASSERT_EQ(printed.code, 0) << printed.err;
  EXPECT_EQ(config::Json::parse(printed.out)["seed"], 9);

  const std::string runs = Runs("cli");
  auto run = Shell(bin + " train " + cfg + " total_env_steps=400 runs_dir=" + runs);
  ASSERT_EQ(run.code, 0) << run.err;
  EXPECT_NE(run.err.find("episode 2"), std::string::npos) << run.err;  // progress lines
  const std::string dir = run.out.substr(run.out.find("run: ") + 5, run.out.find('\n') - 5);
  EXPECT_EQ(run.out, "run: " + dir + "\ntensorboard --logdir " + runs + "\ndone: " + dir + "\n");
  auto ev = Shell(bin + " eval " + dir + " --episodes 2");
  ASSERT_EQ(ev.code, 0) << ev.err;
  EXPECT_EQ(config::Json::parse(ev.out)["returns"].size(), 2u);
  // a video into a missing folder: one mbrl line before anything is rendered
  for (const char* ext : {".mp4", ".gif"}) {
    auto video = Shell(bin + " eval " + dir + " --video /nonexistent_folder/v" + ext);
    EXPECT_NE(video.code, 0);
    EXPECT_EQ(video.err, "mbrl: error: /nonexistent_folder/v" + std::string(ext) +
                             ": folder /nonexistent_folder does not exist\n");
  }
  // the run directory is printed when the run starts: a run that fails at its first action has it
  auto failed = Shell("MBRL_INJECT_NAN_AT_STEP=0 " + bin + " train " + cfg + " runs_dir=" + runs);
  EXPECT_NE(failed.code, 0);
  EXPECT_EQ(failed.out.rfind("run: " + runs + "/", 0), 0u) << failed.out;

  auto envs = Shell(bin + " envs");
  EXPECT_EQ(envs.code, 0);
  EXPECT_NE(envs.out.find("half_cheetah"), std::string::npos);
}

TEST(Cli, BadInputGivesOneLineAndNonZeroExit) {
  const std::string bin = MBRL_BINARY;
  const std::string cfg = std::string(MBRL_SOURCE_DIR) + "/configs/random_cartpole.json";
  const std::pair<std::string, std::string> cases[] = {
      {" train " + cfg + " totl_env_steps=5", "did you mean 'total_env_steps'"},
      {" train " + cfg + " seed=x", "seed: expected integer"},
      {" train /nonexistent.json", "/nonexistent.json: cannot open"},
      {" train " + cfg + " env.xml=/nonexistent.xml", "MJCF file not found"},
      {" train --resume /nonexistent_run", "not a run directory"},
      {" eval /nonexistent_run", "not a run directory"},
      {" eval . --episodes zero", "--episodes: expected a positive integer"},
      {" frobnicate", "unknown command"},
      {" train " + cfg + " --bogus", "unknown option"},
      {" sweep " + cfg + " --seeds 0-x", "--seeds: expected e.g. 0-4"},
      {" sweep " + cfg + " --parallel abc", "--parallel: expected a positive integer, got 'abc'"},
      {" sweep " + cfg + " --cpus 0", "--cpus: expected a positive integer, got '0'"},
      {" train " + cfg + " --from-checkpoint", "--from-checkpoint needs --resume"},
      {" envs step no_such_task", "unknown task 'no_such_task'"},
  };
  for (const auto& [args, want] : cases) {
    auto r = Shell(bin + args);
    EXPECT_NE(r.code, 0) << args;
    EXPECT_NE(r.err.find(want), std::string::npos) << args << " -> " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << args << " -> " << r.err;
  }
}

// MBRL_INJECT_NAN_AT_STEP=250 makes the action after 250 env steps NaN (episodes of 100 steps): the
// run stops with one line naming the step, the two completed episodes stay in the dataset and
// metrics, the checkpoint of episode 2 loads and plays, and the run resumes to the end.
TEST(Cli, NonFiniteActionStopsTheRunWithDataAndCheckpointIntact) {
  const std::string bin = MBRL_BINARY;
  const std::string runs = Runs("nan");
  const std::string train =
      bin + " train " + MBRL_SOURCE_DIR +
      "/configs/sac_inverted_pendulum.json env.name=cartpole_swingup "
      "env.max_steps=100 total_env_steps=500 sac.initial_steps=100 sac.sac.hidden=32 "
      "sac.sac.batch_size=32 eval_every=0 progress=false runs_dir=" +
      runs;
  auto r = Shell("MBRL_INJECT_NAN_AT_STEP=250 " + train);
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("action is not finite (1 NaN, 0 Inf of 1 values) at env step 250 "
                       "(episode 3); run stopped: 2 episodes in the dataset, checkpoint of "
                       "episode 2"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  ASSERT_TRUE(fs::exists(runs));
  const std::string dir = fs::directory_iterator(runs)->path();
  int64_t n = 0, steps = 0;
  Dataset::ReadInfo(dir + "/dataset", &n, &steps);
  EXPECT_EQ(n, 2);
  EXPECT_EQ(steps, 200);
  EXPECT_EQ(Column(dir, "env_step"), (std::vector<double>{100, 200}));
  torch::serialize::InputArchive ar;
  ar.load_from(dir + "/checkpoints/latest.pt");
  torch::Tensor episode;
  ar.read("episode", episode);
  EXPECT_EQ(episode.item<int64_t>(), 2);
  auto ev = Shell(bin + " eval " + dir + " --episodes 1");
  ASSERT_EQ(ev.code, 0) << ev.err;
  auto resumed = Shell(bin + " train --resume " + dir + " progress=false");
  ASSERT_EQ(resumed.code, 0) << resumed.err;
  EXPECT_EQ(Column(dir, "env_step"), (std::vector<double>{100, 200, 300, 400, 500}));
  Dataset::ReadInfo(dir + "/dataset", &n, &steps);
  EXPECT_EQ(n, 5);
}

TEST(Cli, SigtermStopsAtACheckpointAndTheRunResumes) {
  const std::string bin = MBRL_BINARY;
  const std::string runs = Runs("sigterm");
  // a run too long to finish, terminated once its first checkpoint exists
  const pid_t pid =
      Spawn({"train", MBRL_SOURCE_DIR "/configs/random_cartpole.json", "env.name=half_cheetah",
             "total_env_steps=1000000000", "progress=false", "runs_dir=" + runs});
  std::string dir;
  int code = -1;
  while (dir.empty()) {
    ASSERT_FALSE(WaitFor(pid, 20, &code)) << "the run exited before its first checkpoint";
    if (fs::exists(runs))
      for (const auto& e : fs::directory_iterator(runs))
        if (fs::exists(e.path() / "checkpoints/latest.pt")) dir = e.path();
  }
  kill(pid, SIGTERM);
  ASSERT_TRUE(WaitFor(pid, -1, &code));
  EXPECT_EQ(code, 130);  // interrupted
  int64_t n = 0, steps = 0;
  Dataset::ReadInfo(dir + "/dataset", &n, &steps);
  EXPECT_GE(n, 1);
  EXPECT_EQ(Column(dir, "episode").size(), static_cast<size_t>(n));
  // the final evaluation ran on the checkpoint the run stopped at
  const auto j = config::Json::parse(FileText(dir + "/final_eval.json"));
  EXPECT_EQ(j["reason"], "interrupted");
  EXPECT_EQ(j["episodes"], 10);
  torch::serialize::InputArchive ar;
  ar.load_from(dir + "/checkpoints/latest.pt");
  torch::Tensor ck_step;
  ar.read("env_step", ck_step);
  EXPECT_EQ(j["env_step"], ck_step.item<int64_t>());
  auto r = Shell(bin + " train --resume " + dir +
                 " total_env_steps=" + std::to_string(steps + 2000) + " progress=false");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Column(dir, "env_step").back(), steps + 2000);
}

}  // namespace
}  // namespace mbrl
