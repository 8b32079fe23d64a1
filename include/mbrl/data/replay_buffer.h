#pragma once
/// Ring buffer of transitions in preallocated CPU tensors; batches are moved to the device.
#include <torch/types.h>

#include <cstdint>

#include "mbrl/core/batch.h"

namespace mbrl {

class ReplayBuffer {
 public:
  ReplayBuffer(int64_t capacity, int obs_dim, int act_dim, torch::Device device = torch::kCPU);

  /// One transition; obs/next_obs [O], act [A] float32 CPU tensors.
  void Add(const torch::Tensor& obs, const torch::Tensor& act, float reward,
           const torch::Tensor& next_obs, bool terminated, bool truncated);
  /// A whole episode: obs [T+1,O], act [T,A], reward [T], terminated [T], truncated [T].
  void AddEpisode(const torch::Tensor& obs, const torch::Tensor& act, const torch::Tensor& reward,
                  const torch::Tensor& terminated, const torch::Tensor& truncated);

  /// Independent transitions (e.g. model rollouts), each its own one-step episode: [N,...].
  void AddBatch(const Batch& batch);
  /// B transitions drawn uniformly with replacement, from the `recent` most recently added ones
  /// (0 or more than size(): from all).
  Batch Sample(int64_t batch, torch::Generator& gen, int64_t recent = 0) const;
  /// B windows of T consecutive steps, each inside one episode ([B,T,...]); an episode shorter
  /// than T is one window from its start, padded (mask 0) after its end.
  SequenceBatch SampleSequences(int64_t batch, int64_t length, torch::Generator& gen) const;
  /// Every stored transition in insertion order (for model training on the whole dataset).
  Batch All() const;
  /// The last `n` transitions added, in insertion order (n <= size()).
  Batch Recent(int64_t n) const;

  int64_t size() const { return size_; }
  int64_t capacity() const { return capacity_; }
  int obs_dim() const { return obs_dim_; }
  int act_dim() const { return act_dim_; }

 private:
  torch::Tensor Physical(const torch::Tensor& logical) const;  // insertion order -> slots
  Batch Gather(const torch::Tensor& idx) const;

  int64_t capacity_;
  int obs_dim_, act_dim_;
  torch::Device device_;
  torch::Tensor obs_, act_, reward_, next_obs_, terminated_, episode_, first_;
  int64_t head_ = 0, size_ = 0;
  int64_t episode_id_ = 0;
  bool episode_open_ = false;
};

}  // namespace mbrl
