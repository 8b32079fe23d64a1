// mbrl bench: throughput of the hot paths, one JSON line per measurement plus a table.
#include <chrono>
#include <cstdio>
#include <iostream>

#include <ATen/CPUGeneratorImpl.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "envs/env.h"
#include "envs/mujoco_env.h"
#include "mbrl/core/check.h"
#include "mbrl/core/runtime.h"
#include "mbrl/data/replay_buffer.h"
#include "src/cli/commands.h"

namespace mbrl {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// runs `fn` until `min_seconds` passed; returns calls per second
template <class F>
double Rate(double min_seconds, F&& fn) {
  fn();  // warm-up
  int64_t n = 0;
  const auto t0 = Clock::now();
  do {
    fn();
    ++n;
  } while (Seconds(t0) < min_seconds);
  return n / Seconds(t0);
}

void Emit(nlohmann::json j) { std::cout << j.dump() << std::endl; }

int BenchEnv(int64_t steps) {
  SetThreads(1, 1);
  std::fprintf(stderr, "%-20s %14s %14s %10s\n", "task", "raw steps/s", "Env steps/s", "overhead");
  for (const auto& name : EnvNames()) {
    auto env = MakeEnv(name);
    auto* mj = dynamic_cast<MujocoEnv*>(env.get());
    MBRL_CHECK(mj, name, ": not a MuJoCo task");
    const EnvSpec& spec = env->spec();
    // wrapper: Reset/Step with float32 tensors, reward, termination
    auto gen = at::detail::createCPUGenerator(0);
    auto low = torch::tensor(spec.act_low), high = torch::tensor(spec.act_high);
    std::vector<torch::Tensor> actions;
    for (int i = 0; i < 256; ++i) actions.push_back(low + (high - low) * torch::rand(low.sizes(), gen));
    std::vector<int64_t> resets;  // steps after which the env reset
    const auto run_env = [&] {
      resets.clear();
      env->Reset(0);
      const auto t0 = Clock::now();
      for (int64_t i = 0; i < steps; ++i) {
        const StepResult r = env->Step(actions[i % actions.size()]);
        if (r.terminated || r.truncated) env->Reset(i), resets.push_back(i);
      }
      return steps / Seconds(t0);
    };
    // raw: the same actions and resets as bare MuJoCo calls (ctrl write + frame_skip mj_step)
    const auto run_raw = [&] {
      mjData* d = mj->data();
      const mjModel* m = mj->model();
      env->Reset(0);
      size_t next_reset = 0;
      const auto t0 = Clock::now();
      for (int64_t i = 0; i < steps; ++i) {
        const float* a = actions[i % actions.size()].data_ptr<float>();
        for (int k = 0; k < spec.act_dim; ++k) d->ctrl[k] = a[k];
        for (int k = 0; k < mj->frame_skip(); ++k) mj_step(m, d);
        if (next_reset < resets.size() && resets[next_reset] == i) {
          ++next_reset;
          mj_resetData(m, d);
          mj_forward(m, d);
        }
      }
      return steps / Seconds(t0);
    };
    // best of 3 interleaved repeats (this machine is shared and noisy)
    double wrapped = 0, raw = 0;
    for (int rep = 0; rep < 3; ++rep) {
      wrapped = std::max(wrapped, run_env());
      raw = std::max(raw, run_raw());
    }
    const double overhead = raw / wrapped - 1.0;
    Emit({{"bench", "env"}, {"task", name}, {"raw_steps_per_s", raw},
          {"env_steps_per_s", wrapped}, {"overhead_fraction", overhead}, {"steps", steps}});
    std::fprintf(stderr, "%-20s %14.0f %14.0f %9.1f%%\n", name.c_str(), raw, wrapped,
                 100 * overhead);
  }

  // replay sampling from a full 100k buffer with HalfCheetah shapes
  const int obs = 17, act = 6;
  const int64_t cap = 100000;
  ReplayBuffer buffer(cap, obs, act);
  auto o = torch::randn({obs}), a = torch::randn({act});
  const auto t2 = Clock::now();
  for (int64_t i = 0; i < cap; ++i) buffer.Add(o, a, 0.f, o, false, i % 1000 == 999);
  const double add_rate = cap / Seconds(t2);
  auto gen = at::detail::createCPUGenerator(0);
  const double uniform = Rate(1.0, [&] { buffer.Sample(256, gen); });
  const double seq = Rate(1.0, [&] { buffer.SampleSequences(16, 64, gen); });
  Emit({{"bench", "replay_add"}, {"obs_dim", obs}, {"act_dim", act}, {"adds_per_s", add_rate}});
  Emit({{"bench", "replay_sample"}, {"batch", 256}, {"batches_per_s", uniform},
        {"transitions_per_s", uniform * 256}});
  Emit({{"bench", "replay_sequences"}, {"batch", 16}, {"length", 64}, {"batches_per_s", seq}});
  std::fprintf(stderr, "\n%-34s %14s\n", "replay (100k x obs 17, act 6)", "rate");
  std::fprintf(stderr, "%-34s %12.0f/s\n", "add one transition", add_rate);
  std::fprintf(stderr, "%-34s %12.0f/s\n", "uniform batch 256", uniform);
  std::fprintf(stderr, "%-34s %12.0f/s\n", "sequence batch 16 x 64", seq);
  return 0;
}

}  // namespace

int Bench(const std::vector<std::string>& args) {
  MBRL_CHECK(!args.empty(), "bench: say what to benchmark: env");
  int64_t steps = 20000;
  for (size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--steps" && i + 1 < args.size()) {
      const std::string& v = args[++i];
      size_t used = 0;
      try {
        steps = std::stoll(v, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      MBRL_CHECK(used == v.size() && steps > 0, "--steps: expected a positive integer, got '", v,
                 "'");
    } else {
      throw Error("bench: unexpected argument '" + args[i] + "'");
    }
  }
  if (args[0] == "env") return BenchEnv(steps);
  throw Error("bench: unknown benchmark '" + args[0] + "' (known: env)");
}

}  // namespace mbrl
