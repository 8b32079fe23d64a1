#include "mbrl/logging/progress.h"

#include <unistd.h>

#include <cstdio>

namespace mbrl {

Progress::Progress(int64_t total_steps, int64_t start_step, bool enabled)
    : total_(total_steps),
      start_(start_step),
      enabled_(enabled),
      tty_(isatty(fileno(stderr))),
      last_step_(start_step),
      t0_(std::chrono::steady_clock::now()),
      last_draw_(t0_) {}

Progress::~Progress() {
  if (enabled_ && tty_) std::fprintf(stderr, "\n");
}

double Progress::steps_per_second() const {
  const double s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
  return s > 0 ? (last_step_ - start_) / s : 0.0;
}

std::string Progress::Line(int64_t env_step, int64_t episode, double last_return) const {
  const double sps = steps_per_second();
  const double eta = sps > 0 ? (total_ - env_step) / sps : 0.0;
  char buf[200];
  std::snprintf(buf, sizeof(buf),
                "step %lld/%lld  episode %lld  return %.1f  %.0f steps/s  ETA %02d:%02d:%02d",
                static_cast<long long>(env_step), static_cast<long long>(total_),
                static_cast<long long>(episode), last_return, sps, static_cast<int>(eta / 3600),
                static_cast<int>(eta / 60) % 60, static_cast<int>(eta) % 60);
  return buf;
}

void Progress::Step(int64_t env_step, int64_t episode, double last_return) {
  last_step_ = env_step;
  if (!enabled_ || !tty_) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_draw_ < std::chrono::milliseconds(250)) return;
  last_draw_ = now;
  std::fprintf(stderr, "\r%s\033[K", Line(env_step, episode, last_return).c_str());
  std::fflush(stderr);
}

void Progress::Episode(int64_t env_step, int64_t episode, double episode_return,
                       const std::string& extra) {
  last_step_ = env_step;
  if (!enabled_) return;
  const std::string line = Line(env_step, episode, episode_return) + extra;
  std::fprintf(stderr, tty_ ? "\r%s\033[K" : "%s\n", line.c_str());
  std::fflush(stderr);
}

}  // namespace mbrl
