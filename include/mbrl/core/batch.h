#pragma once
/// Data handed from buffers to models and learners.
#include <torch/types.h>

namespace mbrl {

/// Uniform transitions: obs [B,O], act [B,A], reward [B], next_obs [B,O], terminated [B] (0/1).
struct Batch {
  torch::Tensor obs, act, reward, next_obs, terminated;
};

/// Sequences inside one episode: obs [B,T,O], act [B,T,A], reward [B,T], next_obs [B,T,O],
/// terminated [B,T], first [B,T] (1 where the step opens its episode), mask [B,T] (1 = a real
/// step, 0 = padding after the end of an episode shorter than T; undefined = all real).
struct SequenceBatch {
  torch::Tensor obs, act, reward, next_obs, terminated, first, mask;
};

}  // namespace mbrl
