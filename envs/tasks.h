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
std::unique_ptr<Env> MakeInvertedDoublePendulum(const EnvOptions& options);
std::unique_ptr<Env> MakeWalker2d(const EnvOptions& options);
std::unique_ptr<Env> MakeAnt(const EnvOptions& options);
std::unique_ptr<Env> MakeReacher(const EnvOptions& options);
std::unique_ptr<Env> MakePusher(const EnvOptions& options);
std::unique_ptr<Env> MakeSwimmer(const EnvOptions& options);

}  // namespace mbrl
