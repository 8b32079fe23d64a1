#pragma once
/// The run loop shared by every agent: run directories, data collection, metrics, checkpoints,
/// evaluation and resume.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "agents/agent.h"
#include "agents/run_config.h"
#include "envs/env.h"
#include "mbrl/export/export.h"

namespace mbrl {

struct TrainOptions {
  /// Continue from the checkpoint alone when the run's dataset is missing or does not match it:
  /// the unusable dataset is kept aside as dataset.unused-<time>, the metric rows after the
  /// checkpoint as metrics.*.unused-<time>, and a new dataset starts at the checkpoint.
  bool from_checkpoint = false;
  /// Called once the run directory exists, before the first episode.
  std::function<void(const std::string& run_dir)> on_start;
};

/// Trains `cfg` in a new run directory (or continues `resume_dir`); returns the run directory.
/// `resolved` is the full config saved as config.json. Throws mbrl::Error on bad input; a resume
/// whose dataset, checkpoint and metrics disagree is an error that changes nothing.
/// The final policy is evaluated when the run ends or is stopped (<run>/final_eval.json).
std::string Train(const RunConfig& cfg, const config::Json& resolved,
                  const std::string& resume_dir = "", const TrainOptions& options = {});

/// A run's agent restored from its latest checkpoint; `cfg` and `env` (which the agent may keep
/// pointing to) get the run's config and task.
/// `overrides` (key=value) change the saved config before the agent is built (e.g.
/// tdmpc2.act=prior); the checkpoint must still fit it.
std::unique_ptr<Agent> LoadRunAgent(const std::string& run_dir, RunConfig* cfg,
                                    std::unique_ptr<Env>* env,
                                    const std::vector<std::string>& overrides = {});

/// Where and how large `Evaluate` renders its episodes (no video if `path` is empty).
struct VideoOptions {
  std::string path;  // .gif (own encoder) or .mp4 (needs the ffmpeg command)
  int width = 480, height = 360;
};

/// Loads a run's config and latest checkpoint and plays `episodes` evaluation episodes,
/// optionally rendering them all into one video.
std::vector<double> Evaluate(const std::string& run_dir, int episodes,
                             const VideoOptions& video = {},
                             const std::vector<std::string>& overrides = {});

/// Writes a run's deterministic policy in `format` to `out` (default
/// <run_dir>/export/policy.<ext>); returns the path. Throws mbrl::Error for agents without a policy
/// network (PETS).
std::string ExportRun(const std::string& run_dir, ExportFormat format, std::string out = "");

/// True once SIGINT/SIGTERM arrived during Train (the run stopped at its last checkpoint).
bool Interrupted();

}  // namespace mbrl
