#pragma once
/// The run loop shared by every agent: run directories, data collection, metrics, checkpoints,
/// evaluation and resume.
#include <memory>
#include <string>
#include <vector>

#include "agents/agent.h"
#include "agents/run_config.h"
#include "envs/env.h"
#include "mbrl/export/export.h"

namespace mbrl {

/// Trains `cfg` in a new run directory (or continues `resume_dir`); returns the run directory.
/// `resolved` is the full config saved as config.json. Throws mbrl::Error on bad input.
std::string Train(const RunConfig& cfg, const config::Json& resolved,
                  const std::string& resume_dir = "");

/// A run's agent restored from its latest checkpoint; `cfg` and `env` (which the agent may keep
/// pointing to) get the run's config and task.
std::unique_ptr<Agent> LoadRunAgent(const std::string& run_dir, RunConfig* cfg,
                                    std::unique_ptr<Env>* env);

/// Where and how large `Evaluate` renders its episodes (no video if `path` is empty).
struct VideoOptions {
  std::string path;  // .gif (own encoder) or .mp4 (needs the ffmpeg command)
  int width = 480, height = 360;
};

/// Loads a run's config and latest checkpoint and plays `episodes` evaluation episodes,
/// optionally rendering them all into one video.
std::vector<double> Evaluate(const std::string& run_dir, int episodes,
                             const VideoOptions& video = {});

/// Writes a run's deterministic policy in `format` to `out` (default <run_dir>/export/policy.<ext>);
/// returns the path. Throws mbrl::Error for agents without a policy network (PETS).
std::string ExportRun(const std::string& run_dir, ExportFormat format, std::string out = "");

/// True once SIGINT/SIGTERM arrived during Train (the run stopped at its last checkpoint).
bool Interrupted();

}  // namespace mbrl
