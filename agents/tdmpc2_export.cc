// TD-MPC2's prior policy (encoder + policy prior mean, squashed) as a stateless policy program.
#include "agents/tdmpc2.h"
#include "mbrl/export/export.h"

namespace mbrl {
namespace {

// Appends the ops of one NormedMlp member (mirrors NormedMlpImpl::Run in eval mode: dropout off)
// that set `reg` = net(reg).
void AppendNormedMlp(const NormedMlp& net, const std::string& reg, PolicyProgram* p) {
  const auto& opt = net->options();
  const size_t n = net->w.size();
  for (size_t i = 0; i < n; ++i) {
    p->Add({"linear", {reg}, reg, {}, 0, {ToMatrix(net->w[i][0].t()), ToMatrix(net->b[i][0])}});
    if (i == n - 1 && opt.simnorm == 0) break;
    p->Add({"layernorm",
            {reg},
            reg,
            {},
            1e-5f,
            {ToMatrix(net->ln_w[i][0]), ToMatrix(net->ln_b[i][0])}});
    if (i < n - 1)
      p->Add({"mish", {reg}, reg, {}, 0, {}});
    else
      p->Add({"simnorm", {reg}, reg, {opt.simnorm}, 0, {}});
  }
}

}  // namespace

PolicyProgram TdMpc2PolicyProgram(const TdMpc2& model, int obs_dim, int act_dim,
                                  const torch::Tensor& act_scale, const torch::Tensor& act_shift) {
  // the export test checks it against the agent's act=prior eval actions along an episode
  PolicyProgram p;
  p.obs_dim = obs_dim;
  p.act_dim = act_dim;
  p.Add({"concat", {"obs"}, "x", {}, 0, {}});  // a copy: "obs" is an input
  AppendNormedMlp(model->encoder(), "x", &p);
  AppendNormedMlp(model->pi_net(), "x", &p);
  p.Add({"slice", {"x"}, "mean", {0, act_dim}, 0, {}});
  p.Add({"tanh", {"mean"}, "mean", {}, 0, {}});
  p.Add({"affine", {"mean"}, "action", {}, 0, {ToMatrix(act_scale), ToMatrix(act_shift)}});
  return p;
}

}  // namespace mbrl
