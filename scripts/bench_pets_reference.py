#!/usr/bin/python3
"""Plain PyTorch (Python) reference for `mbrl bench planner` / `mbrl bench train`.

Runs the same work as our C++ benchmark with Debian's python3-torch: a Gaussian MLP ensemble
(E=7, 4x200 SiLU, 5 elites) scored by CEM with TS1 trajectory sampling, and ensemble training
on batches of 256. Prints one JSON line per measurement.

  /usr/bin/python3 scripts/bench_pets_reference.py [--threads 1] [--blas-threads 2]

Needs Debian's python3-torch (apt-get install python3-torch).
Set thread counts before torch loads: OPENBLAS_NUM_THREADS is read at import time.
"""
import argparse
import json
import os
import statistics
import sys
import time

p = argparse.ArgumentParser()
p.add_argument("--threads", type=int, default=1)
p.add_argument("--blas-threads", type=int, default=2)
p.add_argument("--warm-blas", action="store_true",
               help="run one 512^3 GEMM first (as mbrl does; see docs/architecture.md)")
p.add_argument("--only", choices=["planner", "train"])
p.add_argument("--repeats", type=int, default=5)
args = p.parse_args()
os.environ["OPENBLAS_NUM_THREADS"] = str(args.blas_threads)
import torch  # noqa: E402

torch.set_num_threads(args.threads)
if args.warm_blas:
    _w = torch.ones(512, 512)
    _w @ _w
torch.manual_seed(0)


class Ensemble:
    def __init__(self, e, din, dout, h=200, layers=4):
        sizes = [din] + [h] * layers + [2 * dout]
        self.w = [(torch.randn(e, a, b) / (2 * a ** 0.5)).requires_grad_() for a, b in zip(sizes, sizes[1:])]
        self.b = [torch.zeros(e, 1, b, requires_grad=True) for b in sizes[1:]]
        self.min_lv = torch.full((dout,), -10.0)
        self.max_lv = torch.full((dout,), 0.5)

    def params(self):
        return self.w + self.b

    def forward(self, x, idx=None):
        w = self.w if idx is None else [t[idx] for t in self.w]
        b = self.b if idx is None else [t[idx] for t in self.b]
        for wi, bi in zip(w[:-1], b[:-1]):
            x = torch.nn.functional.silu(torch.baddbmm(bi, x, wi))
        out = torch.baddbmm(b[-1], x, w[-1])
        mean, lv = out.chunk(2, dim=-1)
        lv = self.max_lv - torch.nn.functional.softplus(self.max_lv - lv)
        lv = self.min_lv + torch.nn.functional.softplus(lv - self.min_lv)
        return mean, lv


def objective(model, elites, obs0, actions, particles):
    n, h, a = actions.shape
    k = len(elites)
    rows = n * particles
    obs = obs0.expand(rows, -1)
    total = torch.zeros(rows)
    acts = actions.repeat_interleave(particles, 0)
    for t in range(h):
        x = torch.cat([obs, acts[:, t]], -1)
        perm = torch.randperm(rows)
        xs = x[perm].view(k, rows // k, -1)
        mean, lv = model.forward(xs, elites)
        sample = (mean + torch.exp(0.5 * lv) * torch.randn_like(mean)).reshape(rows, -1)
        out = torch.empty_like(sample)
        out[perm] = sample
        nxt = obs + out
        total += -(nxt ** 2).sum(-1) - 0.01 * (acts[:, t] ** 2).sum(-1)
        obs = nxt
    return total.view(n, particles).mean(1)


def cem(model, elites, obs0, pop, h, a, iters, particles):
    mean = torch.zeros(h, a)
    var = torch.full((h, a), 0.25)
    nelite = int(0.1 * pop)
    for _ in range(iters):
        lb, ub = mean + 1, 1 - mean
        cvar = torch.minimum(torch.minimum((lb / 2) ** 2, (ub / 2) ** 2), var)
        z = torch.randn(pop, h, a).clamp(-2, 2)
        acts = (mean + cvar.sqrt() * z).clamp(-1, 1)
        score = objective(model, elites, obs0, acts, particles)
        el = acts[score.topk(nelite).indices]
        mean = 0.1 * mean + 0.9 * el.mean(0)
        var = 0.1 * var + 0.9 * el.var(0, unbiased=False)
    return mean


def bench_planner(name, obs, act, pop, h, iters, particles):
    model = Ensemble(7, obs + act, obs)
    elites = torch.arange(5)
    obs0 = torch.zeros(1, obs)
    times = []
    with torch.no_grad():
        for i in range(args.repeats + 1):
            t0 = time.perf_counter()
            cem(model, elites, obs0, pop, h, act, iters, particles)
            if i:
                times.append(time.perf_counter() - t0)
    din = obs + act
    flop = 2.0 * (din * 200 + 3 * 200 * 200 + 200 * 2 * obs) * pop * particles * h * iters
    s = statistics.median(times)
    print(json.dumps({"bench": "planner_python", "case": name, "seconds_per_action": s,
                      "gflop_per_action": flop / 1e9, "gflops": flop / s / 1e9,
                      "threads": args.threads, "blas_threads": args.blas_threads}), flush=True)


def bench_train(obs=5, act=1, n=10000, batch=256):
    model = Ensemble(7, obs + act, obs)
    x = torch.randn(n, obs + act)
    y = torch.randn(n, obs) * 0.1
    opt = torch.optim.Adam(model.params(), lr=1e-3, weight_decay=5e-5)
    idx = torch.randint(n, (7, n))
    t0 = time.perf_counter()
    seen = 0
    for epoch in range(3):
        order = idx.gather(1, torch.rand(7, n).argsort(1))
        for s in range(0, n, batch):
            bi = order[:, s:s + batch]
            xb, yb = x[bi], y[bi]
            mean, lv = model.forward(xb)
            loss = (((mean - yb) ** 2) * torch.exp(-lv) + lv).mean((1, 2)).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
            seen += bi.shape[1]
    s = time.perf_counter() - t0
    print(json.dumps({"bench": "train_python", "transitions_per_s": seen / s, "batch": batch,
                      "threads": args.threads, "blas_threads": args.blas_threads}), flush=True)


if args.only in (None, "planner"):
    bench_planner("cartpole", 5, 1, 350, 15, 5, 20)
    bench_planner("halfcheetah_size", 17, 6, 400, 30, 5, 20)
if args.only in (None, "train"):
    bench_train()
