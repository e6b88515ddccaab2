#!/usr/bin/env bash
# Configures and builds with a CMake preset (default: "default", into build/). Further arguments
# name the targets to build (default: all of them, tests and benchmarks included).
#   scripts/build.sh                      # everything
#   scripts/build.sh default pipeline_app # the `pipeline` binary and the plugins it loads
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-default}"
shift || true
targets=()
if [[ $# -gt 0 ]]; then targets=(--target "$@"); fi
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" -j "$(nproc)" "${targets[@]}"
