# Sourced by e2e tests that classify: sets CHECKPOINT to a seed CNN trained quickly (one epoch
# over 12,000 MNIST training images, no augmentation; about 97% on MNIST) with the standard
# training stages, trained once per build and kept in $BUILD_DIR/e2e-checkpoint/ until the
# pipeline binary changes.
quick_checkpoint() {
  local dir="$BUILD_DIR/e2e-checkpoint"
  CHECKPOINT="$dir/best.ckpt"
  if [[ -f "$CHECKPOINT" && "$CHECKPOINT" -nt "$PIPELINE" ]]; then return 0; fi
  mkdir -p "$dir"
  # Tests may run in parallel: one trains, the others wait for it.
  exec 9>"$dir/.lock"
  flock 9
  if [[ ! -f "$CHECKPOINT" || "$PIPELINE" -nt "$CHECKPOINT" ]]; then
    rm -f "$dir"/*.ckpt
    cat >"$dir/quick_train.graph" <<GRAPH
name: "quick_train"
seed: 42
stage { name: "train_data" plugin: "idx_source"
  param { key: "images" value: "$MNIST_DIR/train-images-idx3-ubyte.gz" }
  param { key: "labels" value: "$MNIST_DIR/train-labels-idx1-ubyte.gz" }
  param { key: "shuffle" value: "true" } param { key: "limit" value: "12000" } }
stage { name: "train_normalize" plugin: "normalize" input: "train_data"
  param { key: "mean" value: "0.1307" } param { key: "std" value: "0.3081" } }
stage { name: "train_batch" plugin: "batch" input: "train_normalize"
  param { key: "size" value: "64" } }
stage { name: "train" plugin: "cnn_train" input: "train_batch"
  param { key: "optimizer" value: "adam" } param { key: "lr" value: "0.002" }
  param { key: "schedule" value: "onecycle" } param { key: "epochs" value: "1" } }
stage { name: "test_data" plugin: "idx_source"
  param { key: "images" value: "$MNIST_DIR/t10k-images-idx3-ubyte.gz" }
  param { key: "labels" value: "$MNIST_DIR/t10k-labels-idx1-ubyte.gz" }
  param { key: "limit" value: "1000" } }
stage { name: "test_normalize" plugin: "normalize" input: "test_data"
  param { key: "mean" value: "0.1307" } param { key: "std" value: "0.3081" } }
stage { name: "test_batch" plugin: "batch" input: "test_normalize"
  param { key: "size" value: "1000" } }
stage { name: "evaluate" plugin: "evaluate" input: "model=train" input: "samples=test_batch" }
stage { name: "checkpoint" plugin: "checkpoint" input: "evaluate.model"
  param { key: "dir" value: "$dir" } param { key: "keep_best" value: "true" } }
GRAPH
    "$PIPELINE" run "$dir/quick_train.graph" >"$dir/train.log" 2>&1 ||
      { echo "training the quick checkpoint failed:"; cat "$dir/train.log"; exit 1; }
  fi
  flock -u 9
}
