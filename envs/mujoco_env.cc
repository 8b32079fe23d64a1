#include "envs/mujoco_env.h"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <vector>

#include "mbrl/core/check.h"

namespace mbrl {
namespace {

// MuJoCo's default handlers print to stdout, write MUJOCO_LOG.TXT and exit(); ours count (the
// per-mjData warning counters keep the details) or throw.
void OnWarning(const char*) {}
void OnError(const char* msg) { throw Error(std::string("MuJoCo error: ") + msg); }

mjModel* LoadModel(const std::string& name, const std::string& builtin_xml,
                   const std::string& xml_path) {
  mju_user_warning = OnWarning;
  mju_user_error = OnError;
  char err[1000] = "";
  mjModel* m = nullptr;
  if (!xml_path.empty()) {
    MBRL_CHECK(std::filesystem::is_regular_file(xml_path), "env.xml: ", xml_path,
               ": MJCF file not found");
    m = mj_loadXML(xml_path.c_str(), nullptr, err, sizeof(err));
    MBRL_CHECK(m, xml_path, ": MJCF does not load: ", err);
  } else {
    const auto& table = EmbeddedMjcf();
    auto it = table.find(builtin_xml);
    MBRL_CHECK(it != table.end(), name, ": built-in MJCF ", builtin_xml, " missing");
    auto vfs = std::make_unique<mjVFS>();
    mj_defaultVFS(vfs.get());
    MBRL_CHECK(mj_makeEmptyFileVFS(vfs.get(), builtin_xml.c_str(),
                                   static_cast<int>(it->second.size())) == 0,
               "MuJoCo VFS full");
    const int idx = mj_findFileVFS(vfs.get(), builtin_xml.c_str());
    std::memcpy(vfs->filedata[idx], it->second.data(), it->second.size());
    m = mj_loadXML(builtin_xml.c_str(), vfs.get(), err, sizeof(err));
    mj_deleteVFS(vfs.get());
    MBRL_CHECK(m, name, ": built-in MJCF does not load: ", err);
  }
  MBRL_CHECK(err[0] == '\0', name, ": MJCF loaded with a warning: ", err);
  return m;
}

}  // namespace

MujocoEnv::MujocoEnv(std::string name, const std::string& builtin_xml, const EnvOptions& options,
                     int frame_skip, int default_max_steps, int obs_dim, bool velocity_reward)
    : options_(options), frame_skip_(frame_skip), velocity_obs_(options.velocity_obs) {
  MBRL_CHECK(!velocity_obs_ || velocity_reward, "env.velocity_obs: ", name,
             " has no forward-velocity reward");
  m_ = LoadModel(name, builtin_xml, options.xml);
  d_ = mj_makeData(m_);
  spec_.name = std::move(name);
  spec_.obs_dim = obs_dim + off();
  spec_.act_dim = m_->nu;
  for (int i = 0; i < m_->nu; ++i) {
    MBRL_CHECK(m_->actuator_ctrllimited[i], spec_.name, ": actuator ", i, " has no ctrlrange");
    spec_.act_low.push_back(static_cast<float>(m_->actuator_ctrlrange[2 * i]));
    spec_.act_high.push_back(static_cast<float>(m_->actuator_ctrlrange[2 * i + 1]));
  }
  spec_.dt = m_->opt.timestep * frame_skip;
  spec_.max_steps = options.max_steps > 0 ? options.max_steps : default_max_steps;
  act_.resize(m_->nu);
}

MujocoEnv::~MujocoEnv() {
  if (d_) mj_deleteData(d_);
  if (m_) mj_deleteModel(m_);
}

int MujocoEnv::WarningCount() const {
  int n = 0;
  for (int i = 0; i < mjNWARNING; ++i) n += d_->warning[i].number;
  return n;
}

double MujocoEnv::ForwardVelocity(double x_before) const {
  return (d_->qpos[0] - x_before) / spec_.dt;
}

torch::Tensor MujocoEnv::MakeObs() const {
  auto obs = torch::empty({spec_.obs_dim}, torch::kFloat32);
  float* out = obs.data_ptr<float>();
  if (velocity_obs_) out[0] = static_cast<float>(velocity_);
  Observe(out + off());
  return obs;
}

torch::Tensor MujocoEnv::Reset(uint64_t seed) {
  rng_.seed(seed);
  mj_resetData(m_, d_);
  ResetModel();
  mj_forward(m_, d_);
  steps_ = 0;
  velocity_ = ForwardVelocity(d_->qpos[0]);
  return MakeObs();
}

PhysicsState MujocoEnv::GetState() const {
  const auto copy = [](const double* p, int n) { return std::vector<double>(p, p + n); };
  std::ostringstream rng;
  rng << rng_;
  return {copy(d_->qpos, m_->nq),
          copy(d_->qvel, m_->nv),
          copy(d_->act, m_->na),
          copy(d_->qacc_warmstart, m_->nv),
          d_->time,
          TaskFields(),
          rng.str()};
}

torch::Tensor MujocoEnv::SetState(const PhysicsState& st) {
  const auto put = [&](const std::vector<double>& v, double* dst, int n, const char* what) {
    MBRL_CHECK(static_cast<int>(v.size()) == n, spec_.name, ": state ", what, " has ", v.size(),
               " values, expected ", n);
    std::copy(v.begin(), v.end(), dst);
  };
  put(st.qpos, d_->qpos, m_->nq, "qpos");
  put(st.qvel, d_->qvel, m_->nv, "qvel");
  put(st.act, d_->act, m_->na, "act");
  MBRL_CHECK(static_cast<int>(st.qacc_warmstart.size()) == m_->nv, spec_.name,
             ": state qacc_warmstart has ", st.qacc_warmstart.size(), " values, expected ", m_->nv);
  d_->time = st.time;
  MBRL_CHECK(st.task.size() == TaskFields().size(), spec_.name, ": state task has ", st.task.size(),
             " values, expected ", TaskFields().size());
  SetTaskFields(st.task);
  if (!st.rng.empty()) {
    std::istringstream rng(st.rng);
    rng >> rng_;
    MBRL_CHECK(!rng.fail(), spec_.name, ": state rng is not a std::mt19937_64 state");
  }
  mj_forward(m_, d_);
  // after mj_forward, which normalises quaternions in qpos (normalising twice is not exact) and
  // may leave its own solution as the warm start: the next step starts from the state as given
  put(st.qpos, d_->qpos, m_->nq, "qpos");
  put(st.qacc_warmstart, d_->qacc_warmstart, m_->nv, "qacc_warmstart");
  steps_ = 0;
  velocity_ = ForwardVelocity(d_->qpos[0]);
  return MakeObs();
}

StepResult MujocoEnv::Step(const torch::Tensor& action) {
  MBRL_CHECK(action.numel() == spec_.act_dim, spec_.name, ": action has ", action.numel(),
             " values, expected ", spec_.act_dim);
  auto a = action.to(torch::kCPU, torch::kFloat32).contiguous();
  const float* src = a.data_ptr<float>();
  for (int i = 0; i < m_->nu; ++i) {
    MBRL_CHECK(std::isfinite(src[i]), spec_.name, ": non-finite action at step ", steps_);
    act_[i] = std::clamp(src[i], spec_.act_low[i], spec_.act_high[i]);
    d_->ctrl[i] = act_[i];
  }
  const double x_before = d_->qpos[0];
  for (int k = 0; k < frame_skip_; ++k) mj_step(m_, d_);
  if (finish_with_step1_) mj_step1(m_, d_);
  if (need_rne_post_) mj_rnePostConstraint(m_, d_);
  ++steps_;
  velocity_ = ForwardVelocity(x_before);
  StepResult r;
  r.obs = MakeObs();
  r.reward = StepReward(act_.data(), x_before, &r.terminated);
  r.truncated = !r.terminated && steps_ >= spec_.max_steps;
  return r;
}

}  // namespace mbrl
