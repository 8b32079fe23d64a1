#!/usr/bin/env python3
"""Fidelity check: mbrl's MuJoCo tasks against their reference twins (docs/tasks.md).

For every task with a twin (Gymnasium MuJoCo v5 or the dm_control suite) this script
  1. runs N random-policy episodes of the reference and records, before every step, the physics
     state (qpos, qvel, act, qacc_warmstart, time), the observation, the action, and the
     reference's next observation, reward and termination;
  2. feeds those states and actions to `mbrl envs step <task>` (JSON lines on stdin) and compares
     one step: max |next_obs ours - next_obs ref| over all steps, over steps in contact and in the
     air (whether any contact existed at the start of or during the step, in the reference
     engine), and max |reward ours - reward ref|;
  3. compares random-policy return and episode length: N episodes of the reference against N
     episodes of `mbrl train configs/random_cartpole.json env.name=<task> ...` (metrics.jsonl).

The reference runs in a virtualenv of its own (default: <dir of --mbrl>/fidelity_venv), created
and filled from PyPI on first use; without network access the script prints "skipped: offline"
and exits 0. Which MuJoCo the reference uses matters for contact (docs/tasks.md, "Engine versions"):
  --engine 2.3.7  (default) mujoco 2.3.7 + dm_control 1.0.14: the last release before the engine
                  changes below; on our tasks it steps like our MuJoCo 2.2.2. Needs Python
                  3.8-3.11 (a python3.X on PATH is used if the running one is outside that).
  --engine 3.4.0  mujoco 3.4.0 + dm_control 1.0.36: adds MuJoCo 3.0.0's body_invweight0 of
                  slide-only bodies (contact softness of pusher's object, the cup and the ball).
  --engine latest newest releases: adds MuJoCo 3.5.0's summed geom margins (hopper, ant, pusher)
                  and, in 4.0.0, a different RK4 step for the ant's free joint.

Usage:
  python3 scripts/fidelity_check.py [--mbrl build/mbrl] [--tasks hopper,dmc_walker_walk]
      [--episodes 20] [--compare-steps 2000] [--engine 2.3.7|3.4.0|latest] [--ref-only]
      [--json out.json] [--markdown out.md]
`--ref-only` skips our binary and checks the reference side alone (it replays the recorded
states in the reference itself, which must reproduce its own steps).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

# task -> (kind, reference id); kind "gym" = Gymnasium id, "dmc" = dm_control (domain, task)
TWINS = {
    "inverted_pendulum": ("gym", "InvertedPendulum-v5"),
    "inverted_double_pendulum": ("gym", "InvertedDoublePendulum-v5"),
    "half_cheetah": ("gym", "HalfCheetah-v5"),
    "hopper": ("gym", "Hopper-v5"),
    "walker2d": ("gym", "Walker2d-v5"),
    "ant": ("gym", "Ant-v5"),
    "reacher": ("gym", "Reacher-v5"),
    "pusher": ("gym", "Pusher-v5"),
    "swimmer": ("gym", "Swimmer-v5"),
    "cartpole_swingup": (None, None),  # PETS cartpole (handful-of-trials): no Gymnasium/DMC twin
    "dmc_cartpole_swingup": ("dmc", ("cartpole", "swingup")),
    "dmc_cartpole_balance": ("dmc", ("cartpole", "balance")),
    "dmc_pendulum_swingup": ("dmc", ("pendulum", "swingup")),
    "dmc_cheetah_run": ("dmc", ("cheetah", "run")),
    "dmc_walker_walk": ("dmc", ("walker", "walk")),
    "dmc_reacher_easy": ("dmc", ("reacher", "easy")),
    "dmc_finger_spin": ("dmc", ("finger", "spin")),
    "dmc_cup_catch": ("dmc", ("ball_in_cup", "catch")),
}

# Observation entries that depend on model fields the step interface does not carry. They are left
# out of the comparison when our observation of the set state disagrees there (i.e. our binary did
# not receive that part of the reference's state).
MODEL_STATE_DIMS = {
    "dmc_reacher_easy": ([2, 3], True,
                         "target position is a model field (geom_pos), not in qpos: to_target and "
                         "the reward are not compared"),
}

# reference package sets: pip requirements and the Python versions their MuJoCo has wheels for
ENGINES = {
    "2.3.7": (["gymnasium[mujoco]", "mujoco==2.3.7", "dm_control==1.0.14", "numpy<2"],
              (3, 8), (3, 11)),
    "3.4.0": (["gymnasium[mujoco]", "mujoco==3.4.0", "dm_control==1.0.36"], (3, 10), (3, 13)),
    "latest": (["gymnasium[mujoco]", "mujoco", "dm_control"], (3, 10), (3, 99)),
}
DEFAULT_ENGINE = "2.3.7"

INNER_ENV = "MBRL_FIDELITY_INNER"


# ------------------------------------------------------------------------------------------------
# outer part: stdlib only; makes the virtualenv and re-runs this script inside it
# ------------------------------------------------------------------------------------------------

def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mbrl", default="build/mbrl", help="our CLI binary (default build/mbrl)")
    p.add_argument("--tasks", default="", help="comma-separated task names (default: all)")
    p.add_argument("--episodes", type=int, default=20, help="random-policy episodes per side")
    p.add_argument("--compare-steps", type=int, default=2000,
                   help="max recorded steps per task for the one-step comparison (evenly spaced)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--engine", choices=list(ENGINES), default=DEFAULT_ENGINE,
                   help=f"reference package set (default {DEFAULT_ENGINE}, see above)")
    p.add_argument("--venv", default="", help="virtualenv for the reference "
                   "(default <dir of --mbrl>/fidelity_venv, or fidelity_venv_<engine> for a non-default engine)")
    p.add_argument("--python", default="",
                   help="interpreter that creates the venv (default: this one, or a python3.X on "
                   "PATH that the engine's MuJoCo has wheels for)")
    p.add_argument("--ref-only", action="store_true", help="reference side only (no binary)")
    p.add_argument("--json", default="", help="also write the results as JSON to this file")
    p.add_argument("--markdown", default="", help="also write the table as Markdown to this file")
    args = p.parse_args(argv)
    if not args.venv:
        build = os.path.dirname(os.path.abspath(args.mbrl))
        args.venv = os.path.join(build, "fidelity_venv" + ("" if args.engine == DEFAULT_ENGINE
                                                          else "_" + args.engine))
    return args


def index_url():
    url = os.environ.get("PIP_INDEX_URL", "")
    if not url:
        try:
            out = subprocess.run([sys.executable, "-m", "pip", "config", "get", "global.index-url"],
                                 capture_output=True, text=True, timeout=30)
            url = out.stdout.strip() if out.returncode == 0 else ""
        except Exception:
            url = ""
    return url or "https://pypi.org/simple/"


def reachable(url):
    import urllib.request
    try:
        with urllib.request.urlopen(url.rstrip("/") + "/pip/", timeout=15) as r:
            return r.status < 500
    except Exception as e:  # noqa: BLE001 (any failure means: cannot use the index)
        code = getattr(e, "code", None)
        return code is not None and code < 500 and code != 407


def pick_python(args):
    """An interpreter whose version the engine's MuJoCo has wheels for (None if none found)."""
    import shutil
    _, lo, hi = ENGINES[args.engine]
    cands = [args.python] if args.python else [sys.executable] + [
        shutil.which(f"python{v[0]}.{v[1]}") for v in [(3, m) for m in range(13, 7, -1)]]
    for c in cands:
        if not c:
            continue
        try:
            out = subprocess.run([c, "-c", "import sys; print(*sys.version_info[:2])"],
                                 capture_output=True, text=True, timeout=30)
            ver = tuple(int(x) for x in out.stdout.split())
        except Exception:
            continue
        if lo <= ver <= hi:
            return c
    return None


def ensure_venv(args):
    """Returns the venv's python, creating and filling the venv if needed (None when offline)."""
    vpy = os.path.join(args.venv, "bin", "python")
    reqs = ENGINES[args.engine][0]
    want = " ".join(reqs)
    stamp = os.path.join(args.venv, ".fidelity_packages")
    if os.path.exists(vpy) and os.path.exists(stamp) and open(stamp).read().strip() == want:
        return vpy
    url = index_url()
    if not reachable(url):
        print(f"fidelity_check: skipped: offline (cannot reach the package index {url}; "
              f"the reference venv {args.venv} needs {want})")
        return None
    print(f"fidelity_check: first use: creating {args.venv} with {want} (a few minutes) ...",
          flush=True)
    if not os.path.exists(vpy):
        py = pick_python(args)
        if py is None:
            _, lo, hi = ENGINES[args.engine]
            sys.exit(f"fidelity_check: error: --engine {args.engine} needs Python "
                     f"{lo[0]}.{lo[1]}-{hi[0]}.{hi[1]} (MuJoCo wheels); none found, pass --python")
        subprocess.run([py, "-m", "venv", args.venv], check=True)
    pip = [vpy, "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    subprocess.run(pip + ["--upgrade", "pip"], check=False)
    r = subprocess.run(pip + reqs)
    if r.returncode != 0:
        if not reachable(url):
            print("fidelity_check: skipped: offline (pip lost the package index)")
            return None
        sys.exit(f"fidelity_check: error: pip install {want} failed in {args.venv}")
    with open(stamp, "w") as f:
        f.write(want + "\n")
    return vpy


def outer(argv):
    args = parse_args(argv)
    if not args.ref_only and not os.access(args.mbrl, os.X_OK):
        sys.exit(f"fidelity_check: error: {args.mbrl} is not an executable (build the project, "
                 f"pass --mbrl PATH, or use --ref-only)")
    vpy = ensure_venv(args)
    if vpy is None:
        return 0
    env = dict(os.environ, **{INNER_ENV: "1"})
    return subprocess.run([vpy, os.path.abspath(__file__)] + argv, env=env).returncode


# ------------------------------------------------------------------------------------------------
# inner part: runs in the venv (numpy, mujoco, gymnasium, dm_control)
# ------------------------------------------------------------------------------------------------


def set_physics_state(model, d, s):
    """Same as our MujocoEnv::SetState: write the state, mj_forward, then qpos and the warm start
    again (mj_forward normalises quaternions and replaces qacc_warmstart)."""
    d.qpos[:] = s["qpos"]; d.qvel[:] = s["qvel"]
    if model.na:
        d.act[:] = s["act"]
    d.qacc_warmstart[:] = s["qacc_warmstart"]; d.time = s["time"]
    mujoco.mj_forward(model, d)
    d.qpos[:] = s["qpos"]; d.qacc_warmstart[:] = s["qacc_warmstart"]

class GymRef:
    def __init__(self, env_id):
        import gymnasium as gym
        self.env = gym.make(env_id)
        self.u = self.env.unwrapped
        self.model, self.data = self.u.model, self.u.data
        self.n_sub = self.u.frame_skip
        self.low = self.env.action_space.low.astype(np.float64)
        self.high = self.env.action_space.high.astype(np.float64)
        self.env.action_space.seed(0)

    def reset(self, seed):
        self.env.action_space.seed(seed)
        obs, _ = self.env.reset(seed=seed)
        return np.asarray(obs, np.float64)

    def sample(self, rng):
        return self.env.action_space.sample().astype(np.float32)

    def step(self, a):
        obs, r, term, trunc, _ = self.env.step(a)
        return np.asarray(obs, np.float64), float(r), bool(term), bool(trunc)

    def set_state(self, s):
        set_physics_state(self.model, self.data, s)

    def replay_step(self, s, a):
        self.set_state(s)
        obs, r, term, _, _ = self.u.step(a)
        return np.asarray(obs, np.float64), float(r), bool(term)


class DmcRef:
    def __init__(self, domain_task):
        from dm_control import suite
        self.suite, self.dt = suite, domain_task
        self.env = suite.load(*domain_task, task_kwargs={"random": 0})
        self._bind()

    def _bind(self):
        self.physics = self.env.physics
        self.model, self.data = self.physics.model.ptr, self.physics.data.ptr
        self.n_sub = self.env._n_sub_steps
        spec = self.env.action_spec()
        self.low = np.broadcast_to(spec.minimum, spec.shape).astype(np.float64)
        self.high = np.broadcast_to(spec.maximum, spec.shape).astype(np.float64)
        self.step_limit = self.env._step_limit

    @staticmethod
    def flat(obs):
        return np.concatenate([np.asarray(v, np.float64).ravel() for v in obs.values()])

    def reset(self, seed):
        self.env = self.suite.load(*self.dt, task_kwargs={"random": seed})
        self._bind()
        obs = self.flat(self.env.reset().observation)
        # tasks may move geoms at reset (reacher's target): kept with each state for the replay
        self.geom_pos = np.array(self.model.geom_pos)
        return obs

    def sample(self, rng):
        return rng.uniform(self.low, self.high).astype(np.float32)

    def step(self, a):
        ts = self.env.step(a.astype(np.float64))
        return self.flat(ts.observation), float(ts.reward), False, bool(ts.last())

    def set_state(self, s):
        self.model.geom_pos[:] = s["geom_pos"]
        set_physics_state(self.model, self.data, s)

    def replay_step(self, s, a):
        """control.Environment.step without its episode bookkeeping."""
        self.set_state(s)
        task, ph = self.env.task, self.physics
        task.before_step(a.astype(np.float64), ph)
        ph.step(self.n_sub)
        task.after_step(ph)
        return self.flat(task.get_observation(ph)), float(task.get_reward(ph)), False


def snapshot(ref):
    d = ref.data
    s = {"qpos": np.array(d.qpos), "qvel": np.array(d.qvel), "act": np.array(d.act),
         "qacc_warmstart": np.array(d.qacc_warmstart), "time": float(d.time)}
    if hasattr(ref, "geom_pos"):
        s["geom_pos"] = ref.geom_pos
    return s


def contact_during(ref, s, a):
    """Whether the reference engine has any contact at the start of or during this step."""
    m = ref.model
    if "geom_pos" in s:
        m.geom_pos[:] = s["geom_pos"]
    d = mujoco.MjData(m)
    d.qpos[:] = s["qpos"]; d.qvel[:] = s["qvel"]
    if m.na:
        d.act[:] = s["act"]
    d.qacc_warmstart[:] = s["qacc_warmstart"]; d.time = s["time"]
    d.ctrl[:] = np.clip(a, ref.low, ref.high)
    mujoco.mj_forward(m, d)
    n = d.ncon
    for _ in range(ref.n_sub):
        mujoco.mj_step(m, d)
        n = max(n, d.ncon)
    mujoco.mj_forward(m, d)
    return max(n, d.ncon) > 0


def record(ref, episodes, seed):
    rng = np.random.default_rng(seed)
    steps, returns, lengths = [], [], []
    for ep in range(episodes):
        obs = ref.reset(seed * 100003 + ep)
        ret, n = 0.0, 0
        while True:
            a = ref.sample(rng)
            s = snapshot(ref)
            nobs, r, term, trunc = ref.step(a)
            steps.append({"state": s, "obs": obs, "action": a, "next_obs": nobs, "reward": r,
                          "terminated": term})
            ret += r; n += 1; obs = nobs
            if term or trunc:
                break
        returns.append(ret); lengths.append(n)
    return steps, returns, lengths


def run_ours_step(mbrl, task, steps, na):
    lines = []
    for st in steps:
        s = st["state"]
        j = {"qpos": s["qpos"].tolist(), "qvel": s["qvel"].tolist(),
             "qacc_warmstart": s["qacc_warmstart"].tolist(), "time": s["time"],
             "action": st["action"].astype(np.float64).tolist()}
        if na:
            j["act"] = s["act"].tolist()
        lines.append(json.dumps(j))
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    r = subprocess.run([mbrl, "envs", "step", task], input="\n".join(lines) + "\n",
                       capture_output=True, text=True, env=env)
    if r.returncode != 0:
        raise RuntimeError(f"{mbrl} envs step {task}: exit {r.returncode}: {r.stderr.strip()}")
    out = [json.loads(x) for x in r.stdout.splitlines() if x.strip()]
    if len(out) != len(steps):
        raise RuntimeError(f"{mbrl} envs step {task}: {len(out)} output lines for {len(steps)}")
    return out


def run_ours_stats(mbrl, task, episodes, max_steps, seed):
    cfg = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "configs",
                       "random_cartpole.json")
    with tempfile.TemporaryDirectory(prefix="fidelity_") as tmp:
        cmd = [mbrl, "train", os.path.normpath(cfg), f"env.name={task}",
               f"total_env_steps={episodes * max_steps}", f"seed={seed}", f"runs_dir={tmp}",
               "progress=false"]
        env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
        r = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if r.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)}: exit {r.returncode}: {r.stderr.strip()[-400:]}")
        rows = []
        for root, _, files in os.walk(tmp):
            if "metrics.jsonl" in files:
                with open(os.path.join(root, "metrics.jsonl")) as f:
                    rows = [json.loads(x) for x in f if x.strip()]
                break
    rows = rows[:episodes]
    if not rows:
        raise RuntimeError(f"mbrl train {task}: no metrics.jsonl rows")
    return [float(x["return"]) for x in rows], [int(x["length"]) for x in rows]


def check_task(task, args):
    kind, ref_id = TWINS[task]
    res = {"task": task, "reference": "no twin", "note": ""}
    if kind is None:
        return res
    ref = GymRef(ref_id) if kind == "gym" else DmcRef(ref_id)
    res["reference"] = f"Gymnasium {ref_id}" if kind == "gym" else f"dm_control {'/'.join(ref_id)}"
    steps, ret, length = record(ref, args.episodes, args.seed)
    res.update(ref_return=(float(np.mean(ret)), float(np.std(ret))),
               ref_length=(float(np.mean(length)), float(np.std(length))), episodes=args.episodes)
    # short (terminating) episodes: more episodes, for the one-step comparison only
    extra = 1
    while len(steps) < args.compare_steps and extra <= 50:
        more, _, _ = record(ref, args.episodes, args.seed + 7919 * extra)
        steps += more
        extra += 1
    idx = np.unique(np.linspace(0, len(steps) - 1, min(args.compare_steps, len(steps))).astype(int))
    cmp_steps = [steps[i] for i in idx]
    contact = np.array([contact_during(ref, st["state"], st["action"]) for st in cmp_steps])
    res.update(n_steps=len(cmp_steps), n_contact=int(contact.sum()))
    ref_next = np.array([st["next_obs"] for st in cmp_steps])
    ref_rew = np.array([st["reward"] for st in cmp_steps])
    ref_term = np.array([st["terminated"] for st in cmp_steps])

    # the reference replaying its own recorded states: the state sent is complete iff this is 0
    self_obs = np.zeros(len(cmp_steps))
    for i, st in enumerate(cmp_steps):
        o, r, _ = ref.replay_step(st["state"], st["action"])
        self_obs[i] = np.max(np.abs(o - st["next_obs"])) if o.shape == st["next_obs"].shape else np.inf
    res["ref_self_replay"] = float(self_obs.max())
    if args.ref_only:
        return res

    max_steps = int(ref.step_limit) if kind == "dmc" else ref.env.spec.max_episode_steps
    out = run_ours_step(args.mbrl, task, cmp_steps, ref.model.na)
    ours_obs = np.array([o["obs"] for o in out], np.float64)
    ours_next = np.array([o["next_obs"] for o in out], np.float64)
    ours_rew = np.array([o["reward"] for o in out], np.float64)
    ours_term = np.array([bool(o["terminated"]) for o in out])
    ref_obs = np.array([st["obs"] for st in cmp_steps])
    if ours_next.shape != ref_next.shape:
        res["note"] = (f"observation differs: ours {ours_next.shape[1]}, "
                       f"reference {ref_next.shape[1]} dims; not compared")
    else:
        keep = np.ones(ref_next.shape[1], bool)
        compare_reward = True
        set_d = np.abs(ours_obs - ref_obs)
        if task in MODEL_STATE_DIMS:
            dims, reward_depends, why = MODEL_STATE_DIMS[task]
            if set_d[:, dims].max() > 1e-4:
                keep[dims] = False
                compare_reward = not reward_depends
                res["note"] = why
        res["set_state"] = float(set_d[:, keep].max())
        d = np.abs(ours_next - ref_next)[:, keep].max(axis=1)
        res["d_obs"] = float(d.max())
        res["d_obs_contact"] = float(d[contact].max()) if contact.any() else None
        res["d_obs_air"] = float(d[~contact].max()) if (~contact).any() else None
        res["d_reward"] = float(np.abs(ours_rew - ref_rew).max()) if compare_reward else None
        res["term_mismatch"] = int((ours_term != ref_term).sum())
    r_ours, l_ours = run_ours_stats(args.mbrl, task, args.episodes, max_steps, args.seed)
    res.update(our_return=(float(np.mean(r_ours)), float(np.std(r_ours))),
               our_length=(float(np.mean(l_ours)), float(np.std(l_ours))), our_episodes=len(r_ours))
    return res


def fmt(x, spec=".2g"):
    if x is None:
        return "n/a"
    if isinstance(x, tuple):
        return f"{x[0]:.1f} ± {x[1]:.1f}"
    if isinstance(x, float):
        return format(x, spec)
    return str(x)


def table(results, ref_only):
    if ref_only:
        head = ["task", "reference", "steps (contact)", "ref self-replay Δobs",
                "ref return", "ref length", "N"]
        rows = [[r["task"], r["reference"],
                 f"{r['n_steps']} ({r['n_contact']})" if "n_steps" in r else "-",
                 fmt(r.get("ref_self_replay")), fmt(r.get("ref_return")),
                 fmt(r.get("ref_length")), fmt(r.get("episodes", "-"))] for r in results]
    else:
        head = ["task", "reference", "steps (contact)", "Δobs all", "Δobs contact", "Δobs air",
                "Δreward", "term≠", "return ours", "return ref", "length ours", "length ref", "N"]
        rows = []
        for r in results:
            if "n_steps" not in r:
                rows.append([r["task"], r["reference"]] + ["-"] * (len(head) - 2)); continue
            rows.append([r["task"], r["reference"], f"{r['n_steps']} ({r['n_contact']})",
                         fmt(r.get("d_obs")), fmt(r.get("d_obs_contact")), fmt(r.get("d_obs_air")),
                         fmt(r.get("d_reward")), fmt(r.get("term_mismatch")),
                         fmt(r.get("our_return")), fmt(r.get("ref_return")),
                         fmt(r.get("our_length")), fmt(r.get("ref_length")),
                         fmt(r.get("our_episodes")) if r.get("our_episodes") == r.get("episodes")
                         else f"{r.get('our_episodes')}/{r.get('episodes')}"])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    notes = [f"- {r['task']}: {r['note']}" for r in results if r.get("note")]
    selfrep = [r for r in results if "ref_self_replay" in r]
    bad = [r for r in selfrep if r["ref_self_replay"] > 1e-9]
    if selfrep and not bad:
        worst = max(r["ref_self_replay"] for r in selfrep)
        notes.append("- reference self-replay (the reference stepping from the recorded states "
                     f"after set-state as our SetState does): max |Δobs| {fmt(worst)} over all tasks")
    notes += [f"- {r['task']}: reference self-replay max |Δobs| {fmt(r['ref_self_replay'])} "
              f"(the recorded state is incomplete)" for r in bad]
    return "\n".join(lines + ([""] + notes if notes else []))


def inner(argv):
    args = parse_args(argv)
    import importlib.metadata as md
    names = [t.strip() for t in args.tasks.split(",") if t.strip()] or list(TWINS)
    bad = [t for t in names if t not in TWINS]
    if bad:
        sys.exit(f"fidelity_check: error: unknown task(s) {', '.join(bad)}; known: {', '.join(TWINS)}")
    vers = {p: md.version(p) for p in ("mujoco", "gymnasium", "dm_control")}
    print("reference: " + ", ".join(f"{k} {v}" for k, v in vers.items())
          + f"; episodes {args.episodes}, seed {args.seed}"
          + ("" if args.ref_only else f"; ours: {args.mbrl}"), flush=True)
    results = []
    for t in names:
        print(f"  {t} ...", end="", flush=True)
        try:
            results.append(check_task(t, args))
            print(" done", flush=True)
        except Exception as e:  # noqa: BLE001 (report and go on with the other tasks)
            print(f" error: {e}", flush=True)
            results.append({"task": t, "reference": TWINS[t][1] and str(TWINS[t][1]),
                            "note": f"error: {e}"})
    text = table(results, args.ref_only)
    print()
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(text + "\n")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"versions": vers, "args": vars(args), "results": results}, f, indent=1)
    return 0


if __name__ == "__main__":
    if os.environ.get(INNER_ENV):
        import warnings
        warnings.filterwarnings("ignore")
        import numpy as np
        import mujoco
        sys.exit(inner(sys.argv[1:]))
    sys.exit(outer(sys.argv[1:]))
