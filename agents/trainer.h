#pragma once
/// The run loop shared by every agent: run directories, data collection, metrics, checkpoints,
/// evaluation and resume.
#include <string>
#include <vector>

#include "agents/run_config.h"

namespace mbrl {

/// Trains `cfg` in a new run directory (or continues `resume_dir`); returns the run directory.
/// `resolved` is the full config saved as config.json. Throws mbrl::Error on bad input.
std::string Train(const RunConfig& cfg, const config::Json& resolved,
                  const std::string& resume_dir = "");

/// Loads a run's config and latest checkpoint and plays `episodes` evaluation episodes.
std::vector<double> Evaluate(const std::string& run_dir, int episodes);

/// True once SIGINT/SIGTERM arrived during Train (the run stopped at its last checkpoint).
bool Interrupted();

}  // namespace mbrl
