#!/usr/bin/python3
"""Plain PyTorch (Python) reference for `mbrl bench rssm`.

The same two Dreamer training phases as our C++ benchmark (src/cli/bench.cc BenchRssm), written
the usual way with torch.nn:

  world-model step   RSSM (src/models/rssm.cc): GRU with LayerNorm, 32x32 categorical latents
                     (1% unimix, Gumbel-max draw with straight-through gradients), MLP encoder and
                     decoder (Linear without bias -> LayerNorm -> SiLU), symlog observations, reward
                     (mse) and continue (BCE) heads, KL balancing (dyn 0.5, rep 0.1, free nats 1),
                     Adam (3e-4, eps 1e-8), grad clip 100; one update on a [B,T] batch.
  actor-critic step  imagination of 15 steps from the first N posterior states with the world
                     model frozen (requires_grad off: input gradients only), tanh-Gaussian actor,
                     critic and slow EMA critic, lambda-returns, 5-95% return normalisation, one
                     backward over actor + critic loss (src/learners/actor_critic.cc,
                     agents/dreamer.cc ImagineAndLearn).

Cases: v3_512 (obs 24, act 6, deter/units 512, 32x32, batch 16x64, behaviour 2x512, 1024 starts)
and dreamer_default (obs 5, act 1, deter/units 200, 16x16, batch 16x50, behaviour 2x200, 256
starts). Prints one JSON line per case (keys as `mbrl bench rssm`) and a table on stderr.

  /usr/bin/python3 scripts/bench_rssm_reference.py [--wm-threads 1,2] [--ac-threads 2,1]
      [--threads T] [--blas-threads B] [--warm-blas] [--tune-malloc] [--repeats 5] [--case NAME]

Thread pools are switched per phase like the C++ ScopedThreads: torch.set_num_threads and
OpenBLAS's openblas_set_num_threads (through ctypes), restored after every call. The defaults are
the C++ defaults (world model torch 1 / OpenBLAS 2, actor-critic torch 2 / OpenBLAS 1);
--threads/--blas-threads override both phases, as in `mbrl bench rssm`. mbrl tunes glibc malloc
by default (TuneAllocator); --tune-malloc does the same mallopt calls here.

Needs Debian's python3-torch (apt-get install python3-torch); run it with /usr/bin/python3.
"""
import argparse
import ctypes
import ctypes.util
import json
import math
import statistics
import sys
import time


def pair(s):
    t, b = (int(v) for v in s.split(","))
    return t, b


p = argparse.ArgumentParser()
p.add_argument("--wm-threads", type=pair, default=(1, 2), metavar="T,B",
               help="torch,OpenBLAS threads of the world-model step (default 1,2)")
p.add_argument("--ac-threads", type=pair, default=(2, 1), metavar="T,B",
               help="torch,OpenBLAS threads of the actor-critic step (default 2,1)")
p.add_argument("--threads", type=int, default=0, help="torch threads of both phases")
p.add_argument("--blas-threads", type=int, default=-1, help="OpenBLAS threads of both phases")
p.add_argument("--warm-blas", action="store_true",
               help="run one 512^3 GEMM whenever a phase raises the thread counts (as mbrl does)")
p.add_argument("--tune-malloc", action="store_true",
               help="glibc mallopt as mbrl's TuneAllocator (mbrl does it unless --no-malloc-tuning)")
p.add_argument("--repeats", type=int, default=5)
p.add_argument("--case", choices=("v3_512", "dreamer_default"), action="append",
               help="run only this case (repeatable; default both)")
args = p.parse_args()
if args.threads > 0:
    args.wm_threads = (args.threads, args.wm_threads[1])
    args.ac_threads = (args.threads, args.ac_threads[1])
if args.blas_threads >= 0:
    args.wm_threads = (args.wm_threads[0], args.blas_threads)
    args.ac_threads = (args.ac_threads[0], args.blas_threads)

if args.tune_malloc:  # before torch allocates anything
    _libc = ctypes.CDLL(ctypes.util.find_library("c"))
    M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3
    _libc.mallopt(M_MMAP_THRESHOLD, 32 << 20)
    _libc.mallopt(M_TRIM_THRESHOLD, 1 << 30)
    _libc.mallopt(M_TOP_PAD, 64 << 20)

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

# OpenBLAS is already loaded by torch; dlopen of the same soname returns that copy
try:
    _blas = ctypes.CDLL("libopenblas.so.0")
    _blas_set, _blas_get = _blas.openblas_set_num_threads, _blas.openblas_get_num_threads
except (OSError, AttributeError):
    _blas_set = _blas_get = None
    print("warning: OpenBLAS not found, BLAS threads are left as they are", file=sys.stderr)


def blas_threads():
    return _blas_get() if _blas_get else -1


_warmed = [0, 0]  # highest blas, torch thread counts warmed up


def set_threads(torch_threads, blas):
    torch.set_num_threads(torch_threads)
    if blas > 0 and _blas_set:
        _blas_set(blas)
    if args.warm_blas and (blas_threads() > _warmed[0] or torch_threads > _warmed[1]):
        _warmed[0], _warmed[1] = max(_warmed[0], blas_threads()), max(_warmed[1], torch_threads)
        with torch.no_grad():
            a = torch.ones(512, 512)
            a @ a


class Threads:
    """Thread pools for one call, restored afterwards (mbrl's ScopedThreads)."""

    def __init__(self, t):
        self.t = t

    def __enter__(self):
        self.saved = (torch.get_num_threads(), blas_threads())
        set_threads(*self.t)

    def __exit__(self, *exc):
        set_threads(*self.saved)


def rate(min_seconds, fn):
    """Calls per second of fn over at least min_seconds, after one warm-up call (mbrl's Rate)."""
    fn()
    n, t0 = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        if time.perf_counter() - t0 >= min_seconds:
            return n / (time.perf_counter() - t0)


# ---- building blocks (src/core/mlp.cc) ----

class Mlp(nn.Module):
    """`layers` x (Linear [no bias with LayerNorm] -> LayerNorm -> SiLU), then a Linear output."""

    def __init__(self, i, o, units, layers, ln=True):
        super().__init__()
        mods = []
        for k in range(layers):
            mods.append(nn.Linear(units if k else i, units, bias=not ln))
            if ln:
                mods.append(nn.LayerNorm(units))
            mods.append(nn.SiLU())
        self.net = nn.Sequential(*mods)
        self.out = nn.Linear(units if layers else i, o) if o > 0 else None

    def forward(self, x):
        h = self.net(x) if len(self.net) else x
        return self.out(h) if self.out is not None else h


def symlog(x):
    return x.sign() * x.abs().log1p()


def symexp(x):
    return x.sign() * x.abs().expm1()


# ---- world model (src/models/rssm.cc) ----

class Rssm(nn.Module):
    def __init__(self, obs, act, deter, stoch, classes, units, layers=2, unimix=0.01,
                 free_nats=1.0, kl_dyn=0.5, kl_rep=0.1, lr=3e-4, eps=1e-8, grad_clip=100.0):
        super().__init__()
        self.deter, self.stoch, self.classes = deter, stoch, classes
        self.unimix, self.free_nats, self.kl_dyn, self.kl_rep = unimix, free_nats, kl_dyn, kl_rep
        self.grad_clip = grad_clip
        s = stoch * classes
        f = deter + s
        self.img_in = nn.Linear(s + act, units, bias=False)
        self.img_norm = nn.LayerNorm(units)
        self.gru = nn.Linear(units + deter, 3 * deter, bias=False)
        self.gru_norm = nn.LayerNorm(3 * deter)
        embed = units if layers > 0 else obs
        self.encoder = Mlp(obs, 0, units, layers)
        self.post = Mlp(deter + embed, s, units, 1)
        self.prior = Mlp(deter, s, units, 1)
        self.decoder = Mlp(f, obs, units, layers)
        self.reward = Mlp(f, 1, units, layers)
        self.cont = Mlp(f, 1, units, layers)
        self.opt = torch.optim.Adam(self.parameters(), lr=lr, eps=eps)

    def initial(self, b):
        s = self.stoch * self.classes
        return torch.zeros(b, self.deter), torch.zeros(b, s), torch.zeros(b, s)

    def make_stats(self, raw):
        probs = raw.view(-1, self.stoch, self.classes).softmax(-1)
        probs = probs * (1 - self.unimix) + self.unimix / self.classes
        return probs.log().view(raw.shape)

    def sample(self, stats):
        # Gumbel-max draw, straight-through gradients of the class probabilities
        logits = stats.reshape(-1, self.classes)
        u = torch.rand(logits.shape).clamp_(1e-20, 1)
        idx = (logits.detach() - (-u.log()).log()).argmax(-1)
        one_hot = F.one_hot(idx, self.classes).to(logits.dtype)
        probs = logits.exp()
        return (one_hot + probs - probs.detach()).view(stats.shape)

    def gru_step(self, stoch, act, deter):
        x = F.silu(self.img_norm(self.img_in(torch.cat([stoch, act], -1))))
        parts = self.gru_norm(self.gru(torch.cat([x, deter], -1)))
        reset, cand, update = parts.chunk(3, -1)
        reset = torch.sigmoid(reset)
        cand = torch.tanh(reset * cand)
        update = torch.sigmoid(update - 1)
        return deter + update * (cand - deter)

    def imagine_step(self, state, act):
        deter = self.gru_step(state[1], act, state[0])
        stats = self.make_stats(self.prior(deter))
        return deter, self.sample(stats), stats

    def observe(self, obs, act):
        b, t_len = obs.shape[:2]
        embed = self.encoder(symlog(obs))
        deter, stoch, _ = self.initial(b)
        deters, stochs, stats = [], [], []
        for t in range(t_len):
            deter = self.gru_step(stoch, act[:, t], deter)
            st = self.make_stats(self.post(torch.cat([deter, embed[:, t]], -1)))
            stoch = self.sample(st)
            deters.append(deter)
            stochs.append(stoch)
            stats.append(st)
        deter, stoch, post = torch.stack(deters, 1), torch.stack(stochs, 1), torch.stack(stats, 1)
        prior = self.make_stats(self.prior(deter))  # all steps in one batch
        return deter, stoch, post, prior

    def kl(self, p_, q_):
        lp, lq = p_.view(-1, self.classes), q_.view(-1, self.classes)
        kl = (lp.exp() * (lp - lq)).sum(-1)
        return kl.view(*p_.shape[:-1], self.stoch).sum(-1)

    def update(self, batch):
        b_obs, b_act, b_rew, b_next, b_term = batch
        t_len = b_obs.shape[1]
        obs = torch.cat([b_obs, b_next[:, -1:]], 1)  # [B,T+1,O]
        act = torch.cat([torch.zeros_like(b_act[:, :1]), b_act], 1)  # act[:,0] unused
        deter, stoch, post, prior = self.observe(obs, act)
        feat = torch.cat([deter, stoch], -1)
        recon = (self.decoder(feat) - symlog(obs)).pow(2).sum(-1).mean()
        nxt = feat[:, 1:]
        reward = (self.reward(nxt).squeeze(-1) - b_rew).pow(2).mean()
        cont = F.binary_cross_entropy_with_logits(self.cont(nxt).squeeze(-1), 1 - b_term)
        kl = self.kl(post, prior)
        dyn = self.kl(post.detach(), prior).clamp_min(self.free_nats).mean()
        rep = self.kl(post, prior.detach()).clamp_min(self.free_nats).mean()
        loss = recon + reward + cont + self.kl_dyn * dyn + self.kl_rep * rep
        stats = torch.stack([loss, recon, reward, cont, kl.mean()]).detach().tolist()
        self.opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(self.parameters(), self.grad_clip)
        self.opt.step()
        return (deter.detach(), stoch.detach(), post.detach()), stats


# ---- behaviour learner (src/learners/actor_critic.cc) ----

LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


class ActorCritic(nn.Module):
    def __init__(self, feat, act, units, layers=2, lr=8e-5, eps=1e-5, grad_clip=100.0,
                 gamma=0.99, lam=0.95, entropy=3e-4, min_std=0.1, max_std=1.0,
                 norm_decay=0.99, slow_decay=0.98):
        super().__init__()
        self.actor = Mlp(feat, 2 * act, units, layers)
        self.critic = Mlp(feat, 1, units, layers)
        self.slow = Mlp(feat, 1, units, layers)
        with torch.no_grad():
            for d, s in zip(self.slow.parameters(), self.critic.parameters()):
                d.copy_(s).requires_grad_(False)
        self.register_buffer("scale", torch.zeros(1))
        self.grad_clip, self.gamma, self.lam, self.entropy = grad_clip, gamma, lam, entropy
        self.min_std, self.max_std = min_std, max_std
        self.norm_decay, self.slow_decay = norm_decay, slow_decay
        self.actor_opt = torch.optim.Adam(self.actor.parameters(), lr=lr, eps=eps)
        self.critic_opt = torch.optim.Adam(self.critic.parameters(), lr=lr, eps=eps)

    def sample(self, feat):
        """Dynamics backprop: the action keeps its graph to the actor (and to feat)."""
        mu, s = self.actor(feat).chunk(2, -1)
        std = (self.max_std - self.min_std) * torch.sigmoid(s + 2) + self.min_std
        pre = mu + std * torch.randn(mu.shape)
        z = (pre - mu) / std
        logp = (-0.5 * z.pow(2) - std.log() - LOG_SQRT_2PI
                - 2 * (math.log(2.0) - pre - F.softplus(-2 * pre))).sum(-1)
        return torch.tanh(pre), logp

    def lambda_returns(self, reward, cont, value):
        h = reward.shape[0]
        ret = [None] * h
        nxt = value[h]
        for t in range(h - 1, -1, -1):
            nxt = reward[t] + self.gamma * cont[t] * ((1 - self.lam) * value[t + 1] + self.lam * nxt)
            ret[t] = nxt
        return torch.stack(ret)

    def update(self, feat, reward, cont, logp):
        h = reward.shape[0]
        slow_value = self.slow(feat).squeeze(-1)  # no parameter grads, grads to feat
        ret = self.lambda_returns(reward, cont, slow_value)
        disc = (self.gamma * cont).detach()
        weight = torch.cat([torch.ones_like(disc[:1]), disc[:h - 1].cumprod(0)]).detach()
        with torch.no_grad():
            q = torch.quantile(ret.detach().reshape(-1), torch.tensor([0.05, 0.95]))
            self.scale.mul_(self.norm_decay).add_((1 - self.norm_decay) * (q[1] - q[0]))
            norm = self.scale[0].clamp_min(1.0)
        entropy = -logp
        actor_loss = -(weight * (ret / norm + self.entropy * entropy)).mean()
        target = ret.detach()
        critic_loss = (weight * (self.critic(feat[:h].detach()).squeeze(-1) - target).pow(2)).mean()
        self.actor_opt.zero_grad()
        self.critic_opt.zero_grad()
        (actor_loss + critic_loss).backward()
        nn.utils.clip_grad_norm_(self.actor.parameters(), self.grad_clip)
        nn.utils.clip_grad_norm_(self.critic.parameters(), self.grad_clip)
        self.actor_opt.step()
        self.critic_opt.step()
        with torch.no_grad():
            for d, s in zip(self.slow.parameters(), self.critic.parameters()):
                d.lerp_(s, 1 - self.slow_decay)
        return torch.stack([actor_loss.detach(), critic_loss.detach(), entropy.detach().mean(),
                            ret.detach().mean(), slow_value.detach().mean(), self.scale[0]]).tolist()


def imagine_and_learn(rssm, ac, start, horizon):
    """agents/dreamer.cc ImagineAndLearn: the world model frozen, gradients reach the actions."""
    rssm.requires_grad_(False)
    state = start
    feats, logps = [torch.cat([start[0], start[1]], -1)], []
    for _ in range(horizon):
        a, lp = ac.sample(feats[-1])
        logps.append(lp)
        state = rssm.imagine_step(state, a)
        feats.append(torch.cat([state[0], state[1]], -1))
    feat = torch.stack(feats)  # [H+1,N,F]
    nxt = feat[1:]
    reward = rssm.reward(nxt).squeeze(-1)
    cont = torch.sigmoid(rssm.cont(nxt).squeeze(-1))
    stats = ac.update(feat, reward, cont, torch.stack(logps))
    rssm.requires_grad_(True)
    return stats


CASES = (
    # name, obs, act, deter, units, stoch, classes, batch, seq_len, behaviour units, starts
    ("v3_512", 24, 6, 512, 512, 32, 32, 16, 64, 512, 1024),
    ("dreamer_default", 5, 1, 200, 200, 16, 16, 16, 50, 200, 256),
)
HORIZON = 15

torch.manual_seed(0)
print("%-20s %10s %10s %14s %14s" % ("case", "wm ms", "ac ms", "wm torch/blas", "ac torch/blas"),
      file=sys.stderr)
for name, obs, act, deter, units, stoch, classes, b, t, ac_units, starts in CASES:
    if args.case and name not in args.case:
        continue
    rssm = Rssm(obs, act, deter, stoch, classes, units)
    ac = ActorCritic(deter + stoch * classes, act, ac_units)
    batch = (torch.randn(b, t, obs), torch.rand(b, t, act) * 2 - 1, torch.randn(b, t),
             torch.randn(b, t, obs), torch.zeros(b, t))
    post = [None]

    def wm():
        with Threads(args.wm_threads):
            post[0], _ = rssm.update(batch)

    def imagine():
        with Threads(args.ac_threads):
            n = starts if starts > 0 else post[0][0].shape[0] * post[0][0].shape[1]
            start = tuple(x.reshape(-1, x.shape[-1])[:n] for x in post[0])
            imagine_and_learn(rssm, ac, start, HORIZON)

    wm()
    wm_s, ac_s = [], []
    for _ in range(args.repeats):
        wm_s.append(1 / rate(2.0, wm))
        ac_s.append(1 / rate(2.0, imagine))
    w, a = statistics.median(wm_s), statistics.median(ac_s)
    print(json.dumps({"bench": "rssm_python", "case": name, "batch": b, "seq_len": t,
                      "obs_dim": obs, "act_dim": act, "deter": deter, "units": units,
                      "stoch": stoch, "classes": classes, "horizon": HORIZON,
                      "wm_step_s": w, "ac_step_s": a, "train_step_s": w + a,
                      "wm_threads": list(args.wm_threads), "ac_threads": list(args.ac_threads),
                      "warm_blas": args.warm_blas, "tune_malloc": args.tune_malloc,
                      "torch": torch.__version__}), flush=True)
    print("%-20s %10.1f %10.1f %9d/%d %9d/%d" % (name, 1000 * w, 1000 * a, *args.wm_threads,
                                                 *args.ac_threads), file=sys.stderr)
