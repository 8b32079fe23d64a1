#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "envs/env.h"
#include "envs/mujoco_env.h"
#include "mbrl/config/config.h"
#include "mbrl/core/check.h"
#include "tests/env_recording.h"
#include "tests/test_util.h"

namespace mbrl {
namespace {

struct Expected {
  const char* name;
  int obs, act;
  double dt;
  int max_steps;
  float bound;
  double total_mass;  // shared/TASKS.md measured totals; where it gives none, the total of the
                      // Gymnasium asset loaded in MuJoCo 2.2.2
};

const Expected kTasks[] = {
    {"cartpole_swingup", 4, 1, 0.04, 200, 3.f, 15.49},
    {"inverted_pendulum", 4, 1, 0.04, 1000, 3.f, 15.49},
    {"half_cheetah", 17, 6, 0.05, 1000, 1.f, 14.0},
    {"hopper", 11, 3, 0.008, 1000, 1.f, 15.82},
    {"inverted_double_pendulum", 9, 1, 0.05, 1000, 1.f, 18.87},
    {"walker2d", 17, 6, 0.008, 1000, 1.f, 23.68},
    {"ant", 105, 8, 0.05, 1000, 1.f, 0.911},
    {"reacher", 10, 2, 0.02, 50, 1.f, 0.0785},
    {"pusher", 23, 7, 0.05, 100, 2.f, 13.673},
    {"swimmer", 8, 2, 0.04, 1000, 1.f, 106.81},
};

TEST(Envs, SpecsMatchTheTaskTable) {
  const auto names = EnvNames();  // dmc_* tasks: tests/dmc_envs_test.cc
  const auto gym = std::count_if(names.begin(), names.end(), [](const std::string& n) {
    // tests/registry_test.cc registers test_* tasks
    return n.rfind("dmc_", 0) != 0 && n.rfind("test_", 0) != 0;
  });
  ASSERT_EQ(static_cast<size_t>(gym), std::size(kTasks));
  for (const auto& e : kTasks) {
    SCOPED_TRACE(e.name);
    auto env = MakeEnv(e.name);
    const auto& s = env->spec();
    EXPECT_EQ(s.obs_dim, e.obs);
    EXPECT_EQ(s.act_dim, e.act);
    EXPECT_NEAR(s.dt, e.dt, 1e-12);
    EXPECT_EQ(s.max_steps, e.max_steps);
    for (int i = 0; i < s.act_dim; ++i) {
      EXPECT_EQ(s.act_low[i], -e.bound);
      EXPECT_EQ(s.act_high[i], e.bound);
    }
    auto obs = env->Reset(0);
    EXPECT_EQ(obs.dtype(), torch::kFloat32);
    EXPECT_EQ(obs.sizes(), torch::IntArrayRef({e.obs}));
    auto* mj = dynamic_cast<MujocoEnv*>(env.get());
    ASSERT_NE(mj, nullptr);
    EXPECT_NEAR(mj_getTotalmass(mj->model()), e.total_mass, 1e-3 * e.total_mass + 1e-4);
  }
}

TEST(Envs, NoMujocoWarningsOverRandomPlay) {
  for (const auto& e : kTasks) {
    SCOPED_TRACE(e.name);
    auto env = MakeEnv(e.name);
    Record(*env, 3, 1500);
    EXPECT_EQ(dynamic_cast<MujocoEnv*>(env.get())->WarningCount(), 0);
  }
}

TEST(Envs, SameSeedSameTrajectoryOtherSeedDiffers) {
  for (const auto& e : kTasks) {
    SCOPED_TRACE(e.name);
    auto a = MakeEnv(e.name), b = MakeEnv(e.name);
    auto ra = Record(*a, 11, 300), rb = Record(*b, 11, 300), rc = Record(*b, 12, 300);
    EXPECT_TRUE(torch::equal(ra.next_obs, rb.next_obs));
    EXPECT_TRUE(torch::equal(ra.reward, rb.reward));
    EXPECT_FALSE(torch::equal(ra.obs[0], rc.obs[0]));
  }
}

TEST(Envs, ActionsAreClippedToBounds) {
  for (const auto& e : kTasks) {
    SCOPED_TRACE(e.name);
    auto a = MakeEnv(e.name), b = MakeEnv(e.name);
    a->Reset(5), b->Reset(5);
    const int n = a->spec().act_dim;
    auto big = torch::full({n}, 50.f), at_bound = torch::full({n}, e.bound);
    for (int i = 0; i < 5; ++i) {
      auto ra = a->Step(big), rb = b->Step(at_bound);
      EXPECT_TRUE(torch::equal(ra.obs, rb.obs));
      EXPECT_DOUBLE_EQ(ra.reward, rb.reward);  // control cost on the clipped action
    }
    auto* mj = dynamic_cast<MujocoEnv*>(a.get());
    for (int i = 0; i < n; ++i) EXPECT_EQ(mj->data()->ctrl[i], e.bound);
    EXPECT_THROW(a->Step(torch::full({n}, NAN)), Error);
    EXPECT_THROW(a->Step(torch::zeros({n + 1})), Error);
  }
}

TEST(Envs, TruncatesAtMaxSteps) {
  auto env = MakeEnv("cartpole_swingup", {"", 7});
  env->Reset(0);
  for (int i = 0; i < 6; ++i) EXPECT_FALSE(env->Step(torch::zeros({1})).truncated);
  auto last = env->Step(torch::zeros({1}));
  EXPECT_TRUE(last.truncated);
  EXPECT_FALSE(last.terminated);
}

// batched reward/termination against hand-computed values
TEST(Envs, CartpoleRewardOnHandComputedStates) {
  auto env = MakeEnv("cartpole_swingup");
  const double pi = M_PI;
  // upright over x = 0 with a = 0 -> 1; hanging down -> exp(-1.2^2/0.36); cost 0.01 a^2
  auto next = torch::tensor({{0.0, pi, 0.0, 0.0}, {0.0, 0.0, 0.0, 0.0}, {0.6, pi / 2, 0.0, 0.0}},
                            torch::kFloat32);
  auto act = torch::tensor({{0.0}, {2.0}, {0.0}}, torch::kFloat32);
  auto r = env->Reward(next, act, next);
  EXPECT_NEAR(r[0].item<float>(), 1.0, 1e-6);
  EXPECT_NEAR(r[1].item<float>(), std::exp(-4.0) - 0.04, 1e-6);
  // x = 0.6, theta = pi/2: tip at (0, 0) -> distance 0.6 -> exp(-1)
  EXPECT_NEAR(r[2].item<float>(), std::exp(-1.0), 1e-6);
  EXPECT_FALSE(env->Terminated(next).any().item<bool>());
}

TEST(Envs, InvertedPendulumRewardAndTermination) {
  auto env = MakeEnv("inverted_pendulum");
  auto next = torch::tensor({{0.f, 0.1f, 0.f, 0.f}, {0.f, -0.25f, 0.f, 0.f}, {0.f, NAN, 0.f, 0.f}});
  auto term = env->Terminated(next);
  EXPECT_FALSE(term[0].item<bool>());
  EXPECT_TRUE(term[1].item<bool>());
  EXPECT_TRUE(term[2].item<bool>());
  auto r = env->Reward(next, torch::zeros({3, 1}), next);
  EXPECT_FLOAT_EQ(r[0].item<float>(), 1.f);
  EXPECT_FLOAT_EQ(r[1].item<float>(), 0.f);
}

TEST(Envs, HopperRewardAndTermination) {
  auto env = MakeEnv("hopper");
  auto healthy = torch::zeros({11});
  healthy[0] = 1.25, healthy[5] = 0.5;  // z, forward velocity
  auto low = healthy.clone(), tilted = healthy.clone(), edge = healthy.clone();
  low[0] = 0.6, tilted[1] = 0.3, edge[0] = 0.7;  // z must be > 0.7 strictly
  auto next = torch::stack({healthy, low, tilted, edge});
  auto term = env->Terminated(next);
  EXPECT_FALSE(term[0].item<bool>());
  EXPECT_TRUE(term[1].item<bool>());
  EXPECT_TRUE(term[2].item<bool>());
  EXPECT_TRUE(term[3].item<bool>());
  auto act = torch::full({4, 3}, 0.5f);
  auto r = env->Reward(next, act, next);
  EXPECT_NEAR(r[0].item<float>(), 0.5 + 1.0 - 1e-3 * 0.75, 1e-6);
  EXPECT_NEAR(r[1].item<float>(), 0.5 - 1e-3 * 0.75, 1e-6);  // no healthy reward
}

TEST(Envs, HalfCheetahRewardNeverTerminates) {
  auto env = MakeEnv("half_cheetah");
  auto next = torch::zeros({2, 17});
  next[0][8] = 2.0;
  auto r = env->Reward(next, torch::ones({2, 6}), next);
  EXPECT_NEAR(r[0].item<float>(), 2.0 - 0.6, 1e-6);
  EXPECT_NEAR(r[1].item<float>(), -0.6, 1e-6);
  EXPECT_FALSE(env->Terminated(next).any().item<bool>());
}

TEST(Envs, InvertedDoublePendulumRewardAndTermination) {
  auto env = MakeEnv("inverted_double_pendulum");
  // obs [x, sin th1, sin th2, cos th1, cos th2, v0, w1, w2, f]
  auto upright = torch::zeros({9});
  upright[3] = 1, upright[4] = 1;
  auto shifted = upright.clone(), bent = upright.clone();
  shifted[0] = 0.5, shifted[6] = 2, shifted[7] = -1;  // x = 0.5, w1 = 2, w2 = -1
  bent[2] = 1, bent[4] = 0;                           // th2 = pi/2: tip at (0.6, 0.6)
  auto next = torch::stack({upright, shifted, bent});
  auto term = env->Terminated(next);
  EXPECT_FALSE(term[0].item<bool>());
  EXPECT_FALSE(term[1].item<bool>());
  EXPECT_TRUE(term[2].item<bool>());
  auto r = env->Reward(next, torch::zeros({3, 1}), next);
  EXPECT_NEAR(r[0].item<float>(), 10 - 0.64, 1e-5);  // tip at (0, 1.2)
  EXPECT_NEAR(r[1].item<float>(), 10 - 0.01 * 0.25 - 0.64 - (1e-3 * 4 + 5e-3 * 1), 1e-5);
  EXPECT_NEAR(r[2].item<float>(), -(0.01 * 0.36 + 1.96), 1e-5);
}

TEST(Envs, Walker2dRewardAndTermination) {
  auto env = MakeEnv("walker2d");
  auto healthy = torch::zeros({17});
  healthy[0] = 1.25, healthy[1] = 0.9, healthy[8] = 0.5;  // z, angle, forward velocity
  auto low = healthy.clone(), high = healthy.clone(), tilted = healthy.clone();
  low[0] = 0.8, high[0] = 2.0, tilted[1] = -1.0;  // strict bounds
  auto next = torch::stack({healthy, low, high, tilted});
  auto term = env->Terminated(next);
  EXPECT_FALSE(term[0].item<bool>());
  EXPECT_TRUE(term[1].item<bool>());
  EXPECT_TRUE(term[2].item<bool>());
  EXPECT_TRUE(term[3].item<bool>());
  auto r = env->Reward(next, torch::full({4, 6}, 0.5f), next);
  EXPECT_NEAR(r[0].item<float>(), 0.5 + 1.0 - 1e-3 * 1.5, 1e-6);
  EXPECT_NEAR(r[1].item<float>(), 0.5 - 1e-3 * 1.5, 1e-6);
}

TEST(Envs, AntRewardAndTermination) {
  auto env = MakeEnv("ant");
  auto healthy = torch::zeros({105});
  healthy[0] = 0.55, healthy[13] = 1.5;            // z, forward velocity qvel[0]
  for (int i = 27; i < 31; ++i) healthy[i] = 0.5;  // clipped contact forces
  auto at_min = healthy.clone(), at_max = healthy.clone(), low = healthy.clone();
  auto high = healthy.clone(), nan = healthy.clone();
  at_min[0] = 0.2, at_max[0] = 1.0, low[0] = 0.19, high[0] = 1.01, nan[50] = NAN;
  auto next = torch::stack({healthy, at_min, at_max, low, high, nan});
  auto term = env->Terminated(next);
  const bool expected[] = {false, false, false, true, true, true};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(term[i].item<bool>(), expected[i]) << i;
  auto r = env->Reward(next, torch::full({6, 8}, 0.5f), next);
  // 1.5 + 1 - 0.5 * 8 * 0.25 - 5e-4 * 4 * 0.25
  EXPECT_NEAR(r[0].item<float>(), 1.5 + 1.0 - 1.0 - 5e-4, 1e-6);
  EXPECT_NEAR(r[3].item<float>(), 1.5 - 1.0 - 5e-4, 1e-6);
}

TEST(Envs, AntObservesContactForcesAfterLanding) {
  auto env = MakeEnv("ant");
  auto obs = env->Reset(1);
  EXPECT_TRUE(torch::equal(obs.slice(0, 27), torch::zeros({78})));  // none before a step
  bool contact = false;
  for (int i = 0; i < 40 && !contact; ++i) {
    auto res = env->Step(torch::zeros({8}));
    contact = res.obs.slice(0, 27).abs().sum().item<float>() > 0;
    EXPECT_LE(res.obs.slice(0, 27).abs().max().item<float>(), 1.f);
  }
  EXPECT_TRUE(contact);
  auto* mj = dynamic_cast<MujocoEnv*>(env.get());
  for (int i = 0; i < 6; ++i) EXPECT_EQ(mj->data()->cfrc_ext[i], 0.0);  // world: not observed
}

TEST(Envs, ReacherRewardNeverTerminates) {
  auto env = MakeEnv("reacher");
  auto next = torch::zeros({2, 10});
  next[0][8] = 0.3, next[0][9] = 0.4;  // fingertip - target
  auto act = torch::tensor({{0.5f, -0.5f}, {0.f, 0.f}});
  auto r = env->Reward(next, act, next);
  EXPECT_NEAR(r[0].item<float>(), -0.5 - 0.5, 1e-6);
  EXPECT_NEAR(r[1].item<float>(), 0.0, 1e-6);
  EXPECT_FALSE(env->Terminated(next).any().item<bool>());
}

TEST(Envs, PusherRewardNeverTerminates) {
  auto env = MakeEnv("pusher");
  auto next = torch::zeros({1, 23});
  next[0][17] = 0.3, next[0][18] = 0.4;  // object; tips_arm at 0
  next[0][21] = 0.4;                     // goal
  auto r = env->Reward(next, torch::ones({1, 7}), next);
  EXPECT_NEAR(r[0].item<float>(), -0.3 - 0.1 * 7 - 0.5 * 0.5, 1e-6);
  EXPECT_FALSE(env->Terminated(next).any().item<bool>());
}

TEST(Envs, SwimmerRewardNeverTerminates) {
  auto env = MakeEnv("swimmer");
  auto next = torch::zeros({1, 8});
  next[0][3] = 0.2;  // qvel[0]
  auto r = env->Reward(next, torch::ones({1, 2}), next);
  EXPECT_NEAR(r[0].item<float>(), 0.2 - 2e-4, 1e-6);
  EXPECT_FALSE(env->Terminated(next).any().item<bool>());
}

// reacher's goal lies in the 0.2 m disc and is at rest; pusher's object starts more than 0.17 m
// from the goal, which is at its rest position
TEST(Envs, ReacherAndPusherResetsPlaceGoalsAndObjects) {
  auto reacher = MakeEnv("reacher"), pusher = MakeEnv("pusher");
  auto* mr = dynamic_cast<MujocoEnv*>(reacher.get());
  auto* mp = dynamic_cast<MujocoEnv*>(pusher.get());
  for (uint64_t seed = 0; seed < 30; ++seed) {
    auto o = reacher->Reset(seed);
    EXPECT_LT(std::hypot(o[4].item<float>(), o[5].item<float>()), 0.2);
    EXPECT_EQ(mr->data()->qvel[2], 0.0);
    EXPECT_EQ(mr->data()->qvel[3], 0.0);
    auto p = pusher->Reset(seed);
    const float ox = p[17].item<float>() - 0.45f, oy = p[18].item<float>() + 0.05f;
    EXPECT_GT(std::hypot(ox, oy), 0.17);
    EXPECT_TRUE(ox >= -0.2f && ox <= 0.2f && oy >= -0.3f && oy <= 0.f) << ox << " " << oy;
    EXPECT_NEAR(p[20].item<float>(), 0.45, 1e-6);
    EXPECT_NEAR(p[21].item<float>(), -0.05, 1e-6);
    for (int i = 7; i < 11; ++i) EXPECT_EQ(mp->data()->qvel[i], 0.0);
  }
}

// the planners' batched functions equal the env's step reward and termination on real
// transitions (forward-velocity tasks: with velocity_obs, which makes the reward observable)
TEST(Envs, BatchedFunctionsMatchStepOnRecordedTransitions) {
  const std::pair<const char*, bool> cases[] = {{"cartpole_swingup", false},
                                                {"inverted_pendulum", false},
                                                {"half_cheetah", true},
                                                {"hopper", true},
                                                {"inverted_double_pendulum", false},
                                                {"walker2d", true},
                                                {"ant", true},
                                                {"reacher", false},
                                                {"pusher", false},
                                                {"swimmer", true}};
  for (const auto& [name, velocity_obs] : cases) {
    SCOPED_TRACE(name);
    auto env = MakeEnv(name, {"", 0, velocity_obs});
    auto rec = Record(*env, 21, 2000);
    EXPECT_TRUE(torch::equal(env->Terminated(rec.next_obs), rec.terminated.to(torch::kBool)));
    auto r = env->Reward(rec.obs, rec.act, rec.next_obs);
    // float32 observations vs the env's float64 state: 1e-5 relative
    EXPECT_TRUE(torch::allclose(r, rec.reward, 1e-5, 1e-5))
        << (r - rec.reward).abs().max().item<float>();
  }
}

TEST(Envs, VelocityObsPrependsTheStepVelocity) {
  auto plain = MakeEnv("half_cheetah"), vel = MakeEnv("half_cheetah", {"", 0, true});
  EXPECT_EQ(vel->spec().obs_dim, 18);
  auto o1 = plain->Reset(4), o2 = vel->Reset(4);
  EXPECT_EQ(o2[0].item<float>(), 0.f);
  EXPECT_TRUE(torch::equal(o1, o2.slice(0, 1)));
  auto a = torch::full({6}, 0.3f);
  auto r1 = plain->Step(a), r2 = vel->Step(a);
  EXPECT_TRUE(torch::equal(r1.obs, r2.obs.slice(0, 1)));
  EXPECT_DOUBLE_EQ(r1.reward, r2.reward);
  EXPECT_NEAR(r2.obs[0].item<float>(), r1.reward + 0.1 * 6 * 0.09, 1e-5);  // dx/dt
}

TEST(Envs, BadNamesAndMjcfPathsGiveClearErrors) {
  try {
    MakeEnv("hoper");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown task 'hoper'"), std::string::npos);
  }
  EXPECT_THROW(MakeEnv("hopper", {"/nonexistent/model.xml"}), Error);
  EXPECT_THROW(MakeEnv("cartpole_swingup", {"", 0, true}), Error);  // no velocity reward
  EXPECT_THROW(MakeEnv("reacher", {"", 0, true}), Error);
  const std::string bad = testing::TempDir() + "/bad.xml";
  std::ofstream(bad) << "<mujoco><worldbody><body><geom type='box'/></body></worldbody>";
  try {
    MakeEnv("hopper", {bad});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("MJCF does not load"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace mbrl

namespace mbrl {
namespace {

// A twin reset with another seed and set to a state is the same task: dmc_reacher's target (a
// model field drawn at reset) and the task's generator come with the state, so the twin's steps
// equal the original's to the bit.
TEST(Envs, ATwinSetToAStateIsTheSameTask) {
  auto env = MakeEnv("dmc_reacher_easy"), twin = MakeEnv("dmc_reacher_easy");
  auto* mj = dynamic_cast<MujocoEnv*>(env.get());
  auto* tj = dynamic_cast<MujocoEnv*>(twin.get());
  env->Reset(3);
  twin->Reset(4);
  const PhysicsState st = mj->GetState();
  ASSERT_EQ(st.task.size(), 2u);
  ASSERT_FALSE(st.rng.empty());
  EXPECT_NE(tj->GetState().task, st.task);
  ASSERT_TRUE(torch::equal(tj->SetState(st), mj->SetState(st)));
  EXPECT_EQ(tj->GetState().task, st.task);
  EXPECT_EQ(tj->GetState().rng, st.rng);
  const auto a = torch::tensor({0.3f, -0.7f});
  for (int t = 0; t < 50; ++t) {
    const StepResult r = env->Step(a), q = twin->Step(a);
    ASSERT_TRUE(torch::equal(r.obs, q.obs)) << t;
    ASSERT_EQ(r.reward, q.reward) << t;
  }
  PhysicsState bad = st;
  bad.task.pop_back();
  EXPECT_THROW(tj->SetState(bad), Error);
  bad = st;
  bad.rng = "not a generator";
  EXPECT_THROW(tj->SetState(bad), Error);
}

// A recorded state replays bit-exactly, in process (SetState) and through `mbrl envs step`
// (JSON lines: doubles round-trip): the same next observation and reward as the original step.
// Hopper and walker are in ground contact, where the solver's warm start matters.
TEST(Envs, StepFromARecordedStateIsBitExact) {
  for (const std::string task : {"hopper", "dmc_walker_walk", "ant"}) {
    auto env = MakeEnv(task);
    auto* mj = dynamic_cast<MujocoEnv*>(env.get());
    ASSERT_TRUE(mj);
    torch::manual_seed(5);
    env->Reset(5);
    const auto& s = env->spec();
    auto low = torch::tensor(s.act_low), high = torch::tensor(s.act_high);
    std::vector<PhysicsState> states;
    std::vector<torch::Tensor> acts;
    std::vector<StepResult> results;
    std::string lines;
    for (int i = 0; i < 40; ++i) {
      states.push_back(mj->GetState());
      acts.push_back(low + (high - low) * torch::rand({s.act_dim}));
      results.push_back(env->Step(acts.back()));
      const auto a = acts.back().to(torch::kFloat64).contiguous();
      const PhysicsState& st = states.back();
      lines += config::Json({{"qpos", st.qpos},
                             {"qvel", st.qvel},
                             {"act", st.act},
                             {"qacc_warmstart", st.qacc_warmstart},
                             {"time", st.time},
                             {"action", std::vector<double>(a.data_ptr<double>(),
                                                            a.data_ptr<double>() + s.act_dim)}})
                   .dump() +
               "\n";
    }
    auto replay = MakeEnv(task);
    auto* rj = dynamic_cast<MujocoEnv*>(replay.get());
    for (size_t i = 0; i < states.size(); ++i) {
      rj->SetState(states[i]);
      const StepResult r = replay->Step(acts[i]);
      if (i + 1 < states.size()) {  // the whole next state, to the bit
        const PhysicsState next = rj->GetState();
        ASSERT_EQ(next.qpos, states[i + 1].qpos) << task << " step " << i;
        ASSERT_EQ(next.qvel, states[i + 1].qvel) << task << " step " << i;
        ASSERT_EQ(next.qacc_warmstart, states[i + 1].qacc_warmstart) << task << " step " << i;
      }
      ASSERT_TRUE(torch::equal(r.obs, results[i].obs)) << task << " step " << i;
      ASSERT_EQ(r.reward, results[i].reward) << task << " step " << i;
    }
    const std::string in = testing::TempDir() + "/mbrl_states_" + task + ".jsonl";
    std::ofstream(in) << lines;
    auto out = Shell(std::string(MBRL_BINARY) + " envs step " + task + " < " + in);
    ASSERT_EQ(out.code, 0) << out.err;
    std::stringstream ss(out.out);
    size_t i = 0;
    for (std::string line; std::getline(ss, line); ++i) {
      const auto j = config::Json::parse(line);
      const auto next = j["next_obs"].get<std::vector<float>>();
      ASSERT_TRUE(torch::equal(torch::tensor(next), results[i].obs)) << task << " line " << i;
      ASSERT_EQ(j["reward"].get<double>(), results[i].reward) << task << " line " << i;
    }
    EXPECT_EQ(i, states.size());
  }
  auto bad = Shell("echo '{\"qpos\": [1]}' | " + std::string(MBRL_BINARY) + " envs step hopper");
  EXPECT_NE(bad.code, 0);
  EXPECT_NE(bad.err.find("stdin line 1: missing key 'qvel'"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace mbrl

namespace mbrl {
namespace {

// scripts/fidelity_check.py: from states recorded in the reference (Gymnasium / dm_control on
// MuJoCo 2.3.7, a venv in the build folder; skipped offline) our step gives the reference's next
// observation to float32 rounding, in contact too, and the same termination (docs/tasks.md)
TEST(Envs, OneStepAgreesWithTheReferenceTwins) {
  const std::string build = std::filesystem::path(MBRL_BINARY).parent_path().string();
  const std::string json = testing::TempDir() + "/mbrl_fidelity.json";
  std::filesystem::remove(json);
  auto r = Shell("cd " MBRL_SOURCE_DIR
                 " && timeout 850 /usr/bin/python3 scripts/fidelity_check.py"
                 " --mbrl " MBRL_BINARY " --venv " +
                 build +
                 "/fidelity_venv"
                 " --tasks inverted_pendulum,hopper,walker2d,dmc_walker_walk,dmc_cheetah_run"
                 " --episodes 2 --compare-steps 300 --json " +
                 json);
  if (r.out.find("skipped") != std::string::npos) GTEST_SKIP() << r.out;
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  const auto results = config::Json::parse(FileText(json))["results"];
  ASSERT_EQ(results.size(), 5u);
  for (const auto& t : results) {
    EXPECT_LT(t["d_obs"].get<double>(), 1e-5) << t["task"];
    EXPECT_EQ(t["term_mismatch"], 0) << t["task"];
    EXPECT_EQ(t["n_steps"], 300) << t["task"];
  }
}

}  // namespace
}  // namespace mbrl
