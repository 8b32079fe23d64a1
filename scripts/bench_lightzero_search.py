#!/usr/bin/env python3
"""Peer benchmark: LightZero's C++ tree ("ctree") for Sampled EfficientZero, network replaced by
random numpy arrays, so the number is what LightZero's search costs minus the network.

What is timed, per search (one search = `batch` roots x `simulations` simulations), is the call
sequence of LightZero 0.2.0's `SampledEfficientZeroPolicy._forward_collect` (roots part) and
`SampledEfficientZeroMCTSCtree.search` (lzero/mcts/tree_search/mcts_ctree_sampled.py), with the
`model.recurrent_inference` call and its torch->numpy conversion (`to_detach_cpu_numpy`,
`inverse_scalar_transform`) left out:

  roots:   legal_actions = [[-1]*K]*B; ezs_tree.Roots(B, legal_actions, A, K, True);
           Dirichlet noises (np.random.dirichlet(...).astype(float32).tolist() per root);
           policy_logits.tolist(); roots.prepare(0.25, noises, value_prefix, logits, to_play)
  search:  MinMaxStatsList(B).set_delta(0.01); then per simulation:
             ResultsWrapper(B); batch_traverse(...); results.get_search_len();
             python gather of the leaves' parent latent / LSTM (c, h) states + np.asarray +
             torch.from_numpy(...).to(cpu) (+unsqueeze), last_actions -> torch;
             [network skipped: pre-generated random value, value_prefix, mu|sigma, latent, c, h]
             .reshape(-1).tolist() / .tolist() of the outputs; LSTM reset every 5 (numpy);
             batch_backpropagate(sim+1, ...)   (expands the leaf: samples K actions, then backs up)
  results: roots.get_distributions(), get_values(), get_sampled_actions()

sims_per_s = batch * simulations / wall seconds of the above; tree_only_sims_per_s counts only
the time spent inside ezs_tree calls (Roots, prepare, MinMaxStatsList, ResultsWrapper,
batch_traverse, batch_backpropagate, get_*). One leaf per root per simulation: LightZero does
not batch leaves across simulations (no virtual loss); its batch is across roots (envs).

  python3 scripts/bench_lightzero_search.py [--quick] [--venv build/venv-lightzero]

Runs itself again with the venv's python (default <repo>/build/venv-lightzero, or
$LIGHTZERO_VENV) when the running interpreter has no LightZero. Prints
"lightzero: not installed (...)" and exits 0 when neither has it. The venv is made by hand:
  python3 -m venv build/venv-lightzero && build/venv-lightzero/bin/pip install LightZero
Prints one JSON line per config.
"""
import argparse
import importlib.util
import json
import os
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_VENV = os.environ.get("LIGHTZERO_VENV", os.path.join(REPO, "build", "venv-lightzero"))
REEXEC_MARK = "MBRL_BENCH_LIGHTZERO_REEXEC"

# LightZero defaults (SampledEfficientZeroMCTSCtree.config, SampledEfficientZeroPolicy.config,
# SampledEfficientZeroModelMLP defaults).
PB_C_BASE = 19652
PB_C_INIT = 1.25
DISCOUNT = 0.997
VALUE_DELTA_MAX = 0.01
ROOT_DIRICHLET_ALPHA = 0.3
ROOT_NOISE_WEIGHT = 0.25
LSTM_HORIZON_LEN = 5
LATENT_DIM = 256
LSTM_HIDDEN = 512


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="one timed search per config")
    p.add_argument("--venv", default=DEFAULT_VENV)
    p.add_argument("--A", type=int, nargs="+", default=[1, 6], help="action dims")
    p.add_argument("--K", type=int, nargs="+", default=[8, 16], help="num_of_sampled_actions")
    p.add_argument("--batch", type=int, nargs="+", default=[1, 8, 64], help="roots per search")
    p.add_argument("--simulations", type=int, default=50)
    p.add_argument("--seconds", type=float, default=1.5, help="target wall time per config")
    p.add_argument("--max-total", type=float, default=50.0,
                   help="cap on total timed seconds (target per config shrinks to fit)")
    p.add_argument("--latent-dim", type=int, default=LATENT_DIM)
    p.add_argument("--lstm-hidden", type=int, default=LSTM_HIDDEN)
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args()


def not_installed(why):
    print(f"lightzero: not installed ({why})")
    sys.exit(0)


def find_ezs_tree():
    """Path of the installed ezs_tree extension, or None. Does not import lzero (whose package
    __init__ pulls torch, DI-engine, gym, ... and prints warnings)."""
    try:
        spec = importlib.util.find_spec("lzero")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    d = os.path.join(list(spec.submodule_search_locations)[0], "mcts", "ctree",
                     "ctree_sampled_efficientzero")
    if not os.path.isdir(d):
        return None
    for f in sorted(os.listdir(d)):
        if f.startswith("ezs_tree") and f.endswith(".so"):
            return os.path.join(d, f)
    return None


def ensure_interpreter(args):
    if find_ezs_tree():
        return
    if os.environ.get(REEXEC_MARK):
        not_installed(f"no lzero ctree_sampled_efficientzero/ezs_tree in {sys.executable}")
    vpy = os.path.join(args.venv, "bin", "python")
    if not os.path.exists(vpy):
        not_installed(f"no venv at {args.venv}; make it with: python3 -m venv {args.venv} && "
                      f"{args.venv}/bin/pip install LightZero")
    env = dict(os.environ, **{REEXEC_MARK: "1"})
    sys.stdout.flush()
    os.execve(vpy, [vpy, os.path.abspath(__file__)] + sys.argv[1:], env)


def load_ezs_tree(path):
    spec = importlib.util.spec_from_file_location("ezs_tree", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def main():
    args = parse_args()
    ensure_interpreter(args)
    # The glue LightZero does is single-threaded; keep torch/BLAS from spawning threads.
    for v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(v, "1")
    try:
        import numpy as np
        import torch
        from importlib.metadata import version
        ezs = load_ezs_tree(find_ezs_tree())
        lz_version = version("LightZero")
    except Exception as e:  # broken venv: report, do not fail a test run
        not_installed(f"{type(e).__name__}: {e}")
    torch.set_num_threads(1)
    device = "cpu"
    rng = np.random.default_rng(args.seed)
    np.random.seed(args.seed)  # the Dirichlet noises use np.random like LightZero

    configs = [(a, k, b) for a in args.A for k in args.K for b in args.batch]
    target = min(args.seconds, args.max_total / max(1, len(configs)))
    S = args.simulations
    for A, K, B in configs:
        pool = make_outputs(np, rng, A, B, S, args.latent_dim, args.lstm_hidden)

        def one_search(i):
            return search_once(ezs, np, torch, device, pool[i % len(pool)], A, K, B, S)

        one_search(0)  # warm-up (allocator, first-call costs)
        if args.quick:
            reps = 1
        else:
            t0 = time.perf_counter()
            one_search(1)
            est = time.perf_counter() - t0
            reps = max(1, min(100000, int(target / max(est, 1e-6))))
        wall = 0.0
        tree = 0.0
        for i in range(reps):
            w, t = one_search(i)
            wall += w
            tree += t
        sims = reps * B * S
        print(json.dumps({
            "peer": "lightzero_ctree", "A": A, "K": K, "simulations": S, "batch": B,
            "sims_per_s": round(sims / wall, 1),
            "tree_only_sims_per_s": round(sims / tree, 1),
            "searches": reps, "seconds": round(wall, 3),
            "latent_dim": args.latent_dim, "lstm_hidden": args.lstm_hidden,
            "lightzero_version": lz_version, "torch_version": torch.__version__,
            "numpy_version": np.__version__,
        }), flush=True)


def make_outputs(np, rng, A, B, S, latent_dim, lstm_hidden, n_sets=3):
    """Random stand-ins for initial_inference (roots) and recurrent_inference (S calls), already
    as the numpy arrays LightZero has after to_detach_cpu_numpy / inverse_scalar_transform."""
    f32 = np.float32

    def logits(n):  # continuous: [mu(A) | sigma(A)], sigma > 0 as the model's softplus head gives
        mu = rng.standard_normal((n, A), dtype=f32) * f32(0.5)
        sigma = rng.uniform(0.1, 1.0, (n, A)).astype(f32)
        return np.concatenate([mu, sigma], axis=1)

    sets = []
    for _ in range(n_sets):
        roots = dict(
            latent=rng.standard_normal((B, latent_dim), dtype=f32),
            c=np.zeros((1, B, lstm_hidden), f32), h=np.zeros((1, B, lstm_hidden), f32),
            logits=logits(B), value_prefix=[0.0] * B)  # initial_inference gives value_prefix 0
        steps = [dict(
            latent=rng.standard_normal((B, latent_dim), dtype=f32),
            c=rng.standard_normal((1, B, lstm_hidden), dtype=f32),
            h=rng.standard_normal((1, B, lstm_hidden), dtype=f32),
            logits=logits(B),
            value=rng.standard_normal((B, 1), dtype=f32),
            value_prefix=rng.standard_normal((B, 1), dtype=f32)) for _ in range(S)]
        sets.append((roots, steps))
    return sets


def search_once(ezs, np, torch, device, outputs, A, K, B, S):
    """One LightZero collect-mode search, network skipped. Returns (wall s, s inside ezs_tree)."""
    roots_out, steps = outputs
    pc = time.perf_counter
    tree = 0.0
    t_start = pc()

    # --- SampledEfficientZeroPolicy._forward_collect, before and after search() ---
    latent_state_roots = roots_out["latent"]
    reward_hidden_state_roots = (roots_out["c"], roots_out["h"])
    policy_logits = roots_out["logits"].tolist()
    to_play = [-1] * B
    legal_actions = [[-1 for _ in range(K)] for _ in range(B)]
    t = pc()
    roots = ezs.Roots(B, legal_actions, A, K, True)
    tree += pc() - t
    noises = [np.random.dirichlet([ROOT_DIRICHLET_ALPHA] * int(K)).astype(np.float32).tolist()
              for _ in range(B)]
    t = pc()
    roots.prepare(ROOT_NOISE_WEIGHT, noises, roots_out["value_prefix"], policy_logits, to_play)
    tree += pc() - t

    # --- SampledEfficientZeroMCTSCtree.search ---
    batch_size = roots.num
    latent_state_batch_in_search_path = [latent_state_roots]
    reward_hidden_state_c_pool = [reward_hidden_state_roots[0]]
    reward_hidden_state_h_pool = [reward_hidden_state_roots[1]]
    t = pc()
    min_max_stats_lst = ezs.MinMaxStatsList(batch_size)
    min_max_stats_lst.set_delta(VALUE_DELTA_MAX)
    tree += pc() - t
    for simulation_index in range(S):
        latent_states = []
        hidden_states_c_reward = []
        hidden_states_h_reward = []
        t = pc()
        results = ezs.ResultsWrapper(num=batch_size)
        (latent_state_index_in_search_path, latent_state_index_in_batch, last_actions,
         virtual_to_play_batch) = ezs.batch_traverse(
            roots, PB_C_BASE, PB_C_INIT, DISCOUNT, min_max_stats_lst, results, to_play, True)
        search_lens = results.get_search_len()
        tree += pc() - t
        for ix, iy in zip(latent_state_index_in_search_path, latent_state_index_in_batch):
            latent_states.append(latent_state_batch_in_search_path[ix][iy])
            hidden_states_c_reward.append(reward_hidden_state_c_pool[ix][0][iy])
            hidden_states_h_reward.append(reward_hidden_state_h_pool[ix][0][iy])
        latent_states = torch.from_numpy(np.asarray(latent_states)).to(device)
        hidden_states_c_reward = torch.from_numpy(np.asarray(hidden_states_c_reward)).to(device).unsqueeze(0)
        hidden_states_h_reward = torch.from_numpy(np.asarray(hidden_states_h_reward)).to(device).unsqueeze(0)
        last_actions = torch.from_numpy(np.asarray(last_actions)).to(device)

        # model.recurrent_inference(latent_states, (c, h), last_actions) would run here.
        out = steps[simulation_index]

        latent_state_batch_in_search_path.append(out["latent"])
        value_prefix_pool = out["value_prefix"].reshape(-1).tolist()
        value_pool = out["value"].reshape(-1).tolist()
        policy_logits_pool = out["logits"].tolist()
        reward_latent_state_batch = (out["c"], out["h"])
        reset_idx = (np.array(search_lens) % LSTM_HORIZON_LEN == 0)
        assert len(reset_idx) == batch_size
        reward_latent_state_batch[0][:, reset_idx, :] = 0
        reward_latent_state_batch[1][:, reset_idx, :] = 0
        is_reset_list = reset_idx.astype(np.int32).tolist()
        reward_hidden_state_c_pool.append(reward_latent_state_batch[0])
        reward_hidden_state_h_pool.append(reward_latent_state_batch[1])

        t = pc()
        ezs.batch_backpropagate(simulation_index + 1, DISCOUNT, value_prefix_pool, value_pool,
                                policy_logits_pool, min_max_stats_lst, results, is_reset_list,
                                virtual_to_play_batch)
        tree += pc() - t

    # --- back in _forward_collect: read the results ---
    t = pc()
    distributions = roots.get_distributions()
    values = roots.get_values()
    sampled = roots.get_sampled_actions()
    tree += pc() - t
    wall = pc() - t_start
    assert len(distributions) == B and len(values) == B and len(sampled) == B
    assert sum(distributions[0]) == S, distributions[0]  # every simulation reached root 0's children
    del latent_states, hidden_states_c_reward, hidden_states_h_reward, last_actions
    return wall, tree


if __name__ == "__main__":
    main()
