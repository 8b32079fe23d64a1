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

/// Random assignment of `rows` rows to `members` members in equal shares: a permutation of
/// [0, rows) padded with repeats to a multiple of `members` (row perm[i] goes to member
/// i / (padded / members)).
torch::Tensor MemberPermutation(int64_t rows, int64_t members, torch::Generator& gen,
                                const torch::Device& device);
/// One stochastic model step: network inputs x [R,in] through the members `perm` assigns
/// (MemberPermutation) -> sampled outputs [R,out] (state delta, then reward if learned).
torch::Tensor SampleThroughMembers(const MemberWeights& m, const torch::Tensor& x,
                                   const torch::Tensor& perm, torch::Generator& gen);

/// Objective over [N,H,A]: mean over `particles` model rollouts from start_obs [O] of the summed
/// reward (from reward_fn, or the model's reward head when reward_fn is empty), masked after a
/// termination. Uses the model's elites.
Objective MakeObjective(const Ensemble& model, const torch::Tensor& start_obs, RewardFn reward_fn,
                        TerminationFn termination_fn, int particles, Propagation propagation,
                        torch::Generator gen);

}  // namespace mbrl
