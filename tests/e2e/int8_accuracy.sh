#!/usr/bin/env bash
# ctest-labels: slow
# int8 inference against fp32 on the whole MNIST test set: `pipeline quantize` calibrates the
# quick checkpoint (seed network, one epoch over 12,000 images) on 2,000 training images, then
# `pipeline evaluate --precision int8` must be within 0.05 points of fp32's accuracy, and
# cnn_predict with precision int8 (the stored calibration) and with a calibration file given at
# open must answer like fp32 on at least 99.5% of the 10,000 digits. Prints both accuracies and the
# top-1 agreement.
set -euo pipefail
source "$(dirname "$0")/lib/quick_checkpoint.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

quick_checkpoint
train_images="$MNIST_DIR/train-images-idx3-ubyte.gz"
test_images="$MNIST_DIR/t10k-images-idx3-ubyte.gz"
"$PIPELINE" quantize "$CHECKPOINT" "$work/int8.ckpt" --calibration "$train_images" \
  --images 2000 || fail "pipeline quantize"
"$PIPELINE" inspect "$work/int8.ckpt" >"$work/inspect.txt" || fail "inspect"
grep -q "int8 calibration: method max, 2,000 images of $train_images" "$work/inspect.txt" ||
  { cat "$work/inspect.txt"; fail "inspect does not show the calibration"; }

# "...: accuracy 97.12% (9712 of 10000 correct), ..." -> 9712
correct() {
  "$PIPELINE" evaluate "$@" "$test_images" --out "$work/report" >"$work/evaluate.txt" 2>&1 ||
    { cat "$work/evaluate.txt"; fail "evaluate $*"; }
  sed -nE 's/.*\(([0-9]+) of 10000 correct\).*/\1/p' "$work/evaluate.txt"
}
fp32=$(correct "$CHECKPOINT")
int8=$(correct "$work/int8.ckpt" --precision int8)
echo "MNIST test accuracy: fp32 $fp32/10000, int8 $int8/10000"
# 0.05 points of 10,000 images: 5 images.
((fp32 - int8 <= 5 && int8 - fp32 <= 5)) || fail "int8 is more than 0.05 points from fp32"

# Per-digit answers through cnn_predict: the stored calibration, and one made at open.
predict() {
  local checkpoint=$1 out=$2; shift 2
  cat >"$work/predict.graph" <<GRAPH
stage { name: "digits" plugin: "idx_source"
  param { key: "images" value: "$test_images" } }
stage { name: "classify" plugin: "cnn_predict" input: "digits"
  param { key: "checkpoint" value: "$checkpoint" } }
stage { name: "output" plugin: "predictions" input: "classify"
  param { key: "output" value: "$out" } param { key: "uncertain_below" value: "0" } }
GRAPH
  "$PIPELINE" run "$work/predict.graph" "$@" >"$work/predict.txt" 2>&1 ||
    { cat "$work/predict.txt"; fail "predict $checkpoint $*"; }
}
agreement() {
  paste -d, <(cut -d, -f2 "$1") <(cut -d, -f2 "$2") | tail -n +2 |
    awk -F, '$1 == $2 {same++} END {print same + 0}'
}
predict "$CHECKPOINT" "$work/fp32.csv"
predict "$work/int8.ckpt" "$work/int8.csv" --set classify.precision=int8
predict "$CHECKPOINT" "$work/int8_open.csv" --set classify.precision=int8 \
  --set "classify.calibration=$train_images"
[[ $(wc -l <"$work/fp32.csv") -eq 10001 ]] || fail "expected 10,000 rows"
stored=$(agreement "$work/fp32.csv" "$work/int8.csv")
at_open=$(agreement "$work/fp32.csv" "$work/int8_open.csv")
echo "top-1 agreement with fp32: int8 (stored calibration) $stored/10000," \
  "int8 (calibrated at open) $at_open/10000"
((stored >= 9950 && at_open >= 9950)) || fail "int8 disagrees with fp32 on more than 0.5%"
# The same first 2,000 images, the same calibration: the same answers.
cmp -s "$work/int8.csv" "$work/int8_open.csv" || fail "calibrating at open changed the answers"
echo "ok"
