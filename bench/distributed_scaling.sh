#!/usr/bin/env bash
# Data-parallel training on this machine, and a model of it on N machines:
#   1. allreduce_bench: the gradient sum of one step of the seed network (1.2 M floats), 2 ranks;
#   2. train.graph on TRAIN images for EPOCHS epochs as 1 process x 2 threads, then as 2 ranks x
#      1 thread (mpirun), with the same seed and global batch: images/s and test accuracy;
#   3. the model: step time(N) = compute / N + allreduce(N), compute = one machine's step time
#      (global batch / its images/s), allreduce(N) a ring over a 10 Gbit/s network (2 (N-1)/N of
#      the gradient bytes each way, plus 2 (N-1) hops of LATENCY_US); it prints the N with the
#      shortest step and the first N whose efficiency (speed-up / N) falls below 50%.
#
#   bench/distributed_scaling.sh [TRAIN] [EPOCHS]     # defaults 20000 and 2
#   PRECISION=bf16 bench/distributed_scaling.sh ...   # both runs in one precision (default fp32:
#                                                     # `auto` could choose differently for 1 and 2
#                                                     # threads, and the accuracies would differ)
#
# Needs a build with MPI (build/bin/allreduce_bench) and MNIST (data/mnist or $MNIST_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
train=${1:-20000}
epochs=${2:-2}
mnist=${MNIST_DIR:-$( [[ -d ../shared/data/mnist ]] && echo ../shared/data/mnist || echo data/mnist)}
bin=build/bin
latency_us=${LATENCY_US:-30}
precision=${PRECISION:-fp32}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//') (family $(grep -m1 'cpu family' /proc/cpuinfo | cut -d: -f2 | tr -d ' ') model $(grep -m1 '^model\s*:' /proc/cpuinfo | cut -d: -f2 | tr -d ' ')), $(nproc) cores"
echo "precision: $precision (both runs)"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

reduce=$(mpirun --oversubscribe -np 2 "$bin/allreduce_bench")
echo "$reduce"
reduce_ms=$(sed 's/.*median \([0-9.]*\) ms.*/\1/' <<<"$reduce")

args=(run train.graph --set "train_data.images=$mnist/train-images-idx3-ubyte.gz"
  --set "train_data.labels=$mnist/train-labels-idx1-ubyte.gz"
  --set "test_data.images=$mnist/t10k-images-idx3-ubyte.gz"
  --set "test_data.labels=$mnist/t10k-labels-idx1-ubyte.gz"
  --set "train_data.limit=$train" --set "train_data.epochs=$epochs" --set train.progress=off
  --set "train.precision=$precision")

# The last epoch's images/s and test accuracy (the first epoch includes warm-up).
figures() { tail -1 "$1/metrics.csv" | awk -F, '{printf "%.0f %.2f\n", $9, 100 * $7}'; }

OMP_NUM_THREADS=2 "$bin/pipeline" "${args[@]}" --threads 2 --set "checkpoint.dir=$work/one" \
  --set "report.dir=$work/one" 2>"$work/one.log"
read -r one_ips one_acc < <(figures "$work/one")
OMP_NUM_THREADS=1 mpirun --oversubscribe -np 2 -x OMP_NUM_THREADS "$bin/pipeline" "${args[@]}" \
  --threads 1 --set "checkpoint.dir=$work/two" --set "report.dir=$work/two" 2>"$work/two.log"
read -r two_ips two_acc < <(figures "$work/two")
in_run=$(grep 'cnn_train: 2 ranks' "$work/two.log" | tail -1 | sed 's/cnn_train: //')

echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-26s %10s %14s\n' "" "images/s" "test accuracy"
printf '%-26s %10s %13s%%\n' "1 process x 2 threads" "$one_ips" "$one_acc"
printf '%-26s %10s %13s%%\n' "2 ranks x 1 thread" "$two_ips" "$two_acc"
echo "in the 2-rank run (last epoch): $in_run"

# Step time of the global batch on one machine, and the share the allreduce took at 2 ranks.
batch=128
awk -v ips="$one_ips" -v two="$two_ips" -v red="$reduce_ms" -v b="$batch" \
  -v lat="$latency_us" 'BEGIN {
  compute = 1000 * b / ips                 # ms per global step, one machine
  step2 = 1000 * b / two                   # ms per global step, 2 ranks here
  printf "one step of the global batch (%d): %.1f ms on one process; %.1f ms with 2 ranks, of\n", b, compute, step2
  printf "which the allreduce alone is %.2f ms (%.1f%%)\n", red, 100 * red / step2
  bytes = 4 * 1199886; bw = 10e9 / 8       # 10 Gbit/s
  printf "\nmodel, N machines like this one on 10 Gbit/s (ring allreduce, %d us per hop):\n", lat
  printf "%6s %12s %14s %10s %11s\n", "N", "compute ms", "allreduce ms", "step ms", "efficiency"
  best = 1; best_t = compute; half = 0
  for (n = 1; n <= 128; n *= 2) {
    a = n > 1 ? 1000 * (2 * (n - 1) / n * bytes / bw) + 2 * (n - 1) * lat / 1000 : 0
    t = compute / n + a
    eff = compute / t / n
    printf "%6d %12.2f %14.2f %10.2f %10.0f%%\n", n, compute / n, a, t, 100 * eff
  }
  for (n = 1; n <= 1024; ++n) {
    a = n > 1 ? 1000 * (2 * (n - 1) / n * bytes / bw) + 2 * (n - 1) * lat / 1000 : 0
    t = compute / n + a
    if (t < best_t) { best_t = t; best = n }
    if (!half && compute / t / n < 0.5) half = n
  }
  printf "shortest step at N = %d (%.2f ms, %.1fx one machine); efficiency below 50%% from N = %d\n", best, best_t, compute / best_t, half
}'
