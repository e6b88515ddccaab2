#!/usr/bin/env bash
# graphs/train_validation.graph on a slice of MNIST (2,560 training, 500 validation and 500 test
# images, 5 planned epochs), with callbacks set so that they must fire: any "improvement" has to
# beat the best validation loss by more than 1e6, so epoch 1 sets the best and no later epoch
# improves. reduce-LR (patience 1) then halves the rate after epoch 2 and early stopping
# (patience 2) ends the run after epoch 3. Asserts: exit 0, both console lines, 3 rows in
# metrics.csv with the validation columns filled and the stop reason in the last, the report page
# naming the stop, and `pipeline inspect` of latest.ckpt/best.ckpt showing the validation columns,
# the stop reason and the reduced rate.
# Then a diverging run (sgd at lr 100; adam's normalised steps stay finite even there) exits 1 naming the stage, epoch and step, and writes no
# checkpoint; resumed from an epoch trained at a sane rate, the diverging epoch leaves that
# checkpoint byte for byte as it was, and it still loads.
set -euo pipefail
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
run="$work/run"

fail() { echo "FAIL: $*"; exit 1; }

train() {  # train STDOUT_STDERR_FILE ARGS... ; the run's exit code in $code
  local log=$1
  shift
  code=0
  "$PIPELINE" run "$SOURCE_DIR/graphs/train_validation.graph" --threads 2 \
    --set "train_data.images=$MNIST_DIR/train-images-idx3-ubyte.gz" \
    --set "train_data.labels=$MNIST_DIR/train-labels-idx1-ubyte.gz" \
    --set "validation_data.images=$MNIST_DIR/train-images-idx3-ubyte.gz" \
    --set "validation_data.labels=$MNIST_DIR/train-labels-idx1-ubyte.gz" \
    --set "test_data.images=$MNIST_DIR/t10k-images-idx3-ubyte.gz" \
    --set "test_data.labels=$MNIST_DIR/t10k-labels-idx1-ubyte.gz" \
    --set train_data.limit=2560 --set validation_data.limit=500 --set test_data.limit=500 \
    --set train.progress=off "$@" >"$log" 2>&1 || code=$?
}

# --- Early stopping and reduce-LR ------------------------------------------------------------
train "$work/log" --set train_data.epochs=5 \
  --set train.early_stopping_patience=2 --set train.early_stopping_min_delta=1000000 \
  --set train.reduce_lr_patience=1 --set train.reduce_lr_min_delta=1000000 \
  --set "checkpoint.dir=$run" --set "report.dir=$run"
grep -E "validation loss|reduce-LR|early stopping|^epoch " "$work/log" || true
[[ $code -eq 0 ]] || { cat "$work/log"; fail "the early-stopping run exited $code"; }
grep -q "^cnn_train: epoch 1/5 validation loss [0-9.]* acc [0-9.]*% (500 samples" "$work/log" ||
  fail "no validation line for epoch 1"
grep -q "^cnn_train: reduce-LR after epoch 2: .* the learning rate is now 0.5 x the schedule's" \
  "$work/log" || fail "no reduce-LR line after epoch 2"
grep -q "^cnn_train: early stopping after epoch 3: validation loss has not improved by more than .* for 2 epoch(s) (best [0-9.]* after epoch 1); ending the training stream" \
  "$work/log" || fail "no early-stopping line after epoch 3"
if grep -q "^epoch 4/5" "$work/log"; then fail "epoch 4 ran after early stopping"; fi

# metrics.csv: one row per epoch that ran (3 of 5), validation columns filled, stop reason last.
csv="$run/metrics.csv"
[[ -s "$csv" ]] || fail "no $csv"
head -1 "$csv" | grep -q "^epoch,train_loss,train_accuracy,validation_loss,validation_accuracy," ||
  fail "metrics.csv header: $(head -1 "$csv")"
[[ $(($(wc -l <"$csv") - 1)) -eq 3 ]] || { cat "$csv"; fail "expected 3 epochs in metrics.csv"; }
awk -F, 'NR > 1 && !($4 > 0 && $5 > 0.5 && $5 <= 1) {bad = 1} END {exit bad}' "$csv" ||
  { cat "$csv"; fail "validation loss/accuracy missing from metrics.csv"; }
tail -1 "$csv" | grep -q ",early stopping after epoch 3: " ||
  { cat "$csv"; fail "no stop reason in the last metrics.csv row"; }
grep -q "stopped: early stopping after epoch 3" "$run/index.html" ||
  fail "index.html does not say why training stopped"

# The checkpoints load, and inspect shows the validation figures, the stop and the rate.
for name in latest best; do
  [[ -f "$run/$name.ckpt" ]] || { ls -la "$run"; fail "missing $name.ckpt"; }
  "$PIPELINE" inspect "$run/$name.ckpt" >"$work/$name.txt" 2>&1 ||
    { cat "$work/$name.txt"; fail "inspect $name.ckpt failed"; }
done
cat "$work/latest.txt" | sed -n '/^training:/,/^per class/p'
grep -q "^training: 3 of 5 planned epochs" "$work/latest.txt" || fail "inspect: epochs"
grep -q "train acc   val loss   val acc  test loss" "$work/latest.txt" ||
  fail "inspect: no validation columns"
# Rows: epoch step lr train-loss train-acc val-loss val-acc test-loss test-acc img/s at.
awk '/^metrics:/ {on = 1; next} /^[a-z]/ {on = 0}
     on && $1 ~ /^[0-9]+$/ {rows++; if ($6 + 0 <= 0 || $7 !~ /%$/ || $9 !~ /%$/) bad = 1}
     END {exit bad || rows != 3}' "$work/latest.txt" || fail "inspect: metrics rows"
grep -q "^  stopped: early stopping after epoch 3" "$work/latest.txt" || fail "inspect: stop reason"
grep -q "^  learning rate: 0.5 x the schedule's" "$work/latest.txt" || fail "inspect: lr scale"
grep -q "^  early stopping: best validation loss [0-9.]* after epoch 1, 2 epoch(s)" \
  "$work/latest.txt" || fail "inspect: early-stopping watch"

# --- A diverging loss -------------------------------------------------------------------------
# Smaller still: these runs only need to get through an epoch or to diverge.
small=(--set train_data.limit=1280 --set validation_data.limit=200 --set test_data.limit=200)
diverge=(--set train.optimizer=sgd --set train.lr=100)
train "$work/nan.log" "${small[@]}" --set train_data.epochs=2 "${diverge[@]}" \
  --set "checkpoint.dir=$work/nan" --set "report.dir=$work/nan"
cat "$work/nan.log"
[[ $code -ne 0 ]] || fail "a diverging run exited 0"
# The loss turns non-finite at a step, or (ReLU hides NaN activations) only the weights do, caught
# at the epoch's end; which comes first depends on the data.
nonfinite() {  # nonfinite EPOCH LOG
  grep -Eq "stage \"train\" \(cnn_train\).*(the loss became (NaN|infinite) in epoch $1/2 at step [0-9]+|after epoch $1 the weights of [a-z0-9_.]+ are (NaN|infinite))" \
    "$2"
}
nonfinite 1 "$work/nan.log" || fail "no message naming the stage, epoch and step"
[[ ! -e "$work/nan/latest.ckpt" ]] || fail "a checkpoint was written from a diverged epoch"

# One sane epoch, then the second diverges: the first epoch's checkpoint stays as it was.
train "$work/sane.log" "${small[@]}" --set train_data.epochs=1 --set train.optimizer=sgd --set train.lr=0.05 \
  --set "checkpoint.dir=$work/resumed" --set "report.dir=$work/resumed"
[[ $code -eq 0 ]] || { cat "$work/sane.log"; fail "the sane sgd epoch failed"; }
cp "$work/resumed/latest.ckpt" "$work/epoch1.ckpt"
train "$work/resume.log" "${small[@]}" --set train_data.epochs=2 "${diverge[@]}" \
  --set "train.resume=$work/resumed/latest.ckpt" \
  --set "checkpoint.dir=$work/resumed" --set "report.dir=$work/resumed"
grep -v "^resume: skipping" "$work/resume.log"
[[ $code -ne 0 ]] || fail "the resumed diverging run exited 0"
nonfinite 2 "$work/resume.log" || fail "no non-finite loss in epoch 2"
cmp -s "$work/epoch1.ckpt" "$work/resumed/latest.ckpt" ||
  fail "latest.ckpt changed in the diverged run"
"$PIPELINE" inspect "$work/resumed/latest.ckpt" >"$work/epoch1.txt" 2>&1 ||
  { cat "$work/epoch1.txt"; fail "the earlier checkpoint no longer loads"; }
grep -q "^training: 1 of 1 planned epochs" "$work/epoch1.txt" || fail "earlier checkpoint: epochs"
echo "ok"
