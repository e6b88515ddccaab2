#!/usr/bin/env bash
# Hostile input and faults, as the command line sees them: input built to crash or hang the
# loader, names that would make a run's checkpoints unreadable, SIGTERM, a report that cannot be
# written, arguments the graph file would refuse. Each must end in a clear error and the right
# exit code (or, for SIGTERM, the same clean stop as Ctrl-C).
set -uo pipefail
source "$(dirname "$0")/lib/expect.sh"

source_stage() {  # source_stage NAME EPOCHS
  printf 'stage { name: "%s" plugin: "idx_source"\n  param { key: "images" value: "%s" }\n  param { key: "epochs" value: "%s" } }\n' \
    "$1" "$MNIST_DIR/t10k-images-idx3-ubyte.gz" "$2"
}
{ source_stage mnist 1; printf 'stage { name: "count" plugin: "count" input: "mnist" }\n'; } > good.graph

# 1. Nesting deep enough to overflow protobuf's stack (it crashed with SIGSEGV).
python3 -c "open('n.graph','w').write('name: \"x\"\n'+'stage { '*20000+'}'*20000)"
expect 2 'n.graph:2:519: error: blocks nested more than 64 deep' -- "$PIPELINE" validate n.graph
python3 -c "open('p.graph','w').write('stage { name: \"a\" plugin: \"count\"\n'+'param { '*20000+'}'*20000+'}')"
expect 2 'p.graph:2:[0-9]+: error: .*nested more than' -- "$PIPELINE" validate p.graph

# 2. A stage name with a Latin-1 byte: refused where it enters, at its line and column.
sed 's/name: "count"/name: "c\xe9unt"/' good.graph > latin1.graph
expect 2 'latin1.graph:4:17: error: stage "c.{1,3}unt": a string that is not UTF-8 \(byte 0xE9\)' -- "$PIPELINE" validate latin1.graph
expect 2 '--set.*not UTF-8' -- "$PIPELINE" validate good.graph --set $'count.expect_samples=1\xe9'

# 5. SIGTERM stops the run as Ctrl-C does: sources stop, every stage closes, exit 130.
{ source_stage mnist 1000000; printf 'stage { name: "count" plugin: "count" input: "mnist" }\n'; } > long.graph
"$PIPELINE" run long.graph > term.out 2>&1 &
runner=$!
# Wait until the run catches SIGTERM (bit 15 of SigCgt), i.e. the graph is loaded and running.
for _ in $(seq 300); do
  caught=$(awk '/^SigCgt:/ {print $2}' "/proc/$runner/status" 2>/dev/null || echo 0)
  (( (16#${caught:-0} >> 14) & 1 )) && break
  sleep 0.1
done
sleep 0.5
kill -TERM "$runner"
wait "$runner"; status=$?
if [[ $status -ne 130 ]] || ! grep -q "interrupted: sources stopped, every stage closed" term.out; then
  echo "FAIL: SIGTERM → exit $status (wanted 130):"; sed 's/^/    /' term.out
  failures=$((failures + 1))
fi

# 9. The command line refuses what the graph file refuses, and names what it cannot find.
expect 2 '--seed "-1": expected a whole number' -- "$PIPELINE" validate good.graph --seed -1
expect 2 '--seed "1e5"' -- "$PIPELINE" validate good.graph --seed 1e5
expect 0 'ok' -- "$PIPELINE" validate good.graph --seed 18446744073709551615
expect 2 '--plugin-path nowhere/plugins: no such folder' -- \
  "$PIPELINE" validate good.graph --plugin-path nowhere/plugins
{ printf 'seed: 1e308\n'; cat good.graph; } > seed.graph
expect 2 '^seed.graph:1:7: error: syntax error' -- "$PIPELINE" validate seed.graph
if [[ $("$PIPELINE" validate seed.graph 2>&1 | grep -c 'error:') -ne 1 ]]; then
  echo "FAIL: seed: 1e308 gives more than one error"; failures=$((failures + 1))
fi

# 8. A report folder that cannot be written: the run says so at the end and exits 1.
cat > train.graph <<GRAPH
stage { name: "data" plugin: "idx_source"
  param { key: "images" value: "$MNIST_DIR/t10k-images-idx3-ubyte.gz" }
  param { key: "labels" value: "$MNIST_DIR/t10k-labels-idx1-ubyte.gz" }
  param { key: "limit" value: "256" } }
stage { name: "norm" plugin: "normalize" input: "data" }
stage { name: "batch" plugin: "batch" input: "norm" param { key: "size" value: "64" } }
stage { name: "train" plugin: "cnn_train" input: "batch" param { key: "epochs" value: "1" } }
stage { name: "test" plugin: "idx_source"
  param { key: "images" value: "$MNIST_DIR/t10k-images-idx3-ubyte.gz" }
  param { key: "labels" value: "$MNIST_DIR/t10k-labels-idx1-ubyte.gz" }
  param { key: "limit" value: "128" } }
stage { name: "test_norm" plugin: "normalize" input: "test" }
stage { name: "test_batch" plugin: "batch" input: "test_norm" param { key: "size" value: "128" } }
stage { name: "evaluate" plugin: "evaluate" input: "model=train" input: "samples=test_batch" }
stage { name: "report" plugin: "report" input: "evaluate.metrics"
  param { key: "dir" value: "$work/report" } }
GRAPH
mkdir -p report/index.html  # a file that cannot be replaced, as on a full disk
expect 1 'report in .*/report is missing: the last write failed' -- "$PIPELINE" run train.graph

# 6. A partial checkpoint left by a killed run is removed when the next run opens the folder.
mkdir -p runs
: > runs/.latest.ckpt.tmp-999999999-AbCdEf
sed "s|$work/report|$work/runs|; s|\"report\" input|\"checkpoint\" input|; s|evaluate.metrics|evaluate.model|" \
  train.graph > ckpt.graph
expect 0 '' -- "$PIPELINE" run ckpt.graph
if [[ -e runs/.latest.ckpt.tmp-999999999-AbCdEf || ! -f runs/latest.ckpt ]]; then
  echo "FAIL: stale temporary checkpoint not removed:"; ls -la runs | sed 's/^/    /'
  failures=$((failures + 1))
fi

if [[ $failures -gt 0 ]]; then
  echo "$failures check(s) failed"
  exit 1
fi
echo "all hostile-input checks passed"
