#!/usr/bin/env bash
# `pipeline run --profile` on real graphs: after the run, stderr holds the table header, exactly
# one row per stage of the graph (in its order, with its plugin and the messages it handled) and
# a `bottleneck:` verdict. On graphs/stream_mnist.graph the message counts are MNIST's; on
# train.graph cut to 20 training batches, the CNN's training step is the bound, so the verdict
# must name cnn_train.
set -euo pipefail
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fail() { echo "FAIL: $*"; exit 1; }

# check_profile GRAPH ERR: the table of ERR has the header and a row per stage of GRAPH, in order.
check_profile() {
  local graph=$1 err=$2
  grep -q "^profile: [0-9.]* s of dataflow ([0-9.]* s wall), 2 threads$" "$err" ||
    { cat "$err"; fail "no profile summary line"; }
  grep -Eq "^stage +plugin +kind +busy s +busy% +in-wait s +out-wait s +msgs in +msgs out +msgs/s$" \
    "$err" || { cat "$err"; fail "no profile table header"; }
  # Stage names and plugins as the graph declares them, and as the table lists them.
  awk '/^stage \{/ {on = 1} on && /^  name:/ {gsub(/"/, "", $2); name = $2}
       on && /^  plugin:/ {gsub(/"/, "", $2); print name, $2; on = 0}' "$graph" >"$work/expected"
  awk '/^stage +plugin +kind/ {on = 1; next} /^bottleneck:/ {on = 0}
       on && NF == 10 && $3 ~ /^(source|serial|parallel)$/ {print $1, $2}' "$err" >"$work/rows"
  [[ -s "$work/expected" ]] || fail "no stages read from $graph"
  diff "$work/expected" "$work/rows" >/dev/null ||
    { cat "$err"; diff "$work/expected" "$work/rows"; fail "not one row per stage of $graph"; }
  grep -q "^bottleneck: " "$err" || { cat "$err"; fail "no bottleneck verdict"; }
}

# row STAGE ERR: that stage's row (fields: stage plugin kind busy busy% in-wait out-wait in out /s).
row() { awk -v s="$1" '$1 == s && NF == 10' "$2"; }

# --- Streaming MNIST: no CNN, every count known ------------------------------------------------
graph="$SOURCE_DIR/graphs/stream_mnist.graph"
"$PIPELINE" run "$graph" --threads 2 --profile \
  --set "mnist.images=$MNIST_DIR/train-images-idx3-ubyte.gz" \
  --set "mnist.labels=$MNIST_DIR/train-labels-idx1-ubyte.gz" >"$work/stream.out" 2>"$work/stream.err" ||
  { cat "$work/stream.out" "$work/stream.err"; fail "stream_mnist.graph --profile failed"; }
cat "$work/stream.err"
check_profile "$graph" "$work/stream.err"
[[ $(row mnist "$work/stream.err" | awk '{print $3, $8, $9}') == "source 0 60000" ]] ||
  fail "mnist row: $(row mnist "$work/stream.err")"
[[ $(row normalize "$work/stream.err" | awk '{print $3, $8, $9}') == "parallel 60000 60000" ]] ||
  fail "normalize row: $(row normalize "$work/stream.err")"
[[ $(row batch "$work/stream.err" | awk '{print $3, $8, $9}') == "serial 60000 469" ]] ||
  fail "batch row: $(row batch "$work/stream.err")"
[[ $(row count "$work/stream.err" | awk '{print $8, $9}') == "469 0" ]] ||
  fail "count row: $(row count "$work/stream.err")"
# Without --profile there is no table.
"$PIPELINE" run "$graph" --threads 2 --set "mnist.images=$MNIST_DIR/train-images-idx3-ubyte.gz" \
  --set "mnist.labels=$MNIST_DIR/train-labels-idx1-ubyte.gz" >/dev/null 2>"$work/plain.err"
if grep -q "^bottleneck:" "$work/plain.err"; then fail "a profile without --profile"; fi

# --- Training: cnn_train bounds the run ---------------------------------------------------------
graph="$SOURCE_DIR/train.graph"
"$PIPELINE" run "$graph" --threads 2 --profile \
  --set "train_data.images=$MNIST_DIR/train-images-idx3-ubyte.gz" \
  --set "train_data.labels=$MNIST_DIR/train-labels-idx1-ubyte.gz" \
  --set "test_data.images=$MNIST_DIR/t10k-images-idx3-ubyte.gz" \
  --set "test_data.labels=$MNIST_DIR/t10k-labels-idx1-ubyte.gz" \
  --set train_data.limit=2560 --set train_data.epochs=1 --set test_data.limit=500 \
  --set train.progress=off --set "checkpoint.dir=$work/run" --set "report.dir=$work/run" \
  >"$work/train.out" 2>"$work/train.err" ||
  { cat "$work/train.out" "$work/train.err"; fail "train.graph --profile failed"; }
sed -n '/^profile:/,$p' "$work/train.err"
check_profile "$graph" "$work/train.err"
[[ $(row train "$work/train.err" | awk '{print $2, $3, $8, $9}') == "cnn_train serial 20 1" ]] ||
  fail "train row: $(row train "$work/train.err")"
grep -q '^bottleneck: "train" (cnn_train), busy [0-9]*% of the run' "$work/train.err" ||
  fail "the verdict does not name cnn_train: $(grep '^bottleneck:' "$work/train.err")"
echo "ok"
