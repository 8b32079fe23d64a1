// mbrl envs step <task>: one step of a task from each recorded state on stdin (JSON lines), for
// comparing the task with its reference twin (scripts/fidelity_check.py).
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "commands.h"
#include "envs/env.h"
#include "envs/mujoco_env.h"
#include "mbrl/core/check.h"

namespace mbrl {
namespace {

// key `k` of line `n` as numbers; `fallback` when absent and allowed
std::vector<double> Numbers(const nlohmann::json& j, const char* k, int n,
                            const std::vector<double>* fallback) {
  if (!j.contains(k)) {
    MBRL_CHECK(fallback, "stdin line ", n, ": missing key '", k, "'");
    return *fallback;
  }
  MBRL_CHECK(j[k].is_array(), "stdin line ", n, ": ", k, ": expected an array of numbers");
  std::vector<double> v;
  for (const auto& x : j[k]) {
    MBRL_CHECK(x.is_number(), "stdin line ", n, ": ", k, ": expected an array of numbers");
    v.push_back(x.get<double>());
  }
  return v;
}

std::vector<float> Values(const torch::Tensor& t) {
  auto c = t.to(torch::kFloat32).contiguous();
  return {c.data_ptr<float>(), c.data_ptr<float>() + c.numel()};
}

}  // namespace

int EnvStep(const std::string& task) {
  auto env = MakeEnv(task);
  auto* mj = dynamic_cast<MujocoEnv*>(env.get());
  MBRL_CHECK(mj, task, ": not a MuJoCo task");
  mj->Reset(0);
  const PhysicsState zero = [&] {
    PhysicsState s = mj->GetState();
    std::fill(s.act.begin(), s.act.end(), 0.0);
    std::fill(s.qacc_warmstart.begin(), s.qacc_warmstart.end(), 0.0);
    return s;
  }();
  int n = 0;
  for (std::string line; std::getline(std::cin, line);) {
    ++n;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      throw Error(detail::Concat("stdin line ", n, ": not JSON (", e.what(), ")"));
    }
    MBRL_CHECK(j.is_object(), "stdin line ", n, ": expected a JSON object");
    PhysicsState st;
    st.qpos = Numbers(j, "qpos", n, nullptr);
    st.qvel = Numbers(j, "qvel", n, nullptr);
    st.act = Numbers(j, "act", n, &zero.act);
    st.qacc_warmstart = Numbers(j, "qacc_warmstart", n, &zero.qacc_warmstart);
    st.time = j.value("time", 0.0);
    st.task = Numbers(j, "task", n, &zero.task);
    const auto action = Numbers(j, "action", n, nullptr);
    const torch::Tensor obs = mj->SetState(st);
    const StepResult r = mj->Step(torch::tensor(action, torch::kFloat64).to(torch::kFloat32));
    nlohmann::json out = {{"obs", Values(obs)},
                          {"next_obs", Values(r.obs)},
                          {"reward", r.reward},
                          {"terminated", r.terminated}};
    std::cout << out.dump() << "\n";
  }
  std::cout.flush();
  return 0;
}

}  // namespace mbrl
