// mbrl sweep: a grid of seeds × --set values, run locally N at a time or as a Slurm job array.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "agents/run_config.h"
#include "commands.h"
#include "mbrl/core/check.h"

namespace mbrl {
namespace fs = std::filesystem;
namespace {

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string x; std::getline(ss, x, sep);) out.push_back(x);
  return out;
}

// "0-4" or "0,2,7" -> seeds
std::vector<int64_t> ParseSeeds(const std::string& s) {
  std::vector<int64_t> seeds;
  for (const auto& part : Split(s, ',')) {
    const auto dash = part.find('-', 1);
    try {
      size_t used = 0;
      const int64_t a = std::stoll(part.substr(0, dash), &used);
      MBRL_CHECK(used == part.substr(0, dash).size(), "");
      const int64_t b = dash == std::string::npos ? a : std::stoll(part.substr(dash + 1));
      MBRL_CHECK(b >= a && b - a < 10000, "");
      for (int64_t v = a; v <= b; ++v) seeds.push_back(v);
    } catch (const std::exception&) {
      throw Error("--seeds: expected e.g. 0-4 or 0,3,5, got '" + s + "'");
    }
  }
  return seeds;
}

std::string Quote(const std::string& s) {  // for POSIX shells
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::string SelfExe() { return fs::read_symlink("/proc/self/exe").string(); }

}  // namespace

int Sweep(const std::vector<std::string>& args) {
  std::string config, seeds_arg = "0", out, partition, time_limit = "24:00:00";
  std::vector<std::pair<std::string, std::vector<std::string>>> sets;  // key -> values
  int parallel = 1, cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  bool slurm = false, dry_run = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&]() -> const std::string& {
      MBRL_CHECK(i + 1 < args.size(), a, " needs a value");
      return args[++i];
    };
    if (a == "--seeds") {
      seeds_arg = value();
    } else if (a == "--set") {
      const std::string& kv = value();
      const auto eq = kv.find('=');
      MBRL_CHECK(eq != std::string::npos && eq > 0 && eq + 1 < kv.size(),
                 "--set: expected key.path=v1,v2, got '", kv, "'");
      sets.push_back({kv.substr(0, eq), Split(kv.substr(eq + 1), ',')});
    } else if (a == "--parallel") {
      parallel = PositiveInt(a, value());
    } else if (a == "--out") {
      out = value();
    } else if (a == "--slurm") {
      slurm = true;
    } else if (a == "--partition") {
      partition = value();
    } else if (a == "--time") {
      time_limit = value();
    } else if (a == "--cpus") {
      cores = PositiveInt(a, value());
    } else if (a == "--dry-run") {
      dry_run = true;
    } else {
      MBRL_CHECK(a.rfind("--", 0) != 0 && config.empty(), "sweep: unexpected argument '", a, "'");
      config = a;
    }
  }
  MBRL_CHECK(!config.empty(), "sweep: missing config file");
  const auto seeds = ParseSeeds(seeds_arg);
  if (out.empty()) {
    char stamp[32];
    const std::time_t now = std::time(nullptr);
    std::strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", std::localtime(&now));
    out = "sweeps/" + std::string(stamp) + "_" + fs::path(config).stem().string();
  }
  // threads per job: the cores split between the jobs that run at once (Slurm: --cpus per task)
  const int per_job = std::max(1, slurm ? cores : cores / parallel);
  // each phase keeps the config's choice of wide pool (torch or OpenBLAS), sized to per_job
  auto job_threads = [&](const std::vector<std::string>& overrides) {
    const RunConfig rc = LoadRunConfig({config}, overrides, nullptr);
    const std::pair<const char*, PhaseThreads> phases[] = {
        {"plan", rc.threads.plan}, {"train", rc.threads.train}, {"update", rc.threads.update}};
    std::vector<std::string> out;
    for (const auto& [name, p] : phases) {
      const bool blas_wide = p.blas > p.torch;
      const std::string key = std::string("threads.") + name;
      out.push_back(key + ".torch=" + std::to_string(blas_wide ? 1 : per_job));
      out.push_back(key + ".blas=" + std::to_string(blas_wide ? per_job : 1));
    }
    return out;
  };
  // grid: every combination of the --set values, times the seeds
  std::vector<std::vector<std::string>> combos = {{}};
  for (const auto& [key, values] : sets) {
    std::vector<std::vector<std::string>> next;
    for (const auto& c : combos)
      for (const auto& v : values) {
        next.push_back(c);
        next.back().push_back(key + "=" + v);
      }
    combos = next;
  }
  std::vector<std::vector<std::string>> jobs;
  for (const auto& c : combos) {
    std::vector<std::string> base = job_threads(c);  // before the --set values, which win
    base.insert(base.end(), c.begin(), c.end());
    for (int64_t s : seeds) {
      std::vector<std::string> job = base;
      job.push_back("seed=" + std::to_string(s));
      job.push_back("runs_dir=" + fs::absolute(out + "/runs").string());
      job.push_back("progress=false");
      LoadRunConfig({config}, job, nullptr);  // bad keys or values fail here, before any job
      jobs.push_back(job);
    }
  }
  fs::create_directories(out + "/logs");
  const std::string exe = SelfExe(), cfg_abs = fs::absolute(config).string();
  std::ofstream list(out + "/jobs.txt");
  std::vector<std::string> lines;
  for (const auto& job : jobs) {
    std::string line = Quote(exe) + " train " + Quote(cfg_abs);
    for (const auto& o : job) line += " " + Quote(o);
    lines.push_back(line);
    list << line << "\n";
  }
  list.close();
  nlohmann::json meta = {{"config", cfg_abs},          {"seeds", seeds},
                         {"jobs", jobs.size()},        {"parallel", parallel},
                         {"threads_per_job", per_job}, {"slurm", slurm}};
  for (const auto& [k, v] : sets) meta["set"][k] = v;
  std::ofstream(out + "/sweep.json") << meta.dump(2) << "\n";
  std::cout << jobs.size() << " jobs in " << out << std::endl;

  if (slurm) {
    const std::string script = out + "/sweep.sbatch";
    std::ofstream s(script);
    s << "#!/bin/bash\n#SBATCH --job-name=mbrl-sweep\n#SBATCH --array=0-" << jobs.size() - 1
      << "\n#SBATCH --cpus-per-task=" << per_job << "\n#SBATCH --time=" << time_limit
      << "\n#SBATCH --output=" << fs::absolute(out).string() << "/logs/%a.log\n"
      << (partition.empty() ? "" : "#SBATCH --partition=" + partition + "\n")
      << "set -euo pipefail\n"
      << "line=$(sed -n \"$((SLURM_ARRAY_TASK_ID + 1))p\" "
      << Quote(fs::absolute(out).string() + "/jobs.txt") << ")\neval \"$line\"\n";
    s.close();
    if (dry_run) {
      std::cout << "wrote " << script << " (not submitted: --dry-run)" << std::endl;
      return 0;
    }
    const int rc = std::system(("sbatch " + Quote(script)).c_str());
    MBRL_CHECK(rc == 0, "sweep: sbatch failed (exit ", rc, "); the job script is ", script);
    return 0;
  }
  if (dry_run) return 0;
  // local: keep `parallel` jobs running; each job's output goes to logs/<i>.log
  std::map<pid_t, size_t> running;
  size_t next = 0, failed = 0;
  while (next < lines.size() || !running.empty()) {
    while (next < lines.size() && static_cast<int>(running.size()) < parallel) {
      const std::string log = out + "/logs/" + std::to_string(next) + ".log";
      const pid_t pid = fork();
      if (pid == 0) {
        execl("/bin/sh", "sh", "-c", (lines[next] + " >" + Quote(log) + " 2>&1").c_str(),
              static_cast<char*>(nullptr));
        _exit(127);
      }
      running[pid] = next++;
    }
    int status = 0;
    const pid_t done = wait(&status);
    if (done < 0) break;
    const size_t job = running[done];
    running.erase(done);
    const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    failed += !ok;
    std::cout << "job " << job
              << (ok ? " done" : " FAILED (see logs/" + std::to_string(job) + ".log)") << std::endl;
  }
  std::cout << jobs.size() - failed << "/" << jobs.size() << " jobs completed; mbrl compare " << out
            << std::endl;
  return failed ? 1 : 0;
}

}  // namespace mbrl
