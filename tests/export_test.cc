// Policy export: TorchScript, ONNX and the native runtime give the trained actor's actions.
#include "mbrl/export/export.h"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/script.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "agents/trainer.h"
#include "mbrl/core/check.h"
#include "mbrl/core/runtime.h"
#include "mbrl/learners/sac.h"
#include "mbrl/native/policy.h"
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

// Python with onnx + onnxruntime: a venv in the build folder (made on first use), or "" offline.
std::string OnnxPython() {
  const std::string venv = fs::path(MBRL_BINARY).parent_path().string() + "/venv";
  const std::string py = venv + "/bin/python";
  const std::string probe = py + " -c 'import onnx, onnxruntime' >/dev/null 2>&1";
  if (Shell(probe).code == 0) return py;
  Shell("/usr/bin/python3 -m venv --system-site-packages " + venv + " && timeout 600 " + venv +
        "/bin/pip install -q onnx onnxruntime");
  return Shell(probe).code == 0 ? py : "";
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
}

}  // namespace
}  // namespace mbrl
