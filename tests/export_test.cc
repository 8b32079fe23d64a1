// Policy export: TorchScript, ONNX and the native runtime give the trained actor's actions.
#include "mbrl/export/export.h"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/script.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "agents/trainer.h"
#include "mbrl/core/check.h"
#include "mbrl/core/runtime.h"
#include "mbrl/learners/sac.h"
#include "mbrl/native/policy.h"
#include "mbrl/native/program.h"
#include "tests/test_util.h"

namespace mbrl {
namespace {
namespace fs = std::filesystem;

constexpr int kObs = 11, kAct = 3;

// A SAC actor moved away from its initialisation by a few updates; uneven action bounds.
Sac TrainedSac() {
  torch::manual_seed(5);
  ScopedThreads pools({1, 1});
  SacConfig c;
  c.hidden = 64;
  c.batch_size = 64;
  c.actor_lr = 1e-2;
  Sac sac(kObs, kAct, std::vector<float>{-1.f, -2.f, 0.f}, std::vector<float>{1.f, 0.5f, 3.f}, c,
          torch::kCPU);
  auto gen = at::detail::createCPUGenerator(2);
  const int64_t n = 64;
  Batch b{torch::randn({n, kObs}, gen), torch::rand({n, kAct}, gen) * 0.5, torch::randn({n}, gen),
          torch::randn({n, kObs}, gen), torch::zeros({n})};
  for (int i = 0; i < 20; ++i) sac->Update(b, gen);
  return sac;
}

RowMatrixXf ToEigen(const torch::Tensor& t) {
  auto c = t.contiguous();
  return Eigen::Map<const RowMatrixXf>(c.data_ptr<float>(), c.size(0), c.size(1));
}

TEST(Export, AllFormatsGiveTheActorsActions) {
  Sac sac = TrainedSac();
  torch::manual_seed(7);
  auto obs = torch::randn({1000, kObs}) * 2;  // [1000,O]
  auto expected = sac->Deterministic(obs);    // [1000,A]
  ASSERT_GT((expected - expected.mean(0)).abs().max().item<float>(), 0.1) << "trivial actor";
  const std::string dir = testing::TempDir() + "/mbrl_export";
  fs::remove_all(dir);
  const PolicyNet net = sac->Policy();
  for (auto f : {ExportFormat::kNative, ExportFormat::kTorchScript, ExportFormat::kOnnx})
    WritePolicy(net, f, dir + "/policy" + ExportExtension(f));

  NativePolicy native = NativePolicy::Load(dir + "/policy.mbrlp");
  const RowMatrixXf got = native.ActBatch(ToEigen(obs));
  EXPECT_LE((got - ToEigen(expected)).cwiseAbs().maxCoeff(), 1e-5);

  auto module = torch::jit::load(dir + "/policy.pt");
  auto ts = module.forward({obs}).toTensor();
  EXPECT_LE((ts - expected).abs().max().item<float>(), 1e-5);
  EXPECT_EQ(module.attr("act_dim").toInt(), kAct);

  // Python: torch.jit.load (Debian's python3-torch) and onnxruntime (pip, in a venv)
  WriteRaw(obs, dir + "/obs.f32");
  WriteRaw(expected, dir + "/expected.f32");
  const std::string args = " " MBRL_SOURCE_DIR "/tests/scripts/check_export.py --obs " + dir +
                           "/obs.f32 --expected " + dir + "/expected.f32 --obs-dim 11 --act-dim 3";
  auto r = Shell("/usr/bin/python3" + args + " --torchscript " + dir + "/policy.pt");
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  const std::string py = OnnxPython();
  if (py.empty()) GTEST_SKIP() << "onnxruntime not installable (offline?): ONNX numerics unchecked";
  r = Shell(py + args + " --onnx " + dir + "/policy.onnx");
  EXPECT_EQ(r.code, 0) << r.out << r.err;
}

TEST(Export, NativeFileErrorsNameTheFile) {
  const std::string dir = testing::TempDir() + "/mbrl_export_bad";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string good = dir + "/p.mbrlp";
  SavePolicy(TrainedSac()->Policy(), good);
  std::ifstream in(good, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto expect_error = [&](const std::string& content, const std::string& what) {
    const std::string path = dir + "/bad.mbrlp";
    std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
    try {
      LoadPolicy(path);
      ADD_FAILURE() << "no error for " << what;
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
    }
  };
  expect_error(bytes.substr(0, bytes.size() - 5), "truncated");
  expect_error(bytes + "x", "trailing");
  expect_error("MBRLPOL2" + bytes.substr(8), "not an mbrl policy");
  std::string nan = bytes;
  const float inf = INFINITY;
  std::memcpy(&nan[nan.size() - 4 * kAct - 8], &inf, 4);  // inside the last bias
  expect_error(nan, "non-finite");
}

// A hand-built program that uses every op: the native runtime, TorchScript (C++) and ONNX
// (onnxruntime, when installable) agree on it, its file round-trips, and bad files are rejected.
TEST(Export, RecurrentProgramRunsAlikeInEveryFormatAndBadFilesFail) {
  torch::manual_seed(3);
  const auto rand = [](int64_t r, int64_t c) { return ToMatrix(torch::randn({r, c})); };
  PolicyProgram p;
  p.obs_dim = 3, p.act_dim = 2, p.state_dim = 4;
  const auto op = [&](std::string name, std::vector<std::string> in, std::string out,
                      std::vector<int64_t> ints = {}, std::vector<RowMatrixXf> params = {}) {
    p.Add({std::move(name), std::move(in), std::move(out), std::move(ints), 1e-3f,
           std::move(params)});
  };
  op("symlog", {"obs"}, "x");
  op("linear", {"x"}, "x", {}, {rand(5, 3), rand(1, 5)});
  op("layernorm", {"x"}, "x", {}, {rand(1, 5), rand(1, 5)});
  op("silu", {"x"}, "x");
  op("concat", {"x", "state"}, "y");
  op("linear", {"y"}, "y", {}, {rand(8, 9), rand(1, 8)});
  op("relu", {"y"}, "r");
  op("sigmoid", {"y"}, "g");
  op("mul", {"y", "g"}, "g");
  op("add", {"g", "r"}, "y");
  op("tanh", {"y"}, "t");
  op("mish", {"y"}, "u");
  op("simnorm", {"y"}, "m", {4});
  op("add", {"u", "m"}, "m");
  op("add", {"t", "m"}, "t");
  op("sub", {"y", "t"}, "y");
  op("add", {"y", "t"}, "y");
  op("slice", {"y"}, "h", {0, 4});
  op("onehot_argmax", {"h"}, "next_state", {2});
  op("slice", {"y"}, "a", {5, 2});
  op("tanh", {"a"}, "a");
  op("affine", {"a"}, "action", {}, {rand(1, 2), rand(1, 2)});
  const std::string dir = testing::TempDir() + "/mbrl_export_program";
  fs::remove_all(dir);
  for (auto f : {ExportFormat::kTorchScript, ExportFormat::kOnnx, ExportFormat::kNative})
    WriteRecurrentPolicy(p, f, dir + "/p" + ExportExtension(f));
  NativeRecurrentPolicy native(p), loaded = NativeRecurrentPolicy::Load(dir + "/p.mbrlp");
  auto module = torch::jit::load(dir + "/p.pt");
  const auto obs = torch::randn({40, 3}) * 3;  // [T,O]
  Eigen::VectorXf s1 = native.InitialState(), s2 = s1, a1(2), a2(2);
  auto state = module.run_method("initial_state", 1).toTensor();
  std::vector<torch::Tensor> acts;
  float worst = 0;
  int onehot_changes = 0;
  for (int t = 0; t < 40; ++t) {
    auto o = obs[t].contiguous();
    const Eigen::VectorXf before = s1;
    native.Act(o.data_ptr<float>(), s1.data(), a1.data());
    loaded.Act(o.data_ptr<float>(), s2.data(), a2.data());
    EXPECT_EQ(a1, a2);
    EXPECT_EQ(s1, s2);
    onehot_changes += before != s1;
    auto out = module.forward({o.view({1, -1}), state}).toTuple()->elements();
    state = out[1].toTensor();
    acts.push_back(out[0].toTensor().view({-1}));
    worst = std::max(worst, (ToMatrix(out[0].toTensor()) - a1.transpose()).cwiseAbs().maxCoeff());
    worst = std::max(worst, (ToMatrix(state) - s1.transpose()).cwiseAbs().maxCoeff());
    EXPECT_EQ(s1.sum(), 2.f);  // one-hot per group
  }
  EXPECT_LE(worst, 1e-5);
  EXPECT_GT(onehot_changes, 3) << "the state should move";
  const std::string py = OnnxPython();
  if (!py.empty()) {
    WriteRaw(obs, dir + "/obs.f32");
    WriteRaw(torch::stack(acts), dir + "/expected.f32");
    auto r = Shell(py + " " MBRL_SOURCE_DIR "/tests/scripts/check_export.py --recurrent --obs " +
                   dir + "/obs.f32 --expected " + dir + "/expected.f32 --obs-dim 3 --act-dim 2" +
                   " --onnx " + dir + "/p.onnx");
    EXPECT_EQ(r.code, 0) << r.out << r.err;
  }

  std::ifstream in(dir + "/p.mbrlp", std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string bad = dir + "/bad.mbrlr";
  auto load_error = [&](const std::string& content) -> std::string {
    std::ofstream(bad, std::ios::binary | std::ios::trunc) << content;
    try {
      LoadProgram(bad);
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
      return e.what();
    }
    return "";
  };
  EXPECT_NE(load_error(bytes.substr(0, bytes.size() - 3)).find("truncated"), std::string::npos);
  EXPECT_NE(load_error(bytes + "x").find("trailing"), std::string::npos);
  EXPECT_NE(load_error("MBRLPOL1" + bytes.substr(8)).find("not an mbrl recurrent"),
            std::string::npos);
  std::string renamed = bytes;
  renamed.replace(renamed.find("\"sigmoid\""), 9, "\"sigmoix\"");
  EXPECT_NE(load_error(renamed).find("op 7 (sigmoix -> g): unknown op"), std::string::npos);
  std::string nan = bytes;
  const float inf = INFINITY;
  std::memcpy(&nan[nan.size() - 4], &inf, 4);  // the last shift
  EXPECT_NE(load_error(nan).find("non-finite"), std::string::npos);
  // single corrupted bytes: an error or a valid program, never a crash
  std::mt19937 rng(1);
  for (int i = 0; i < 300; ++i) {
    std::string c = bytes;
    c[rng() % c.size()] = static_cast<char>(rng());
    std::ofstream(bad, std::ios::binary | std::ios::trunc) << c;
    try {
      NativeRecurrentPolicy q = NativeRecurrentPolicy::Load(bad);
      Eigen::VectorXf s = q.InitialState(), a(q.program().act_dim);
      q.Act(obs[0].contiguous().data_ptr<float>(), s.data(), a.data());
    } catch (const std::runtime_error&) {
    }
  }
}

// Through a run directory: what `mbrl export` writes acts like the loaded agent.
TEST(Export, RunDirectoryPolicyMatchesTheAgent) {
  const std::string runs = testing::TempDir() + "/mbrl_runs_export";
  fs::remove_all(runs);
  config::Json resolved;
  auto cfg =
      LoadRunConfig({MBRL_SOURCE_DIR "/configs/sac_inverted_pendulum.json"},
                    {"total_env_steps=200", "sac.initial_steps=100", "sac.sac.hidden=32",
                     "eval_every=0", "runs_dir=" + runs, "threads.update.torch=1",
                     "threads.update.blas=1", "threads.train.torch=1", "threads.train.blas=1"},
                    &resolved);
  const std::string dir = Train(cfg, resolved);
  const std::string path = ExportRun(dir, ExportFormat::kNative);
  EXPECT_EQ(path, dir + "/export/policy.mbrlp");
  NativePolicy native = NativePolicy::Load(path);
  RunConfig loaded;
  std::unique_ptr<Env> env;
  auto agent = LoadRunAgent(dir, &loaded, &env);
  agent->BeginEpisode(0);
  torch::manual_seed(1);
  for (int i = 0; i < 20; ++i) {
    auto obs = torch::randn({env->spec().obs_dim});
    auto want = agent->Act(obs, true);
    std::vector<float> got(env->spec().act_dim);
    native.Act(obs.data_ptr<float>(), got.data());
    for (size_t k = 0; k < got.size(); ++k) EXPECT_NEAR(got[k], want[k].item<float>(), 1e-5);
  }
  // planning agents have no policy network
  auto random_cfg = LoadRunConfig(
      {}, {"agent=random", "env.name=inverted_pendulum", "total_env_steps=20", "runs_dir=" + runs},
      &resolved);
  const std::string random_dir = Train(random_cfg, resolved);
  try {
    ExportRun(random_dir, ExportFormat::kOnnx);
    ADD_FAILURE() << "random agent exported";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no policy network"), std::string::npos) << e.what();
  }
  // a run without a checkpoint has no trained policy to export
  const std::string fresh = runs + "/no_checkpoint";
  fs::create_directories(fresh);
  fs::copy_file(dir + "/config.json", fresh + "/config.json");
  try {
    ExportRun(fresh, ExportFormat::kNative);
    ADD_FAILURE() << "exported an untrained policy";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no checkpoint yet"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace mbrl
