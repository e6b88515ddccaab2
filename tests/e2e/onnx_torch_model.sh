#!/usr/bin/env bash
# ONNX in: a model nobody here wrote by hand — data/fixtures/onnx/torch_mnist.onnx, trained and
# exported by PyTorch (tools/torch_mnist_to_onnx.py) — through our stages: cnn_predict on the
# 10,000 MNIST test images must count the same correct answers as PyTorch did (written beside the
# model in torch_mnist.accuracy), to within 2 images, and give PyTorch's answer
# (torch_mnist.predictions) on all but at most 2 of the 10,000 images; float samples from
# `normalize` give the same count; predict.graph reads the photo fixtures with it unchanged;
# inspect shows it; cnn_predict's params override its metadata.
#
# Environment (set by ctest): PIPELINE, SOURCE_DIR, MNIST_DIR; TORCH_ONNX_DIR (optional) reads
# torch_mnist.onnx and .accuracy from there instead (.ci/run, after regenerating them).
set -euo pipefail
: "${PIPELINE:?}" "${SOURCE_DIR:?}" "${MNIST_DIR:?}"
# Absolute, because predict.graph runs from a scratch folder.
PIPELINE=$(realpath "$PIPELINE") SOURCE_DIR=$(realpath "$SOURCE_DIR")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
fixtures=${TORCH_ONNX_DIR:-$SOURCE_DIR/data/fixtures/onnx}
model="$fixtures/torch_mnist.onnx"
torch_correct=$(awk '/^test_correct/ {print $2}' "$fixtures/torch_mnist.accuracy")

"$PIPELINE" inspect "$model" >"$work/inspect.txt" || { cat "$work/inspect.txt"; fail inspect; }
cat "$work/inspect.txt"
grep -q '^input  input: float (batch, 1, 28, 28)$' "$work/inspect.txt" || fail "input line"
grep -q 'output read as logits' "$work/inspect.txt" || fail "logits"
grep -q '^ops: .*Conv x2.*Gemm x2' "$work/inspect.txt" || fail "ops line"

# The MNIST test set through cnn_predict; the predictions sink counts the labelled answers.
cat >"$work/test_set.graph" <<GRAPH
name: "onnx_test_set"
stage { name: "source" plugin: "idx_source"
  param { key: "images" value: "$MNIST_DIR/t10k-images-idx3-ubyte.gz" }
  param { key: "labels" value: "$MNIST_DIR/t10k-labels-idx1-ubyte.gz" } }
stage { name: "classify" plugin: "cnn_predict" input: "source"
  param { key: "checkpoint" value: "$model" } }
stage { name: "output" plugin: "predictions" input: "classify"
  param { key: "output" value: "$work/predictions.csv" }
  param { key: "uncertain_below" value: "0" } }
GRAPH
correct() {  # correct GRAPH [--set ...]: how many of the 10,000 it answers right
  "$PIPELINE" run "$@" >"$work/run.log" 2>&1 || { cat "$work/run.log"; fail run; }
  sed -nE 's/.* ([0-9]+) of 10000 labelled correct.*/\1/p' "$work/run.log"
}
ours=$(correct "$work/test_set.graph")
echo "PyTorch: $torch_correct of 10000 correct; ours (cnn_predict on OpenCV dnn): $ours of 10000"
[[ -n $ours ]] || fail "no accuracy line"
((ours - torch_correct <= 2 && torch_correct - ours <= 2)) || fail "accuracy differs from PyTorch's"
# Image by image (the rows come in test-set order).
tail -n +2 "$work/predictions.csv" | cut -d, -f2 >"$work/ours.txt"
differ=$(paste -d' ' "$work/ours.txt" "$fixtures/torch_mnist.predictions" | awk '$1 != $2' | wc -l)
echo "answers that differ from PyTorch's: $differ of 10000"
((differ <= 2)) || fail "$differ answers differ from PyTorch's"

# Float samples from `normalize` (other values than the model's) are brought to the model's own.
sed -e 's/input: "source"$/input: "norm"/' \
    -e 's/^stage { name: "classify"/stage { name: "norm" plugin: "normalize" input: "source"\
  param { key: "mean" value: "0.5" } param { key: "std" value: "0.25" } }\
stage { name: "classify"/' "$work/test_set.graph" >"$work/normalized.graph"
from_float=$(correct "$work/normalized.graph")
echo "fed float samples normalized with other values: $from_float of 10000"
((from_float - torch_correct <= 2 && torch_correct - from_float <= 2)) || fail "float samples"

# Params win over the metadata: the wrong polarity ruins it, proving they are used.
inverted=$(correct "$work/test_set.graph" --set classify.polarity=dark_on_light)
echo "with polarity dark_on_light: $inverted of 10000"
((inverted < 7000)) || fail "polarity param had no effect"

# predict.graph, unchanged but for the checkpoint, on the photo fixtures.
photos="$SOURCE_DIR/data/fixtures/photos"
(cd "$work" && "$PIPELINE" run "$SOURCE_DIR/predict.graph" --set "source.path=$photos" \
  --set "classify.checkpoint=$model") >"$work/predict.log" 2>&1 ||
  { cat "$work/predict.log"; fail predict.graph; }
right=0 total=0
while IFS=, read -r file digits _; do
  truth=$(basename "$file" | sed -E 's/.*label([0-9]+)\..*/\1/')
  total=$((total + 1)); [[ $digits == "$truth" ]] && right=$((right + 1))
done < <(tail -n +2 "$work/predictions.csv")
echo "predict.graph with the PyTorch model: $right of $total photos read exactly"
((right * 10 >= total * 7)) || fail "fewer than 70% of the photos read right"
