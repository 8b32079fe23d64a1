#!/usr/bin/env bash
# Builds everything with AddressSanitizer + UndefinedBehaviorSanitizer (MBRL_SANITIZE=ON, GCC) in
# build-asan/ and runs the whole ctest suite there. Slow, so not part of scripts/test.sh; see
# docs/guide.md. Extra arguments go to ctest (e.g. -R Run).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/setup.sh" --deps-only
build="${MBRL_ASAN_BUILD_DIR:-$root/build-asan}"
start=$(date +%s)
${MBRL_BUILD_LOCK:+flock "$MBRL_BUILD_LOCK"} cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMBRL_SANITIZE=ON \
  -DMBRL_BUILD_BENCHMARKS=OFF >/dev/null
# MBRL_BUILD_LOCK=<file>: build under flock (machines shared by several builders)
${MBRL_BUILD_LOCK:+flock "$MBRL_BUILD_LOCK"} cmake --build "$build" -j"$(nproc)"
built=$(date +%s)
cd "$build"
status=0
ctest --output-on-failure --timeout 3600 -j1 "$@" || status=$?
echo "sanitizers: build $((built - start)) s, tests $(($(date +%s) - built)) s, ctest exit $status"
exit $status
