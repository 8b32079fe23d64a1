#!/usr/bin/env bash
# Installs mbrl's Debian dependencies (idempotent) and builds it in Release into build/.
# Usage: scripts/setup.sh [--deps-only]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

pkgs=(build-essential cmake pkg-config libtorch-dev libmujoco-dev libqhull-dev libhdf5-dev
      libeigen3-dev nlohmann-json3-dev libgtest-dev libbenchmark-dev libopenblas-dev
      libonnx-dev python3-h5py python3-numpy python3-torch python3-venv ccache
      libegl-dev libgl1-mesa-dri python3-pil  # headless rendering (EGL + llvmpipe); GIF check
      ffmpeg  # mbrl eval --video out.mp4
      zlib1g-dev)  # PNG plots (already a dependency of libhdf5-dev)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  sudo_cmd=""
  [[ $(id -u) -ne 0 ]] && sudo_cmd="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo_cmd apt-get update -qq
  $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
[[ "${1:-}" == "--deps-only" ]] && exit 0

build="${MBRL_BUILD_DIR:-$root/build}"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j"$(nproc)"
