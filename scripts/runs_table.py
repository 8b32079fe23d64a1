#!/usr/bin/env python3
"""Markdown table of per-episode returns of several runs (one column per run), with the mean.

  scripts/runs_table.py runs/<run1> runs/<run2> ... [--key return]
"""
import json
import sys

args = [a for a in sys.argv[1:] if not a.startswith("--")]
key = sys.argv[sys.argv.index("--key") + 1] if "--key" in sys.argv else "return"
if "--key" in sys.argv:
    args.remove(key)
runs = []
for d in args:
    rows = [json.loads(line) for line in open(d + "/metrics.jsonl")]
    cfg = json.load(open(d + "/config.json"))
    runs.append((cfg["seed"], rows))
n = max(len(r) for _, r in runs)
print("| episode | env steps | " + " | ".join("seed %d" % s for s, _ in runs) + " | mean |")
print("|---:|---:|" + "---:|" * (len(runs) + 1))
for i in range(n):
    vals = [r[i][key] if i < len(r) and r[i].get(key) is not None else None for _, r in runs]
    have = [v for v in vals if v is not None]
    step = next(int(r[i]["env_step"]) for _, r in runs if i < len(r))
    cells = ["%.1f" % v if v is not None else "" for v in vals]
    print("| %d | %d | %s | %.1f |" % (i + 1, step, " | ".join(cells), sum(have) / len(have)))
walls = ["%.0f s" % r[-1]["wall_time"] for _, r in runs]
print("\nwall-clock per run: " + ", ".join(walls))
