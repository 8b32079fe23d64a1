#!/usr/bin/python3
"""Plain PyTorch (Python) reference for `mbrl bench sac`.

The same SAC update as our C++ learner, written the usual way with torch.nn: twin Q critics and a
squashed-Gaussian actor (2x256 ReLU), target critics with Polyak averaging, automatic entropy
tuning; one update = critic step, actor step, temperature step, Polyak. Batch 256. Prints one
JSON line per shape.

  /usr/bin/python3 scripts/bench_sac_reference.py [--threads 1] [--blas-threads 1]

Needs Debian's python3-torch. OPENBLAS_NUM_THREADS is read when torch loads, so it is set first.
"""
import argparse
import copy
import json
import math
import os
import statistics
import time

p = argparse.ArgumentParser()
p.add_argument("--threads", type=int, default=1)
p.add_argument("--blas-threads", type=int, default=1)
p.add_argument("--warm-blas", action="store_true",
               help="run one 512^3 GEMM first (as mbrl does; see docs/architecture.md)")
p.add_argument("--repeats", type=int, default=3)
args = p.parse_args()
os.environ["OPENBLAS_NUM_THREADS"] = str(args.blas_threads)
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

torch.set_num_threads(args.threads)
if args.warm_blas:
    _w = torch.ones(512, 512)
    _w @ _w
torch.manual_seed(0)


def mlp(i, o, h=256):
    return nn.Sequential(nn.Linear(i, h), nn.ReLU(), nn.Linear(h, h), nn.ReLU(), nn.Linear(h, o))


class Agent:
    def __init__(self, obs, act):
        self.act = act
        self.actor = mlp(obs, 2 * act)
        self.q1, self.q2 = mlp(obs + act, 1), mlp(obs + act, 1)
        self.t1, self.t2 = copy.deepcopy(self.q1), copy.deepcopy(self.q2)
        for p_ in list(self.t1.parameters()) + list(self.t2.parameters()):
            p_.requires_grad_(False)
        self.log_alpha = torch.zeros((), requires_grad=True)
        self.a_opt = torch.optim.Adam(self.actor.parameters(), lr=3e-4)
        self.q_opt = torch.optim.Adam(list(self.q1.parameters()) + list(self.q2.parameters()), lr=3e-4)
        self.al_opt = torch.optim.Adam([self.log_alpha], lr=3e-4)
        self.target_entropy = -act

    def sample(self, obs):
        mean, log_std = self.actor(obs).chunk(2, -1)
        log_std = log_std.clamp(-20, 2)
        eps = torch.randn_like(mean)
        u = mean + log_std.exp() * eps
        logp = (-0.5 * eps ** 2 - log_std - 0.5 * math.log(2 * math.pi)).sum(-1)
        logp = logp - (2 * (math.log(2) - u - F.softplus(-2 * u))).sum(-1)
        return torch.tanh(u), logp

    def update(self, o, a, r, o2, d, gamma=0.99, tau=0.005):
        alpha = self.log_alpha.exp().detach()
        with torch.no_grad():
            a2, logp2 = self.sample(o2)
            x2 = torch.cat([o2, a2], -1)
            v2 = torch.min(self.t1(x2), self.t2(x2)).squeeze(-1) - alpha * logp2
            y = r + gamma * (1 - d) * v2
        x = torch.cat([o, a], -1)
        q_loss = 0.5 * ((self.q1(x).squeeze(-1) - y) ** 2).mean() + \
            0.5 * ((self.q2(x).squeeze(-1) - y) ** 2).mean()
        self.q_opt.zero_grad()
        q_loss.backward()
        self.q_opt.step()
        for p_ in list(self.q1.parameters()) + list(self.q2.parameters()):
            p_.requires_grad_(False)
        an, logp = self.sample(o)
        xn = torch.cat([o, an], -1)
        a_loss = (alpha * logp - torch.min(self.q1(xn), self.q2(xn)).squeeze(-1)).mean()
        self.a_opt.zero_grad()
        a_loss.backward()
        self.a_opt.step()
        for p_ in list(self.q1.parameters()) + list(self.q2.parameters()):
            p_.requires_grad_(True)
        al_loss = -(self.log_alpha * (logp.detach() + self.target_entropy)).mean()
        self.al_opt.zero_grad()
        al_loss.backward()
        self.al_opt.step()
        with torch.no_grad():
            for net, tgt in ((self.q1, self.t1), (self.q2, self.t2)):
                for p_, t_ in zip(net.parameters(), tgt.parameters()):
                    t_.mul_(1 - tau).add_(p_, alpha=tau)


for name, obs, act in (("hopper", 11, 3), ("halfcheetah", 17, 6)):
    agent = Agent(obs, act)
    n = 256
    batch = (torch.randn(n, obs), torch.rand(n, act) * 2 - 1, torch.randn(n), torch.randn(n, obs),
             (torch.rand(n) < 0.05).float())
    for _ in range(50):
        agent.update(*batch)
    rates = []
    for _ in range(args.repeats):
        t0, k = time.perf_counter(), 0
        while time.perf_counter() - t0 < 2.0:
            agent.update(*batch)
            k += 1
        rates.append(k / (time.perf_counter() - t0))
    print(json.dumps({"bench": "sac_python", "case": name, "obs_dim": obs, "act_dim": act,
                      "batch": n, "updates_per_s": statistics.median(rates),
                      "threads": args.threads, "blas_threads": args.blas_threads}), flush=True)
