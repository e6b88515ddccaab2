#!/usr/bin/env bash
# One command for every test on a fresh Debian 12 machine: installs what is missing, builds,
# and runs the whole CTest suite (unit, cnn and end-to-end labels).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
scripts/build.sh default
# Tests read MNIST from ../shared/data/mnist when it holds the files, else from data/mnist
# (fetched and verified here; see PIPELINE_TEST_MNIST_DIR in CMakeLists.txt).
if [[ ! -f ../shared/data/mnist/t10k-images-idx3-ubyte.gz ]]; then data/fetch_mnist.sh data/mnist; fi
ctest --preset default -j "$(nproc)" "$@"
