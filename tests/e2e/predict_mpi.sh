#!/usr/bin/env bash
# predict.graph under mpirun -np 2 over the committed photo fixtures plus a broken file: the ranks
# share the files (image_source shards them), rank 0 alone writes one predictions.csv in input
# order, byte for byte the file one process writes; rank 1 writes and prints nothing.
#
# Skips (exit 77) when the binary was built without MPI or mpirun is missing.
set -euo pipefail
source "$(dirname "$0")/lib/mpi_sanitizer.sh"
source "$(dirname "$0")/lib/quick_checkpoint.sh"
if [[ "${PIPELINE_HAVE_MPI:-0}" != "1" ]] || ! command -v mpirun >/dev/null; then
  echo "SKIP: built without MPI or no mpirun"
  exit 77
fi
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

cp -r "$SOURCE_DIR/data/fixtures/photos" "$work/photos"
printf 'this is not a picture\n' >"$work/photos/zz_text.png"
quick_checkpoint
args=(run "$SOURCE_DIR/predict.graph" --set "source.path=$work/photos"
  --set "classify.checkpoint=$CHECKPOINT" --set output.fail_on_error=false
  --set output.output=predictions.csv)
mkdir -p "$work/single" "$work/rank0" "$work/rank1"
(cd "$work/single" && "$PIPELINE" "${args[@]}") >"$work/single.out" 2>&1 ||
  { cat "$work/single.out"; fail "single process"; }
mpirun --oversubscribe -np 2 --tag-output bash -c \
  'cd "$0/rank$OMPI_COMM_WORLD_RANK" && exec "$@"' "$work" "$PIPELINE" "${args[@]}" \
  >"$work/mpi.out" 2>&1 || { cat "$work/mpi.out"; fail "2 ranks"; }
cat "$work/mpi.out"
cmp "$work/single/predictions.csv" "$work/rank0/predictions.csv" ||
  { diff "$work/single/predictions.csv" "$work/rank0/predictions.csv" | head; fail "files differ"; }
[[ -z $(ls -A "$work/rank1") ]] || fail "rank 1 wrote files: $(ls -A "$work/rank1")"
if grep -q '^\[1,1\]' "$work/mpi.out"; then fail "rank 1 printed"; fi
grep -q "predictions: $(($(wc -l <"$work/single/predictions.csv") - 1)) files" "$work/mpi.out" ||
  fail "summary line"
echo ok
