// `mbrl export`: a run's deterministic policy written for deployment.
#include "agents/trainer.h"
#include "mbrl/core/check.h"

namespace mbrl {

std::string ExportRun(const std::string& run_dir, ExportFormat format, std::string out) {
  RunConfig cfg;
  std::unique_ptr<Env> env;
  auto agent = LoadRunAgent(run_dir, &cfg, &env);
  if (const auto program = agent->Program()) {
    if (out.empty()) out = run_dir + "/export/policy" + ExportExtension(format, true);
    WriteRecurrentPolicy(*program, format, out);
    return out;
  }
  const auto policy = agent->Policy();
  MBRL_CHECK(policy.has_value(), run_dir, ": agent '", cfg.agent,
             "' has no policy network to export (it plans with its model at every step)");
  if (out.empty()) out = run_dir + "/export/policy" + ExportExtension(format);
  WritePolicy(*policy, format, out);
  return out;
}

}  // namespace mbrl
