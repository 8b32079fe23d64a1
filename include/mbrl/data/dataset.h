#pragma once
/// On-disk trajectory dataset (Minari layout, see docs/formats.md):
///   <dir>/data/main_data.hdf5   episode_<i>/{observations [T+1,O], actions [T,A], rewards [T],
///                               terminations [T], truncations [T]}
///   <dir>/metadata.json         env id, spaces, totals
/// Episodes are appended whole; each append is flushed and the file closed, so a killed process
/// loses at most the episode in progress.
#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace mbrl {

class ReplayBuffer;

struct DatasetInfo {
  std::string env_id;
  int obs_dim = 0, act_dim = 0;
  std::vector<float> act_low, act_high;
};

struct Episode {
  torch::Tensor observations;  // [T+1,O] float32
  torch::Tensor actions;       // [T,A] float32
  torch::Tensor rewards;       // [T] float64
  torch::Tensor terminations;  // [T] bool
  torch::Tensor truncations;   // [T] bool
  uint64_t seed = 0;           // reset seed
  int64_t steps() const { return actions.size(0); }
};

class Dataset {
 public:
  /// Opens `dir` for appending; creates it when absent. An existing dataset must match `info`.
  Dataset(std::string dir, DatasetInfo info);

  void Append(const Episode& episode);
  int64_t episodes() const { return episodes_; }
  int64_t steps() const { return steps_; }
  const std::string& dir() const { return dir_; }

  /// Reads info and episode count; throws mbrl::Error on a missing, corrupt or malformed file.
  static DatasetInfo ReadInfo(const std::string& dir, int64_t* episodes = nullptr,
                              int64_t* steps = nullptr);
  /// Reads one episode, checking shapes against `info`.
  static Episode ReadEpisode(const std::string& dir, const DatasetInfo& info, int64_t index);
  /// Loads every episode into `buffer` (dims must match); returns the number of steps.
  static int64_t LoadInto(const std::string& dir, ReplayBuffer* buffer);

 private:
  void WriteMetadata() const;

  std::string dir_, file_;
  DatasetInfo info_;
  int64_t episodes_ = 0, steps_ = 0;
};

}  // namespace mbrl
