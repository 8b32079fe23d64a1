#!/usr/bin/env bash
# Fuzzes one target with libFuzzer on one core: scripts/fuzz.sh config|dataset [seconds, 600].
# Builds the targets with clang (MBRL_FUZZ=ON: -fsanitize=fuzzer,address,undefined) in build-fuzz/,
# starts from the kept corpus tests/fuzz/<target>/ and merges what it found back into it,
# minimized. A crash stops the run; its input is in build-fuzz/fuzz-<target>/crashes/.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target="${1:?usage: scripts/fuzz.sh config|dataset [seconds]}"
seconds="${2:-600}"
[[ "$target" == config || "$target" == dataset ]] || { echo "unknown target '$target'" >&2; exit 2; }
"$root/scripts/setup.sh" --deps-only
if ! command -v clang++ >/dev/null || ! dpkg-query -W libclang-rt-14-dev >/dev/null 2>&1; then
  sudo_cmd=""
  [[ $(id -u) -ne 0 ]] && sudo_cmd="sudo"
  $sudo_cmd apt-get install -y -qq --no-install-recommends clang libclang-rt-14-dev >/dev/null
fi
build="${MBRL_FUZZ_BUILD_DIR:-$root/build-fuzz}"
${MBRL_BUILD_LOCK:+flock "$MBRL_BUILD_LOCK"} cmake -S "$root" -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMBRL_FUZZ=ON -DMBRL_BUILD_BENCHMARKS=OFF >/dev/null
# MBRL_BUILD_LOCK=<file>: build under flock (machines shared by several builders)
${MBRL_BUILD_LOCK:+flock "$MBRL_BUILD_LOCK"} cmake --build "$build" --target "fuzz_$target" -j"$(nproc)"

kept="$root/tests/fuzz/$target"
work="$build/fuzz-$target"
rm -rf "$work/merged"  # work/corpus is kept: a rerun goes on from it
mkdir -p "$kept" "$work/corpus" "$work/merged" "$work/crashes"
cp -r "$kept"/. "$work/corpus/"
fuzzer="$build/tests/fuzz/fuzz_$target"
# one process, one core; per-input limits: 10 s, 2 GB; known third-party leaks suppressed
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$root/tests/sanitizers/lsan.supp}"
status=0
"$fuzzer" "$work/corpus" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
  -print_final_stats=1 -artifact_prefix="$work/crashes/" 2>&1 | tee "$work/log.txt" |
  grep -E "^#[0-9]+[[:space:]]+(INITED|DONE)|ERROR|stat::|Test unit written" | tail -n 40 ||
  true
grep -q "^Done\|DONE" "$work/log.txt" || status=1
# keep a minimized corpus: the inputs that together reach all coverage seen
"$fuzzer" -merge=1 -artifact_prefix="$work/crashes/" "$work/merged" "$work/corpus" >"$work/merge.txt" 2>&1
rm -rf "$kept"
cp -r "$work/merged" "$kept"
echo "fuzz $target: $(grep -E '^#[0-9]+[[:space:]]+DONE' "$work/log.txt" | tail -n 1)"
echo "fuzz $target: kept corpus $(ls "$kept" | wc -l) inputs in tests/fuzz/$target"
if ((status)); then
  echo "fuzz $target: stopped early (crash?): $(ls "$work/crashes")" >&2
fi
exit $status
