"""Per-action latency of an exported policy from Python: ONNX Runtime and torch.jit.load.

Usage: run `mbrl bench export` first (writes policy.onnx / policy.pt and Dreamer's recurrent.onnx
to /tmp/mbrl_bench_export),
then `python scripts/bench_export_onnx.py [dir]` with a Python that has onnxruntime (e.g. the
venv the tests create: build/venv/bin/python) and/or torch (Debian's /usr/bin/python3).
Prints one JSON line per runtime, like `mbrl bench`.
"""
import json
import statistics
import sys
import time

import numpy as np


def latency_us(fn, seconds=0.5, repeats=5):
    fn()
    rates = []
    for _ in range(repeats):
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            fn()
            n += 1
        rates.append(n / (time.perf_counter() - t0))
    return 1e6 / statistics.median(rates)


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else "/tmp/mbrl_bench_export"
    obs = np.random.default_rng(0).standard_normal((1, 11)).astype(np.float32)
    try:
        import onnxruntime as ort
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = opts.inter_op_num_threads = 1
        s = ort.InferenceSession(d + "/policy.onnx", opts, providers=["CPUExecutionProvider"])
        us = latency_us(lambda: s.run(["action"], {"obs": obs}))
        print(json.dumps({"bench": "export_latency", "runtime": "onnxruntime_python",
                          "version": ort.__version__, "us_per_action": us}))
        r = ort.InferenceSession(d + "/recurrent.onnx", opts, providers=["CPUExecutionProvider"])
        feed = {"obs": obs[:, :5].copy(),
                "state": np.zeros((1, r.get_inputs()[1].shape[1]), np.float32)}
        us = latency_us(lambda: r.run(["action", "next_state"], feed))
        print(json.dumps({"bench": "export_latency_recurrent", "runtime": "onnxruntime_python",
                          "version": ort.__version__, "us_per_action": us}))
    except ImportError:
        print("onnxruntime not installed here", file=sys.stderr)
    try:
        import torch
        torch.set_num_threads(1)
        m = torch.jit.load(d + "/policy.pt")
        x = torch.tensor(obs.tolist())  # no numpy bridge: a venv may hold another numpy
        with torch.no_grad():
            us = latency_us(lambda: m(x))
        print(json.dumps({"bench": "export_latency", "runtime": "torchscript_python",
                          "version": torch.__version__, "us_per_action": us}))
    except ImportError:
        print("torch not installed here", file=sys.stderr)


if __name__ == "__main__":
    main()
