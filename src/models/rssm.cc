#include "mbrl/models/rssm.h"

#include <torch/nn/utils/clip_grad.h>
#include <torch/torch.h>

#include "mbrl/core/check.h"
#include "mbrl/core/random.h"

namespace mbrl {
namespace F = torch::nn::functional;
namespace {

// Observations of a batch of transitions [B,T] as a [B,T+1] sequence: obs, then the last next_obs.
torch::Tensor ObsSequence(const SequenceBatch& b) {
  return torch::cat({b.obs, b.next_obs.narrow(1, b.next_obs.size(1) - 1, 1)}, 1);
}

}  // namespace

RssmState RssmSequence::Flat() const {
  const auto flat = [](const torch::Tensor& t) { return t.reshape({-1, t.size(-1)}); };
  if (!mask.defined()) return {flat(deter), flat(stoch), flat(post_stats)};
  auto keep = mask.reshape({-1}).nonzero().squeeze(1);
  return {flat(deter).index_select(0, keep), flat(stoch).index_select(0, keep),
          flat(post_stats).index_select(0, keep)};
}

RssmImpl::RssmImpl(int obs_dim, int act_dim, const RssmConfig& cfg)
    : cfg_(cfg),
      obs_dim_(obs_dim),
      act_dim_(act_dim),
      angles_(obs_dim, cfg.angle_dims, "model.angle_dims") {
  const int64_t d = cfg.deter, u = cfg.units, s = StochSize(), f = d + s, o = angles_.out_dim();
  const bool ln = cfg.layernorm;
  img_in_ = register_module("img_in",
                            torch::nn::Linear(torch::nn::LinearOptions(s + act_dim, u).bias(!ln)));
  gru_ =
      register_module("gru", torch::nn::Linear(torch::nn::LinearOptions(u + d, 3 * d).bias(!ln)));
  if (ln) {
    img_norm_ = register_module("img_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({u})));
    gru_norm_ =
        register_module("gru_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({3 * d})));
  }
  const int64_t embed = cfg.layers > 0 ? u : o;
  encoder_ = register_module("encoder", MlpNet(o, 0, u, cfg.layers, ln));
  post_ = register_module("post", MlpNet(d + embed, StatsSize(), u, 1, ln));
  prior_ = register_module("prior", MlpNet(d, StatsSize(), u, 1, ln));
  decoder_ = register_module("decoder", MlpNet(f, o, u, cfg.layers, ln));
  if (cfg.reward_head == "twohot") {
    twohot_ = std::make_unique<TwoHot>();
    reward_ = register_module("reward", MlpNet(f, twohot_->bins(), u, cfg.layers, ln));
    reward_->ScaleOutput(0);  // predicts 0 at the start instead of random large values
  } else {
    reward_ = register_module("reward", MlpNet(f, 1, u, cfg.layers, ln));
  }
  if (cfg.continue_head) cont_ = register_module("cont", MlpNet(f, 1, u, cfg.layers, ln));
  opt_ = std::make_unique<torch::optim::Adam>(parameters(),
                                              torch::optim::AdamOptions(cfg.lr).eps(cfg.eps));
}

RssmState RssmImpl::Initial(int64_t batch) const {
  auto opt = img_in_->weight.options().requires_grad(false);
  return {torch::zeros({batch, cfg_.deter}, opt), torch::zeros({batch, StochSize()}, opt),
          torch::zeros({batch, StatsSize()}, opt)};
}

torch::Tensor RssmImpl::MakeStats(const torch::Tensor& raw) const {
  if (cfg_.classes) {
    auto shape = raw.sizes().vec();
    auto probs = raw.view({-1, cfg_.stoch, cfg_.classes}).softmax(-1);
    if (cfg_.unimix > 0) probs = probs * (1 - cfg_.unimix) + cfg_.unimix / cfg_.classes;
    return probs.clamp_min(1e-20).log().view(shape);  // finite even with unimix 0
  }
  auto parts = raw.chunk(2, -1);
  return torch::cat({parts[0], F::softplus(parts[1]) + cfg_.min_std}, -1);
}

torch::Tensor RssmImpl::Sample(const torch::Tensor& stats, torch::Generator& gen) const {
  if (cfg_.classes) {
    // Gumbel-max draw, straight-through gradients of the class probabilities
    auto logits = stats.reshape({-1, cfg_.classes});
    auto u = Rand(logits.sizes(), gen, logits.options()).clamp_(1e-20, 1);
    auto idx = (logits.detach() - (-u.log()).log()).argmax(-1);
    auto one_hot = F::one_hot(idx, cfg_.classes).to(logits.scalar_type());
    auto probs = logits.exp();
    return (one_hot + probs - probs.detach()).view(stats.sizes());
  }
  auto parts = stats.chunk(2, -1);
  return parts[0] + parts[1] * Randn(parts[0].sizes(), gen, parts[0].options());
}

torch::Tensor RssmImpl::Mode(const torch::Tensor& stats) const {
  if (!cfg_.classes) return stats.chunk(2, -1)[0];
  auto logits = stats.reshape({-1, cfg_.classes});
  return F::one_hot(logits.argmax(-1), cfg_.classes).to(logits.scalar_type()).view(stats.sizes());
}

torch::Tensor RssmImpl::Deter(const torch::Tensor& stoch, const torch::Tensor& act,
                              const torch::Tensor& deter) {
  auto x = img_in_->forward(torch::cat({stoch, act}, -1));
  if (img_norm_) x = img_norm_->forward(x);
  x = F::silu(x);
  auto parts = gru_->forward(torch::cat({x, deter}, -1));
  if (gru_norm_) parts = gru_norm_->forward(parts);
  auto p = parts.chunk(3, -1);
  auto reset = torch::sigmoid(p[0]);
  auto cand = torch::tanh(reset * p[1]);
  auto update = torch::sigmoid(p[2] - 1);
  return deter + update * (cand - deter);
}

torch::Tensor RssmImpl::ObsFeatures(const torch::Tensor& obs) const {
  auto x = angles_(obs);
  return cfg_.symlog_obs ? Symlog(x) : x;
}

torch::Tensor RssmImpl::Embed(const torch::Tensor& obs) {
  return encoder_->forward(ObsFeatures(obs));
}

RssmState RssmImpl::ImagineStep(const RssmState& prev, const torch::Tensor& act,
                                torch::Generator& gen) {
  auto deter = Deter(prev.stoch, act, prev.deter);
  auto stats = MakeStats(prior_->forward(deter));
  return {deter, Sample(stats, gen), stats};
}

RssmState RssmImpl::ObserveStep(const RssmState& prev, const torch::Tensor& act,
                                const torch::Tensor& obs, torch::Generator& gen, bool sample) {
  auto deter = Deter(prev.stoch, act, prev.deter);
  auto stats = MakeStats(post_->forward(torch::cat({deter, Embed(obs)}, -1)));
  return {deter, sample ? Sample(stats, gen) : Mode(stats), stats};
}

RssmSequence RssmImpl::Observe(const torch::Tensor& obs, const torch::Tensor& act,
                               torch::Generator& gen, const RssmState* start) {
  MBRL_CHECK(obs.dim() == 3 && act.dim() == 3 && obs.size(1) == act.size(1),
             "rssm: Observe needs obs [B,T,O] and act [B,T,A]");
  const int64_t b = obs.size(0), t_len = obs.size(1);
  auto embed = Embed(obs);
  RssmState s = start ? *start : Initial(b);
  std::vector<torch::Tensor> deters, stochs, stats;
  for (int64_t t = 0; t < t_len; ++t) {
    auto deter = Deter(s.stoch, act.select(1, t), s.deter);
    auto st = MakeStats(post_->forward(torch::cat({deter, embed.select(1, t)}, -1)));
    s = {deter, Sample(st, gen), st};
    deters.push_back(s.deter);
    stochs.push_back(s.stoch);
    stats.push_back(s.stats);
  }
  RssmSequence seq;
  seq.deter = torch::stack(deters, 1);
  seq.stoch = torch::stack(stochs, 1);
  seq.post_stats = torch::stack(stats, 1);
  seq.prior_stats = MakeStats(prior_->forward(seq.deter));  // all steps in one batch
  return seq;
}

torch::Tensor RssmImpl::Imagine(const RssmState& start, const torch::Tensor& actions,
                                torch::Generator& gen) {
  std::vector<torch::Tensor> feats{Features(start)};
  RssmState s = start;
  for (int64_t h = 0; h < actions.size(1); ++h) {
    s = ImagineStep(s, actions.select(1, h), gen);
    feats.push_back(Features(s));
  }
  return torch::stack(feats);
}

std::pair<torch::Tensor, torch::Tensor> RssmImpl::Imagine(
    const RssmState& start, int horizon,
    const std::function<torch::Tensor(const torch::Tensor&)>& policy, torch::Generator& gen) {
  std::vector<torch::Tensor> feats{Features(start)}, acts;
  RssmState s = start;
  for (int h = 0; h < horizon; ++h) {
    acts.push_back(policy(feats.back()));
    s = ImagineStep(s, acts.back(), gen);
    feats.push_back(Features(s));
  }
  return {torch::stack(feats), torch::stack(acts)};
}

torch::Tensor RssmImpl::Reward(const torch::Tensor& feat) {
  auto out = reward_->forward(feat);
  return twohot_ ? twohot_->Mean(out) : out.squeeze(-1);
}

torch::Tensor RssmImpl::Continue(const torch::Tensor& feat) {
  if (!cont_) return torch::ones(feat.sizes().slice(0, feat.dim() - 1), feat.options());
  return torch::sigmoid(cont_->forward(feat).squeeze(-1));
}

torch::Tensor RssmImpl::Decode(const torch::Tensor& feat) {
  auto out = decoder_->forward(feat);
  return cfg_.symlog_obs ? Symexp(out) : out;
}

RssmSequence RssmImpl::ObserveBatch(const SequenceBatch& batch, torch::Generator& gen) {
  auto obs = ObsSequence(batch);
  auto act = torch::cat({torch::zeros_like(batch.act.narrow(1, 0, 1)), batch.act}, 1);
  auto seq = Observe(obs, act, gen);
  // imagination starts: real steps that are not terminal (nothing follows a terminal state)
  auto start_ok = 1 - batch.terminated.to(obs.scalar_type());
  if (batch.mask.defined()) start_ok = start_ok * batch.mask;
  seq.mask = torch::cat({torch::ones_like(start_ok.narrow(1, 0, 1)), start_ok}, 1);
  return seq;
}

torch::Tensor RssmImpl::Kl(const torch::Tensor& p, const torch::Tensor& q) const {
  if (cfg_.classes) {
    auto lp = p.view({-1, cfg_.classes}), lq = q.view({-1, cfg_.classes});
    auto kl = (lp.exp() * (lp - lq)).sum(-1);
    auto shape = p.sizes().vec();
    shape.back() = cfg_.stoch;
    return kl.view(shape).sum(-1);
  }
  auto a = p.chunk(2, -1), b = q.chunk(2, -1);
  auto var_ratio = (a[1] / b[1]).pow(2);
  auto t = ((a[0] - b[0]) / b[1]).pow(2);
  return (0.5 * (var_ratio + t - 1) - var_ratio.log() * 0.5).sum(-1);
}

std::pair<torch::Tensor, RssmStats> RssmImpl::Loss(const SequenceBatch& batch,
                                                   const RssmSequence& seq) {
  auto feat = seq.Features();  // [B,T+1,F]
  const int64_t t_len = batch.obs.size(1);
  // means over real steps only: padding after a short episode's end has weight 0
  auto w_next = batch.mask.defined() ? batch.mask : torch::ones_like(batch.reward);  // [B,T]
  auto w_seq = torch::cat({torch::ones_like(w_next.narrow(1, 0, 1)), w_next}, 1);    // [B,T+1]
  const auto mean = [](const torch::Tensor& x, const torch::Tensor& w) {
    return (x * w).sum() / w.sum();
  };
  auto obs = ObsSequence(batch);
  auto recon = mean((decoder_->forward(feat) - ObsFeatures(obs)).pow(2).sum(-1), w_seq);
  auto next = feat.narrow(1, 1, t_len);
  torch::Tensor reward;
  if (twohot_) {
    reward = mean(twohot_->Loss(reward_->forward(next), batch.reward), w_next);
  } else {
    reward = mean((reward_->forward(next).squeeze(-1) - batch.reward).pow(2), w_next);
  }
  auto cont = torch::zeros({}, feat.options());
  if (cont_)
    cont = mean(F::binary_cross_entropy_with_logits(
                    cont_->forward(next).squeeze(-1), 1 - batch.terminated.to(feat.scalar_type()),
                    F::BinaryCrossEntropyWithLogitsFuncOptions().reduction(torch::kNone)),
                w_next);
  auto kl = mean(Kl(seq.post_stats, seq.prior_stats), w_seq);
  auto dyn = mean(Kl(seq.post_stats.detach(), seq.prior_stats).clamp_min(cfg_.free_nats), w_seq);
  auto rep = mean(Kl(seq.post_stats, seq.prior_stats.detach()).clamp_min(cfg_.free_nats), w_seq);
  auto loss = recon + reward + cont + cfg_.kl_dyn * dyn + cfg_.kl_rep * rep;
  auto parts = torch::stack({loss, recon, reward, cont, kl}).detach().to(torch::kCPU);
  auto p = parts.accessor<float, 1>();
  return {loss, RssmStats{p[0], p[1], p[2], p[3], p[4]}};
}

RssmStats RssmImpl::Update(const SequenceBatch& batch, torch::Generator& gen,
                           RssmSequence* posteriors) {
  auto seq = ObserveBatch(batch, gen);
  auto [loss, stats] = Loss(batch, seq);
  opt_->zero_grad();
  loss.backward();
  if (cfg_.grad_clip > 0) torch::nn::utils::clip_grad_norm_(parameters(), cfg_.grad_clip);
  opt_->step();
  if (posteriors) {
    posteriors->deter = seq.deter.detach();
    posteriors->stoch = seq.stoch.detach();
    posteriors->post_stats = seq.post_stats.detach();
    posteriors->prior_stats = seq.prior_stats.detach();
    posteriors->mask = seq.mask;
  }
  return stats;
}

void RssmImpl::SaveTo(torch::serialize::OutputArchive& ar) const {
  torch::serialize::OutputArchive weights, opt;
  save(weights);
  opt_->save(opt);
  ar.write("rssm", weights);
  ar.write("rssm_optimizer", opt);
}

void RssmImpl::LoadFrom(torch::serialize::InputArchive& ar) {
  torch::serialize::InputArchive weights, opt;
  ar.read("rssm", weights);
  ar.read("rssm_optimizer", opt);
  load(weights);
  opt_->load(opt);
}

Objective MakeObjective(Rssm model, const RssmState& belief, torch::Generator gen) {
  return [model, belief, gen](const torch::Tensor& actions) mutable {
    torch::NoGradGuard ng;
    const int64_t n = actions.size(0);
    RssmState start{belief.deter.expand({n, -1}), belief.stoch.expand({n, -1}),
                    belief.stats.expand({n, -1})};
    auto feat = model->Imagine(start, actions, gen).narrow(0, 1, actions.size(1));  // [H,N,F]
    auto alive = torch::cat({torch::ones({1, n}, feat.options()),
                             model->Continue(feat).narrow(0, 0, feat.size(0) - 1).cumprod(0)});
    return (model->Reward(feat) * alive).sum(0);
  };
}

}  // namespace mbrl
