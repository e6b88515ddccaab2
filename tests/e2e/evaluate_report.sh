#!/usr/bin/env bash
# `pipeline evaluate` on a quickly trained checkpoint: it prints the accuracy and where the report
# went, and the report folder holds every file (PNGs of the right size, metrics.json with the
# test figures, one CSV row per epoch, index.html naming every picture). Bad input — a missing
# or damaged checkpoint, missing data or labels, a bad option — exits nonzero naming the file.
set -euo pipefail
source "$SOURCE_DIR/tests/e2e/lib/quick_checkpoint.sh"
quick_checkpoint
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
images="$MNIST_DIR/t10k-images-idx3-ubyte.gz"

fail() { echo "FAIL: $*"; exit 1; }

# DATA given, labels found beside it, report in --out.
"$PIPELINE" evaluate "$CHECKPOINT" "$images" --out "$work/report" --batch 500 \
  >"$work/out" 2>"$work/err" || { cat "$work/out" "$work/err"; fail "evaluate failed"; }
cat "$work/out"
grep -Eq "accuracy (9[0-9]|100)\.[0-9]+% \([0-9]+ of 10000 correct\)" "$work/out" ||
  fail "no accuracy line"
grep -q "^report: $work/report/index.html$" "$work/err" || fail "no report line"
[[ $(cat "$work/out" "$work/err" | grep -c "^report: ") -eq 1 ]] || fail "the report line is printed more than once"
# The checkpoint's training figures are history: no training epoch line ("epoch 1/1: ... (at").
! grep -q "^epoch " "$work/out" "$work/err" || fail "evaluate printed a stale training epoch line"
for file in index.html metrics.json metrics.csv curves.png confusion.png per_class.png \
  mistakes.png; do
  [[ -s "$work/report/$file" ]] || fail "missing $file"
done
for png in curves confusion per_class mistakes; do
  grep -q "src=\"$png.png\"" "$work/report/index.html" || fail "index.html lacks $png.png"
done
# PNG width and height are the big-endian words at bytes 16..23.
size() { od -An -tu1 -j16 -N8 "$1" | awk '{print ($1*2^24+$2*2^16+$3*2^8+$4) "x" ($5*2^24+$6*2^16+$7*2^8+$8)}'; }
[[ $(size "$work/report/curves.png") == 1000x480 ]] || fail "curves.png is $(size "$work/report/curves.png")"
[[ $(size "$work/report/per_class.png") == 1000x480 ]] || fail "per_class.png size"
grep -q '"test_samples": "10000"' "$work/report/metrics.json" || fail "metrics.json test_samples"
[[ $(wc -l <"$work/report/metrics.csv") -eq 2 ]] || fail "metrics.csv: header + 1 epoch"
grep -q "evaluate $CHECKPOINT" "$work/report/index.html" || fail "index.html names the checkpoint"

# The default folder is beside the checkpoint, named after checkpoint and data; --labels names
# the labels explicitly; --plugin-path is taken as by every command.
cp "$CHECKPOINT" "$work/model.ckpt"
cp "$images" "$work/digits.gz"
"$PIPELINE" evaluate "$work/model.ckpt" "$work/digits.gz" --plugin-path "$work" \
  --labels "$MNIST_DIR/t10k-labels-idx1-ubyte.gz" --mistakes 8 >"$work/out2" 2>&1 ||
  { cat "$work/out2"; fail "evaluate with --labels failed"; }
[[ -s "$work/model_evaluation_digits/index.html" ]] || fail "default report folder"
grep -q "^report: $work/model_evaluation_digits/index.html$" "$work/out2" || fail "no report line"
# Evaluating another data set writes beside it, not over it (train -> train labels, by name).
mkdir -p "$work/mnist"
ln -s "$MNIST_DIR/train-images-idx3-ubyte.gz" "$MNIST_DIR/train-labels-idx1-ubyte.gz" \
  "$MNIST_DIR/t10k-images-idx3-ubyte.gz" "$MNIST_DIR/t10k-labels-idx1-ubyte.gz" "$work/mnist/"
"$PIPELINE" evaluate "$work/model.ckpt" "$work/mnist/t10k-images-idx3-ubyte.gz" --batch 2000 \
  >"$work/out3" 2>&1 || { cat "$work/out3"; fail "evaluate on t10k failed"; }
"$PIPELINE" evaluate "$work/model.ckpt" "$work/mnist/train-images-idx3-ubyte.gz" --batch 2000 \
  >"$work/out4" 2>&1 || { cat "$work/out4"; fail "evaluate on the train set failed"; }
grep -q '"test_samples": "10000"' "$work/model_evaluation_t10k/metrics.json" ||
  fail "the t10k evaluation was replaced"
grep -q '"test_samples": "60000"' "$work/model_evaluation_train/metrics.json" ||
  fail "the train-set evaluation did not read train-labels (60000 samples)"
"$PIPELINE" evaluate --help | grep -q "train-images-idx3-ubyte.gz" || fail "--help on labels"

# expect_error CODE TEXT ARGS...: exits with CODE and says TEXT on stderr.
expect_error() {
  local code=$1 text=$2
  shift 2
  local got=0
  "$PIPELINE" evaluate "$@" >"$work/bad.out" 2>"$work/bad.err" || got=$?
  [[ $got -eq $code ]] || { cat "$work/bad.err"; fail "evaluate $* exited $got, expected $code"; }
  grep -qF -- "$text" "$work/bad.err" || { cat "$work/bad.err"; fail "no \"$text\" for $*"; }
}
expect_error 1 "$work/missing.ckpt" "$work/missing.ckpt" "$images"
head -c 5000 "$CHECKPOINT" >"$work/damaged.ckpt"
expect_error 1 "$work/damaged.ckpt" "$work/damaged.ckpt" "$images"
echo "not a checkpoint" >"$work/text.ckpt"
expect_error 1 "$work/text.ckpt" "$work/text.ckpt" "$images"
expect_error 1 "$work/nothing.gz: no such data file" "$CHECKPOINT" "$work/nothing.gz"
expect_error 1 "no labels for $work/digits.gz" "$CHECKPOINT" "$work/digits.gz"
echo "garbage" >"$work/t10k-images-idx3-ubyte"
echo "garbage" >"$work/t10k-labels-idx1-ubyte"
expect_error 1 "t10k-images-idx3-ubyte" "$CHECKPOINT" "$work/t10k-images-idx3-ubyte" --out "$work/x"
expect_error 2 "give a checkpoint, e.g. pipeline evaluate runs/mnist/latest.ckpt"
expect_error 2 "--plugin-path $work/nofolder: no such folder" "$CHECKPOINT" --plugin-path "$work/nofolder"
expect_error 2 "unknown option --bogus" "$CHECKPOINT" --bogus 1
expect_error 2 "--batch takes a whole number" "$CHECKPOINT" --batch 0
echo "ok"
