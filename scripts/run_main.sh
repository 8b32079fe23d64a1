#!/usr/bin/env bash
# The main job: installs and builds whatever is missing, then a default run on a built-in task.
# Extra arguments are config overrides, e.g. scripts/run_main.sh seed=3
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/setup.sh"
cd "$root"
exec "${MBRL_BUILD_DIR:-$root/build}/mbrl" train configs/pets_cartpole.json "$@"
