#!/usr/bin/env bash
# ctest-labels: slow
# Datasets other than MNIST, described once in a dataset file, through graphs/train_fashion.graph
# changed only with --set:
#   1. Fashion-MNIST (Debian's dataset-fashion-mnist), cut down (6,000 training and 2,000 test
#      pictures, one epoch): learns (test accuracy well above chance), and the class names reach
#      the report page, metrics.json, the confusion and mistakes pictures' data, `inspect` and
#      the checkpoint; normalize's auto figures are the training images' (recorded in the
#      checkpoint), not the test images'.
#   2. A 32x32 colour dataset made from MNIST test digits (tools/make_colour_digits.py, an IDX
#      file with magic 0x804): the same graph trains the seed network on 32x32x3 input, 2,500
#      pictures for 3 epochs: well above chance (10%; 55.8% seen), the class names reach inspect.
set -euo pipefail
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

fashion=/usr/share/datasets/fashion-mnist
[[ -f $fashion/train-images-idx3-ubyte.gz ]] ||
  fail "$fashion is missing: scripts/install_deps.sh installs dataset-fashion-mnist"

# accuracy LOG: the last epoch's test accuracy in percent, from the console line.
accuracy() { grep -oE "test loss [0-9.]+ acc [0-9.]+%" "$1" | tail -1 | grep -oE "[0-9.]+%$" | tr -d %; }

# --- 1. Fashion-MNIST -----------------------------------------------------------------------
cd "$work"  # runs/ and anything relative land in the scratch folder
"$PIPELINE" run "$SOURCE_DIR/graphs/train_fashion.graph" --threads 2 \
  --set "train.model=$SOURCE_DIR/models/mnist_bn.pbtxt" \
  --set "train_data.dataset=$SOURCE_DIR/datasets/fashion_mnist.dataset" \
  --set "test_data.dataset=$SOURCE_DIR/datasets/fashion_mnist.dataset" \
  --set train_data.limit=6000 --set train_data.epochs=1 --set test_data.limit=2000 \
  --set train.warmup_epochs=0.3 --set train.progress=off \
  --set "checkpoint.dir=$work/fashion" --set "report.dir=$work/fashion" >"$work/log" 2>&1 ||
  { code=$?; cat "$work/log"; fail "train_fashion.graph exited $code"; }
cat "$work/log"
acc=$(accuracy "$work/log")
awk -v a="$acc" 'BEGIN { exit !(a >= 70) }' || fail "Fashion-MNIST test accuracy $acc% < 70%"

page="$work/fashion/index.html"
grep -qE "<title>[^<]*train_fashion.graph: Fashion-MNIST" "$page" || fail "report title lacks the dataset"
grep -q "Ankle boot" "$page" || fail "the report's per-class table lacks the class names"
grep -q "<th>validation loss</th>" "$page" && fail "validation columns without a validation input"
grep -q "Trains a CNN on Fashion-MNIST" "$page" || fail "the report shows no graph file as written"
grep -q '"class_names": \[' "$work/fashion/metrics.json" ||
  fail "metrics.json lacks class_names"
grep -q '"T-shirt/top"' "$work/fashion/metrics.json" || fail "metrics.json lacks the names"

"$PIPELINE" inspect "$work/fashion/latest.ckpt" >"$work/inspect" 2>&1 || fail "inspect failed"
grep -q "^dataset: Fashion-MNIST" "$work/inspect" || { cat "$work/inspect"; fail "inspect: no dataset"; }
grep -q "^classes: 0 T-shirt/top, 1 Trouser, .*, 9 Ankle boot" "$work/inspect" ||
  fail "inspect: no class names"
# Fashion-MNIST's training pictures: mean 0.2860, std 0.3530 (the test set's differ: 0.2868,
# 0.3524); the checkpoint records the training figures.
grep -qE "normalization: \(pixel \* 0.0039215686 - 0.286[0-9]*\) / 0.353[0-9]*" "$work/inspect" ||
  { grep normalization "$work/inspect"; fail "normalization is not the training images' mean/std"; }

# --- 2. A 32x32 colour dataset --------------------------------------------------------------
python3 "$SOURCE_DIR/tools/make_colour_digits.py" "$MNIST_DIR" "$work/colour" 2500 500
"$PIPELINE" run "$SOURCE_DIR/graphs/train_fashion.graph" --threads 2 \
  --set "train_data.dataset=$work/colour/colour_digits.dataset" \
  --set "test_data.dataset=$work/colour/colour_digits.dataset" \
  --set train.model=seed --set train_data.epochs=3 --set train.warmup_epochs=0.5 \
  --set train_augment.mirror=0 \
  --set train.progress=off \
  --set "checkpoint.dir=$work/colour_run" --set "report.dir=$work/colour_run" >"$work/log2" 2>&1 ||
  { code=$?; cat "$work/log2"; fail "the colour dataset run exited $code"; }
cat "$work/log2"
acc=$(accuracy "$work/log2")
awk -v a="$acc" 'BEGIN { exit !(a >= 45) }' || fail "colour digits test accuracy $acc% < 45% (chance: 10%)"
"$PIPELINE" inspect "$work/colour_run/latest.ckpt" >"$work/inspect2" 2>&1
grep -q "32x32x3" "$work/inspect2" || { cat "$work/inspect2"; fail "inspect: the input is not 32x32x3"; }
grep -q "^classes: 0 zero, " "$work/inspect2" || fail "inspect: no colour class names"
echo "train_datasets: ok"
