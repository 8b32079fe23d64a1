#pragma once
/// Glue between models and planners: trajectory sampling objectives.
#include <torch/types.h>

#include <functional>
#include <string>

#include "mbrl/models/ensemble.h"
#include "mbrl/planners/planner.h"

namespace mbrl {

/// Batched task functions: reward(obs [R,O], act [R,A], next_obs [R,O]) -> [R];
/// terminated(next_obs) -> [R] bool.
using RewardFn = std::function<torch::Tensor(const torch::Tensor&, const torch::Tensor&,
                                             const torch::Tensor&)>;
using TerminationFn = std::function<torch::Tensor(const torch::Tensor&)>;

enum class Propagation { kTs1, kTsInf, kExpectation };
Propagation ParsePropagation(const std::string& name);  // "ts1" | "tsinf" | "expectation"

/// Objective over [N,H,A]: mean over `particles` model rollouts from start_obs [O] of the summed
/// reward (from reward_fn, or the model's reward head when reward_fn is empty), masked after a
/// termination. Uses the model's elites.
Objective MakeObjective(const Ensemble& model, const torch::Tensor& start_obs, RewardFn reward_fn,
                        TerminationFn termination_fn, int particles, Propagation propagation,
                        torch::Generator gen);

}  // namespace mbrl
