#include "agents/simulator.h"

#include <torch/torch.h>

#include <algorithm>

#include "mbrl/core/check.h"

namespace mbrl {

StateCodec::StateCodec(const MujocoEnv& env)
    : nq_(env.model()->nq),
      nv_(env.model()->nv),
      na_(env.model()->na),
      nt_(static_cast<int>(env.GetState().task.size())) {}

torch::Tensor StateCodec::Pack(const PhysicsState& s) const {
  auto row = torch::empty({size()}, torch::kDouble);
  double* p = row.data_ptr<double>();
  for (const auto* v : {&s.qpos, &s.qvel, &s.act, &s.qacc_warmstart})
    p = std::copy(v->begin(), v->end(), p);
  *p++ = s.time;
  std::copy(s.task.begin(), s.task.end(), p);
  return row;
}

PhysicsState StateCodec::Unpack(const double* p) const {
  PhysicsState s;
  const auto take = [&p](int n) {
    std::vector<double> v(p, p + n);
    p += n;
    return v;
  };
  s.qpos = take(nq_);
  s.qvel = take(nv_);
  s.act = take(na_);
  s.qacc_warmstart = take(nv_);
  s.time = *p++;
  s.task = take(nt_);
  return s;
}

const MujocoEnv& AsMujoco(const Env& env, const std::string& who) {
  const auto* mj = dynamic_cast<const MujocoEnv*>(&env);
  MBRL_CHECK(mj, who, ": ", env.spec().name,
             " is not a MuJoCo task (no state to set and step for the true model)");
  return *mj;
}

std::unique_ptr<MujocoEnv> MakeTwin(const Env& env, const std::string& who) {
  std::unique_ptr<Env> twin = MakeEnv(env.spec().name, AsMujoco(env, who).options());
  return std::unique_ptr<MujocoEnv>(dynamic_cast<MujocoEnv*>(twin.release()));
}

Simulator::Simulator(std::unique_ptr<MujocoEnv> twin, int repeat)
    : twin_(std::move(twin)), codec_(*twin_), repeat_(repeat) {
  MBRL_CHECK(repeat_ >= 1, "simulator: repeat must be >= 1");
}

StepModel::Out Simulator::Step(const torch::Tensor& states, const torch::Tensor& actions) {
  const int64_t n = states.size(0);
  const auto s = states.to(torch::kCPU, torch::kDouble).contiguous();
  const auto a = actions.to(torch::kCPU, torch::kFloat).contiguous();
  Out out{torch::empty({n}), torch::empty({n, codec_.size()}, torch::kDouble),
          torch::empty({n}, torch::kBool)};
  for (int64_t i = 0; i < n; ++i) {
    twin_->SetState(codec_.Unpack(s.data_ptr<double>() + i * codec_.size()));
    double reward = 0;
    bool done = false;
    for (int j = 0; j < repeat_ && !done; ++j, ++steps_) {
      const StepResult r = twin_->Step(a[i]);
      reward += r.reward;
      done = r.terminated;
    }
    out.reward.data_ptr<float>()[i] = static_cast<float>(reward);
    out.done.data_ptr<bool>()[i] = done;
    const auto row = codec_.Pack(twin_->GetState());
    std::copy_n(row.data_ptr<double>(), codec_.size(),
                out.next_state.data_ptr<double>() + i * codec_.size());
  }
  return out;
}

torch::Tensor Simulator::Observe(const torch::Tensor& states) {
  const auto s = states.to(torch::kCPU, torch::kDouble).contiguous();
  std::vector<torch::Tensor> obs;
  for (int64_t i = 0; i < s.size(0); ++i)
    obs.push_back(twin_->SetState(codec_.Unpack(s.data_ptr<double>() + i * codec_.size())));
  return torch::stack(obs);
}

double Simulator::Rollout(const double* row, const torch::Tensor& actions, double discount) {
  twin_->SetState(codec_.Unpack(row));
  double g = 0, d = 1;
  for (int64_t t = 0; t < actions.size(0); ++t, d *= discount) {
    const StepResult r = twin_->Step(actions[t]);
    ++steps_;
    g += d * r.reward;
    if (r.terminated) break;
  }
  return g;
}

void Simulator::Report(Metrics* m) {
  if (actions_ > 0) m->Set(kMetric, static_cast<double>(steps_ - reported_) / actions_);
  reported_ = steps_;
  actions_ = 0;
}

Objective Simulator::ReturnObjective(const torch::Tensor& state, double discount) {
  const auto row = state.to(torch::kCPU, torch::kDouble).contiguous();
  return [this, row, discount](const torch::Tensor& seqs) {
    const auto a = seqs.to(torch::kCPU, torch::kFloat).contiguous();
    auto ret = torch::empty({a.size(0)});
    for (int64_t i = 0; i < a.size(0); ++i)
      ret.data_ptr<float>()[i] =
          static_cast<float>(Rollout(row.data_ptr<double>(), a[i], discount));
    return ret.to(seqs.device());
  };
}

}  // namespace mbrl
