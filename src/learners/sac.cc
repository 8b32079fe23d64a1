#include "mbrl/learners/sac.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <cmath>

#include "mbrl/core/check.h"
#include "mbrl/core/random.h"

namespace mbrl {
namespace {

constexpr double kLogStdMin = -20, kLogStdMax = 2;

// nn.Linear's default init: U(-1/sqrt(in), 1/sqrt(in)) for weights and biases
Mlp MakeMlp(torch::nn::Module& m, const std::string& name, std::vector<int64_t> sizes, int64_t k) {
  Mlp mlp;
  for (size_t i = 0; i + 1 < sizes.size(); ++i) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(sizes[i]));
    auto shape_w = k > 0 ? std::vector<int64_t>{k, sizes[i], sizes[i + 1]}
                         : std::vector<int64_t>{sizes[i], sizes[i + 1]};
    auto shape_b =
        k > 0 ? std::vector<int64_t>{k, 1, sizes[i + 1]} : std::vector<int64_t>{sizes[i + 1]};
    auto w = (torch::rand(shape_w) * 2 - 1) * bound, b = (torch::rand(shape_b) * 2 - 1) * bound;
    mlp.w.push_back(m.register_parameter(name + "_w" + std::to_string(i), w));
    mlp.b.push_back(m.register_parameter(name + "_b" + std::to_string(i), b));
  }
  return mlp;
}

}  // namespace

torch::Tensor Mlp::Forward(const torch::Tensor& x) const {
  auto h = x;
  for (size_t i = 0; i < w.size(); ++i) {
    h = w[i].dim() == 3 ? torch::baddbmm(b[i], h, w[i]) : torch::addmm(b[i], h, w[i]);
    if (i + 1 < w.size()) h = torch::relu(h);
  }
  return h;
}

SacImpl::SacImpl(int obs_dim, int act_dim, std::vector<float> low, std::vector<float> high,
                 const SacConfig& cfg, torch::Device device)
    : cfg_(cfg),
      act_dim_(act_dim),
      target_entropy_(cfg.target_entropy != 0 ? cfg.target_entropy : -act_dim),
      device_(device) {
  MBRL_CHECK(static_cast<int>(low.size()) == act_dim && static_cast<int>(high.size()) == act_dim,
             "sac: action bounds have ", low.size(), " dims, the task ", act_dim);
  auto lo = torch::tensor(low), hi = torch::tensor(high);
  scale_ = register_buffer("scale", (hi - lo) / 2);
  shift_ = register_buffer("shift", (hi + lo) / 2);
  std::vector<int64_t> actor_sizes = {obs_dim}, critic_sizes = {obs_dim + act_dim};
  for (int i = 0; i < cfg.layers; ++i) {
    actor_sizes.push_back(cfg.hidden);
    critic_sizes.push_back(cfg.hidden);
  }
  actor_sizes.push_back(2 * act_dim);
  critic_sizes.push_back(1);
  actor_ = MakeMlp(*this, "actor", actor_sizes, 0);
  critic_ = MakeMlp(*this, "critic", critic_sizes, 2);
  for (size_t i = 0; i < critic_.w.size(); ++i) {
    target_.w.push_back(register_buffer("target_w" + std::to_string(i), critic_.w[i].clone()));
    target_.b.push_back(register_buffer("target_b" + std::to_string(i), critic_.b[i].clone()));
  }
  log_alpha_ =
      register_parameter("log_alpha", torch::full({}, std::log(cfg.init_alpha)), cfg.learn_alpha);
  sums_ = register_buffer("stat_sums", torch::zeros({5}));
  to(device);
  std::vector<torch::Tensor> actor_params, critic_params;
  for (size_t i = 0; i < actor_.w.size(); ++i)
    actor_params.insert(actor_params.end(), {actor_.w[i], actor_.b[i]});
  for (size_t i = 0; i < critic_.w.size(); ++i)
    critic_params.insert(critic_params.end(), {critic_.w[i], critic_.b[i]});
  actor_opt_ =
      std::make_unique<torch::optim::Adam>(actor_params, torch::optim::AdamOptions(cfg.actor_lr));
  critic_opt_ =
      std::make_unique<torch::optim::Adam>(critic_params, torch::optim::AdamOptions(cfg.critic_lr));
  alpha_opt_ = std::make_unique<torch::optim::Adam>(std::vector<torch::Tensor>{log_alpha_},
                                                    torch::optim::AdamOptions(cfg.alpha_lr));
}

std::pair<torch::Tensor, torch::Tensor> SacImpl::Sample(const torch::Tensor& obs,
                                                        const torch::Tensor& eps) const {
  auto out = actor_.Forward(obs);
  auto mean = out.narrow(-1, 0, act_dim_);
  auto log_std = out.narrow(-1, act_dim_, act_dim_).clamp(kLogStdMin, kLogStdMax);
  auto u = mean + log_std.exp() * eps;
  auto a = torch::tanh(u);
  // log N(u; mean, std) - sum log(1 - tanh(u)^2), the latter as 2 (log 2 - u - softplus(-2u))
  auto logp = (-0.5 * eps.square() - log_std - 0.5 * std::log(2 * M_PI)).sum(-1) -
              (2 * (std::log(2.0) - u - torch::softplus(-2 * u))).sum(-1);
  return {a, logp};
}

torch::Tensor SacImpl::Deterministic(const torch::Tensor& obs) const {
  torch::NoGradGuard ng;
  auto out = actor_.Forward(obs.to(device_, torch::kFloat32));
  return torch::tanh(out.narrow(-1, 0, act_dim_)) * scale_ + shift_;
}

PolicyNet SacImpl::Policy() const {
  auto to_eigen = [](const torch::Tensor& t) {  // 1-D or 2-D float tensor -> RowMatrixXf
    auto c = t.detach().to(torch::kCPU, torch::kFloat32).contiguous();
    const int64_t rows = c.dim() == 2 ? c.size(0) : c.numel(), cols = c.dim() == 2 ? c.size(1) : 1;
    return RowMatrixXf(Eigen::Map<const RowMatrixXf>(c.data_ptr<float>(), rows, cols));
  };
  PolicyNet net;
  net.act_dim = act_dim_;
  net.obs_dim = static_cast<int>(actor_.w[0].size(0));
  for (size_t i = 0; i < actor_.w.size(); ++i) {
    auto w = actor_.w[i].t(), b = actor_.b[i];  // [out,in], [out]
    if (i + 1 == actor_.w.size()) w = w.narrow(0, 0, act_dim_), b = b.narrow(0, 0, act_dim_);
    net.w.push_back(to_eigen(w));
    net.b.push_back(to_eigen(b).col(0));
  }
  net.act_scale = to_eigen(scale_).col(0);
  net.act_shift = to_eigen(shift_).col(0);
  return net;
}

torch::Tensor SacImpl::Act(const torch::Tensor& obs, bool deterministic, torch::Generator& gen) {
  if (deterministic) return Deterministic(obs);
  torch::NoGradGuard ng;
  auto x = obs.to(device_, torch::kFloat32);
  return Sample(x, Randn({x.size(0), act_dim_}, gen, torch::device(device_))).first * scale_ +
         shift_;
}

void SacImpl::Update(const Batch& batch, torch::Generator& gen) {
  auto obs = batch.obs.to(device_), next_obs = batch.next_obs.to(device_);
  auto act = (batch.act.to(device_) - shift_) / scale_;
  auto reward = batch.reward.to(device_), done = batch.terminated.to(device_, torch::kFloat32);
  auto alpha = log_alpha_.detach().exp();
  auto eps = Randn({2, obs.size(0), act_dim_}, gen, torch::device(device_));  // for s' and for s
  // Both losses use the current networks (as softlearning, which MBPO used), so the critic and
  // actor branches are independent: they run on two threads, and the steps follow.
  torch::Tensor critic_loss, actor_loss, logp, q;
  const auto critic_branch = [&] {
    torch::Tensor target;  // r + gamma (1 - done) (min target Q(s',a') - alpha log pi(a'|s'))
    {
      torch::NoGradGuard ng;
      auto [a2, logp2] = Sample(next_obs, eps[0]);
      auto q2 = target_.Forward(torch::cat({next_obs, a2}, -1).unsqueeze(0).expand({2, -1, -1}));
      target =
          reward + cfg_.gamma * (1 - done) * (std::get<0>(q2.squeeze(-1).min(0)) - alpha * logp2);
    }
    q = critic_.Forward(torch::cat({obs, act}, -1).unsqueeze(0).expand({2, -1, -1})).squeeze(-1);
    critic_loss = 0.5 * (q - target.unsqueeze(0)).square().mean(1).sum();
    critic_opt_->zero_grad();
    critic_loss.backward();
  };
  const auto actor_branch = [&] {  // alpha log pi(a|s) - min Q(s,a), through frozen critics
    Mlp frozen;
    for (size_t i = 0; i < critic_.w.size(); ++i) {
      frozen.w.push_back(critic_.w[i].detach());
      frozen.b.push_back(critic_.b[i].detach());
    }
    auto [a, lp] = Sample(obs, eps[1]);
    logp = lp.detach();
    auto qa = frozen.Forward(torch::cat({obs, a}, -1).unsqueeze(0).expand({2, -1, -1}));
    actor_loss = (alpha * lp - std::get<0>(qa.squeeze(-1).min(0))).mean();
    actor_opt_->zero_grad();
    actor_loss.backward();
  };
  if (device_.is_cpu() && at::get_num_threads() > 1) {
    at::parallel_for(0, 2, 1, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) i == 0 ? critic_branch() : actor_branch();
    });
  } else {
    critic_branch();
    actor_branch();
  }
  if (cfg_.critic_grad_clip > 0) {
    std::vector<torch::Tensor> ps;
    for (auto& g : critic_opt_->param_groups())
      ps.insert(ps.end(), g.params().begin(), g.params().end());
    torch::nn::utils::clip_grad_norm_(ps, cfg_.critic_grad_clip);
  }
  critic_opt_->step();
  actor_opt_->step();

  // temperature: keep the policy entropy near the target
  auto entropy = -logp.mean();
  if (cfg_.learn_alpha) {
    auto alpha_loss = log_alpha_ * (entropy - target_entropy_);
    alpha_opt_->zero_grad();
    alpha_loss.backward();
    alpha_opt_->step();
  }

  {
    torch::NoGradGuard ng;
    for (size_t i = 0; i < critic_.w.size(); ++i) {
      target_.w[i].lerp_(critic_.w[i], cfg_.tau);
      target_.b[i].lerp_(critic_.b[i], cfg_.tau);
    }
    sums_ += torch::stack(
        {critic_loss.detach(), actor_loss.detach(), alpha, entropy, q.detach().mean()});
  }
  ++updates_;
  ++since_;
}

void SacImpl::SaveTo(torch::serialize::OutputArchive& ar) const {
  torch::serialize::OutputArchive weights, opts;
  save(weights);
  const std::pair<const char*, torch::optim::Adam*> named[] = {{"actor_opt", actor_opt_.get()},
                                                               {"critic_opt", critic_opt_.get()},
                                                               {"alpha_opt", alpha_opt_.get()}};
  for (const auto& [name, opt] : named) {
    torch::serialize::OutputArchive sub;
    opt->save(sub);
    opts.write(name, sub);
  }
  ar.write("sac", weights);
  ar.write("sac_optimizers", opts);
}

void SacImpl::LoadFrom(torch::serialize::InputArchive& ar) {
  torch::serialize::InputArchive weights, opts;
  ar.read("sac", weights);
  ar.read("sac_optimizers", opts);
  load(weights);
  const std::pair<const char*, torch::optim::Adam*> named[] = {{"actor_opt", actor_opt_.get()},
                                                               {"critic_opt", critic_opt_.get()},
                                                               {"alpha_opt", alpha_opt_.get()}};
  for (const auto& [name, opt] : named) {
    torch::serialize::InputArchive sub;
    opts.read(name, sub);
    opt->load(sub);
  }
}

namespace {
const char* kStatNames[] = {"critic_loss", "actor_loss", "alpha", "entropy", "q"};
}  // namespace

void SacImpl::CheckFiniteStats() const {
  if (since_ == 0 || torch::isfinite(sums_).all().item<bool>()) return;
  const auto sums = sums_.to(torch::kCPU);
  for (int i = 0; i < 5; ++i)
    CheckFinite(sums[i].item<double>(),
                detail::Concat("sac ", kStatNames[i], " in updates ", updates_ - since_ + 1, "-",
                               updates_, " (lower the learning rates or set critic_grad_clip)"));
}

std::vector<std::pair<std::string, double>> SacImpl::TakeStats() {
  std::vector<std::pair<std::string, double>> out;
  if (since_ == 0) return out;
  CheckFiniteStats();
  auto mean = (sums_ / static_cast<double>(since_)).to(torch::kCPU);
  for (int i = 0; i < 5; ++i) out.emplace_back(kStatNames[i], mean[i].item<double>());
  sums_.zero_();
  since_ = 0;
  return out;
}

}  // namespace mbrl
