// Agents and tasks register themselves, so a new one is one file (docs/extending.md). This file
// adds a task and an agent exactly as a new file in envs/ or agents/ would, then uses them through
// the registries, the run config and the run loop.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>

#include "agents/agent.h"
#include "agents/run_config.h"
#include "agents/trainer.h"
#include "envs/env.h"
#include "tests/test_util.h"

namespace mbrl {
namespace {

// A point on a line: x' = x + a, a in [-1, 1], reward -|x'|, 20 steps from x = 0.
class PointTask : public Env {
 public:
  explicit PointTask(const EnvOptions& o) {
    spec_ = {"test_point", 1, 1, {-1}, {1}, 0.1, o.max_steps > 0 ? o.max_steps : 20};
  }
  const EnvSpec& spec() const override { return spec_; }
  torch::Tensor Reset(uint64_t) override {
    x_ = 0;
    t_ = 0;
    return torch::zeros({1});
  }
  StepResult Step(const torch::Tensor& action) override {
    x_ += std::clamp(action.item<float>(), -1.f, 1.f);
    ++t_;
    return {torch::full({1}, x_), -std::abs(double(x_)), false, t_ >= spec_.max_steps};
  }
  torch::Tensor Reward(const torch::Tensor&, const torch::Tensor&,
                       const torch::Tensor& next_obs) const override {
    return -next_obs.select(-1, 0).abs();
  }
  torch::Tensor Terminated(const torch::Tensor& next_obs) const override {
    return torch::zeros({next_obs.size(0)}, torch::kBool);
  }

 private:
  EnvSpec spec_;
  float x_ = 0;
  int t_ = 0;
};

// The same action at every step.
struct ConstantConfig {
  double action = 0.5;
  template <class V>
  void Visit(V& v) {
    v("action", action, config::Between(-1, 1));
  }
};

class ConstantAgent : public Agent {
 public:
  ConstantAgent(const ConstantConfig& cfg, const ThreadsConfig&, const Env&, torch::Device,
                uint64_t)
      : action_(cfg.action) {}
  void BeginEpisode(uint64_t) override {}
  torch::Tensor Act(const torch::Tensor&, bool) override {
    return torch::full({1}, static_cast<float>(action_));
  }

 private:
  double action_;
};

std::unique_ptr<Env> MakePointTask(const EnvOptions& o) { return std::make_unique<PointTask>(o); }
const TaskRegistrar kPoint("test_point", MakePointTask);
const AgentRegistrar<ConstantConfig> kConstant("test_constant",
                                               MakeAgentOf<ConstantAgent, ConstantConfig>);

TEST(Registry, ATaskAndAnAgentAddedInTheirOwnFile) {
  const auto tasks = EnvNames(), agents = AgentNames();
  EXPECT_NE(std::find(tasks.begin(), tasks.end(), "test_point"), tasks.end());
  EXPECT_NE(std::find(agents.begin(), agents.end(), "test_constant"), agents.end());
  for (const char* a : {"random", "pets", "mbpo", "sac", "dreamer", "planet"})
    EXPECT_NE(std::find(agents.begin(), agents.end(), a), agents.end()) << a;
  EXPECT_EQ(FindTaskTwin("hopper").gymnasium_id, "Hopper-v5");
  EXPECT_EQ(FindTaskTwin("dmc_walker_walk").dm_control, "walker/walk");

  const std::string runs = testing::TempDir() + "/mbrl_runs_registry";
  std::filesystem::remove_all(runs);
  config::Json resolved;
  const std::vector<std::string> ov = {
      "agent=test_constant", "env.name=test_point", "test_constant.action=-0.25",
      "total_env_steps=40",  "progress=false",      "final_eval_episodes=1",
      "runs_dir=" + runs};
  const RunConfig cfg = LoadRunConfig({}, ov, &resolved);
  EXPECT_EQ(cfg.Section<ConstantConfig>().action, -0.25);
  EXPECT_EQ(resolved["test_constant"]["action"], -0.25);
  // the agent's section is strict like any other, and only the chosen agent's section is valid
  auto with = [&](const std::string& extra) {
    auto o = ov;
    o.push_back(extra);
    try {
      LoadRunConfig({}, o, nullptr);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(with("test_constant.action=3").find("test_constant.action: value 3"),
            std::string::npos);
  EXPECT_NE(with("test_constant.gain=1").find("test_constant.gain"), std::string::npos);
  EXPECT_NE(with("pets.particles=3").find("pets"), std::string::npos);
  // and the run loop trains it: x_t = -0.25 t, return -0.25 (1 + ... + 20) = -52.5 per episode
  const std::string dir = Train(cfg, resolved);
  EXPECT_EQ(Column(dir, "return"), (std::vector<double>{-52.5, -52.5}));
  EXPECT_EQ(config::Json::parse(FileText(dir + "/final_eval.json"))["mean"], -52.5);
}

}  // namespace
}  // namespace mbrl
