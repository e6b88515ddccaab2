#!/usr/bin/env bash
# All of MNIST through load → normalize → batch → count: every sample arrives, the order is
# the same with 1 and 2 threads for one seed and differs for another, and peak memory stays
# bounded: it grows neither with the stream (10 epochs) nor with the dataset (MNIST x4).
set -euo pipefail
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
graph="$SOURCE_DIR/graphs/stream_mnist.graph"
images="mnist.images=$MNIST_DIR/train-images-idx3-ubyte.gz"
labels="mnist.labels=$MNIST_DIR/train-labels-idx1-ubyte.gz"

run() {  # run NAME ARGS... ; records the count line and peak RSS (KiB)
  local name=$1; shift
  /usr/bin/time -f "%M" -o "$work/$name.rss" \
    "$PIPELINE" run "$graph" --set "$images" --set "$labels" "$@" >"$work/$name.out"
  grep -o 'order fingerprint [0-9a-f]*' "$work/$name.out" >"$work/$name.fingerprint"
}

# MNIST's training set four times over, as one raw IDX pair of 240,000 samples.
big_images="$work/big-images-idx3-ubyte"; big_labels="$work/big-labels-idx1-ubyte"
printf '\x00\x00\x08\x03\x00\x03\xa9\x80\x00\x00\x00\x1c\x00\x00\x00\x1c' >"$big_images"
printf '\x00\x00\x08\x01\x00\x03\xa9\x80' >"$big_labels"
for _ in 1 2 3 4; do
  gzip -dc "$MNIST_DIR/train-images-idx3-ubyte.gz" | tail -c +17 >>"$big_images"
  gzip -dc "$MNIST_DIR/train-labels-idx1-ubyte.gz" | tail -c +9 >>"$big_labels"
done

run one --threads 1
run two --threads 2
run other_seed --threads 2 --seed 43
run ten_epochs --threads 2 --set mnist.epochs=10 --set count.expect_samples=600000
run four_times_the_data --threads 2 --set "mnist.images=$big_images" \
  --set "mnist.labels=$big_labels" --set count.expect_samples=240000

grep -q "60000 samples" "$work/two.out" || { echo "expected 60000 samples:"; cat "$work/two.out"; exit 1; }
cmp "$work/one.fingerprint" "$work/two.fingerprint" ||
  { echo "order differs between 1 and 2 threads"; exit 1; }
if cmp -s "$work/two.fingerprint" "$work/other_seed.fingerprint"; then
  echo "another seed gave the same order"; exit 1
fi
one_epoch=$(cat "$work/two.rss"); ten_epochs=$(cat "$work/ten_epochs.rss")
big=$(cat "$work/four_times_the_data.rss")
echo "peak RSS: MNIST 1 epoch ${one_epoch} KiB, 10 epochs ${ten_epochs} KiB, MNIST x4 ${big} KiB"
# Ten times the messages, or four times the data (+141 MiB of pixels), must not mean more
# memory: allow 25% noise.
if (( ten_epochs > one_epoch * 5 / 4 )); then echo "memory grows with the stream"; exit 1; fi
if (( big > one_epoch * 5 / 4 )); then echo "memory grows with the dataset"; exit 1; fi
echo "ok"
