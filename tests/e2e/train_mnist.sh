#!/usr/bin/env bash
# ctest-labels: slow
# Trains the repository's train.graph on MNIST with its default recipe: the final test accuracy
# must reach 99.0%, latest.ckpt must exist and `pipeline inspect` must accept it (and refuse a
# damaged copy with exit 1, naming it), no best.ckpt may be written (train.graph has no validation
# data: a "best" epoch would be chosen on the test set), and the run folder must hold the report
# (index.html naming every picture, one metrics.csv row per epoch). Prints the wall time, the time
# at which test accuracy first reached 99.0% and the training throughput.
set -euo pipefail
source "$(dirname "$0")/lib/mnist_sets.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
run="$work/run"

start=$(date +%s.%N)
"$PIPELINE" run "$SOURCE_DIR/train.graph" "${mnist_sets[@]}" \
  --set "checkpoint.dir=$run" --set "report.dir=$run" 2>"$work/stderr" ||
  { cat "$work/stderr"; exit 1; }
end=$(date +%s.%N)
grep '^epoch ' "$work/stderr" || true

[[ -f "$run/latest.ckpt" ]] || { echo "missing $run/latest.ckpt"; ls -la "$run"; exit 1; }
"$PIPELINE" inspect "$run/latest.ckpt" >"$work/latest.txt" ||
  { echo "inspect latest.ckpt failed"; exit 1; }
[[ ! -e "$run/best.ckpt" ]] || { echo "train.graph chose a best.ckpt by test accuracy"; exit 1; }
grep -q "CRC-32 [0-9a-f]* ok" "$work/latest.txt" || { cat "$work/latest.txt"; exit 1; }
for png in curves confusion per_class mistakes; do
  [[ -s "$run/$png.png" ]] || { echo "missing $run/$png.png"; exit 1; }
  grep -q "src=\"$png.png\"" "$run/index.html" || { echo "index.html lacks $png.png"; exit 1; }
done
epochs=$(grep -c '^epoch ' "$work/stderr")
[[ $(($(wc -l <"$run/metrics.csv") - 1)) -eq $epochs ]] ||
  { echo "metrics.csv has not one row per epoch ($epochs):"; cat "$run/metrics.csv"; exit 1; }

# The metrics table of `inspect`: epoch step lr train-loss train-acc test-loss test-acc img/s at.
metrics() { awk '/^metrics:/ {on = 1; next} /^[a-z]/ {on = 0} on && $1 ~ /^[0-9]+$/' "$1"; }
metrics "$work/latest.txt" >"$work/table"
[[ -s "$work/table" ]] || { echo "no metrics in inspect output:"; cat "$work/latest.txt"; exit 1; }
final=$(tail -1 "$work/table" | awk '{sub("%", "", $7); print $7}')
reached=$(awk '{sub("%", "", $7); if ($7 + 0 >= 99.0) {print $9; exit}}' "$work/table")
rate=$(awk '{sum += $8; n++} END {printf "%.0f", sum / n}' "$work/table")
wall=$(awk -v s="$start" -v e="$end" 'BEGIN {printf "%.1f", e - s}')
echo "final test accuracy ${final}%, 99.0% reached at ${reached:-never} s, wall ${wall} s," \
  "training ${rate} images/s"
awk -v a="$final" 'BEGIN {exit !(a >= 99.0)}' || { echo "final accuracy below 99.0%"; exit 1; }

# A damaged checkpoint is refused with exit 1 and its name.
head -c 100000 "$run/latest.ckpt" >"$work/damaged.ckpt"
if "$PIPELINE" inspect "$work/damaged.ckpt" >/dev/null 2>"$work/damaged.err"; then
  echo "inspect accepted a truncated checkpoint"; exit 1
else
  code=$?
fi
[[ $code -eq 1 ]] || { echo "inspect exited $code on a damaged checkpoint, expected 1"; exit 1; }
grep -q "damaged.ckpt" "$work/damaged.err" || { cat "$work/damaged.err"; exit 1; }
echo "ok"
