// DMC-style tasks (shared/TASKS-DMC.md) and the tolerance function their rewards are built from.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "envs/env.h"
#include "envs/mujoco_env.h"
#include "envs/tolerance.h"
#include "mbrl/core/check.h"
#include "tests/env_recording.h"

namespace mbrl {
namespace {

// ---- Tolerance ----

constexpr Sigmoid kAllSigmoids[] = {Sigmoid::kGaussian,   Sigmoid::kHyperbolic, Sigmoid::kLongTail,
                                    Sigmoid::kReciprocal, Sigmoid::kCosine,     Sigmoid::kLinear,
                                    Sigmoid::kQuadratic,  Sigmoid::kTanhSquared};

TEST(Tolerance, OneInsideInclusiveBoundsZeroOutsideWithoutMargin) {
  EXPECT_EQ(Tolerance(0.0, 0, 0), 1.0);
  EXPECT_EQ(Tolerance(1e-9, 0, 0), 0.0);
  EXPECT_EQ(Tolerance(-1.0, -1, 2), 1.0);
  EXPECT_EQ(Tolerance(2.0, -1, 2), 1.0);
  EXPECT_EQ(Tolerance(2.5, -1, 2), 0.0);
  EXPECT_EQ(Tolerance(1e9, 1.2, INFINITY), 1.0);
  EXPECT_EQ(Tolerance(-1e9, -INFINITY, -15), 1.0);
  EXPECT_EQ(Tolerance(-14.9, -INFINITY, -15), 0.0);
  for (Sigmoid s : kAllSigmoids) EXPECT_EQ(Tolerance(3.0, 0, 1, 0, s, 0.1), 0.0);
}

TEST(Tolerance, EverySigmoidIsOneAtTheBoundAndValueAtMarginOneMarginOut) {
  for (Sigmoid s : kAllSigmoids) {
    SCOPED_TRACE(static_cast<int>(s));
    EXPECT_EQ(Tolerance(1.0, 0, 1, 2, s, 0.3), 1.0);
    EXPECT_NEAR(Tolerance(1.0 + 1e-9, 0, 1, 2, s, 0.3), 1.0, 1e-6);
    EXPECT_NEAR(Tolerance(3.0, 0, 1, 2, s, 0.3), 0.3, 1e-12);   // d = 1 above
    EXPECT_NEAR(Tolerance(-2.0, 0, 1, 2, s, 0.3), 0.3, 1e-12);  // d = 1 below
  }
}

TEST(Tolerance, HandComputedValuesHalfAMarginOut) {
  // d = 0.5, value_at_margin v = 0.1; closed forms of s(d) at d = 1/2
  auto at_half = [](Sigmoid s, double v) { return Tolerance(1.5, -1, 1, 1, s, v); };
  EXPECT_NEAR(at_half(Sigmoid::kGaussian, 0.1), std::pow(0.1, 0.25), 1e-12);   // v^(d^2)
  EXPECT_NEAR(at_half(Sigmoid::kHyperbolic, 0.1), 1 / std::sqrt(5.5), 1e-12);  // 1/cosh(x/2)
  EXPECT_NEAR(at_half(Sigmoid::kLongTail, 0.1), 1 / 3.25, 1e-12);              // scale 3
  EXPECT_NEAR(at_half(Sigmoid::kReciprocal, 0.1), 1 / 5.5, 1e-12);             // scale 9
  EXPECT_NEAR(at_half(Sigmoid::kCosine, 0.1), (1 + std::sqrt(0.1)) / 2, 1e-12);
  EXPECT_NEAR(at_half(Sigmoid::kCosine, 0.0), 0.5, 1e-12);
  EXPECT_NEAR(at_half(Sigmoid::kLinear, 0.1), 0.55, 1e-12);
  EXPECT_NEAR(at_half(Sigmoid::kQuadratic, 0.0), 0.75, 1e-12);
  EXPECT_NEAR(at_half(Sigmoid::kTanhSquared, 0.1), 0.4805061467040842, 1e-12);
  // the compact-support sigmoids are 0 from |u| >= 1 on, the others stay positive
  EXPECT_EQ(Tolerance(2.2, 0, 0, 1, Sigmoid::kLinear, 0.1), 0.0);   // u = 1.98
  EXPECT_EQ(Tolerance(1.0, 0, 0, 1, Sigmoid::kQuadratic, 0), 0.0);  // u = 1
  EXPECT_EQ(Tolerance(5.0, 0, 0, 1, Sigmoid::kCosine, 0.2), 0.0);
  EXPECT_GT(Tolerance(5.0, 0, 0, 1, Sigmoid::kLongTail, 0.1), 0.0);
}

TEST(Tolerance, ClosedFormsTheTasksUse) {
  for (double x : {-3.0, 0.0, 0.4, 3.0, 7.5, 10.0, 12.0}) {
    // linear, bounds (S, inf), margin S, v = 0 and margin S/2, v = 0.5: clip(x/S, 0, 1)
    EXPECT_NEAR(Tolerance(x, 10, INFINITY, 10, Sigmoid::kLinear, 0), std::clamp(x / 10, 0., 1.),
                1e-12);
    EXPECT_NEAR(Tolerance(x / 10, 1, INFINITY, 0.5, Sigmoid::kLinear, 0.5),
                std::clamp(x / 10, 0., 1.), 1e-12);
    // quadratic, (0, 0), margin 1, v = 0: max(0, 1 - x^2); gaussian margin 2: 0.1^((x/2)^2)
    EXPECT_NEAR(Tolerance(x / 10, 0, 0, 1, Sigmoid::kQuadratic, 0), std::max(0., 1 - x * x / 100),
                1e-12);
    EXPECT_NEAR(Tolerance(x, 0, 0, 2), std::pow(0.1, x * x / 4), 1e-12);
  }
}

TEST(Tolerance, RejectsBadArguments) {
  EXPECT_THROW(Tolerance(0.0, 1, 0), Error);
  EXPECT_THROW(Tolerance(0.0, 0, 1, -1), Error);
  EXPECT_THROW(Tolerance(0.0, 0, 1, 1, Sigmoid::kGaussian, 0), Error);
  EXPECT_THROW(Tolerance(0.0, 0, 1, 1, Sigmoid::kLongTail, 1), Error);
  EXPECT_THROW(Tolerance(0.0, 0, 1, 1, Sigmoid::kLinear, 1), Error);
  EXPECT_THROW(Tolerance(torch::zeros({2}), 1, 0), Error);
  EXPECT_NO_THROW(Tolerance(0.0, 0, 1, 1, Sigmoid::kLinear, 0));
  EXPECT_NO_THROW(Tolerance(0.0, 0, 1, 0, Sigmoid::kGaussian, 0));  // v unused without margin
}

TEST(Tolerance, TensorFormMatchesScalarElementwise) {
  std::vector<double> xs;
  for (int i = -60; i <= 60; ++i) xs.push_back(0.1 * i);
  const auto x64 = torch::tensor(xs, torch::kFloat64);
  struct Case {
    double lo, hi, margin;
  };
  for (const Case& c : {Case{0, 0, 0}, Case{-1, 1, 0}, Case{0, 0, 2}, Case{-0.5, 1, 1.5},
                        Case{1.2, INFINITY, 0.6}, Case{-INFINITY, -1, 3}}) {
    for (Sigmoid s : kAllSigmoids) {
      for (double v : {0.1, 0.5}) {
        SCOPED_TRACE(testing::Message() << c.lo << " " << c.hi << " " << c.margin << " "
                                        << static_cast<int>(s) << " " << v);
        auto t64 = Tolerance(x64, c.lo, c.hi, c.margin, s, v);
        auto t32 = Tolerance(x64.to(torch::kFloat32), c.lo, c.hi, c.margin, s, v);
        ASSERT_EQ(t32.scalar_type(), torch::kFloat32);
        for (size_t i = 0; i < xs.size(); ++i) {
          const double want = Tolerance(xs[i], c.lo, c.hi, c.margin, s, v);
          EXPECT_NEAR(t64[i].item<double>(), want, 1e-12) << xs[i];
          EXPECT_NEAR(t32[i].item<double>(), want, 1e-5) << xs[i];
        }
      }
    }
  }
}

// ---- tasks ----

struct Expected {
  const char* name;
  int obs, act;
  double dt;
  double total_mass;  // shared/TASKS-DMC.md (sum of its per-body masses)
  bool velocity_obs;  // reward uses the centre-of-mass velocity (not in the plain observation)
};

const Expected kTasks[] = {
    {"dmc_cartpole_swingup", 5, 1, 0.01, 1.1, false},
    {"dmc_cartpole_balance", 5, 1, 0.01, 1.1, false},
    {"dmc_pendulum_swingup", 3, 1, 0.02, 1.0, false},
    {"dmc_cheetah_run", 17, 6, 0.01, 14.0, true},
    {"dmc_walker_walk", 24, 6, 0.025, 10.673 + 2 * (4.058 + 2.781 + 2.094), true},
    // arm and hand from the doc, plus the finger sphere (r 0.01, density 1000)
    {"dmc_reacher_easy", 6, 2, 0.02, 0.0419 + 0.0356 + 4e-3 * M_PI / 3, false},
    {"dmc_finger_spin", 9, 2, 0.02, 0.833 + 0.687 + 2.459, false},
    {"dmc_cup_catch", 8, 2, 0.02, 0.0652 + 0.0654, false},
};

MujocoEnv* Mj(Env& env) { return dynamic_cast<MujocoEnv*>(&env); }

TEST(DmcEnvs, SpecsMatchTheDoc) {
  for (const auto& e : kTasks) {
    SCOPED_TRACE(e.name);
    auto env = MakeEnv(e.name);
    const auto& s = env->spec();
    EXPECT_EQ(s.obs_dim, e.obs);
    EXPECT_EQ(s.act_dim, e.act);
    EXPECT_NEAR(s.dt, e.dt, 1e-12);
    EXPECT_EQ(s.max_steps, 1000);
    for (int i = 0; i < s.act_dim; ++i) {
      EXPECT_EQ(s.act_low[i], -1.f);
      EXPECT_EQ(s.act_high[i], 1.f);
    }
    auto obs = env->Reset(0);
    EXPECT_EQ(obs.sizes(), torch::IntArrayRef({e.obs}));
    EXPECT_NEAR(mj_getTotalmass(Mj(*env)->model()), e.total_mass, 1e-3 * e.total_mass);
    if (e.velocity_obs) {
      EXPECT_EQ(MakeEnv(e.name, {"", 0, true})->spec().obs_dim, e.obs + 1);
    } else {
      EXPECT_THROW(MakeEnv(e.name, {"", 0, true}), Error);
    }
  }
}

TEST(DmcEnvs, BodyMassesAndInertiasMatchTheDoc) {
  struct Body {
    const char* task;
    const char* body;
    double mass;
  };
  const Body bodies[] = {
      {"dmc_cheetah_run", "torso", 6.250},       {"dmc_cheetah_run", "bthigh", 1.544},
      {"dmc_cheetah_run", "bshin", 1.587},       {"dmc_cheetah_run", "bfoot", 1.095},
      {"dmc_cheetah_run", "fthigh", 1.438},      {"dmc_cheetah_run", "fshin", 1.201},
      {"dmc_cheetah_run", "ffoot", 0.885},       {"dmc_walker_walk", "torso", 10.673},
      {"dmc_walker_walk", "right_thigh", 4.058}, {"dmc_walker_walk", "left_leg", 2.781},
      {"dmc_walker_walk", "right_foot", 2.094},  {"dmc_reacher_easy", "arm", 0.0419},
      {"dmc_reacher_easy", "hand", 0.0356},      {"dmc_finger_spin", "proximal", 0.833},
      {"dmc_finger_spin", "distal", 0.687},      {"dmc_finger_spin", "spinner", 2.459},
      {"dmc_cup_catch", "cup", 0.0652},          {"dmc_cup_catch", "ball", 0.0654},
      {"dmc_pendulum_swingup", "pole", 1.0},     {"dmc_cartpole_swingup", "pole_1", 0.1},
  };
  for (const auto& b : bodies) {
    SCOPED_TRACE(std::string(b.task) + " " + b.body);
    auto env = MakeEnv(b.task);
    const mjModel* m = Mj(*env)->model();
    const int id = mj_name2id(m, mjOBJ_BODY, b.body);
    ASSERT_GE(id, 0);
    // the doc rounds to 3 significant digits
    const double half_digit = 0.5 * std::pow(10, std::floor(std::log10(b.mass)) - 2);
    EXPECT_NEAR(m->body_mass[id], b.mass, half_digit + 1e-12);
  }
  auto cartpole = MakeEnv("dmc_cartpole_swingup");
  const mjModel* m = Mj(*cartpole)->model();
  const int pole = mj_name2id(m, mjOBJ_BODY, "pole_1");
  EXPECT_NEAR(m->body_ipos[3 * pole + 2], 0.5, 1e-9);
  EXPECT_NEAR(m->body_inertia[3 * pole], 0.009425, 1e-6);
  EXPECT_NEAR(m->body_inertia[3 * pole + 2], 1.0e-4, 1e-6);
}

TEST(DmcEnvs, EpisodesRun1000StepsWithRewardsInUnitIntervalAndNoWarnings) {
  for (const auto& e : kTasks) {
    SCOPED_TRACE(e.name);
    auto env = MakeEnv(e.name);
    auto rec = Record(*env, 3, 1000);
    EXPECT_EQ(rec.terminated.sum().item<float>(), 0);
    EXPECT_EQ(rec.truncated.sum().item<float>(), 1);  // once, at step 1000
    EXPECT_EQ(rec.truncated[999].item<float>(), 1);
    EXPECT_GE(rec.reward.min().item<float>(), 0.f);
    EXPECT_LE(rec.reward.max().item<float>(), 1.f);
    EXPECT_TRUE(torch::isfinite(rec.next_obs).all().item<bool>());
    EXPECT_EQ(Mj(*env)->WarningCount(), 0);
  }
}

TEST(DmcEnvs, SameSeedSameTrajectoryOtherSeedDiffers) {
  for (const auto& e : kTasks) {
    SCOPED_TRACE(e.name);
    auto a = MakeEnv(e.name), b = MakeEnv(e.name);
    auto ra = Record(*a, 11, 200), rb = Record(*b, 11, 200), rc = Record(*b, 12, 200);
    EXPECT_TRUE(torch::equal(ra.next_obs, rb.next_obs));
    EXPECT_TRUE(torch::equal(ra.reward, rb.reward));
    EXPECT_FALSE(torch::equal(ra.obs[0], rc.obs[0]));
  }
}

// the batched reward equals the step reward on a played episode; tasks whose reward reads the
// centre-of-mass velocity with velocity_obs
TEST(DmcEnvs, BatchedRewardMatchesStepOnRecordedTransitions) {
  for (const auto& e : kTasks) {
    SCOPED_TRACE(e.name);
    auto env = MakeEnv(e.name, {"", 0, e.velocity_obs});
    auto rec = Record(*env, 21, 1000);
    EXPECT_FALSE(env->Terminated(rec.next_obs).any().item<bool>());
    auto r = env->Reward(rec.obs, rec.act, rec.next_obs);
    EXPECT_TRUE(torch::allclose(r, rec.reward, 1e-5, 1e-5))
        << (r - rec.reward).abs().max().item<float>();
  }
}

TEST(DmcEnvs, ActionsBeyondBoundsActAsTheBound) {
  for (const auto& e : kTasks) {
    SCOPED_TRACE(e.name);
    auto a = MakeEnv(e.name), b = MakeEnv(e.name);
    a->Reset(5), b->Reset(5);
    const int n = a->spec().act_dim;
    for (int i = 0; i < 5; ++i) {
      auto ra = a->Step(torch::full({n}, -7.f)), rb = b->Step(torch::full({n}, -1.f));
      EXPECT_TRUE(torch::equal(ra.obs, rb.obs));
      EXPECT_DOUBLE_EQ(ra.reward, rb.reward);
    }
  }
}

// observations read poses after the step (mj_step1), so they agree with the new qpos
TEST(DmcEnvs, ObservationsDescribeThePostStepState) {
  auto cartpole = MakeEnv("dmc_cartpole_swingup");
  cartpole->Reset(1);
  for (int i = 0; i < 30; ++i) {
    auto o = cartpole->Step(torch::ones({1})).obs;
    const double* q = Mj(*cartpole)->data()->qpos;
    EXPECT_NEAR(o[0].item<float>(), q[0], 1e-6);
    EXPECT_NEAR(o[1].item<float>(), std::cos(q[1]), 1e-6);
    EXPECT_NEAR(o[2].item<float>(), std::sin(q[1]), 1e-6);
  }
  auto walker = MakeEnv("dmc_walker_walk");
  walker->Reset(2);
  for (int i = 0; i < 30; ++i) {
    auto o = walker->Step(torch::full({6}, 0.5f)).obs;
    const double* q = Mj(*walker)->data()->qpos;
    EXPECT_NEAR(o[14].item<float>(), 1.3 + q[0], 1e-6);  // height
    EXPECT_NEAR(o[0].item<float>(), std::cos(q[2]), 1e-6);
    EXPECT_NEAR(o[1].item<float>(), std::sin(q[2]), 1e-6);
    // right thigh pitch = rooty - right_hip (hip axis -y)
    EXPECT_NEAR(o[3].item<float>(), std::sin(q[2] - q[3]), 1e-6);
  }
  auto finger = MakeEnv("dmc_finger_spin");
  finger->Reset(3);
  for (int i = 0; i < 10; ++i) {
    auto o = finger->Step(torch::zeros({2})).obs;
    const double hinge = Mj(*finger)->data()->qpos[2];
    // tip at 0.13 along body z, hinge axis -y: world offset (-0.13 sin q, 0.13 cos q)
    EXPECT_NEAR(o[2].item<float>(), -0.13 * std::sin(hinge), 1e-6);
    EXPECT_NEAR(o[3].item<float>(), 0.13 * std::cos(hinge), 1e-6);
  }
}

TEST(DmcEnvs, CartpoleRewardOnHandComputedStates) {
  auto env = MakeEnv("dmc_cartpole_swingup");
  // obs [x, cos th, sin th, xdot, thdot]
  auto next = torch::tensor({{0.f, 1.f, 0.f, 0.f, 0.f},
                             {0.f, -1.f, 0.f, 0.f, 0.f},
                             {2.f, 1.f, 0.f, 3.f, 5.f},
                             {0.f, 0.f, 1.f, 0.f, 0.f}});
  auto act = torch::tensor({{0.f}, {0.f}, {0.5f}, {2.f}});
  auto r = env->Reward(next, act, next);
  EXPECT_NEAR(r[0].item<float>(), 1.0, 1e-6);
  EXPECT_NEAR(r[1].item<float>(), 0.0, 1e-6);
  // centered (1 + 0.1)/2, small_control (4 + 0.75)/5, small_velocity (1 + 0.1)/2
  EXPECT_NEAR(r[2].item<float>(), 0.55 * 0.95 * 0.55, 1e-6);
  // upright 1/2, small_control (4 + 0)/5 for |u| >= 1
  EXPECT_NEAR(r[3].item<float>(), 0.5 * 0.8, 1e-6);
  EXPECT_FALSE(env->Terminated(next).any().item<bool>());
  auto balance = MakeEnv("dmc_cartpole_balance");
  EXPECT_TRUE(torch::equal(balance->Reward(next, act, next), r));
}

TEST(DmcEnvs, SparseRewardsOnHandComputedStates) {
  auto pendulum = MakeEnv("dmc_pendulum_swingup");
  const float c7 = std::cos(7 * M_PI / 180), c9 = std::cos(9 * M_PI / 180);
  auto p = torch::tensor({{1.f, 0.f, 3.f}, {c7, 0.1f, 0.f}, {c9, 0.2f, 0.f}, {-1.f, 0.f, 0.f}});
  auto rp = pendulum->Reward(p, torch::zeros({4, 1}), p);
  EXPECT_TRUE(torch::equal(rp, torch::tensor({1.f, 1.f, 0.f, 0.f})));

  auto reacher = MakeEnv("dmc_reacher_easy");  // obs [q0, q1, to_target (2), qvel (2)]
  auto re = torch::tensor({{0.f, 0.f, 0.03f, 0.04f, 0.f, 0.f},
                           {0.f, 0.f, -0.059f, 0.f, 0.f, 0.f},
                           {0.f, 0.f, 0.f, 0.061f, 0.f, 0.f}});
  auto rr = reacher->Reward(re, torch::zeros({3, 2}), re);
  EXPECT_TRUE(torch::equal(rr, torch::tensor({1.f, 1.f, 0.f})));

  auto finger = MakeEnv("dmc_finger_spin");  // obs[6] = spinner hinge velocity
  auto f = torch::zeros({3, 9});
  f[0][6] = -16, f[1][6] = -14, f[2][6] = 20;
  EXPECT_TRUE(
      torch::equal(finger->Reward(f, torch::zeros({3, 2}), f), torch::tensor({1.f, 0.f, 0.f})));

  // cup: target - ball = (cup_x - ball_x, 0.35 + cup_z - ball_z), inside if both < 0.025
  auto cup = MakeEnv("dmc_cup_catch");
  auto c = torch::tensor({{0.f, 0.f, 0.f, 0.35f, 0.f, 0.f, 0.f, 0.f},
                          {0.1f, -0.1f, 0.12f, 0.27f, 0.f, 0.f, 0.f, 0.f},
                          {0.f, 0.f, 0.03f, 0.35f, 0.f, 0.f, 0.f, 0.f},
                          {0.f, 0.f, 0.f, 0.32f, 0.f, 0.f, 0.f, 0.f}});
  EXPECT_TRUE(
      torch::equal(cup->Reward(c, torch::zeros({4, 2}), c), torch::tensor({1.f, 1.f, 0.f, 0.f})));
}

TEST(DmcEnvs, LocomotionRewardsOnHandComputedStates) {
  auto cheetah = MakeEnv("dmc_cheetah_run", {"", 0, true});
  auto ch = torch::zeros({4, 18});
  ch[0][0] = 5, ch[1][0] = 12, ch[2][0] = -3, ch[3][9] = 5;  // obs[0] = vx (obs[9] = qvel[0])
  EXPECT_TRUE(torch::allclose(cheetah->Reward(ch, torch::zeros({4, 6}), ch),
                              torch::tensor({0.5f, 1.f, 0.f, 0.f})));
  auto plain = MakeEnv("dmc_cheetah_run");  // approximation: rootx velocity qvel[0] = obs[8]
  auto cp = torch::zeros({1, 17});
  cp[0][8] = 4;
  EXPECT_NEAR(plain->Reward(cp, torch::zeros({1, 6}), cp)[0].item<float>(), 0.4, 1e-6);

  // walker obs (velocity_obs): [vx, 7 x (xx, xz), height, qvel (9)]
  auto walker = MakeEnv("dmc_walker_walk", {"", 0, true});
  auto w = torch::zeros({2, 25});
  w[0][0] = 1.5, w[0][1] = 1, w[0][15] = 1.3;  // upright, tall, fast: 1
  w[1][0] = 0.5, w[1][1] = 0, w[1][15] = 0.6;  // one margin low, horizontal, half speed
  auto rw = walker->Reward(w, torch::zeros({2, 6}), w);
  EXPECT_NEAR(rw[0].item<float>(), 1.0, 1e-6);
  // stand = (3 * 0.1 + 0.5)/4 = 0.2, move = 0.5: 0.2 * (2.5 + 1)/6
  EXPECT_NEAR(rw[1].item<float>(), 0.2 * 3.5 / 6, 1e-6);
  auto walker_plain = MakeEnv("dmc_walker_walk");  // approximation: rootx velocity = obs[16]
  auto wp = torch::zeros({1, 24});
  wp[0][0] = 1, wp[0][14] = 1.3, wp[0][16] = 0.5;
  EXPECT_NEAR(walker_plain->Reward(wp, torch::zeros({1, 6}), wp)[0].item<float>(), 3.5 / 6, 1e-6);
}

// the sparse tasks pay in states set by hand (the step reward, then the batched one on its obs)
TEST(DmcEnvs, SparseTasksPayInTheirGoalStates) {
  auto pendulum = MakeEnv("dmc_pendulum_swingup");
  pendulum->Reset(0);
  auto* mp = Mj(*pendulum);
  mp->data()->qpos[0] = 0, mp->data()->qvel[0] = 0;
  auto rp = pendulum->Step(torch::zeros({1}));
  EXPECT_EQ(rp.reward, 1.0);

  auto finger = MakeEnv("dmc_finger_spin");
  finger->Reset(0);
  Mj(*finger)->data()->qvel[2] = -30;
  auto rf = finger->Step(torch::zeros({2}));
  EXPECT_EQ(rf.reward, 1.0);

  auto cup = MakeEnv("dmc_cup_catch");
  cup->Reset(0);
  double* qc = Mj(*cup)->data()->qpos;
  qc[0] = qc[1] = qc[2] = 0, qc[3] = 0.35;  // ball centred in the target box
  auto rc = cup->Step(torch::zeros({2}));
  EXPECT_EQ(rc.reward, 1.0);

  // reacher: put the finger on the target by two-link inverse kinematics (links 0.12, 0.12)
  auto reacher = MakeEnv("dmc_reacher_easy");
  auto o = reacher->Reset(4);
  auto* mr = Mj(*reacher);
  const int finger_geom = mj_name2id(mr->model(), mjOBJ_GEOM, "finger");
  const double tx = mr->data()->geom_xpos[3 * finger_geom] + o[2].item<float>();
  const double ty = mr->data()->geom_xpos[3 * finger_geom + 1] + o[3].item<float>();
  const double l = 0.12, c1 = (tx * tx + ty * ty - 2 * l * l) / (2 * l * l);
  const double q1 = std::acos(c1),
               q0 = std::atan2(ty, tx) - std::atan2(l * std::sin(q1), l + l * c1);
  mr->data()->qpos[0] = q0, mr->data()->qpos[1] = q1;
  mr->data()->qvel[0] = mr->data()->qvel[1] = 0;
  auto rr = reacher->Step(torch::zeros({2}));
  EXPECT_EQ(rr.reward, 1.0);

  for (auto* r : {&rp, &rf, &rc, &rr}) {
    auto obs = r->obs.unsqueeze(0);
    auto* env = r == &rp   ? pendulum.get()
                : r == &rf ? finger.get()
                : r == &rc ? cup.get()
                           : reacher.get();
    EXPECT_EQ(env->Reward(obs, torch::zeros({1, env->spec().act_dim}), obs)[0].item<float>(), 1.f);
  }
}

// resets follow the doc's initial-state distributions
TEST(DmcEnvs, ResetDistributions) {
  auto swingup = MakeEnv("dmc_cartpole_swingup"), balance = MakeEnv("dmc_cartpole_balance");
  auto pendulum = MakeEnv("dmc_pendulum_swingup"), walker = MakeEnv("dmc_walker_walk");
  auto reacher = MakeEnv("dmc_reacher_easy"), finger = MakeEnv("dmc_finger_spin");
  auto cup = MakeEnv("dmc_cup_catch"), cheetah = MakeEnv("dmc_cheetah_run");
  double min_cos = 1, max_cos = -1;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    auto s = swingup->Reset(seed);
    EXPECT_LT(std::abs(s[0].item<float>()), 0.05);
    EXPECT_LT(s[1].item<float>(), -0.99);  // hanging down
    EXPECT_LT(s[4].abs().item<float>(), 0.05);
    auto b = balance->Reset(seed);
    EXPECT_LE(std::abs(b[0].item<float>()), 0.1);
    EXPECT_GE(b[1].item<float>(), std::cos(0.034) - 1e-6);
    auto p = pendulum->Reset(seed);
    min_cos = std::min(min_cos, double(p[0].item<float>()));
    max_cos = std::max(max_cos, double(p[0].item<float>()));
    EXPECT_EQ(p[2].item<float>(), 0.f);

    walker->Reset(seed);
    const mjModel* wm = Mj(*walker)->model();
    const mjData* wd = Mj(*walker)->data();
    EXPECT_EQ(wd->qpos[0], 0.0);
    EXPECT_EQ(wd->qpos[1], 0.0);
    EXPECT_LE(std::abs(wd->qpos[2]), M_PI);
    for (int j = 3; j < 9; ++j) {
      EXPECT_GE(wd->qpos[j], wm->jnt_range[2 * j]);
      EXPECT_LE(wd->qpos[j], wm->jnt_range[2 * j + 1]);
    }
    for (int i = 0; i < 9; ++i) EXPECT_EQ(wd->qvel[i], 0.0);

    reacher->Reset(seed);
    const mjModel* rm = Mj(*reacher)->model();
    const int target = mj_name2id(rm, mjOBJ_GEOM, "target");
    const double rho = std::hypot(rm->geom_pos[3 * target], rm->geom_pos[3 * target + 1]);
    EXPECT_TRUE(rho >= 0.05 && rho <= 0.2) << rho;
    EXPECT_EQ(rm->geom_size[3 * target], 0.05);

    finger->Reset(seed);
    EXPECT_EQ(Mj(*finger)->data()->ncon, 0);
    auto c = cup->Reset(seed);
    EXPECT_EQ(Mj(*cup)->data()->ncon, 0);
    EXPECT_LE(std::abs(c[2].item<float>()), 0.2);
    EXPECT_TRUE(c[3].item<float>() >= 0.2f && c[3].item<float>() <= 0.5f);
    EXPECT_EQ(c[0].item<float>(), 0.f);
  }
  EXPECT_LT(min_cos, -0.8);
  EXPECT_GT(max_cos, 0.8);
  // cheetah: legs drawn in their ranges, then 2 s of settling; the episode clock starts at 0
  for (uint64_t seed = 0; seed < 3; ++seed) {
    cheetah->Reset(seed);
    const mjData* d = Mj(*cheetah)->data();
    EXPECT_EQ(d->time, 0.0);
    EXPECT_NE(d->qpos[3], 0.0);
  }
}

}  // namespace
}  // namespace mbrl
