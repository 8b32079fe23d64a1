#!/usr/bin/env python3
"""Plain PyTorch reference of the computation `mbrl bench tdmpc2` times: one TD-MPC2 update
(batch B, horizon T: latent consistency, two-hot reward and Q-ensemble losses, policy-prior step,
target Polyak step) and one planning step (encode, prior proposals, elite MPPI with Q bootstrap),
at the same sizes and thread settings. Written for this comparison from the TD-MPC2 paper's
equations (Hansen et al. 2024), in the idiomatic PyTorch style of its public code: nn.Linear /
LayerNorm / Mish blocks, the Q ensemble as one batched matmul (the public code uses torch.vmap).

  /usr/bin/python3 scripts/bench_tdmpc2_reference.py [--threads 1] [--blas-threads 2]
      [--case default_cartpole] [--repeats 3] [--profile]

Prints one JSON line per case: update_s and plan_s (medians).
"""
import argparse
import json
import math
import os
import sys
import time


def parse():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--blas-threads", type=int, default=2)
    p.add_argument("--case", default="all")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--profile", action="store_true")
    return p.parse_args()


ARGS = parse()
# OpenBLAS reads its thread count at load time: set it before torch is imported
os.environ["OPENBLAS_NUM_THREADS"] = str(ARGS.blas_threads)
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

torch.set_num_threads(ARGS.threads)

CASES = {  # batch 256 unless said
    "cartpole_config": dict(obs=5, act=1, latent=64, units=128, enc=128, batch=128),
    "default_cartpole": dict(obs=5, act=1, latent=128, units=256, enc=256),
    "default_walker": dict(obs=24, act=6, latent=128, units=256, enc=256),
    "tdmpc2_5m_walker": dict(obs=24, act=6, latent=512, units=512, enc=256),
}
BINS, VMIN, VMAX, NUM_Q, SIMNORM = 101, -10.0, 10.0, 5, 8
T, RHO, DISCOUNT, TAU = 3, 0.5, 0.99, 0.01
POP, ELITES, ITERS, PROPOSALS, TEMP, MIN_STD, MAX_STD = 512, 64, 6, 24, 0.5, 0.05, 2.0


def simnorm(x):
    s = x.shape
    return F.softmax(x.view(*s[:-1], -1, SIMNORM), -1).view(s)


class Block(nn.Module):  # Linear -> [Dropout] -> LayerNorm -> Mish
    def __init__(self, i, o, dropout=0.0):
        super().__init__()
        self.lin, self.ln, self.p = nn.Linear(i, o), nn.LayerNorm(o), dropout

    def forward(self, x):
        x = self.lin(x)
        if self.p:
            x = F.dropout(x, self.p, self.training)
        return F.mish(self.ln(x))


class Latent(nn.Module):  # Linear -> LayerNorm -> SimNorm
    def __init__(self, i, o):
        super().__init__()
        self.lin, self.ln = nn.Linear(i, o), nn.LayerNorm(o)

    def forward(self, x):
        return simnorm(self.ln(self.lin(x)))


def mlp(i, units, layers, out, latent=False):
    dims = [i] + [units] * layers
    mods = [Block(dims[k], dims[k + 1]) for k in range(layers)]
    mods.append(Latent(dims[-1], out) if latent else nn.Linear(dims[-1], out))
    return nn.Sequential(*mods)


class QEnsemble(nn.Module):  # E two-hot Q heads as batched weights [E,in,out]
    def __init__(self, i, units, out, e, dropout=0.01):
        super().__init__()
        dims = [i, units, units, out]
        self.w = nn.ParameterList([nn.Parameter(torch.randn(e, a, b) * 0.02) for a, b in zip(dims, dims[1:])])
        self.b = nn.ParameterList([nn.Parameter(torch.zeros(e, 1, b)) for b in dims[1:]])
        self.g = nn.ParameterList([nn.Parameter(torch.ones(e, 1, units)) for _ in range(2)])
        self.h = nn.ParameterList([nn.Parameter(torch.zeros(e, 1, units)) for _ in range(2)])
        self.e, self.p = e, dropout

    def forward(self, x, idx=None):
        w, b, g, h = self.w, self.b, self.g, self.h
        if idx is not None:
            w, b, g, h = [[t[idx] for t in ts] for ts in (w, b, g, h)]
        x = x.unsqueeze(0).expand(len(w[0]), *x.shape)
        for k in range(3):
            x = torch.baddbmm(b[k], x, w[k])
            if k == 2:
                return x
            if k == 0 and self.p:
                x = F.dropout(x, self.p, self.training)
            x = F.mish(F.layer_norm(x, x.shape[-1:]) * g[k] + h[k])


def symlog(x):
    return torch.sign(x) * torch.log1p(x.abs())


def symexp(x):
    return torch.sign(x) * (torch.exp(x.abs()) - 1)


CENTERS = torch.linspace(VMIN, VMAX, BINS)


def twohot_mean(logits):
    return symexp((logits.softmax(-1) * CENTERS).sum(-1))


def twohot_loss(logits, target):
    step = (VMAX - VMIN) / (BINS - 1)
    pos = ((symlog(target) - VMIN) / step).clamp(0, BINS - 1)
    lo = pos.floor().clamp(max=BINS - 2)
    w = (pos - lo).unsqueeze(-1)
    logp = logits.log_softmax(-1)
    i = lo.long().unsqueeze(-1)
    return -((1 - w) * logp.gather(-1, i) + w * logp.gather(-1, i + 1)).squeeze(-1)


class Model(nn.Module):
    def __init__(self, c):
        super().__init__()
        za = c["latent"] + c["act"]
        self.a = c["act"]
        self.enc = mlp(c["obs"], c["enc"], 1, c["latent"], latent=True)
        self.dyn = mlp(za, c["units"], 2, c["latent"], latent=True)
        self.rew = mlp(za, c["units"], 2, BINS)
        self.pi = mlp(c["latent"], c["units"], 2, 2 * c["act"])
        self.q = QEnsemble(za, c["units"], BINS, NUM_Q)
        self.q_target = QEnsemble(za, c["units"], BINS, NUM_Q)
        self.q_target.load_state_dict(self.q.state_dict())
        self.q_target.requires_grad_(False)
        self.opt = torch.optim.Adam([
            {"params": self.enc.parameters(), "lr": 3e-4 * 0.3},
            {"params": list(self.dyn.parameters()) + list(self.rew.parameters()) + list(self.q.parameters())},
        ], lr=3e-4)
        self.pi_opt = torch.optim.Adam(self.pi.parameters(), lr=3e-4, eps=1e-5)
        self.scale = torch.ones(1)

    def next(self, z, a):
        return self.dyn(torch.cat([z, a], -1))

    def reward(self, z, a):
        return self.rew(torch.cat([z, a], -1))

    def sample(self, z):
        mu, ls = self.pi(z).chunk(2, -1)
        ls = -10 + 0.5 * 12 * (torch.tanh(ls) + 1)
        eps = torch.randn_like(mu)
        logp = (-0.5 * eps.pow(2) - ls - 0.5 * math.log(2 * math.pi)).sum(-1)
        a = torch.tanh(mu + eps * ls.exp())
        logp = logp - torch.log(F.relu(1 - a.pow(2)) + 1e-6).sum(-1)
        return torch.tanh(mu), a, logp

    def q_pair(self, z, a, target=False, use_min=False):
        idx = torch.randperm(NUM_Q)[:2]
        net = self.q_target if target else self.q
        q = twohot_mean(net(torch.cat([z, a], -1), idx))
        return q.min(0).values if use_min else q.mean(0)

    def update(self, obs, act, rew):
        with torch.no_grad():
            nz = self.enc(obs[1:])
            B = obs.shape[1]
            flat = nz.reshape(T * B, -1)
            td = rew + DISCOUNT * self.q_pair(flat, self.sample(flat)[1], True, True).view(T, B)
        self.train()
        zs = [self.enc(obs[0])]
        cons = 0
        for t in range(T):
            zs.append(self.next(zs[-1], act[t]))
            cons = cons + RHO ** t * F.mse_loss(zs[-1], nz[t])
        z = torch.stack(zs[:-1])
        za = torch.cat([z, act], -1)
        rho = RHO ** torch.arange(T, dtype=torch.float32).unsqueeze(1)
        r_loss = (rho * twohot_loss(self.rew(za), rew)).mean()
        qs = self.q(za.reshape(T * B, -1))
        v_loss = (rho * twohot_loss(qs, td.reshape(1, -1).expand(NUM_Q, -1)).mean(0).view(T, B)).mean()
        loss = 20 * cons / T + 0.1 * r_loss + 0.1 * v_loss
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_([p for g in self.opt.param_groups for p in g["params"]], 20)
        self.opt.step()
        # policy prior on the detached latents, Q parameters frozen
        zd = torch.stack(zs).detach()
        self.q.requires_grad_(False)
        flat = zd.reshape((T + 1) * B, -1)
        _, a, logp = self.sample(flat)
        q = self.q_pair(flat, a).view(T + 1, B)
        with torch.no_grad():
            p = torch.quantile(q[0], torch.tensor([0.05, 0.95]))
            self.scale.lerp_((p[1] - p[0]).clamp(min=1).view(1), 0.01)
        rho = RHO ** torch.arange(T + 1, dtype=torch.float32).unsqueeze(1)
        pi_loss = (-(1e-4 * -logp.view(T + 1, B) + q / self.scale) * rho).mean()
        self.pi_opt.zero_grad(set_to_none=True)
        pi_loss.backward()
        nn.utils.clip_grad_norm_(self.pi.parameters(), 20)
        self.pi_opt.step()
        self.q.requires_grad_(True)
        with torch.no_grad():
            for pt, p in zip(self.q_target.parameters(), self.q.parameters()):
                pt.lerp_(p, TAU)
        self.eval()

    @torch.no_grad()
    def value(self, z, actions):  # z [1,L], actions [H,N,A]
        x = z.expand(actions.shape[1], -1)
        g, disc = 0, 1
        for t in range(actions.shape[0]):
            g = g + disc * twohot_mean(self.reward(x, actions[t]))
            x = self.next(x, actions[t])
            disc *= DISCOUNT
        return g + disc * self.q_pair(x, self.sample(x)[1])

    @torch.no_grad()
    def plan(self, obs, prev_mean):
        z = self.enc(obs)
        x = z.expand(PROPOSALS, -1)
        pis = []
        for t in range(T):
            pis.append(self.sample(x)[1])
            if t + 1 < T:
                x = self.next(x, pis[-1])
        pis = torch.stack(pis)  # [H,P,A]
        mean = torch.zeros(T, self.a)
        mean[:-1] = prev_mean[1:]
        std = torch.full((T, self.a), MAX_STD)
        for _ in range(ITERS):
            r = torch.randn(T, POP - PROPOSALS, self.a)
            actions = torch.cat([(mean.unsqueeze(1) + std.unsqueeze(1) * r).clamp(-1, 1), pis], 1)
            v = self.value(z, actions).nan_to_num(0)
            ev, ei = torch.topk(v, ELITES)
            elite = actions[:, ei]
            w = torch.exp(TEMP * (ev - ev.max()))
            w = w / w.sum()
            mean = (w.view(1, -1, 1) * elite).sum(1)
            std = ((w.view(1, -1, 1) * (elite - mean.unsqueeze(1)) ** 2).sum(1)).sqrt().clamp(MIN_STD, MAX_STD)
        pick = torch.multinomial(w, 1)
        return elite[:, pick].squeeze(1)[0], mean


def rate(fn, seconds=2.0):
    fn()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        fn()
        n += 1
    return (time.perf_counter() - t0) / n


def main():
    torch.manual_seed(0)
    names = list(CASES) if ARGS.case == "all" else [ARGS.case]
    for name in names:
        c = CASES[name]
        m = Model(c)
        m.eval()
        B = c.get("batch", 256)
        obs = torch.randn(T + 1, B, c["obs"])
        act = torch.rand(T, B, c["act"]) * 2 - 1
        rew = torch.rand(T, B)
        one = torch.randn(1, c["obs"])
        prev = torch.zeros(T, c["act"])
        update = lambda: m.update(obs, act, rew)
        plan = lambda: m.plan(one, prev)
        if ARGS.profile:
            from torch.profiler import profile
            for fn, label in ((update, "update"), (plan, "plan")):
                fn()
                with profile() as prof:
                    for _ in range(5):
                        fn()
                print(f"== {name} {label}", file=sys.stderr)
                print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=25), file=sys.stderr)
            continue
        ups, pls = [], []
        for _ in range(ARGS.repeats):
            ups.append(rate(update))
            pls.append(rate(plan))
        ups.sort(), pls.sort()
        print(json.dumps({"bench": "tdmpc2_reference", "case": name, "torch": torch.__version__,
                          "threads": ARGS.threads, "blas_threads": ARGS.blas_threads,
                          "update_s": ups[len(ups) // 2], "plan_s": pls[len(pls) // 2]}), flush=True)


if __name__ == "__main__":
    main()
