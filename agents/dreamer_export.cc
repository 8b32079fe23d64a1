// Dreamer's deterministic policy (RSSM posterior step + actor mode) as a policy program.
#include "agents/dreamer.h"
#include "mbrl/core/check.h"
#include "mbrl/export/export.h"

namespace mbrl {

PolicyProgram DreamerPolicyProgram(const Rssm& rssm, const ActorCritic& ac,
                                   const torch::Tensor& act_scale, const torch::Tensor& act_shift) {
  // mirrors RssmImpl::Deter, Embed, MakeStats + Mode and ActorCriticImpl::Mode; the export test
  // checks the two agree step by step on an episode
  const auto& c = rssm->config();
  MBRL_CHECK(c.angle_dims.empty(), "dreamer.model.angle_dims: export does not support angle dims");
  const int64_t a = rssm->act_dim(), d = c.deter, f = rssm->FeatureSize(), s = f - d;
  PolicyProgram p;
  p.obs_dim = static_cast<int>(rssm->obs_dim());
  p.act_dim = static_cast<int>(a);
  p.state_dim = static_cast<int>(a + f);
  const auto net = rssm->named_children();
  const auto chain = [&](const std::string& key, const std::string& reg) {
    AppendChain(*net[key], reg, &p);
  };
  const auto op = [&](std::string name, std::vector<std::string> in, std::string out,
                      std::vector<int64_t> ints = {}) {
    p.Add({std::move(name), std::move(in), std::move(out), std::move(ints), 0, {}});
  };
  const auto vec = [](float v, int64_t n) { return RowMatrixXf::Constant(1, n, v); };
  // GRU input: [stoch, prev action] -> img_in -> [norm] -> silu
  op("slice", {"state"}, "prev", {0, a});
  op("slice", {"state"}, "deter", {a, d});
  op("slice", {"state"}, "stoch", {a + d, s});
  op("concat", {"stoch", "prev"}, "x");
  chain("img_in", "x");
  if (c.layernorm) chain("img_norm", "x");
  op("silu", {"x"}, "x");
  // GRU (DreamerV3 style): reset, candidate, update with bias -1
  op("concat", {"x", "deter"}, "x");
  chain("gru", "x");
  if (c.layernorm) chain("gru_norm", "x");
  op("slice", {"x"}, "reset", {0, d});
  op("sigmoid", {"reset"}, "reset");
  op("slice", {"x"}, "cand", {d, d});
  op("mul", {"reset", "cand"}, "cand");
  op("tanh", {"cand"}, "cand");
  op("slice", {"x"}, "update", {2 * d, d});
  p.Add({"affine", {"update"}, "update", {}, 0, {vec(1.f, d), vec(-1.f, d)}});
  op("sigmoid", {"update"}, "update");
  op("sub", {"cand", "deter"}, "step");
  op("mul", {"update", "step"}, "step");
  op("add", {"deter", "step"}, "deter");
  // posterior mode from [deter, embed(obs)]
  op(c.symlog_obs ? "symlog" : "concat", {"obs"}, "x");  // concat of one input: a copy
  chain("encoder", "x");
  op("concat", {"deter", "x"}, "x");
  chain("post", "x");
  if (c.classes) {  // one-hot of the likeliest class (unimix and softmax keep the argmax)
    op("onehot_argmax", {"x"}, "stoch", {c.stoch});
  } else {
    op("slice", {"x"}, "stoch", {0, s});
  }
  // actor mean, squashed, then scaled into the env's bounds
  op("concat", {"deter", "stoch"}, "x");
  AppendChain(*ac->named_children()["actor"], "x", &p);
  op("slice", {"x"}, "act", {0, a});
  op("tanh", {"act"}, "act");
  p.Add({"affine", {"act"}, "action", {}, 0, {ToMatrix(act_scale), ToMatrix(act_shift)}});
  op("concat", {"act", "deter", "stoch"}, "next_state");
  return p;
}

}  // namespace mbrl
