#pragma once
/// Agents on the recurrent state-space model: Dreamer (behaviour learned in imagination) and
/// PlaNet (CEM planning in latent space).
#include <memory>

#include "mbrl/config/config.h"
#include "mbrl/learners/actor_critic.h"
#include "mbrl/models/rssm.h"
#include "mbrl/native/program.h"
#include "mbrl/planners/planner.h"

namespace mbrl {

struct DreamerConfig {
  RssmConfig model = [] {
    RssmConfig m;
    m.deter = 200;
    m.stoch = 16;
    m.classes = 16;
    m.units = 200;
    m.seq_len = 50;
    return m;
  }();
  ActorCriticConfig behavior = [] {
    ActorCriticConfig b;
    b.units = 200;
    return b;
  }();
  int prefill = 2500;        // uniform-random agent steps before the first update
  int pretrain = 100;        // updates right after the prefill
  double train_ratio = 160;  // replayed sequence steps (batch_size * seq_len) per agent step
  int imagine_starts = 256;  // posterior states imagination starts from (0 = all B*(T+1))

  template <class V>
  void Visit(V& v) {
    v("model", model);
    v("behavior", behavior);
    v("prefill", prefill, config::AtLeast(1));
    v("pretrain", pretrain, config::AtLeast(0));
    v("train_ratio", train_ratio, config::AtLeast(0));
    v("imagine_starts", imagine_starts, config::AtLeast(0));
  }
};

/// The deterministic Dreamer policy as a program (inputs obs [O], state [N]; outputs action [A]
/// in the env's bounds, next_state [N]): the RSSM's posterior step (stoch = mode), then the
/// actor's mode; state = [previous action in [-1,1], deter, stoch], zeros at an episode start.
/// Actions scale as ActionBounds: act_scale * a + act_shift, tensors [A].
PolicyProgram DreamerPolicyProgram(const Rssm& rssm, const ActorCritic& ac,
                                   const torch::Tensor& act_scale, const torch::Tensor& act_shift);

/// Dreamer's behaviour step: imagine `ac.horizon` steps from `start` with the actor, then one
/// actor-critic update, backpropagating through the frozen world model.
ActorCriticStats ImagineAndLearn(Rssm& rssm, ActorCritic& ac, const RssmState& start,
                                 torch::Generator& gen);

}  // namespace mbrl
