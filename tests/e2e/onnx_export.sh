#!/usr/bin/env bash
# ctest-labels: slow
# ONNX out: the checkpoints that train.graph and train_augmented.graph (batch-normalized network)
# write, trained cheaply (one epoch over a slice of MNIST), exported — by the checkpoint sink's
# `onnx` option and by `pipeline export` — and run back through OpenCV 4.6's dnn module: the same
# top-1 answer as our own inference on all 10,000 MNIST test images and every probability within
# 1e-4 (onnx_agreement prints the worst difference). predict.graph then reads the photo fixtures
# with the .onnx file exactly as with the checkpoint.
#
# Environment (set by ctest): PIPELINE, SOURCE_DIR, BUILD_DIR, MNIST_DIR.
set -euo pipefail
: "${PIPELINE:?}" "${SOURCE_DIR:?}" "${BUILD_DIR:?}" "${MNIST_DIR:?}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
agreement="$BUILD_DIR/bin/onnx_agreement"
fail() { echo "FAIL: $*"; exit 1; }
mnist=(--set "train_data.images=$MNIST_DIR/train-images-idx3-ubyte.gz"
       --set "train_data.labels=$MNIST_DIR/train-labels-idx1-ubyte.gz"
       --set "test_data.images=$MNIST_DIR/t10k-images-idx3-ubyte.gz"
       --set "test_data.labels=$MNIST_DIR/t10k-labels-idx1-ubyte.gz")

# train.graph, one epoch over 4,000 images; the checkpoint sink exports latest.onnx itself.
(cd "$SOURCE_DIR" && "$PIPELINE" run train.graph "${mnist[@]}" \
  --set train_data.limit=4000 --set train_data.epochs=1 --set train.progress=off \
  --set checkpoint.onnx=true --set "checkpoint.dir=$work/seed" --set "report.dir=$work/seed") \
  2>"$work/seed.log" || { cat "$work/seed.log"; fail "train.graph"; }
[[ -s $work/seed/latest.onnx ]] || fail "checkpoint.onnx wrote no .onnx"

# train_augmented.graph (models/mnist_bn.pbtxt: batch norm, dropout), one epoch over 3,200.
(cd "$SOURCE_DIR" && "$PIPELINE" run train_augmented.graph "${mnist[@]}" \
  --set train_data.limit=3200 --set train_data.epochs=1 --set train.warmup_epochs=0.5 \
  --set train.progress=off --set "checkpoint.dir=$work/bn" --set "report.dir=$work/bn") \
  2>"$work/bn.log" || { cat "$work/bn.log"; fail "train_augmented.graph"; }
"$PIPELINE" export "$work/bn/latest.ckpt" "$work/bn.onnx" || fail "pipeline export"
ls "$work" | grep -q '\.tmp' && fail "export left a temporary file"

# inspect: ops, shapes and the metadata that travels with the model.
"$PIPELINE" inspect "$work/bn.onnx" >"$work/bn.txt" || { cat "$work/bn.txt"; fail "inspect"; }
cat "$work/bn.txt"
grep -q '^input  pixels: float (batch, 1, 28, 28)$' "$work/bn.txt" || fail "input line"
grep -q '^output probabilities: float (batch, 10)$' "$work/bn.txt" || fail "output line"
grep -q '^ops: Sub x1 Mul x1 Conv x4 Relu x5 MaxPool x2 Flatten x1 Gemm x2 Softmax x1$' \
  "$work/bn.txt" || fail "ops: every batch norm folded, dropout dropped"
for key in class_names input_layout input_range normalization_mean normalization_std polarity \
  pipeline_version test_accuracy source_checkpoint; do
  grep -q "^  $key: " "$work/bn.txt" || fail "metadata $key missing"
done
grep -q '^  normalization_mean: 0.1307' "$work/bn.txt" || fail "mean"

# Ours against OpenCV dnn, all 10,000 test images.
"$agreement" "$work/seed/latest.ckpt" "$work/seed/latest.onnx" || fail "seed network disagrees"
"$agreement" "$work/bn/latest.ckpt" "$work/bn.onnx" || fail "batch-normalized network disagrees"

# predict.graph unchanged but for the checkpoint: the same digits from the .onnx file.
predict() {
  (cd "$work" && "$PIPELINE" run "$SOURCE_DIR/predict.graph" \
    --set "source.path=$SOURCE_DIR/data/fixtures/photos" --set "classify.checkpoint=$1" \
    --set "output.output=$2" "${@:3}") >"$work/predict.log" 2>&1 ||
    { cat "$work/predict.log"; fail "$1"; }
}
predict "$work/bn/latest.ckpt" "$work/ckpt.csv" --set classify.precision=fp32  # as the .onnx runs
predict "$work/bn.onnx" "$work/onnx.csv"
cut -d, -f1,2 "$work/ckpt.csv" >"$work/ckpt.digits"
cut -d, -f1,2 "$work/onnx.csv" >"$work/onnx.digits"
diff "$work/ckpt.digits" "$work/onnx.digits" || fail "predict.graph read other digits via ONNX"
echo "ok: $(($(wc -l <"$work/onnx.csv") - 1)) photos read the same through the .onnx file"
