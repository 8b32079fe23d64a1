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
// DMC-style tasks (shared/TASKS-DMC.md): 1000 steps, reward in [0, 1], no termination
std::unique_ptr<Env> MakeDmcCartpoleSwingup(const EnvOptions& options);
std::unique_ptr<Env> MakeDmcCartpoleBalance(const EnvOptions& options);
std::unique_ptr<Env> MakeDmcPendulumSwingup(const EnvOptions& options);
std::unique_ptr<Env> MakeDmcCheetahRun(const EnvOptions& options);
std::unique_ptr<Env> MakeDmcWalkerWalk(const EnvOptions& options);
std::unique_ptr<Env> MakeDmcReacherEasy(const EnvOptions& options);
std::unique_ptr<Env> MakeDmcFingerSpin(const EnvOptions& options);
std::unique_ptr<Env> MakeDmcCupCatch(const EnvOptions& options);

}  // namespace mbrl
