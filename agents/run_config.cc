#include "agents/run_config.h"

#include <algorithm>

#include "envs/env.h"

namespace mbrl {

RunConfig LoadRunConfig(const std::vector<std::string>& files,
                        const std::vector<std::string>& overrides, config::Json* resolved) {
  RunConfig cfg = config::Load<RunConfig>(files, overrides, resolved);
  const std::string src = files.empty() ? std::string("config") : files.back();
  const auto names = EnvNames();
  if (std::find(names.begin(), names.end(), cfg.env.name) == names.end()) {
    const std::string close = config::ClosestKey(cfg.env.name, names);
    throw Error(src + ": env.name: unknown task '" + cfg.env.name + "'" +
                (close.empty() ? "" : " (did you mean '" + close + "'?)"));
  }
  cfg.section().Validate(src);
  return cfg;
}

}  // namespace mbrl
