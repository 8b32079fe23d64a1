#pragma once
/// `mbrl compare`: statistics over seeds (mean, IQM, stratified-bootstrap confidence intervals as
/// in rliable, Agarwal et al. 2021) and a report of runs grouped by agent, task and config.
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <vector>

namespace mbrl {

double Mean(const std::vector<double>& x);
/// Interquartile mean: the mean after dropping floor(n/4) values at each end (scipy trim_mean
/// 0.25).
double Iqm(std::vector<double> x);

struct Interval {
  double lo, hi;
};
/// Percentile bootstrap CI of `aggregate` over all scores; resampling is done with replacement
/// within each stratum (task), `reps` times, seeded.
Interval StratifiedBootstrapCi(const std::vector<std::vector<double>>& strata,
                               const std::function<double(const std::vector<double>&)>& aggregate,
                               double confidence = 0.95, int reps = 2000, uint64_t seed = 0);

/// One run directory: its config (flattened to dotted keys) and metric rows.
struct RunData {
  std::string dir, agent, task;
  std::map<std::string, std::string> config;  // dotted key -> JSON text
  std::vector<int64_t> steps;                 // env_step per row
  std::vector<double> score;                  // eval_return rows if any, else training returns
  bool eval = false;
  int64_t last_step = 0;  // the run's last env_step (any row or the final evaluation)
  double wall_time = 0;
  // <dir>/final_eval.json, written by the trainer when a run ends (normally or on SIGTERM)
  bool has_final = false;
  double final_score = std::numeric_limits<double>::quiet_NaN();  // its "mean"
  int64_t final_step = 0;                                         // its "env_step"
  std::string final_reason;                                       // "end" | "interrupted"
};
/// Reads config.json, metrics.jsonl and final_eval.json (if present); a malformed file throws
/// mbrl::Error naming the file (and, for final_eval.json, the key).
RunData LoadRun(const std::string& dir);

struct Group {
  std::string agent, task, label;  // label: config keys that set this group apart
  std::vector<RunData> runs;
};
/// Groups by (agent, task, config values that differ between runs; seed and run-local keys
/// ignored).
std::vector<Group> GroupRuns(std::vector<RunData> runs);

/// Mean of the last `k` scores at or before `step` (k = 1 for evaluation scores); NaN if none or
/// if the run stopped before `step`.
double ScoreAt(const RunData& run, int64_t step);

/// A run's final score and where it comes from.
struct FinalScore {
  double score;
  int64_t step;
  std::string source;  // "final eval", "last eval" or "training returns"
};
/// The run's final evaluation if it has one, else ScoreAt(run, step).
FinalScore FinalOf(const RunData& run, int64_t step);

/// Groups with fewer seeds get no confidence interval (tables) and no band (plots).
constexpr size_t kMinCiSeeds = 3;

/// Writes report.md, report.html, summary.csv and SVG plots into `out_dir`.
void WriteCompareReport(const std::vector<Group>& groups, const std::string& out_dir,
                        std::vector<int64_t> budgets = {});

}  // namespace mbrl
