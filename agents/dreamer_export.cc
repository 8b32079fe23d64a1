// Dreamer's deterministic policy (RSSM posterior step + actor mode) as TorchScript source.
#include <torch/script.h>

#include <sstream>

#include "agents/dreamer.h"
#include "mbrl/export/export.h"

namespace mbrl {

std::shared_ptr<torch::jit::Module> ScriptDreamerPolicy(const Rssm& rssm, const ActorCritic& ac,
                                                        const torch::Tensor& act_scale,
                                                        const torch::Tensor& act_shift) {
  // mirrors RssmImpl::Deter, Embed, MakeStats + Mode and ActorCriticImpl::Mode; the export test
  // checks the two agree step by step on an episode
  const auto& c = rssm->config();
  const int64_t a = rssm->act_dim(), d = c.deter, f = rssm->FeatureSize(), s = f - d;
  const int64_t n = a + f;
  auto m = std::make_shared<torch::jit::Module>("MbrlRecurrentPolicy");
  const auto net = rssm->named_children();
  const auto chain =
      [&](const torch::OrderedDict<std::string, std::shared_ptr<torch::nn::Module>>& children,
          const std::string& key) { return ScriptChain(*children[key], key, "x", *m); };
  std::ostringstream src;
  src << "def initial_state(self, batch: int) -> Tensor:\n"
      << "    return torch.zeros([batch, " << n << "])\n"
      << "def forward(self, obs: Tensor, state: Tensor) -> Tuple[Tensor, Tensor]:\n"
      << "    prev = state[:, 0:" << a << "]\n"
      << "    deter = state[:, " << a << ":" << a + d << "]\n"
      << "    x = torch.cat([state[:, " << a + d << ":" << n << "], prev], -1)\n"
      << chain(net, "img_in") << (c.layernorm ? chain(net, "img_norm") : "")
      << "    x = x * torch.sigmoid(x)\n"
      << "    x = torch.cat([x, deter], -1)\n"
      << chain(net, "gru") << (c.layernorm ? chain(net, "gru_norm") : "")
      << "    reset = torch.sigmoid(x[:, 0:" << d << "])\n"
      << "    cand = torch.tanh(reset * x[:, " << d << ":" << 2 * d << "])\n"
      << "    update = torch.sigmoid(x[:, " << 2 * d << ":" << 3 * d << "] - 1.0)\n"
      << "    deter = deter + update * (cand - deter)\n"
      << "    x = obs\n"
      << (c.symlog_obs ? "    x = torch.sign(x) * torch.log1p(torch.abs(x))\n" : "")
      << chain(net, "encoder") << "    x = torch.cat([deter, x], -1)\n"
      << chain(net, "post");
  if (c.classes) {  // one-hot of the likeliest class (unimix and softmax keep the argmax)
    src << "    x = x.view([-1, " << c.stoch << ", " << c.classes << "])\n"
        << "    stoch = torch.zeros_like(x).scatter_(-1, torch.argmax(x, -1, True), 1.0)"
        << ".view([-1, " << s << "])\n";
  } else {
    src << "    stoch = x[:, 0:" << s << "]\n";
  }
  src << "    x = torch.cat([deter, stoch], -1)\n"
      << chain(ac->named_children(), "actor") << "    act = torch.tanh(x[:, 0:" << a << "])\n"
      << "    return act * self.act_scale + self.act_shift, torch.cat([act, deter, stoch], -1)\n";
  m->register_buffer("act_scale", act_scale.detach().to(torch::kCPU).clone());
  m->register_buffer("act_shift", act_shift.detach().to(torch::kCPU).clone());
  m->register_attribute("obs_dim", c10::IntType::get(), int64_t{rssm->obs_dim()});
  m->register_attribute("act_dim", c10::IntType::get(), a);
  m->register_attribute("state_dim", c10::IntType::get(), n);
  m->define(src.str());
  return m;
}

}  // namespace mbrl
