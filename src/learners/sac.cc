#include "mbrl/learners/sac.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <cmath>
#include <mutex>

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

// The squashed Gaussian from the actor's output [B,2A] (mean, raw log std) and noise eps [B,A]:
// action a = tanh(u), u = mean + std eps, and log pi = log N(u; mean, std) - sum log(1 - a^2),
// the latter as 2 (log 2 - u - softplus(-2u)).
struct Squashed {
  torch::Tensor raw, std, a, logp;
};

Squashed Squash(const torch::Tensor& out, const torch::Tensor& eps) {
  const int64_t a_dim = eps.size(-1);
  Squashed s;
  s.raw = out.narrow(-1, a_dim, a_dim);
  auto log_std = s.raw.clamp(kLogStdMin, kLogStdMax);
  s.std = log_std.exp();
  auto u = out.narrow(-1, 0, a_dim) + s.std * eps;
  s.a = torch::tanh(u);
  s.logp = (-0.5 * eps.square() - log_std - 0.5 * std::log(2 * M_PI)).sum(-1) -
           (2 * (std::log(2.0) - u - torch::softplus(-2 * u))).sum(-1);
  return s;
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
  const auto eps = Randn({x.size(0), act_dim_}, gen, torch::device(device_));
  return Squash(actor_.Forward(x), eps).a * scale_ + shift_;
}

namespace {

// One MLP pass kept for its backward: x[0] is the input, x[i+1] = relu(x[i] W_i + b_i) (no relu
// after the last layer); d[i] is the gradient buffer for x[i].
struct Pass {
  std::vector<torch::Tensor> x, d;
};

torch::Tensor& Buffer(torch::Tensor& t, torch::IntArrayRef shape, const torch::TensorOptions& o) {
  if (!t.defined() || t.sizes() != shape || t.dtype() != o.dtype() || t.device() != o.device())
    t = torch::empty(shape, o);
  return t;
}

// x [B,in] (2-D weights) or [K,B,in] (3-D weights) -> pass.x.back(), no autograd graph
const torch::Tensor& ForwardPass(const Mlp& m, const torch::Tensor& x, Pass& pass) {
  const size_t n = m.w.size();
  pass.x.resize(n + 1);
  pass.d.resize(n + 1);
  pass.x[0] = x;
  for (size_t i = 0; i < n; ++i) {
    auto shape = x.sizes().vec();
    shape.back() = m.w[i].size(-1);
    auto& out = Buffer(pass.x[i + 1], shape, x.options());
    if (m.w[i].dim() == 3) {
      at::baddbmm_out(out, m.b[i].detach(), pass.x[i], m.w[i].detach());
    } else {
      at::addmm_out(out, m.b[i].detach(), pass.x[i], m.w[i].detach());
    }
    if (i + 1 < n) out.relu_();
  }
  return pass.x[n];
}

// Back through a ForwardPass from d_out (gradient of its output, may be overwritten). Weight and
// bias gradients go into the parameters' .grad() when `param_grads`; returns the input gradient
// when `input_grad` (else undefined).
torch::Tensor BackwardPass(const Mlp& m, Pass& pass, torch::Tensor d_out, bool param_grads,
                           bool input_grad) {
  torch::Tensor d = std::move(d_out);
  for (size_t i = m.w.size(); i-- > 0;) {
    const bool stacked = m.w[i].dim() == 3;
    if (param_grads) {
      auto gw = m.w[i].mutable_grad(), gb = m.b[i].mutable_grad();
      if (stacked) {
        at::bmm_out(gw, pass.x[i].transpose(1, 2), d);
        at::sum_out(gb, d, {1}, true);
      } else {
        at::mm_out(gw, pass.x[i].t(), d);
        at::sum_out(gb, d, {0});
      }
    }
    if (i == 0 && !input_grad) break;
    auto shape = d.sizes().vec();
    shape.back() = m.w[i].size(-2);
    auto& below = Buffer(pass.d[i], shape, d.options());
    const auto wt = m.w[i].detach().transpose(-2, -1);
    stacked ? at::bmm_out(below, d, wt) : at::mm_out(below, d, wt);
    if (i > 0) at::threshold_backward_out(below, below, pass.x[i], 0);  // relu'
    d = below;
  }
  return input_grad ? d : torch::Tensor();
}

// f(true) and f(false), on two threads when the tensors are on a CPU with two torch threads
template <class F>
void OnTwoThreads(const torch::Device& device, const F& f) {
  if (device.is_cpu() && at::get_num_threads() > 1) {
    at::parallel_for(0, 2, 1, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) f(i == 0);
    });
  } else {
    f(true);
    f(false);
  }
}

}  // namespace

// Buffers of the hand-derived update, reused between updates of the same batch size.
struct SacImpl::Work {
  Pass critic, target, next, actor, through;  // `through`: critics evaluated at the actor's action
  torch::Tensor critic_in, target_in, actor_in, a2, logp2;
  torch::Tensor alpha, critic_loss, actor_loss, logp, q;  // of the last update, for the stats
};

SacImpl::~SacImpl() = default;

void SacImpl::Update(const Batch& batch, torch::Generator& gen) {
  Gradients(batch, Randn({2, batch.obs.size(0), act_dim_}, gen, torch::device(device_)));
  torch::NoGradGuard ng;
  // the critics' step (then Polyak) and the actor's step touch disjoint tensors: two threads
  const auto step = [&](bool critic) {
    torch::NoGradGuard no_grad;
    if (!critic) {
      actor_opt_->step();
      return;
    }
    if (cfg_.critic_grad_clip > 0) {
      std::vector<torch::Tensor> ps;
      for (auto& g : critic_opt_->param_groups())
        ps.insert(ps.end(), g.params().begin(), g.params().end());
      torch::nn::utils::clip_grad_norm_(ps, cfg_.critic_grad_clip);
    }
    critic_opt_->step();
    for (size_t i = 0; i < critic_.w.size(); ++i) {
      target_.w[i].lerp_(critic_.w[i], cfg_.tau);
      target_.b[i].lerp_(critic_.b[i], cfg_.tau);
    }
  };
  OnTwoThreads(device_, step);
  // temperature: d/d log_alpha of log_alpha (entropy - target) keeps the entropy near the target
  auto entropy = -work_->logp.mean();
  if (cfg_.learn_alpha) {
    log_alpha_.mutable_grad() = entropy - target_entropy_;
    alpha_opt_->step();
  }
  sums_ += torch::stack({work_->critic_loss, work_->actor_loss, work_->alpha, entropy, work_->q});
  ++updates_;
  ++since_;
}

void SacImpl::Gradients(const Batch& batch, const torch::Tensor& eps) {
  if (!work_) work_ = std::make_unique<Work>();
  Work& w = *work_;
  const int64_t n = batch.obs.size(0), obs_dim = batch.obs.size(1), a_dim = act_dim_;
  const double inv_n = 1.0 / static_cast<double>(n);
  auto obs = batch.obs.to(device_), next_obs = batch.next_obs.to(device_);
  auto act = (batch.act.to(device_) - shift_) / scale_;
  auto reward = batch.reward.to(device_), done = batch.terminated.to(device_, torch::kFloat32);
  const auto opt = obs.options();
  const auto alpha = w.alpha = log_alpha_.detach().exp();
  for (auto* mlp : {&actor_, &critic_})
    for (auto* ts : {&mlp->w, &mlp->b})
      for (auto& t : *ts)
        if (!t.grad().defined()) t.mutable_grad() = torch::zeros_like(t);
  // Both losses use the current networks (as softlearning, which MBPO used), so the critic and
  // actor branches are independent and run on two threads. The policy's sample at s' is made by
  // whichever branch asks first (the actor branch asks at its start, the critic branch after
  // its forward pass), which balances the two threads' matmuls.
  std::mutex next_mutex;  // (not std::call_once: a throw inside it can hang the other thread)
  bool next_sampled = false;
  const auto sample_next = [&] {
    std::lock_guard<std::mutex> lock(next_mutex);
    if (next_sampled) return;
    auto s = Squash(ForwardPass(actor_, next_obs, w.next), eps[0]);
    w.a2 = s.a;
    w.logp2 = s.logp;
    next_sampled = true;
  };
  const auto critic_branch = [&] {
    // 0.5 sum_k mean_b (Q_k(s,a) - y)^2, y = r + gamma (1 - done) (min_k Q'_k(s',a') - alpha logp')
    at::cat_out(Buffer(w.critic_in, {n, obs_dim + a_dim}, opt), {obs, act}, 1);
    const auto& q = ForwardPass(critic_, w.critic_in.expand({2, n, -1}), w.critic);
    sample_next();
    at::cat_out(Buffer(w.target_in, {n, obs_dim + a_dim}, opt), {next_obs, w.a2}, 1);
    const auto& q2 = ForwardPass(target_, w.target_in.expand({2, n, -1}), w.target);
    auto y =
        reward + cfg_.gamma * (1 - done) * (std::get<0>(q2.squeeze(-1).min(0)) - alpha * w.logp2);
    auto diff = q.squeeze(-1) - y;  // [2,B]
    w.critic_loss = 0.5 * diff.square().mean(1).sum();
    w.q = q.mean();
    BackwardPass(critic_, w.critic, (diff * inv_n).unsqueeze(-1), true, false);
  };
  const auto actor_branch = [&] {
    // mean_b (alpha logp - min_k Q_k(s, a)) through the critics' current weights
    sample_next();
    auto s = Squash(ForwardPass(actor_, obs, w.actor), eps[1]);
    w.logp = s.logp;
    at::cat_out(Buffer(w.actor_in, {n, obs_dim + a_dim}, opt), {obs, s.a}, 1);
    const auto& qa = ForwardPass(critic_, w.actor_in.expand({2, n, -1}), w.through);
    auto [qmin, k] = qa.squeeze(-1).min(0);
    w.actor_loss = (alpha * s.logp - qmin).mean();
    auto pick = (k.unsqueeze(0) == torch::arange(2, k.options()).unsqueeze(1)).to(opt.dtype());
    auto dx = BackwardPass(critic_, w.through, (pick * -inv_n).unsqueeze(-1), false, true);
    auto da = dx.sum(0).narrow(1, obs_dim, a_dim);
    // d/du: through tanh, plus alpha/B d logp/du = 2 tanh(u); log_std also enters logp directly
    auto du = da * (1 - s.a.square()) + s.a * (2 * inv_n) * alpha;
    auto in_range = (s.raw >= kLogStdMin).logical_and(s.raw <= kLogStdMax).to(opt.dtype());
    auto d_log_std = (du * s.std * eps[1] - alpha * inv_n) * in_range;
    BackwardPass(actor_, w.actor, torch::cat({du, d_log_std}, 1), true, false);
  };
  OnTwoThreads(device_, [&](bool critic) {
    torch::NoGradGuard ng;
    critic ? critic_branch() : actor_branch();
  });
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
  ar.write("sac_updates", torch::tensor(updates_));
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
  torch::Tensor n;  // absent in checkpoints written before it was kept
  if (ar.try_read("sac_updates", n)) updates_ = n.item<int64_t>();
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
