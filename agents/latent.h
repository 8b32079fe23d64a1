#pragma once
/// Pieces shared by the RSSM agents: action scaling to [-1,1] and the running belief state.
#include <torch/types.h>

#include "envs/env.h"
#include "mbrl/models/rssm.h"

namespace mbrl {

/// Env action bounds <-> the [-1,1] actions the world model and actor work in.
class ActionBounds {
 public:
  ActionBounds(const EnvSpec& spec, torch::Device device)
      : scale_((torch::tensor(spec.act_high) - torch::tensor(spec.act_low)).div(2).to(device)),
        shift_((torch::tensor(spec.act_high) + torch::tensor(spec.act_low)).div(2).to(device)) {}
  torch::Tensor ToEnv(const torch::Tensor& a) const { return a * scale_ + shift_; }
  torch::Tensor FromEnv(const torch::Tensor& a) const { return (a - shift_) / scale_; }
  int64_t dim() const { return scale_.size(0); }
  const torch::Tensor& scale() const { return scale_; }
  const torch::Tensor& shift() const { return shift_; }
  torch::TensorOptions options() const { return scale_.options(); }

 private:
  torch::Tensor scale_, shift_;
};

/// The posterior over the current episode, updated one observation at a time.
class Belief {
 public:
  explicit Belief(Rssm model) : model_(std::move(model)) { Reset(); }
  /// Episode start: the initial state and a zero action, as at the start of every training
  /// sequence. (Random prefill steps never touch the belief, so it stays in this state.)
  void Reset() {
    state_ = model_->Initial(1);
    prev_ = torch::zeros({1, model_->act_dim()}, state_.deter.options());
  }
  /// obs [O] (any device) -> features [1,F] of the updated posterior (its mode if !sample).
  torch::Tensor Observe(const torch::Tensor& obs, torch::Generator& gen, bool sample = true) {
    state_ = model_->ObserveStep(state_, prev_, obs.to(prev_.device()).view({1, -1}), gen, sample);
    return RssmImpl::Features(state_);
  }
  /// The action [1,A] in [-1,1] taken after the last observation.
  void Took(const torch::Tensor& act) { prev_ = act; }
  const RssmState& state() const { return state_; }

 private:
  Rssm model_;
  RssmState state_;
  torch::Tensor prev_;
};

}  // namespace mbrl
