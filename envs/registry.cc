#include "mbrl/core/registry.h"

#include <map>
#include <nlohmann/json.hpp>

#include "envs/env.h"
#include "mbrl/core/check.h"

namespace mbrl {
namespace {

struct Entry {
  TaskFactory factory;
  TaskTwin twin;
};

Registry<Entry>& Tasks() {
  static Registry<Entry> tasks("env.name", "task");  // filled by the tasks' static registrars
  return tasks;
}

}  // namespace

TaskRegistrar::TaskRegistrar(const std::string& name, TaskFactory factory, TaskTwin twin) {
  Tasks().Add(name, Entry{factory, std::move(twin)});
}

std::vector<std::string> EnvNames() { return Tasks().Names(); }

std::unique_ptr<Env> MakeEnv(const std::string& name, const EnvOptions& options) {
  const Entry& e = Tasks().Find(name);
  MBRL_CHECK(options.max_steps >= 0, "env.max_steps must be >= 0, got ", options.max_steps);
  return e.factory(options);
}

const TaskTwin& FindTaskTwin(const std::string& name) { return Tasks().Find(name).twin; }

std::string GymnasiumSpecJson(const TaskTwin& twin, int max_steps) {
  // the key order and separators of Python's json.dumps, as EnvSpec.to_json() writes them
  const auto q = [](const std::string& s) { return nlohmann::json(s).dump(); };
  return R"({"id": )" + q(twin.gymnasium_id) + R"(, "entry_point": )" + q(twin.entry_point) +
         R"(, "reward_threshold": )" +
         (twin.reward_threshold ? nlohmann::json(*twin.reward_threshold).dump() : "null") +
         R"(, "nondeterministic": false, "max_episode_steps": )" + std::to_string(max_steps) +
         R"(, "order_enforce": true, "disable_env_checker": false, "kwargs": {}, )"
         R"("additional_wrappers": [], "vector_entry_point": null})";
}

}  // namespace mbrl
