#pragma once
/// metrics.csv + metrics.jsonl + TensorBoard events of a run: one row per training episode,
/// flushed per row.
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "mbrl/core/metrics.h"
#include "mbrl/logging/tensorboard.h"

namespace mbrl {

class MetricsWriter {
 public:
  /// `columns` fixes the CSV header (a row may leave any blank; JSONL keeps every key). Existing
  /// files are kept: rows whose "episode" is > `keep_episodes` are dropped (resume), unless
  /// keep_episodes < 0.
  MetricsWriter(const std::string& dir, std::vector<std::string> columns, int64_t keep_episodes);
  ~MetricsWriter();
  MetricsWriter(const MetricsWriter&) = delete;
  MetricsWriter& operator=(const MetricsWriter&) = delete;

  /// Appends `row`; in TensorBoard every key but env_step is a scalar at step env_step.
  void Write(const Metrics& row);
  /// Scalars outside the per-episode rows (e.g. the final evaluation), in TensorBoard only.
  void Event(const std::vector<std::pair<std::string, double>>& scalars, int64_t step);
  /// Rows already in the files (after the resume cut).
  int64_t rows() const { return rows_; }

 private:
  std::vector<std::string> columns_;
  std::FILE* csv_ = nullptr;
  std::FILE* jsonl_ = nullptr;
  std::unique_ptr<EventWriter> events_;
  int64_t rows_ = 0;
};

/// Reads metrics.jsonl rows (tests, compare).
std::vector<Metrics> ReadMetricsJsonl(const std::string& path);

}  // namespace mbrl
