#!/usr/bin/env bash
# Installs and builds whatever is missing, then runs the whole test suite with ctest.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/setup.sh"
cd "${MBRL_BUILD_DIR:-$root/build}"
ctest --output-on-failure --timeout 900 -j1 "$@"
