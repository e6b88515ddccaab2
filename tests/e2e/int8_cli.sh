#!/usr/bin/env bash
# int8 inference's refusals: exit code 1 and a message naming what is wrong for a checkpoint
# without calibration, calibration images that are missing, not IDX or the wrong size, int8 on an
# ONNX model; exit code 2 for bad usage of `pipeline quantize`. `pipeline plugins cnn_predict`
# lists the precision choices.
set -uo pipefail
source "$(dirname "$0")/lib/quick_checkpoint.sh"
source "$(dirname "$0")/lib/expect.sh"

quick_checkpoint
train_images="$MNIST_DIR/train-images-idx3-ubyte.gz"
labels="$MNIST_DIR/train-labels-idx1-ubyte.gz"
head -c 5000 "$train_images" >truncated.gz
printf 'not a gzip file nor IDX' >text.idx
# 32x32 images: 1 image of IDX 0x803.
printf '\x00\x00\x08\x03\x00\x00\x00\x01\x00\x00\x00\x20\x00\x00\x00\x20' >big.idx
head -c 1024 /dev/zero >>big.idx

expect 0 "precision .*one of auto fp32 bf16 int8" -- "$PIPELINE" plugins cnn_predict
expect 0 "precision .*one of auto fp32 bf16 int8" -- "$PIPELINE" plugins evaluate
expect 2 "usage: pipeline quantize" -- "$PIPELINE" quantize "$CHECKPOINT"
expect 2 "--images takes a positive whole number" -- \
  "$PIPELINE" quantize "$CHECKPOINT" out.ckpt --images 0
expect 1 "cannot open calibration images missing.gz" -- \
  "$PIPELINE" quantize "$CHECKPOINT" out.ckpt --calibration missing.gz
expect 1 "text.idx is not an IDX image file" -- \
  "$PIPELINE" quantize "$CHECKPOINT" out.ckpt --calibration text.idx
expect 1 "truncated.gz: truncated IDX image file" -- \
  "$PIPELINE" quantize "$CHECKPOINT" out.ckpt --calibration truncated.gz
expect 1 "big.idx are 32x32x1 but checkpoint .* takes 28x28x1" -- \
  "$PIPELINE" quantize "$CHECKPOINT" out.ckpt --calibration big.idx
expect 1 "not an IDX image file" -- \
  "$PIPELINE" quantize "$CHECKPOINT" out.ckpt --calibration "$labels"
[[ ! -e out.ckpt ]] || { echo "FAIL: a failed quantize wrote out.ckpt"; failures=$((failures + 1)); }

# cnn_predict: no calibration anywhere; an ONNX model.
expect 1 "checkpoint .*best.ckpt has no int8 calibration: run .pipeline quantize" -- \
  "$PIPELINE" run "$SOURCE_DIR/predict.graph" --set "source.path=$SOURCE_DIR/data/fixtures/photos" \
  --set "classify.checkpoint=$CHECKPOINT" --set classify.precision=int8 --set output.output=p.csv
"$PIPELINE" export "$CHECKPOINT" model.onnx >/dev/null
expect 1 "precision int8 needs a pipeline checkpoint; ONNX model model.onnx runs in fp32" -- \
  "$PIPELINE" run "$SOURCE_DIR/predict.graph" --set "source.path=$SOURCE_DIR/data/fixtures/photos" \
  --set classify.checkpoint=model.onnx --set classify.precision=int8 --set output.output=p.csv
expect 1 "evaluate.*has no int8 calibration" -- \
  "$PIPELINE" evaluate "$CHECKPOINT" "$MNIST_DIR/t10k-images-idx3-ubyte.gz" --precision int8 \
  --out report
expect 2 "--precision takes auto, fp32, bf16 or int8, not int4" -- \
  "$PIPELINE" evaluate "$CHECKPOINT" --precision int4

# A calibrated checkpoint reads the photo fixtures like fp32 does.
expect 0 "calibrated .* on 500 images" -- \
  "$PIPELINE" quantize "$CHECKPOINT" int8.ckpt --calibration "$train_images" --images 500
expect 0 "predictions: 20 files, 0 failed" -- \
  "$PIPELINE" run "$SOURCE_DIR/predict.graph" --set "source.path=$SOURCE_DIR/data/fixtures/photos" \
  --set classify.checkpoint=int8.ckpt --set classify.precision=int8 --set output.output=p.csv

[[ $failures -eq 0 ]] || { echo "$failures check(s) failed"; exit 1; }
echo "ok"
