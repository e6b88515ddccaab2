#!/usr/bin/env bash
# One command to train on MNIST on a fresh Debian 12 machine: installs what is missing, builds
# the `pipeline` binary and the plugins it loads (not the tests and benchmarks), fetches and
# verifies MNIST, and runs train.graph. Extra arguments go to `pipeline run`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
scripts/build.sh default pipeline_app
data/fetch_mnist.sh data/mnist
exec build/bin/pipeline run train.graph "$@"
