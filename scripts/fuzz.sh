#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, clang-14, AddressSanitizer + UBSan) into build-fuzz/ when
# needed, then runs one of them, or each in turn, for SECONDS from its committed seed corpus.
#   scripts/fuzz.sh NAME SECONDS     NAME: graph_text model_spec checkpoint idx png image_header
#                                    dataset_file onnx
#   scripts/fuzz.sh all SECONDS      every target, one after another
# New inputs go to build-fuzz/corpus/NAME (the committed fuzz/corpus/NAME is only read); a crash
# is written to build-fuzz/crashes/ and makes the script exit non-zero.
set -euo pipefail
cd "$(dirname "$0")/.."
targets=(graph_text model_spec checkpoint idx png image_header dataset_file onnx)
if [[ $# -ne 2 || ! "$2" =~ ^[0-9]+$ ]]; then
  echo "usage: scripts/fuzz.sh NAME|all SECONDS   (NAME: ${targets[*]})" >&2
  exit 2
fi
name=$1 seconds=$2
if [[ $name == all ]]; then
  selected=("${targets[@]}")
elif [[ " ${targets[*]} " == *" $name "* ]]; then
  selected=("$name")
else
  echo "scripts/fuzz.sh: no fuzz target \"$name\" (targets: ${targets[*]})" >&2
  exit 2
fi

build=build-fuzz
if [[ ! -f $build/build.ninja ]]; then
  CC=clang-14 CXX=clang++-14 cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DPIPELINE_FUZZ=ON -DPIPELINE_BUILD_TESTS=OFF >/dev/null
fi
cmake --build "$build" --target fuzz_targets -j "$(nproc)"

mkdir -p "$build/crashes"
for target in "${selected[@]}"; do
  corpus="$build/corpus/$target"
  mkdir -p "$corpus"
  echo "== fuzz_$target for ${seconds}s"
  # -rss_limit_mb: the readers must refuse huge sizes, not allocate them; -timeout: no hangs.
  log="$build/fuzz_$target.log"
  status=0
  ASAN_OPTIONS=detect_leaks=0 "$build/bin/fuzz_$target" "$corpus" "fuzz/corpus/$target" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -artifact_prefix="$build/crashes/${target}-" -print_final_stats=1 >"$log" 2>&1 || status=$?
  grep -aE "^(Done|stat::number_of_executed_units|SUMMARY)|^==.*ERROR|Test unit written" "$log" || true
  if [[ $status -ne 0 ]]; then
    echo "fuzz_$target failed (exit $status); the whole log: $log" >&2
    exit 1
  fi
done
