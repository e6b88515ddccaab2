#!/usr/bin/env bash
# The repository's train_augmented.graph, as a user runs it from the repository root (its model
# spec, models/mnist_bn.pbtxt, is a relative path), cut to 6,400 training images and 2 epochs:
# it must train the batch-normalized network it names to at least 97% test accuracy, and give
# the same accuracies, epoch by epoch, with 1 worker thread as with 2 (every augmentation draw is
# seeded from the graph seed, the stage, the epoch and the sample's index; dropout from the
# graph seed). The precision is named: auto chooses by timing, which may differ with the threads.
#
# Environment (set by ctest): PIPELINE (the built binary), SOURCE_DIR, MNIST_DIR.
set -euo pipefail
: "${PIPELINE:?}" "${SOURCE_DIR:?}" "${MNIST_DIR:?}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Runs the cut-down graph with `--threads $1`; the epoch lines go to $work/epochs.$1.
train() {
  local threads=$1
  (cd "$SOURCE_DIR" && "$PIPELINE" run train_augmented.graph --threads "$threads" \
    --set "train_data.images=$MNIST_DIR/train-images-idx3-ubyte.gz" \
    --set "train_data.labels=$MNIST_DIR/train-labels-idx1-ubyte.gz" \
    --set "test_data.images=$MNIST_DIR/t10k-images-idx3-ubyte.gz" \
    --set "test_data.labels=$MNIST_DIR/t10k-labels-idx1-ubyte.gz" \
    --set train_data.limit=6400 --set train_data.epochs=2 --set train.warmup_epochs=0.5 \
    --set train.progress=off --set train.precision=fp32 \
    --set "checkpoint.dir=$work/run$threads" --set "report.dir=$work/run$threads") \
    2>"$work/stderr.$threads" || { cat "$work/stderr.$threads"; exit 1; }
  # Accuracies and losses only: the times differ from run to run.
  grep '^epoch ' "$work/stderr.$threads" | sed 's/ | [0-9.]* s (at .*//' >"$work/epochs.$threads"
  cat "$work/epochs.$threads"
}

train 2
[[ $(wc -l <"$work/epochs.2") -eq 2 ]] || { echo "expected 2 epoch lines"; exit 1; }
final=$(tail -1 "$work/epochs.2" | sed 's/.*test loss [0-9.]* acc \([0-9.]*\)%.*/\1/')
awk -v a="$final" 'BEGIN {exit !(a >= 97.0)}' ||
  { echo "test accuracy ${final}% after 2 short epochs, expected at least 97%"; exit 1; }

# The checkpoint holds the network of models/mnist_bn.pbtxt, not the seed network.
"$PIPELINE" inspect "$work/run2/latest.ckpt" >"$work/inspect.txt"
grep -q "^model: mnist_bn" "$work/inspect.txt" || { cat "$work/inspect.txt"; exit 1; }
grep -q "batchnorm" "$work/inspect.txt" || { cat "$work/inspect.txt"; exit 1; }

train 1
diff "$work/epochs.2" "$work/epochs.1" ||
  { echo "1 and 2 threads trained differently with the same seed"; exit 1; }
echo "ok: final test accuracy ${final}%, identical with 1 and 2 threads"
