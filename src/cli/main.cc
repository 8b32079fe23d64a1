// mbrl: the single command-line entry point.
#include <c10/util/Exception.h>
#include <glob.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "agents/run_config.h"
#include "agents/trainer.h"
#include "commands.h"
#include "envs/env.h"
#include "mbrl/analysis/compare.h"
#include "mbrl/core/check.h"

namespace mbrl {
namespace {
namespace fs = std::filesystem;

constexpr const char* kUsage = R"(usage: mbrl <command> [args]

commands:
  train <config.json> [key.path=value ...] [--print-config]   train a new run
  train --resume <run_dir> [key.path=value ...]                continue a stopped run
        [--from-checkpoint]                    ...from its checkpoint alone (dataset unusable)
  eval <run_dir> [--episodes N] [key=value ...]                play the saved agent
       [--video out.gif|out.mp4 [--width W] [--height H]]     ...and render it (mp4: ffmpeg)
  export <run_dir> --format torchscript|onnx|native [--out F]  write the policy for deployment
  compare <run dirs, sweep dirs or globs> [--out DIR] [--budgets S1,S2,...]
                                                               report across seeds and agents
  sweep <config> --seeds 0-4 [--set k=v1,v2 ...] [--parallel N] [--out DIR]
        [--slurm [--partition P] [--time T] [--cpus C]] [--dry-run]
                                                               a grid of runs, local or Slurm
  envs                                                         list tasks
  envs step <task>        JSON lines of {qpos, qvel, action[, act, qacc_warmstart, time]} on stdin
                          -> {obs, next_obs, reward, terminated} (scripts/fidelity_check.py)
  bench env|planner|train|sac|rssm|tdmpc2|export [--threads N] [--blas-threads N]
                                                               speed (JSON lines)
)";

}  // namespace

int PositiveInt(const std::string& flag, const std::string& v) {
  size_t used = 0;
  int n = 0;
  try {
    n = std::stoi(v, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  MBRL_CHECK(used == v.size() && used > 0 && n >= 1, flag, ": expected a positive integer, got '",
             v, "'");
  return n;
}

namespace {

int TrainCommand(const std::vector<std::string>& args) {
  std::vector<std::string> files, overrides;
  std::string resume;
  bool print = false;
  TrainOptions options;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--print-config") {
      print = true;
    } else if (a == "--resume") {
      MBRL_CHECK(i + 1 < args.size(), "--resume needs a run directory");
      resume = args[++i];
    } else if (a == "--from-checkpoint") {
      options.from_checkpoint = true;
    } else if (a.rfind("--", 0) == 0) {
      throw Error("train: unknown option '" + a + "'");
    } else if (a.find('=') != std::string::npos) {
      overrides.push_back(a);
    } else {
      files.push_back(a);
    }
  }
  if (!resume.empty()) {
    MBRL_CHECK(files.empty(), "train: give either config files or --resume <run_dir>, not both");
    files.push_back(resume + "/config.json");
    MBRL_CHECK(std::ifstream(files.back()).good(), resume,
               ": not a run directory (no config.json)");
  }
  MBRL_CHECK(!options.from_checkpoint || !resume.empty(), "--from-checkpoint needs --resume <run>");
  MBRL_CHECK(!files.empty(), "train: missing config file\n", kUsage);
  config::Json resolved;
  const RunConfig cfg = LoadRunConfig(files, overrides, &resolved);
  if (print) {
    std::cout << resolved.dump(2) << std::endl;
    return 0;
  }
  options.on_start = [&](const std::string& dir) {
    std::cout << "run: " << dir << "\ntensorboard --logdir " << cfg.runs_dir << std::endl;
  };
  const std::string dir = mbrl::Train(cfg, resolved, resume, options);
  std::cout << (Interrupted() ? "interrupted, resume with: mbrl train --resume " : "done: ") << dir
            << std::endl;
  return Interrupted() ? 130 : 0;
}

int EvalCommand(const std::vector<std::string>& args) {
  std::string dir;
  int episodes = 5;
  VideoOptions video;
  std::vector<std::string> overrides;  // key=value on the saved config
  // the positive integer after flag args[i]
  auto positive = [&args](size_t* i) {
    const std::string& flag = args[*i];
    MBRL_CHECK(*i + 1 < args.size(), flag, " needs a number");
    return PositiveInt(flag, args[++*i]);
  };
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--episodes") {
      episodes = positive(&i);
    } else if (args[i] == "--width") {
      video.width = positive(&i);
    } else if (args[i] == "--height") {
      video.height = positive(&i);
    } else if (args[i] == "--video") {
      MBRL_CHECK(i + 1 < args.size(), "--video needs an output file (.gif or .mp4)");
      video.path = args[++i];
    } else if (dir.empty() && args[i].rfind("--", 0) != 0) {
      dir = args[i];
    } else if (args[i].rfind("--", 0) != 0 && args[i].find('=') != std::string::npos) {
      overrides.push_back(args[i]);
    } else {
      throw Error("eval: unexpected argument '" + args[i] + "'");
    }
  }
  MBRL_CHECK(!dir.empty(), "eval: missing run directory");
  const auto returns = Evaluate(dir, episodes, video, overrides);
  double mean = 0;
  for (double r : returns) mean += r / returns.size();
  nlohmann::json j = {{"run", dir}, {"episodes", episodes}, {"returns", returns}, {"mean", mean}};
  if (!overrides.empty()) j["overrides"] = overrides;
  if (!video.path.empty()) j["video"] = video.path;
  std::cout << j.dump() << std::endl;
  return 0;
}

int ExportCommand(const std::vector<std::string>& args) {
  std::string dir, format, out;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--format" || args[i] == "--out") {
      MBRL_CHECK(i + 1 < args.size(), args[i], " needs a value");
      (args[i] == "--format" ? format : out) = args[i + 1];
      ++i;
    } else if (dir.empty() && args[i].rfind("--", 0) != 0) {
      dir = args[i];
    } else {
      throw Error("export: unexpected argument '" + args[i] + "'");
    }
  }
  MBRL_CHECK(!dir.empty(), "export: missing run directory");
  MBRL_CHECK(!format.empty(), "export: missing --format torchscript|onnx|native");
  std::cout << ExportRun(dir, ParseExportFormat(format), out) << std::endl;
  return 0;
}

int CompareCommand(const std::vector<std::string>& args) {
  std::string out = "compare_report";
  std::vector<int64_t> budgets;
  std::vector<RunData> runs;
  auto add = [&](const fs::path& dir) {
    if (fs::exists(dir / "config.json") && fs::exists(dir / "metrics.jsonl")) {
      runs.push_back(LoadRun(dir.string()));
      return true;
    }
    return false;
  };
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--out" || args[i] == "--budgets") {
      MBRL_CHECK(i + 1 < args.size(), args[i], " needs a value");
      if (args[i] == "--out") {
        out = args[++i];
        continue;
      }
      std::stringstream ss(args[++i]);
      for (std::string b; std::getline(ss, b, ',');) {
        size_t used = 0;
        try {
          budgets.push_back(std::stoll(b, &used));
        } catch (const std::exception&) {
          used = 0;
        }
        MBRL_CHECK(used == b.size() && used > 0,
                   "--budgets: expected steps like 10000,50000, got '", args[i], "'");
      }
      continue;
    }
    MBRL_CHECK(args[i].rfind("--", 0) != 0, "compare: unknown option '", args[i], "'");
    glob_t g{};
    MBRL_CHECK(glob(args[i].c_str(), GLOB_NOCHECK, nullptr, &g) == 0, "compare: bad pattern '",
               args[i], "'");
    for (size_t k = 0; k < g.gl_pathc; ++k) {
      const fs::path p = g.gl_pathv[k];
      MBRL_CHECK(fs::is_directory(p), p.string(), ": no such run directory");
      if (add(p)) continue;
      const size_t before = runs.size();  // a sweep or runs directory: its run directories
      for (auto it = fs::recursive_directory_iterator(p); it != fs::recursive_directory_iterator();
           ++it)
        if (it->is_directory() && add(it->path())) it.disable_recursion_pending();
      MBRL_CHECK(runs.size() > before, p.string(), ": holds no run directories");
    }
    globfree(&g);
  }
  MBRL_CHECK(!runs.empty(), "compare: give run directories (or sweep directories, or globs)");
  const size_t n = runs.size();
  WriteCompareReport(GroupRuns(std::move(runs)), out, budgets);
  std::cout << n << " runs -> " << out << "/report.md" << std::endl;
  return 0;
}

int Envs(const std::vector<std::string>& args) {
  if (!args.empty()) {
    MBRL_CHECK(args[0] == "step" && args.size() == 2,
               "envs: expected 'envs' or 'envs step <task>'");
    return EnvStep(args[1]);
  }
  std::printf("%-26s %5s %5s %8s %8s  %s\n", "task", "obs", "act", "dt", "steps", "action bounds");
  for (const auto& name : EnvNames()) {
    auto env = MakeEnv(name);
    const EnvSpec& s = env->spec();
    std::printf("%-26s %5d %5d %8.4f %8d  [%g, %g]\n", name.c_str(), s.obs_dim, s.act_dim, s.dt,
                s.max_steps, s.act_low[0], s.act_high[0]);
  }
  return 0;
}

std::string FirstLine(const std::string& s) { return s.substr(0, s.find('\n')); }

}  // namespace
}  // namespace mbrl

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
    std::fputs(mbrl::kUsage, args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  const std::string cmd = args[0];
  args.erase(args.begin());
  try {
    if (cmd == "train") return mbrl::TrainCommand(args);
    if (cmd == "eval") return mbrl::EvalCommand(args);
    if (cmd == "export") return mbrl::ExportCommand(args);
    if (cmd == "sweep") return mbrl::Sweep(args);
    if (cmd == "compare") return mbrl::CompareCommand(args);
    if (cmd == "envs") return mbrl::Envs(args);
    if (cmd == "bench") return mbrl::Bench(args);
    std::fprintf(stderr, "mbrl: error: unknown command '%s' (see mbrl --help)\n", cmd.c_str());
    return 2;
  } catch (const mbrl::Error& e) {
    std::fprintf(stderr, "mbrl: error: %s\n", mbrl::FirstLine(e.what()).c_str());
    return 2;
  } catch (const c10::Error& e) {
    std::fprintf(stderr, "mbrl: error: %s\n", mbrl::FirstLine(e.what_without_backtrace()).c_str());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mbrl: error: %s\n", mbrl::FirstLine(e.what()).c_str());
    return 1;
  }
}
