"""Runs exported policies on saved observations and compares with the expected actions.

TorchScript through torch.jit.load, ONNX through onnxruntime. --recurrent: the policy carries a
state (Dreamer); the observations are one episode, fed in order from the initial (zero) state. Inputs are raw little-endian float32
files: obs [N, obs_dim] and expected [N, act_dim]. Prints one JSON line of max abs differences.
Exit 0 when all given formats match within --tol, 1 on a mismatch, 77 if a runtime is missing.
"""
import argparse
import json
import sys

import numpy as np


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--obs", required=True)
    p.add_argument("--expected", required=True)
    p.add_argument("--obs-dim", type=int, required=True)
    p.add_argument("--act-dim", type=int, required=True)
    p.add_argument("--torchscript")
    p.add_argument("--onnx")
    p.add_argument("--recurrent", action="store_true")
    p.add_argument("--tol", type=float, default=1e-5)
    a = p.parse_args()
    obs = np.fromfile(a.obs, dtype="<f4").reshape(-1, a.obs_dim)
    expected = np.fromfile(a.expected, dtype="<f4").reshape(-1, a.act_dim)
    diffs = {}
    try:
        if a.torchscript:
            import torch
            m = torch.jit.load(a.torchscript)
            assert (m.obs_dim, m.act_dim) == (a.obs_dim, a.act_dim)
            with torch.no_grad():
                if a.recurrent:
                    state, rows = m.initial_state(1), []
                    for o in torch.from_numpy(obs):
                        act, state = m(o.view(1, -1), state)
                        rows.append(act)
                    got = torch.cat(rows).numpy()
                else:
                    got = m(torch.from_numpy(obs)).numpy()
            diffs["torchscript"] = float(np.abs(got - expected).max())
        if a.onnx:
            import onnx
            import onnxruntime as ort
            model = onnx.load(a.onnx)
            onnx.checker.check_model(model, full_check=True)
            s = ort.InferenceSession(a.onnx, providers=["CPUExecutionProvider"])
            if a.recurrent:
                n = s.get_inputs()[1].shape[1]
                state, rows = np.zeros((1, n), np.float32), []
                for o in obs:
                    act, state = s.run(["action", "next_state"],
                                       {"obs": o[None], "state": state})
                    rows.append(act)
                got = np.concatenate(rows)
            else:
                got = s.run(["action"], {"obs": obs})[0]
            diffs["onnx"] = float(np.abs(got - expected).max())
    except ImportError as e:
        print(json.dumps({"skipped": str(e)}))
        return 77
    print(json.dumps({"n": len(obs), **diffs}))
    return 0 if all(d <= a.tol for d in diffs.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
