#pragma once
/// Live one-line console progress: step, episode, last return, steps/s, ETA.
#include <chrono>
#include <cstdint>
#include <string>

namespace mbrl {

class Progress {
 public:
  Progress(int64_t total_steps, int64_t start_step, bool enabled);
  ~Progress();
  /// Per env step; redraws at most every 0.25 s on a terminal.
  void Step(int64_t env_step, int64_t episode, double last_return);
  /// Per episode; off a terminal this prints one line per episode.
  void Episode(int64_t env_step, int64_t episode, double episode_return, const std::string& extra);
  double steps_per_second() const;

 private:
  std::string Line(int64_t env_step, int64_t episode, double last_return) const;

  int64_t total_, start_;
  bool enabled_, tty_;
  int64_t last_step_ = 0;
  std::chrono::steady_clock::time_point t0_, last_draw_;
};

}  // namespace mbrl
