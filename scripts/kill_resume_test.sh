#!/usr/bin/env bash
# Kill-and-resume check for longer runs: trains CONFIG once uninterrupted, then again while
# SIGKILLing it N times at random moments (resuming each time), and compares the two runs'
# episodes, env steps and returns. Agents that are not deterministic given their checkpoint
# (e.g. learning agents resumed mid-training) match in episodes and steps only.
# Usage: scripts/kill_resume_test.sh CONFIG [N=20] [MAX_DELAY_S=5] [override ...]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mbrl="${MBRL_BUILD_DIR:-$root/build}/mbrl"
config="$1"; kills="${2:-20}"; max_delay="${3:-5}"; shift $(( $# < 3 ? $# : 3 ))
work="$(mktemp -d /tmp/mbrl_kill_resume.XXXX)"
echo "work dir: $work"
"$mbrl" train "$config" "$@" progress=false runs_dir="$work/whole" >/dev/null
whole="$(ls -d "$work"/whole/*)"

start=("$mbrl" train "$config" "$@" progress=false runs_dir="$work/killed")
for ((k = 1; k <= kills; k++)); do
  run="$(ls -d "$work"/killed/* 2>/dev/null || true)"
  if [[ -z "$run" || ! -f "$run/config.json" ]]; then
    rm -rf "$work/killed"; cmd=("${start[@]}")
  else
    cmd=("$mbrl" train --resume "$run" progress=false)
  fi
  "${cmd[@]}" >/dev/null 2>&1 & pid=$!
  sleep "$(/usr/bin/python3 -c "import random; print(random.uniform(0.1, $max_delay))")"
  if ! kill -9 "$pid" 2>/dev/null; then echo "run finished before kill $k"; break; fi
  wait "$pid" 2>/dev/null || true
  echo "kill $k"
done
run="$(ls -d "$work"/killed/*)"
"$mbrl" train --resume "$run" progress=false >/dev/null
/usr/bin/python3 - "$whole" "$run" <<'PY'
import json, sys
cols = lambda d: [json.loads(l) for l in open(d + "/metrics.jsonl")]
a, b = cols(sys.argv[1]), cols(sys.argv[2])
for key in ("episode", "env_step", "return"):
    same = [r[key] for r in a] == [r[key] for r in b]
    print(f"{key:10s} {'same' if same else 'DIFFERENT'} ({len(a)} vs {len(b)} rows)")
eps = [r["episode"] for r in b]
assert eps == list(range(1, len(eps) + 1)), "metrics have gaps or repeats"
assert [r["env_step"] for r in a] == [r["env_step"] for r in b], "env steps differ"
PY
