// Ensemble training: hand-derived gradients and Adam into preallocated buffers, members split
// into groups that run on torch's threads (each group its own matmuls, no autograd graph).
#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <cmath>
#include <optional>
#include <string>

#include "mbrl/core/check.h"
#include "mbrl/core/runtime.h"
#include "mbrl/models/ensemble.h"

namespace mbrl {
namespace {

constexpr double kBeta1 = 0.9, kBeta2 = 0.999, kEps = 1e-8;  // torch::optim::Adam defaults
constexpr double kBoundPenalty = 0.01;                       // on max_logvar - min_logvar

}  // namespace

// One tensor with views of its Adam moments; `g` holds its gradient and is reused as scratch.
struct EnsembleTrainer::Slot {
  torch::Tensor p, g, m, v;
  Slot(torch::Tensor param, torch::Tensor m1, torch::Tensor m2)
      : p(std::move(param)), g(torch::zeros_like(p)), m(std::move(m1)), v(std::move(m2)) {}
  // same update as torch::optim::Adam with L2 weight decay
  void Step(double lr, double wd, double bc1, double bc2) {
    if (wd != 0) g.add_(p, wd);
    m.mul_(kBeta1).add_(g, 1 - kBeta1);
    v.mul_(kBeta2).addcmul_(g, g, 1 - kBeta2);
    at::sqrt_out(g, v);
    g.div_(std::sqrt(bc2)).add_(kEps);
    p.addcdiv_(m, g, -lr / bc1);
  }
};

// Members [first, first+count): weight views, gradients, moments and activation buffers.
struct EnsembleTrainer::Group {
  int64_t first, count;
  std::vector<Slot> w, b;                     // [K,in,out], [K,1,out]
  std::vector<torch::Tensor> s, h;            // sigmoid(z), silu(z) per hidden layer, flat [K*B*H]
  torch::Tensor xb, yb, out, dout, dh0, dh1;  // flat buffers
  torch::Tensor loss, g_min, g_max;           // summed NLL; logvar-bound gradient parts [D]

  // m, v: the trainer's moments of w0.., b0.. (whole ensemble; this group takes its members)
  Group(EnsembleImpl& model, const std::vector<torch::Tensor>& m,
        const std::vector<torch::Tensor>& v, int64_t first_member, int64_t members,
        int64_t max_batch)
      : first(first_member), count(members) {
    const size_t n = model.w.size();
    const auto mine = [&](const torch::Tensor& t) { return t.narrow(0, first, count); };
    for (size_t i = 0; i < n; ++i) {
      w.emplace_back(mine(model.w[i].detach()), mine(m[i]), mine(v[i]));
      b.emplace_back(mine(model.b[i].detach()), mine(m[n + i]), mine(v[n + i]));
    }
    const auto opt = model.w[0].options().requires_grad(false);
    const int64_t rows = count * max_batch, hidden = model.w[0].size(2);
    for (size_t i = 0; i + 1 < model.w.size(); ++i) {
      s.push_back(torch::empty({rows * hidden}, opt));
      h.push_back(torch::empty({rows * hidden}, opt));
    }
    xb = torch::empty({rows * model.w[0].size(1)}, opt);
    yb = torch::empty({rows * model.out_dim()}, opt);
    out = torch::empty({rows * 2 * model.out_dim()}, opt);
    dout = torch::empty_like(out);
    dh0 = torch::empty({rows * hidden}, opt);
    dh1 = torch::empty_like(dh0);
    loss = torch::zeros({}, opt);
    g_min = torch::zeros({model.out_dim()}, opt);
    g_max = torch::zeros_like(g_min);
  }

  static torch::Tensor View(const torch::Tensor& flat, torch::IntArrayRef shape) {
    int64_t n = 1;
    for (auto d : shape) n *= d;
    return flat.narrow(0, 0, n).view(shape);
  }

  // Forward, loss and gradients for rows [K,B] (indices into x, y); gradients into w/b[i].g.
  void Gradients(const torch::Tensor& x, const torch::Tensor& y, const torch::Tensor& rows,
                 const torch::Tensor& min_lv, const torch::Tensor& max_lv, bool bound_grads) {
    const int64_t k = count, bsz = rows.size(1), layers = static_cast<int64_t>(h.size());
    const int64_t in = x.size(1), d = y.size(1), hid = w[0].p.size(2);
    auto idx = rows.reshape({-1});
    auto xk = View(xb, {k, bsz, in}), yk = View(yb, {k, bsz, d});
    auto x_rows = xk.view({k * bsz, in}), y_rows = yk.view({k * bsz, d});
    at::index_select_out(x_rows, x, 0, idx);
    at::index_select_out(y_rows, y, 0, idx);
    // forward: z = h_prev W + b, s = sigmoid(z), h = z s
    torch::Tensor prev = xk;
    for (int64_t i = 0; i < layers; ++i) {
      auto hi = View(h[i], {k, bsz, hid}), si = View(s[i], {k, bsz, hid});
      at::baddbmm_out(hi, b[i].p, prev, w[i].p);
      at::sigmoid_out(si, hi);
      hi.mul_(si);
      prev = hi;
    }
    auto o = View(out, {k, bsz, 2 * d});
    at::baddbmm_out(o, b[layers].p, prev, w[layers].p);
    // head (small [K,B,D] tensors): soft-bounded log-variance and Gaussian NLL, see Forward
    auto mean = o.narrow(2, 0, d), raw = o.narrow(2, d, d);
    auto a = max_lv - raw;
    auto lv1 = max_lv - torch::softplus(a);
    auto c = lv1 - min_lv;
    auto lv = min_lv + torch::softplus(c);
    auto diff = mean - yk;
    auto inv = torch::exp(-lv);
    auto sq_inv = diff.square() * inv;
    const double scale = 1.0 / static_cast<double>(bsz * d);  // mean over [B,D] per member
    loss += (sq_inv + lv).sum() * scale;
    auto dlv = (1 - sq_inv) * scale;
    auto sc = torch::sigmoid(c), sa = torch::sigmoid(a);
    auto dlv1 = dlv * sc;
    auto dk = View(dout, {k, bsz, 2 * d});
    auto dmean = dk.narrow(2, 0, d), draw = dk.narrow(2, d, d);
    at::mul_out(dmean, diff, inv).mul_(2 * scale);
    at::mul_out(draw, dlv1, sa);
    if (bound_grads) {
      g_min += (dlv * (1 - sc)).sum(std::vector<int64_t>{0, 1});
      g_max += (dlv1 * (1 - sa)).sum(std::vector<int64_t>{0, 1});
    }
    // backward through the layers; the two dh buffers alternate
    at::bmm_out(w[layers].g, prev.transpose(1, 2), dk);
    at::sum_out(b[layers].g, dk, {1}, true);
    auto dh = View(dh0, {k, bsz, hid}), spare = View(dh1, {k, bsz, hid});
    at::bmm_out(dh, dk, w[layers].p.transpose(1, 2));
    for (int64_t i = layers - 1; i >= 0; --i) {
      auto hi = View(h[i], {k, bsz, hid}), si = View(s[i], {k, bsz, hid});
      // silu'(z) = s + h (1 - s); spare = h s - h - s = -silu'(z)
      at::mul_out(spare, hi, si).sub_(hi).sub_(si);
      dh.mul_(spare).neg_();  // dz
      auto below = i > 0 ? View(h[i - 1], {k, bsz, hid}) : xk;
      at::bmm_out(w[i].g, below.transpose(1, 2), dh);
      at::sum_out(b[i].g, dh, {1}, true);
      if (i > 0) {
        at::bmm_out(spare, dh, w[i].p.transpose(1, 2));
        std::swap(dh, spare);
      }
    }
  }

  void Adam(const EnsembleConfig& cfg, double bc1, double bc2) {
    for (size_t i = 0; i < w.size(); ++i) {
      const double wd = cfg.weight_decay[cfg.weight_decay.size() == 1 ? 0 : i];
      w[i].Step(cfg.lr, wd, bc1, bc2);
      b[i].Step(cfg.lr, cfg.decay_biases ? wd : 0, bc1, bc2);
    }
  }
};

EnsembleTrainer::EnsembleTrainer(Ensemble model, int64_t max_batch)
    : model_(std::move(model)), max_batch_(max_batch) {
  const auto& cfg = model_->config();
  const int64_t e = cfg.members;
  const bool cpu = model_->w[0].device().is_cpu();
  // Adam moments of w0.., b0.. and the learnable bounds, kept whole for Save/Load
  std::vector<torch::Tensor> params = model_->w;
  params.insert(params.end(), model_->b.begin(), model_->b.end());
  if (cfg.learn_logvar_bounds) {
    params.push_back(model_->min_logvar);
    params.push_back(model_->max_logvar);
  }
  for (const auto& p : params) {
    m_.push_back(torch::zeros_like(p.detach()));
    v_.push_back(torch::zeros_like(p.detach()));
  }
  // on CPU one group per torch thread; the split changes no member's arithmetic
  const int64_t groups = cpu ? std::min<int64_t>(e, std::max(1, at::get_num_threads())) : 1;
  for (int64_t g = 0, first = 0; g < groups; ++g) {
    const int64_t count = (e - first) / (groups - g);
    groups_.push_back(std::make_unique<Group>(*model_, m_, v_, first, count, max_batch));
    first += count;
  }
  if (cfg.learn_logvar_bounds) {
    const size_t k = m_.size() - 2;
    bounds_.emplace_back(model_->min_logvar.detach(), m_[k], v_[k]);
    bounds_.emplace_back(model_->max_logvar.detach(), m_[k + 1], v_[k + 1]);
  }
}

void EnsembleTrainer::Save(torch::serialize::OutputArchive& ar) const {
  for (size_t i = 0; i < m_.size(); ++i) {
    ar.write("m" + std::to_string(i), m_[i]);
    ar.write("v" + std::to_string(i), v_[i]);
  }
  ar.write("steps", torch::tensor(steps_));
}

void EnsembleTrainer::Load(torch::serialize::InputArchive& ar) {
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < m_.size(); ++i) {
    for (auto [dst, key] : {std::pair{&m_[i], "m"}, std::pair{&v_[i], "v"}}) {
      const auto t = ReadTensor(ar, key + std::to_string(i));
      MBRL_CHECK(t.sizes() == dst->sizes(), "model optimiser state: moment ", i, " has shape ",
                 t.sizes(), ", the model ", dst->sizes());
      dst->copy_(t);
    }
  }
  steps_ = ReadTensor(ar, "steps").item<int64_t>();
}

EnsembleTrainer::~EnsembleTrainer() = default;

void EnsembleTrainer::Step(const torch::Tensor& x, const torch::Tensor& y,
                           const torch::Tensor& rows) {
  const auto& cfg = model_->config();
  MBRL_CHECK(rows.dim() == 2 && rows.size(0) == cfg.members && rows.size(1) <= max_batch_,
             "ensemble trainer: rows must be [", cfg.members, ",<=", max_batch_, "], got ",
             rows.sizes());
  ++steps_;
  const double bc1 = 1 - std::pow(kBeta1, steps_), bc2 = 1 - std::pow(kBeta2, steps_);
  const auto min_lv = model_->min_logvar.detach(), max_lv = model_->max_logvar.detach();
  const bool bounds = !bounds_.empty();
  at::parallel_for(0, static_cast<int64_t>(groups_.size()), 1, [&](int64_t begin, int64_t end) {
    torch::NoGradGuard no_grad;
    for (int64_t i = begin; i < end; ++i) {
      auto& g = *groups_[i];
      g.Gradients(x, y, rows.narrow(0, g.first, g.count), min_lv, max_lv, bounds);
      g.Adam(cfg, bc1, bc2);
    }
  });
  if (bounds) {
    torch::NoGradGuard no_grad;
    auto& lo = bounds_[0];
    auto& hi = bounds_[1];
    lo.g.fill_(-kBoundPenalty);
    hi.g.fill_(kBoundPenalty);
    for (auto& g : groups_) {
      lo.g += g->g_min;
      hi.g += g->g_max;
      g->g_min.zero_();
      g->g_max.zero_();
    }
    // the penalty term of the loss, evaluated before the update like the NLL
    groups_.front()->loss += kBoundPenalty * (hi.p.sum() - lo.p.sum());
    lo.Step(cfg.lr, 0, bc1, bc2);  // no weight decay on the bounds
    hi.Step(cfg.lr, 0, bc1, bc2);
  }
}

torch::Tensor EnsembleTrainer::TakeLoss() {
  auto total = torch::zeros({}, groups_.front()->loss.options());
  for (auto& g : groups_) {
    total += g->loss;
    g->loss.zero_();
  }
  return total;
}

torch::Tensor EnsembleTrainer::Mse(const torch::Tensor& x, const torch::Tensor& y) const {
  const int64_t e = model_->config().members;
  auto mse = torch::empty({e}, x.options());
  at::parallel_for(0, static_cast<int64_t>(groups_.size()), 1, [&](int64_t begin, int64_t end) {
    torch::NoGradGuard no_grad;
    for (int64_t i = begin; i < end; ++i) {
      const auto& g = *groups_[i];
      auto members = torch::arange(g.first, g.first + g.count, torch::kInt64);
      auto mean =
          EnsembleImpl::Forward(model_->Members(members), x.unsqueeze(0).expand({g.count, -1, -1}))
              .first;
      mse.narrow(0, g.first, g.count).copy_((mean - y.unsqueeze(0)).square().mean({1, 2}));
    }
  });
  return mse;
}

EnsembleTrainStats TrainEnsemble(Ensemble& model, const Batch& data, torch::Generator& gen,
                                 const EnsembleBatchHook& on_batch, EnsembleTrainer* trainer) {
  const EnsembleConfig& cfg = model->config();
  const int64_t n = data.obs.size(0);
  MBRL_CHECK(n >= 2, "model training needs at least 2 transitions, got ", n);
  const auto device = model->w[0].device();
  const int64_t e = cfg.members;

  // holdout split
  auto perm = torch::randperm(n, gen).to(device);
  int64_t n_hold = std::min<int64_t>(static_cast<int64_t>(cfg.holdout * n), cfg.max_holdout);
  n_hold = std::min(n_hold, n - 1);
  auto train_idx = perm.narrow(0, n_hold, n - n_hold), hold_idx = perm.narrow(0, 0, n_hold);
  const int64_t n_train = n - n_hold;

  torch::NoGradGuard no_grad;
  auto feats = model->Features(data.obs, data.act);
  auto targets = model->Targets(data);
  {
    auto ft = feats.index_select(0, train_idx);
    model->in_mean.copy_(ft.mean(0));
    auto sd = ft.std(0, false);
    model->in_std.copy_(torch::where(sd < 1e-6, torch::ones_like(sd), sd));
  }
  auto x = (feats - model->in_mean) / model->in_std;
  auto x_train = x.index_select(0, train_idx), y_train = targets.index_select(0, train_idx);
  auto x_hold = n_hold > 0 ? x.index_select(0, hold_idx) : x_train;
  auto y_hold = n_hold > 0 ? targets.index_select(0, hold_idx) : y_train;

  // per-member index sets, fixed for this call (bootstrap: with replacement)
  auto member_idx = cfg.bootstrap
                        ? torch::randint(n_train, {e, n_train}, gen, torch::kInt64).to(device)
                        : torch::arange(n_train, torch::kInt64).to(device).expand({e, n_train});

  std::optional<EnsembleTrainer> local;
  if (!trainer) trainer = &local.emplace(model, std::min<int64_t>(cfg.batch_size, n_train));
  auto params = model->parameters();
  std::vector<torch::Tensor> best_params;
  for (const auto& p : params) best_params.push_back(p.detach().clone());
  auto best = trainer->Mse(x_hold, y_hold);
  int since = 0;
  EnsembleTrainStats stats;
  for (int epoch = 0; epoch < cfg.max_epochs; ++epoch) {
    // each member visits its own index set in a fresh order
    auto order = std::get<1>(torch::rand({e, n_train}, gen).to(device).sort(1));
    auto shuffled = member_idx.gather(1, order);
    int batches = 0;
    for (int64_t s = 0; s < n_train; s += cfg.batch_size) {
      const int64_t bsz = std::min<int64_t>(cfg.batch_size, n_train - s);
      auto rows = shuffled.narrow(1, s, bsz);  // [E,B]
      if (on_batch) on_batch(epoch, rows);
      trainer->Step(x_train, y_train, rows);
      ++batches;
    }
    stats.train_loss = trainer->TakeLoss().item<double>() / e / std::max(1, batches);
    stats.epochs = epoch + 1;
    // early stopping on relative holdout improvement, best weights kept per member
    auto mse = trainer->Mse(x_hold, y_hold);
    auto improved = (best - mse) / best.abs().clamp_min(1e-12) > cfg.improvement;
    if (improved.any().item<bool>()) {
      for (size_t i = 0; i < params.size(); ++i) {
        if (params[i].dim() == 0 || params[i].size(0) != e) {
          best_params[i].copy_(params[i]);  // shared (logvar bounds)
          continue;
        }
        std::vector<int64_t> shape(params[i].dim(), 1);
        shape[0] = e;
        best_params[i].copy_(torch::where(improved.view(shape), params[i], best_params[i]));
      }
      best = torch::where(improved, mse, best);
      since = 0;
    } else if (++since >= cfg.patience) {
      break;
    }
  }
  for (size_t i = 0; i < params.size(); ++i) params[i].copy_(best_params[i]);
  auto mse = trainer->Mse(x_hold, y_hold);
  model->elites.copy_(std::get<1>(mse.sort()).narrow(0, 0, cfg.elites));
  stats.holdout_mse = mse.index_select(0, model->elites).mean().item<double>();
  CheckFinite(stats.train_loss, "model training loss");
  CheckFinite(stats.holdout_mse, "model holdout mse");
  return stats;
}

}  // namespace mbrl
