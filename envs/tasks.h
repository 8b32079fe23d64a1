#pragma once
/// Factories of the built-in tasks (one folder each under envs/).
#include <memory>
#include <string>

#include "envs/env.h"

namespace mbrl {

std::unique_ptr<Env> MakeCartpoleSwingup(const EnvOptions& options);
std::unique_ptr<Env> MakeInvertedPendulum(const EnvOptions& options);
std::unique_ptr<Env> MakeHalfCheetah(const EnvOptions& options);
std::unique_ptr<Env> MakeHopper(const EnvOptions& options);

}  // namespace mbrl
