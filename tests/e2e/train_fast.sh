#!/usr/bin/env bash
# ctest-labels: slow
# train_fast.graph as a user runs it: the final model must reach 99.0% MNIST test accuracy, the run
# must say which precision `auto` chose and why (timings per candidate), and the checkpoint and
# the report must record the same choice. Prints the wall time (bench/time_to_accuracy measures
# it properly: medians over seeds, next to PyTorch).
set -euo pipefail
source "$(dirname "$0")/lib/mnist_sets.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
run="$work/run"
start=$(date +%s.%N)
"$PIPELINE" run "$SOURCE_DIR/train_fast.graph" "${mnist_sets[@]}" \
  --set "train.model=$SOURCE_DIR/models/mnist_fast.pbtxt" \
  --set "checkpoint.dir=$run" --set "report.dir=$run" 2>"$work/stderr" ||
  { cat "$work/stderr"; exit 1; }
end=$(date +%s.%N)
cat "$work/stderr"
choice=$(sed -nE 's/^cnn_train: precision (.*)$/\1/p' "$work/stderr")
[[ $choice =~ ^(fp32|bf16)\ \(auto:\ fp32\ [0-9]+\ img/s ]] ||
  { echo "no precision line naming the choice and the fp32 timing"; exit 1; }
final=$(grep '^epoch ' "$work/stderr" | tail -1 | sed -E 's/.*test loss [0-9.]+ acc ([0-9.]+)%.*/\1/')
wall=$(awk -v s="$start" -v e="$end" 'BEGIN {printf "%.1f", e - s}')
echo "final test accuracy ${final}%, wall ${wall} s, precision ${choice}"
awk -v a="$final" 'BEGIN {exit !(a >= 99.0)}' || { echo "final accuracy below 99.0%"; exit 1; }
"$PIPELINE" inspect "$run/latest.ckpt" >"$work/inspect.txt"
grep -qF "precision $choice" "$work/inspect.txt" ||
  { echo "inspect does not show the choice:"; head -5 "$work/inspect.txt"; exit 1; }
grep -qF "$choice" "$run/index.html" || { echo "the report does not show the choice"; exit 1; }
echo "ok"
