#pragma once
/// Factories of the built-in tasks (one folder each under envs/).
#include <memory>
#include <string>

#include "envs/env.h"

namespace mbrl {

std::unique_ptr<Env> MakeCartpoleSwingup(const std::string& xml_path, int max_steps);
std::unique_ptr<Env> MakeInvertedPendulum(const std::string& xml_path, int max_steps);
std::unique_ptr<Env> MakeHalfCheetah(const std::string& xml_path, int max_steps);
std::unique_ptr<Env> MakeHopper(const std::string& xml_path, int max_steps);

}  // namespace mbrl
