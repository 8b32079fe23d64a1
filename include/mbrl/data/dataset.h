#pragma once
/// On-disk trajectory dataset, readable by minari.load_dataset (Minari 0.5 layout, see
/// docs/formats.md). `dir` is a Minari datasets root holding one dataset:
///   <dir>/<dataset_id>/data/main_data.hdf5  episode_<i>/{observations [T+1,O], actions [T,A],
///                                           rewards [T], terminations [T], truncations [T]}
///   <dir>/<dataset_id>/data/metadata.json   id, spaces, env spec, totals
/// With an empty dataset_id, `dir` is the dataset folder itself (<dir>/data/...).
/// Episodes are appended whole; each append is flushed and the file closed, so a killed process
/// loses at most the episode in progress.
#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace mbrl {

class ReplayBuffer;

struct DatasetInfo {
  std::string env_id;  // our task name
  int obs_dim = 0, act_dim = 0;
  std::vector<float> act_low, act_high;
  // a run continued from its checkpoint alone starts a new dataset: its first episode is the
  // run's episode first_episode + 1, after first_step agent steps
  int64_t first_episode = 0, first_step = 0;
  std::string dataset_id{};  // Minari id, e.g. mbrl/hopper/<run>-v0 ("": `dir` is the dataset)
  std::string env_spec{};    // Gymnasium EnvSpec JSON of the task's twin, if any
  std::string algorithm{};   // metadata: the agent that collected the data
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
  /// The run's episodes and agent steps before this dataset's first episode (usually 0).
  int64_t first_episode() const { return info_.first_episode; }
  int64_t first_step() const { return info_.first_step; }
  const std::string& dir() const { return dir_; }

  /// True when `dir` holds a dataset file (as a dataset folder or a root holding one).
  static bool Exists(const std::string& dir);
  /// The HDF5 file of the dataset in `dir` (where it is, or would be created for `id`).
  static std::string MainFile(const std::string& dir, const std::string& id);
  /// Reads info and episode count; throws mbrl::Error on a missing, corrupt or malformed file.
  static DatasetInfo ReadInfo(const std::string& dir, int64_t* episodes = nullptr,
                              int64_t* steps = nullptr);
  /// Reads one episode, checking shapes against `info`.
  static Episode ReadEpisode(const std::string& dir, const DatasetInfo& info, int64_t index);
  /// Loads every episode into `buffer` (dims must match); returns the number of steps.
  static int64_t LoadInto(const std::string& dir, ReplayBuffer* buffer);

 private:
  void WriteMetadata() const;

  std::string dir_, file_, meta_;
  DatasetInfo info_;
  int64_t episodes_ = 0, steps_ = 0;
};

}  // namespace mbrl
