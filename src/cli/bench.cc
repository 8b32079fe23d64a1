// mbrl bench: throughput of the hot paths, one JSON line per measurement plus a table.
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <torch/script.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "agents/dreamer.h"
#include "agents/run_config.h"
#include "agents/tdmpc2.h"
#include "commands.h"
#include "envs/env.h"
#include "envs/mujoco_env.h"
#include "mbrl/core/check.h"
#include "mbrl/core/runtime.h"
#include "mbrl/data/replay_buffer.h"
#include "mbrl/export/export.h"
#include "mbrl/learners/sac.h"
#include "mbrl/models/ensemble.h"
#include "mbrl/models/rollout.h"
#include "mbrl/planners/planner.h"

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
    for (int i = 0; i < 256; ++i)
      actions.push_back(low + (high - low) * torch::rand(low.sizes(), gen));
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
    Emit({{"bench", "env"},
          {"task", name},
          {"raw_steps_per_s", raw},
          {"env_steps_per_s", wrapped},
          {"overhead_fraction", overhead},
          {"steps", steps}});
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
  Emit({{"bench", "replay_sample"},
        {"batch", 256},
        {"batches_per_s", uniform},
        {"transitions_per_s", uniform * 256}});
  Emit({{"bench", "replay_sequences"}, {"batch", 16}, {"length", 64}, {"batches_per_s", seq}});
  std::fprintf(stderr, "\n%-34s %14s\n", "replay (100k x obs 17, act 6)", "rate");
  std::fprintf(stderr, "%-34s %12.0f/s\n", "add one transition", add_rate);
  std::fprintf(stderr, "%-34s %12.0f/s\n", "uniform batch 256", uniform);
  std::fprintf(stderr, "%-34s %12.0f/s\n", "sequence batch 16 x 64", seq);
  return 0;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Best fp32 GEMM rate this machine gives for the ensemble's main matmul shape, bmm
// [E,rows,200] x [E,200,200], over all cores: one bmm on OpenBLAS's own threads, or the rows split
// over torch's threads with single-threaded OpenBLAS (what the rollout does). Restores the pools.
double GemmGflops(int64_t e, int64_t rows, int64_t h) {
  const int torch_threads = torch::get_num_threads(), blas_threads = BlasThreads();
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  auto a = torch::randn({e, rows, h}), b = torch::randn({e, h, h}), c = torch::empty({e, rows, h});
  const int64_t parts = cores;
  std::vector<torch::Tensor> pa, pc;  // contiguous row blocks
  for (int64_t p = 0; p < parts; ++p) {
    const int64_t r0 = rows * p / parts, n = rows * (p + 1) / parts - r0;
    pa.push_back(a.narrow(1, r0, n).contiguous());
    pc.push_back(torch::empty({e, n, h}));
  }
  const auto rate = [&](auto&& fn) {
    std::vector<double> t;
    for (int i = 0; i < 7; ++i) {
      const auto t0 = Clock::now();
      for (int k = 0; k < 10; ++k) fn();
      t.push_back(Seconds(t0) / 10);
    }
    return 2.0 * e * rows * h * h / Median(t) / 1e9;
  };
  SetThreads(1, cores);
  const double blas_pool = rate([&] { torch::bmm_out(c, a, b); });
  SetThreads(cores, 1);
  const double split = rate([&] {
    at::parallel_for(0, parts, 1, [&](int64_t begin, int64_t end) {
      for (int64_t p = begin; p < end; ++p) torch::bmm_out(pc[p], pa[p], b);
    });
  });
  SetThreads(torch_threads, blas_threads);
  return std::max(blas_pool, split);
}

// Matmul FLOP of one row through one member: 2 in out per layer, from the weights [E,in,out].
double ForwardFlop(const Ensemble& model) {
  double flop = 0;
  for (const auto& w : model->w) flop += 2.0 * w.size(1) * w.size(2);
  return flop;
}

struct PlanCase {
  std::string name;
  int obs, act;
  std::vector<int> angle_dims;
  PlannerConfig planner;
  int particles;
};

int BenchPlanner(const PhaseThreads& threads, int repeats, bool tune_malloc) {
  const int torch_threads = threads.torch;
  SetThreads(threads.torch, threads.blas);
  if (tune_malloc) TuneAllocator();
  PlannerConfig cem;
  cem.horizon = 15, cem.population = 350, cem.iterations = 5;
  PlannerConfig big = cem;
  big.horizon = 30, big.population = 400;
  const PlanCase cases[] = {{"cartpole", 4, 1, {1}, cem, 20},
                            {"halfcheetah_size", 17, 6, {}, big, 20}};
  std::fprintf(stderr, "threads torch %d, openblas %d, malloc tuned %d\n", torch_threads,
               BlasThreads(), tune_malloc);
  std::fprintf(stderr, "%-18s %12s %12s %10s %10s %8s\n", "case", "s/action", "GFLOP/action",
               "GFLOP/s", "GEMM GF/s", "of GEMM");
  for (const auto& c : cases) {
    EnsembleConfig mc;
    mc.angle_dims = c.angle_dims;
    Ensemble model(c.obs, c.act, mc);
    const int64_t rows = static_cast<int64_t>(c.planner.population) * c.particles;
    const double flop = ForwardFlop(model) * rows * c.planner.horizon * c.planner.iterations;
    std::vector<float> low(c.act, -1.f), high(c.act, 1.f);
    auto planner = MakePlanner(c.planner, low, high, torch::kCPU, 0);
    auto gen = at::detail::createCPUGenerator(0);
    RewardFn reward = [](const torch::Tensor& o, const torch::Tensor& a, const torch::Tensor&) {
      return -o.square().sum(-1) - 0.01 * a.square().sum(-1);
    };
    std::vector<double> t;
    auto obs = torch::zeros({c.obs});
    for (int i = 0; i < repeats + 1; ++i) {
      const auto t0 = Clock::now();
      planner->Plan(
          MakeObjective(model, obs, reward, nullptr, c.particles, Propagation::kTs1, gen));
      if (i > 0) t.push_back(Seconds(t0));  // first is warm-up
    }
    const double s = Median(t);
    const double gemm = GemmGflops(mc.elites, rows / mc.elites, mc.hidden);
    Emit({{"bench", "planner"},
          {"case", c.name},
          {"seconds_per_action", s},
          {"gflop_per_action", flop / 1e9},
          {"gflops", flop / s / 1e9},
          {"gemm_gflops", gemm},
          {"fraction_of_gemm", flop / s / 1e9 / gemm},
          {"population", c.planner.population},
          {"particles", c.particles},
          {"horizon", c.planner.horizon},
          {"iterations", c.planner.iterations},
          {"torch_threads", torch_threads},
          {"blas_threads", BlasThreads()},
          {"malloc_tuned", tune_malloc}});
    std::fprintf(stderr, "%-18s %12.3f %12.1f %10.1f %10.1f %7.0f%%\n", c.name.c_str(), s,
                 flop / 1e9, flop / s / 1e9, gemm, 100 * flop / s / 1e9 / gemm);
  }
  return 0;
}

// ensemble training throughput: E=7, 4x200, batch 256, 10k transitions, cartpole shapes
int BenchTrain(const PhaseThreads& threads, int repeats, bool tune_malloc) {
  const int torch_threads = threads.torch;
  SetThreads(threads.torch, threads.blas);
  if (tune_malloc) TuneAllocator();
  EnsembleConfig mc;
  mc.angle_dims = {1};
  mc.holdout = 0.1;  // as in training: 1000 rows scored after every epoch
  mc.max_epochs = 3;
  mc.patience = 100;
  Ensemble model(4, 1, mc);
  const int64_t n = 10000;
  Batch data;
  data.obs = torch::randn({n, 4});
  data.act = torch::randn({n, 1});
  data.next_obs = data.obs + 0.1 * torch::randn({n, 4});
  data.reward = torch::zeros({n});
  data.terminated = torch::zeros({n});
  auto gen = at::detail::createCPUGenerator(0);
  TrainEnsemble(model, data, gen);  // warm-up
  std::vector<double> t;
  for (int i = 0; i < repeats; ++i) {
    const auto t0 = Clock::now();
    const auto stats = TrainEnsemble(model, data, gen);
    t.push_back(Seconds(t0) / stats.epochs);
  }
  const double rate = n * (1 - mc.holdout) / Median(t);  // training rows per second
  // matmul FLOP per transition: forward, weight gradients, input gradients below the first layer
  const double first = 2.0 * model->w[0].size(1) * model->w[0].size(2);
  const double flop = mc.members * (3 * ForwardFlop(model) - first);
  const double gemm = GemmGflops(mc.members, mc.batch_size, mc.hidden);
  Emit({{"bench", "train"},
        {"members", mc.members},
        {"hidden", mc.hidden},
        {"layers", mc.layers},
        {"batch", mc.batch_size},
        {"transitions", n},
        {"transitions_per_s", rate},
        {"gflops", rate * flop / 1e9},
        {"gemm_gflops", gemm},
        {"fraction_of_gemm", rate * flop / 1e9 / gemm},
        {"torch_threads", torch_threads},
        {"blas_threads", BlasThreads()},
        {"malloc_tuned", tune_malloc}});
  std::fprintf(stderr,
               "ensemble training (E=7, 4x200, batch 256, 10k): %.0f transitions/s, %.1f GFLOP/s "
               "(%.0f%% of GEMM %.1f)\n",
               rate, rate * flop / 1e9, 100 * rate * flop / 1e9 / gemm, gemm);
  return 0;
}

// Matmul FLOP of one SAC update per batch row, from the weight shapes (see Sac::Gradients):
// the actor forward twice (s, s'), the critics twice and the targets once; the critics' weight
// gradients and their input gradients (below the first layer in the critic branch, all the
// way to the action in the actor branch); the actor's weight gradients and input gradients
// below its first layer.
double SacFlopPerRow(Sac& sac) {
  double a = 0, a0 = 0, c = 0, c0 = 0;  // actor, critics (both twins); first layers
  for (const auto& item : sac->named_parameters()) {
    const auto& key = item.key();
    const auto& w = item.value();
    if (key.rfind("actor_w", 0) == 0) {
      a += 2.0 * w.size(0) * w.size(1);
      if (key == "actor_w0") a0 = 2.0 * w.size(0) * w.size(1);
    } else if (key.rfind("critic_w", 0) == 0) {
      c += 2.0 * w.size(0) * w.size(1) * w.size(2);
      if (key == "critic_w0") c0 = 2.0 * w.size(0) * w.size(1) * w.size(2);
    }
  }
  return 4 * a - a0 + 6 * c - c0;
}

// SAC updates/s (batch 256, 2x256 ReLU; critic + actor + temperature steps + Polyak)
int BenchSac(const PhaseThreads& threads, int repeats, bool tune_malloc) {
  SetThreads(threads.torch, threads.blas);
  if (tune_malloc) TuneAllocator();
  std::fprintf(stderr, "threads torch %d, openblas %d\n", threads.torch, BlasThreads());
  const int64_t n = 256;
  const double gemm = GemmGflops(2, n, SacConfig().hidden);  // the twin critics' hidden layer
  std::fprintf(stderr, "%-24s %12s %12s %10s %10s %8s\n", "case", "updates/s", "ms/update",
               "GFLOP/s", "GEMM GF/s", "of GEMM");
  const std::tuple<const char*, int, int> cases[] = {{"hopper", 11, 3}, {"halfcheetah", 17, 6}};
  for (const auto& [name, obs, act] : cases) {
    SacConfig cfg;
    Sac sac(obs, act, std::vector<float>(act, -1.f), std::vector<float>(act, 1.f), cfg,
            torch::kCPU);
    auto gen = at::detail::createCPUGenerator(0);
    Batch b{torch::randn({n, obs}), torch::rand({n, act}) * 2 - 1, torch::randn({n}),
            torch::randn({n, obs}), (torch::rand({n}) < 0.05).to(torch::kFloat32)};
    for (int i = 0; i < 50; ++i) sac->Update(b, gen);  // warm-up
    std::vector<double> rates;
    for (int r = 0; r < repeats; ++r) rates.push_back(Rate(1.0, [&] { sac->Update(b, gen); }));
    const double rate = Median(rates), gflops = rate * n * SacFlopPerRow(sac) / 1e9;
    Emit({{"bench", "sac"},
          {"case", name},
          {"obs_dim", obs},
          {"act_dim", act},
          {"batch", n},
          {"hidden", cfg.hidden},
          {"layers", cfg.layers},
          {"updates_per_s", rate},
          {"gflops", gflops},
          {"gemm_gflops", gemm},
          {"fraction_of_gemm", gflops / gemm},
          {"torch_threads", threads.torch},
          {"blas_threads", BlasThreads()}});
    std::fprintf(stderr, "%-24s %12.0f %12.2f %10.1f %10.1f %7.0f%%\n", name, rate, 1000 / rate,
                 gflops, gemm, 100 * gflops / gemm);
  }
  // MBPO model rollout step: 100k start states, E=7 (5 elites) 4x200, policy + model + reward
  {
    const int obs = 11, act = 3;
    EnsembleConfig mc;
    mc.learned_reward = true;
    Ensemble model(obs, act, mc);
    SacConfig cfg;
    Sac sac(obs, act, std::vector<float>(act, -1.f), std::vector<float>(act, 1.f), cfg,
            torch::kCPU);
    auto gen = at::detail::createCPUGenerator(0);
    const auto elites = model->Members(model->elites);
    const int64_t rows = 20000;
    auto start = torch::randn({rows, obs});
    torch::NoGradGuard ng;
    const double rate = Rate(2.0, [&] {
      auto a = sac->Act(start, false, gen);
      auto perm = MemberPermutation(rows, elites.members(), gen, torch::kCPU);
      SampleThroughMembers(elites, model->Inputs(start, a), perm, gen);
    });
    Emit({{"bench", "model_rollout"},
          {"obs_dim", obs},
          {"act_dim", act},
          {"rows", rows},
          {"transitions_per_s", rate * rows},
          {"torch_threads", threads.torch},
          {"blas_threads", BlasThreads()}});
    std::fprintf(stderr, "%-24s %12.0f transitions/s\n", "model rollout (hopper)", rate * rows);
  }
  return 0;
}

// Dreamer's two training phases: a world-model step on [B,T] sequences and an imagination +
// actor-critic step from every posterior state. Default: the DreamerV3-sized case.
int BenchRssm(const ThreadsConfig& threads, int repeats, bool tune_malloc) {
  if (tune_malloc) TuneAllocator();
  struct Case {
    const char* name;
    int obs, act;
    RssmConfig model;
    ActorCriticConfig behavior;
    int starts;
  };
  Case v3{"v3_512", 24, 6, {}, {}, 1024};
  v3.model.deter = 512, v3.model.units = 512, v3.model.stoch = 32, v3.model.classes = 32;
  v3.model.batch_size = 16, v3.model.seq_len = 64;
  v3.behavior.units = 512;
  const DreamerConfig d;
  Case lean{"dreamer_default", 5, 1, d.model, d.behavior, d.imagine_starts};
  std::fprintf(stderr, "%-20s %10s %10s %14s %14s\n", "case", "wm ms", "ac ms", "wm torch/blas",
               "ac torch/blas");
  for (auto& c : {v3, lean}) {
    Rssm rssm(c.obs, c.act, c.model);
    ActorCritic ac(static_cast<int>(rssm->FeatureSize()), c.act, c.behavior, torch::kCPU);
    auto gen = at::detail::createCPUGenerator(0);
    const int64_t b = c.model.batch_size, t = c.model.seq_len;
    SequenceBatch batch{torch::randn({b, t, c.obs}), torch::rand({b, t, c.act}) * 2 - 1,
                        torch::randn({b, t}),        torch::randn({b, t, c.obs}),
                        torch::zeros({b, t}),        torch::zeros({b, t}),
                        torch::ones({b, t})};
    RssmSequence post;
    const auto wm = [&] {
      ScopedThreads pools(threads.train);
      rssm->Update(batch, gen, &post);
    };
    const auto imagine = [&] {
      ScopedThreads pools(threads.update);
      auto start = post.Flat();
      const int64_t n = c.starts > 0 ? c.starts : start.deter.size(0);
      start = {start.deter.narrow(0, 0, n), start.stoch.narrow(0, 0, n),
               start.stats.narrow(0, 0, n)};
      ImagineAndLearn(rssm, ac, start, gen);
    };
    wm();
    std::vector<double> wm_s, ac_s;
    for (int r = 0; r < repeats; ++r) {
      wm_s.push_back(1 / Rate(2.0, wm));
      ac_s.push_back(1 / Rate(2.0, imagine));
    }
    const double w = Median(wm_s), a = Median(ac_s);
    Emit({{"bench", "rssm"},
          {"case", c.name},
          {"batch", b},
          {"seq_len", t},
          {"obs_dim", c.obs},
          {"act_dim", c.act},
          {"deter", c.model.deter},
          {"units", c.model.units},
          {"stoch", c.model.stoch},
          {"classes", c.model.classes},
          {"horizon", c.behavior.horizon},
          {"wm_step_s", w},
          {"ac_step_s", a},
          {"train_step_s", w + a},
          {"wm_threads", {threads.train.torch, threads.train.blas}},
          {"ac_threads", {threads.update.torch, threads.update.blas}}});
    std::fprintf(stderr, "%-20s %10.1f %10.1f %9d/%d %9d/%d\n", c.name, 1000 * w, 1000 * a,
                 threads.train.torch, threads.train.blas, threads.update.torch,
                 threads.update.blas);
  }
  return 0;
}

// Matmul FLOP per row of a normed MLP, all members: 2 in out per layer.
double RowFlop(const NormedMlp& net) {
  double flop = 0;
  for (const auto& w : net->w) flop += 2.0 * w.size(0) * w.size(1) * w.size(2);
  return flop;
}

// TD-MPC2's two phases at the agent's settings: one update (batch B, horizon T) and one
// planning step (encode, prior proposals, elite MPPI). FLOP counts the matmuls, training graphs
// at 3x their forward; the GEMM share is against the best bmm rate of this machine.
int BenchTdMpc2(const ThreadsConfig& threads, int repeats, bool tune_malloc) {
  if (tune_malloc) TuneAllocator();
  struct Case {
    const char* name;
    int obs, act;
    TdMpc2AgentConfig cfg;
  };
  TdMpc2AgentConfig lean, full, small;
  full.model.latent = 512, full.model.units = 512, full.model.enc_units = 256;
  // configs/tdmpc2_dmc_cartpole.json
  small.model.latent = 64, small.model.units = 128, small.model.enc_units = 128;
  small.model.batch_size = 128;
  const Case cases[] = {{"cartpole_config", 5, 1, small},
                        {"default_cartpole", 5, 1, lean},
                        {"default_walker", 24, 6, lean},
                        {"tdmpc2_5m_walker", 24, 6, full}};
  const double gemm = GemmGflops(1, 768, 256);
  std::fprintf(stderr, "GEMM rate (bmm 768x256x256, best pool split): %.1f GFLOP/s\n", gemm);
  std::fprintf(stderr, "%-18s %10s %10s %12s %12s\n", "case", "update ms", "plan ms",
               "update GEMM%", "plan GEMM%");
  for (const auto& c : cases) {
    const auto& m = c.cfg.model;
    const auto& pc = c.cfg.planner;
    TdMpc2 model(c.obs, c.act, m, c.cfg.discount);
    auto planner = MakePlanner(pc, std::vector<float>(c.act, -1.f), std::vector<float>(c.act, 1.f),
                               torch::kCPU, 1);
    auto gen = at::detail::createCPUGenerator(0);
    const int64_t b = m.batch_size, t = m.horizon;
    auto obs = torch::randn({t + 1, b, c.obs}), act = torch::rand({t, b, c.act}) * 2 - 1;
    auto rew = torch::rand({t, b}), term = torch::zeros({t, b}), mask = torch::ones({t, b});
    const auto update = [&] {
      ScopedThreads pools(threads.update);
      model->Update(obs, act, rew, term, mask, gen);
    };
    auto one = torch::randn({1, c.obs});
    const auto plan = [&] {
      ScopedThreads pools(threads.plan);
      torch::NoGradGuard ng;
      auto z = model->Encode(one);
      planner->Plan(MakeObjective(model, z, gen),
                    model->Proposals(z, c.cfg.proposals, pc.horizon, gen));
    };
    update();
    if (const char* prof = std::getenv("MBRL_PROFILE")) {  // chrome traces of 5 calls each
      {
        torch::autograd::profiler::RecordProfile guard(std::string(prof) + "_" + c.name +
                                                       "_update.json");
        for (int i = 0; i < 5; ++i) update();
      }
      torch::autograd::profiler::RecordProfile guard(std::string(prof) + "_" + c.name +
                                                     "_plan.json");
      for (int i = 0; i < 5; ++i) plan();
    }
    std::vector<double> up_s, plan_s;
    for (int r = 0; r < repeats; ++r) {
      up_s.push_back(1 / Rate(2.0, update));
      plan_s.push_back(1 / Rate(2.0, plan));
    }
    const double u = Median(up_s), p = Median(plan_s);
    // rows through each net
    const double enc = RowFlop(model->encoder()), dyn = RowFlop(model->dynamics()),
                 rw = RowFlop(model->reward_net()), pi = RowFlop(model->pi_net()),
                 q = RowFlop(model->q_net()), q2 = q * 2 / m.num_q;
    const double tb = double(t) * b, t1b = double(t + 1) * b;
    const double up_flop =
        tb * (enc + pi + q2) + 3 * (b * enc + tb * (dyn + rw + q)) + 3 * t1b * (pi + q2);
    const double n = pc.population, h = pc.horizon, k = c.cfg.proposals;
    const double plan_flop =
        enc + k * (h * pi + (h - 1) * dyn) + pc.iterations * n * (h * (dyn + rw) + pi + q2);
    const double up_share = up_flop / u / 1e9 / gemm, plan_share = plan_flop / p / 1e9 / gemm;
    Emit({{"bench", "tdmpc2"},
          {"case", c.name},
          {"obs_dim", c.obs},
          {"act_dim", c.act},
          {"latent", m.latent},
          {"units", m.units},
          {"batch", b},
          {"horizon", t},
          {"population", pc.population},
          {"iterations", pc.iterations},
          {"update_s", u},
          {"plan_s", p},
          {"update_gflop", up_flop / 1e9},
          {"plan_gflop", plan_flop / 1e9},
          {"gemm_gflops", gemm},
          {"update_gemm_share", up_share},
          {"plan_gemm_share", plan_share},
          {"update_threads", {threads.update.torch, threads.update.blas}},
          {"plan_threads", {threads.plan.torch, threads.plan.blas}}});
    std::fprintf(stderr, "%-18s %10.1f %10.1f %11.0f%% %11.0f%%\n", c.name, 1000 * u, 1000 * p,
                 100 * up_share, 100 * plan_share);
  }
  return 0;
}

// Microseconds per call: median of 5 half-second rate measurements.
double MicrosPerCall(const std::function<void()>& fn) {
  std::vector<double> rates;
  for (int r = 0; r < 5; ++r) rates.push_back(Rate(0.5, fn));
  return 1e6 / Median(rates);
}

// Per-action latency of the exported policy (Hopper-shaped SAC actor, one observation per call):
// LibTorch eager, TorchScript in C++, the native runtime; then Dreamer's recurrent policy. Files go
// to `dir` for scripts/bench_export_onnx.py (ONNX Runtime and TorchScript from Python).
int BenchExport(const std::string& dir) {
  SetThreads(1, 1);
  const int obs = 11, act = 3;
  torch::manual_seed(0);
  Sac sac(obs, act, std::vector<float>(act, -1.f), std::vector<float>(act, 1.f), SacConfig{},
          torch::kCPU);
  const PolicyNet net = sac->Policy();
  for (auto f : {ExportFormat::kNative, ExportFormat::kTorchScript, ExportFormat::kOnnx})
    WritePolicy(net, f, dir + "/policy" + ExportExtension(f));
  auto x = torch::randn({1, obs});
  auto module = torch::jit::load(dir + "/policy.pt");
  NativePolicy native = NativePolicy::Load(dir + "/policy.mbrlp");
  std::vector<float> o(x.data_ptr<float>(), x.data_ptr<float>() + obs), a(act);
  torch::NoGradGuard ng;
  const std::pair<const char*, std::function<void()>> cases[] = {
      {"libtorch_eager", [&] { sac->Deterministic(x); }},
      {"torchscript_cpp", [&] { module.forward({x}); }},
      {"native", [&] { native.Act(o.data(), a.data()); }}};
  std::fprintf(stderr, "%-20s %12s\n", "runtime", "us/action");
  for (const auto& [name, fn] : cases) {
    const double us = MicrosPerCall(fn);
    Emit({{"bench", "export_latency"},
          {"runtime", name},
          {"obs_dim", obs},
          {"act_dim", act},
          {"hidden", 256},
          {"layers", 2},
          {"us_per_action", us}});
    std::fprintf(stderr, "%-20s %12.2f\n", name, us);
  }
  // Dreamer's recurrent policy at the default size (cartpole shapes: obs 5, act 1)
  const DreamerConfig d;
  Rssm rssm(5, 1, d.model);
  ActorCritic ac(static_cast<int>(rssm->FeatureSize()), 1, d.behavior, torch::kCPU);
  const auto program = DreamerPolicyProgram(rssm, ac, torch::ones({1}), torch::zeros({1}));
  for (auto f : {ExportFormat::kNative, ExportFormat::kTorchScript, ExportFormat::kOnnx})
    WriteRecurrentPolicy(program, f, dir + "/recurrent" + ExportExtension(f, true));
  auto script = torch::jit::load(dir + "/recurrent.pt");
  auto rnative = NativeRecurrentPolicy::Load(dir + "/recurrent.mbrlr");
  auto robs = torch::randn({1, 5});
  auto rstate = script.run_method("initial_state", 1).toTensor();
  Eigen::VectorXf nstate = rnative.InitialState();
  float raction = 0;
  const std::pair<const char*, std::function<void()>> recurrent[] = {
      {"torchscript_cpp",
       [&] {
         script.forward({robs, rstate});
       }},
      {"native", [&] { rnative.Act(robs.data_ptr<float>(), nstate.data(), &raction); }}};
  for (const auto& [name, fn] : recurrent) {
    const double us = MicrosPerCall(fn);
    Emit({{"bench", "export_latency_recurrent"},
          {"runtime", name},
          {"obs_dim", 5},
          {"act_dim", 1},
          {"deter", d.model.deter},
          {"state_dim", program.state_dim},
          {"us_per_action", us}});
    std::fprintf(stderr, "dreamer %-12s %12.2f\n", name, us);
  }
  std::fprintf(stderr, "files in %s (ONNX: scripts/bench_export_onnx.py %s)\n", dir.c_str(),
               dir.c_str());
  return 0;
}

}  // namespace

// What a number depends on: the CPU's vector extensions and the BLAS kernel that ran.
void EmitHost() {
  const auto flags = CpuFlags();
  const std::string core = BlasCoreName();
  const char* forced = std::getenv("OPENBLAS_CORETYPE");
  Emit({{"bench", "host"},
        {"cpu_flags", flags},
        {"blas_core", core},
        {"openblas_coretype", forced ? forced : ""}});
  std::string list;
  for (const auto& f : flags) list += " " + f;
  std::fprintf(stderr, "host: CPU flags%s; OpenBLAS kernel %s%s\n", list.c_str(), core.c_str(),
               forced ? (std::string(" (OPENBLAS_CORETYPE=") + forced + ")").c_str() : "");
  const bool avx2 = std::find(flags.begin(), flags.end(), "avx2") != flags.end();
  if (avx2 && core == "Prescott")
    std::fprintf(stderr,
                 "host: OpenBLAS did not recognise this CPU and runs its generic kernel; "
                 "OPENBLAS_CORETYPE=Haswell (or SkylakeX with avx512f) is several times faster\n");
}

int Bench(const std::vector<std::string>& args) {
  MBRL_CHECK(!args.empty(), "bench: say what to benchmark: env");
  int64_t steps = 20000, torch_threads = 0, blas_threads = -1, repeats = 5;
  bool tune_malloc = true;
  std::string out;
  const auto number = [&](size_t& i, int64_t* out) {
    const std::string& flag = args[i];
    MBRL_CHECK(i + 1 < args.size(), flag, " needs a value");
    const std::string& v = args[++i];
    size_t used = 0;
    try {
      *out = std::stoll(v, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    MBRL_CHECK(used == v.size() && *out >= 0, flag, ": expected an integer >= 0, got '", v, "'");
  };
  for (size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--steps") {
      number(i, &steps);
    } else if (args[i] == "--threads") {
      number(i, &torch_threads);
    } else if (args[i] == "--blas-threads") {
      number(i, &blas_threads);
    } else if (args[i] == "--repeats") {
      number(i, &repeats);
    } else if (args[i] == "--out") {
      MBRL_CHECK(i + 1 < args.size(), "--out needs a directory");
      out = args[++i];
    } else if (args[i] == "--no-malloc-tuning") {
      tune_malloc = false;
    } else {
      throw Error("bench: unexpected argument '" + args[i] + "'");
    }
  }
  EmitHost();
  // each phase runs with the run config's default pools unless --threads/--blas-threads say
  const ThreadsConfig defaults;
  const auto pools = [&](const PhaseThreads& d) {
    return PhaseThreads{torch_threads > 0 ? static_cast<int>(torch_threads) : d.torch,
                        blas_threads >= 0 ? static_cast<int>(blas_threads) : d.blas};
  };
  if (args[0] == "env") return BenchEnv(steps);
  if (args[0] == "export") return BenchExport(out.empty() ? "/tmp/mbrl_bench_export" : out);
  if (args[0] == "planner")
    return BenchPlanner(pools(defaults.plan), static_cast<int>(repeats), tune_malloc);
  if (args[0] == "train")
    return BenchTrain(pools(defaults.train), static_cast<int>(repeats), tune_malloc);
  if (args[0] == "rssm") {
    ThreadsConfig t;
    t.train = {pools({1, 2})};  // the world-model step's pools in the RSSM configs
    t.update = {pools(defaults.update)};
    return BenchRssm(t, static_cast<int>(repeats), tune_malloc);
  }
  if (args[0] == "tdmpc2") {
    ThreadsConfig t;  // the pools configs/tdmpc2_*.json use
    t.update = {pools({1, 2})};
    t.plan = {pools({1, 2})};
    return BenchTdMpc2(t, static_cast<int>(repeats), tune_malloc);
  }
  if (args[0] == "sac")
    return BenchSac(pools(defaults.update), static_cast<int>(repeats), tune_malloc);
  if (args[0] == "search") return BenchSearch(pools({1, 1}), 1.5);
  throw Error("bench: unknown benchmark '" + args[0] +
              "' (known: env, planner, train, sac, rssm, tdmpc2, search, export)");
}

}  // namespace mbrl
