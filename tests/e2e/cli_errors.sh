#!/usr/bin/env bash
# The command line as a script sees it: exit codes (0 ok, 1 run failure, 2 usage or invalid
# graph) and an error for each class of broken graph, pointing at file:line:column.
set -uo pipefail
source "$(dirname "$0")/lib/expect.sh"

source_stage() {  # source_stage NAME [extra lines]
  printf 'stage {\n  name: "%s"\n  plugin: "idx_source"\n  param { key: "images" value: "%s" }\n%b}\n' \
    "$1" "$MNIST_DIR/t10k-images-idx3-ubyte.gz" "${2:-}"
}
good() {
  source_stage mnist '  param { key: "limit" value: "100" }\n'
  printf 'stage { name: "norm" plugin: "normalize" input: "mnist" }\n'
  printf 'stage { name: "count" plugin: "count" input: "norm" param { key: "expect_samples" value: "100" } }\n'
}
good > good.graph

expect 0 "ok \(3 stages, 2 connections\)" -- "$PIPELINE" validate good.graph
expect 0 "100 samples" -- "$PIPELINE" run good.graph
expect 0 'digraph' -- "$PIPELINE" dot good.graph
expect 0 "usage: pipeline run" -- "$PIPELINE" run --help
expect 2 "unknown command \"rnu\" \(did you mean \"run\"" -- "$PIPELINE" rnu good.graph
expect 2 "unrecognised option|unrecognized option" -- "$PIPELINE" run good.graph --bogus
expect 2 "cannot (open|read)|No such file|does not exist" -- "$PIPELINE" validate missing.graph

# A run failure: the sink's expectation is not met.
expect 1 "stage \"count\" \(count\).*100" -- "$PIPELINE" run good.graph --set count.expect_samples=7

printf 'stage { name: "a" plugin: "count"\n' > syntax.graph
expect 2 "syntax.graph:2:1: error" -- "$PIPELINE" validate syntax.graph

{ good; printf 'stage { name: "x" plugin: "idx_sorce" }\n'; } > plugin.graph
expect 2 'plugin.graph:[0-9]+:[0-9]+: error: stage "x": unknown plugin "idx_sorce" \(did you mean "idx_source"\?\); searched' \
  -- "$PIPELINE" validate plugin.graph

good | sed 's/"limit"/"limt"/' > param.graph
expect 2 'param.graph:5:[0-9]+: error: stage "mnist": .*"limt" \(did you mean "limit"\?\)' -- "$PIPELINE" validate param.graph

good | sed 's/value: "100" }$/value: "many" }/' > type.graph
expect 2 'type.graph:5:[0-9]+: error: stage "mnist": parameter "limit": expects an integer' -- "$PIPELINE" validate type.graph

good | sed 's/value: "100" }$/value: "-5" }/' > range.graph
expect 2 'range.graph:5:[0-9]+: .*out of range' -- "$PIPELINE" validate range.graph

expect 2 '--set.*"nrom".*did you mean "norm"' -- "$PIPELINE" validate good.graph --set nrom.mean=1

{ good; printf 'stage { name: "norm" plugin: "normalize" input: "mnist" }\n'; } > duplicate.graph
expect 2 'duplicate.graph:9:[0-9]+: .*duplicate stage name "norm"' -- "$PIPELINE" validate duplicate.graph

good | sed 's/input: "mnist" //' > unconnected.graph
expect 2 'unconnected.graph:7:[0-9]+: error: stage "norm": input port "in".*not connected' \
  -- "$PIPELINE" validate unconnected.graph

{ good; printf 'stage { name: "count2" plugin: "count" input: "norm" input: "mnist" }\n'; } > twice.graph
expect 2 'stage "count2".*(more than one|twice|already)' -- "$PIPELINE" validate twice.graph

{ source_stage mnist; printf 'stage { name: "batch" plugin: "batch" input: "mnist" }\n';
  printf 'stage { name: "norm" plugin: "normalize" input: "batch" }\n';
  printf 'stage { name: "count" plugin: "count" input: "norm" }\n'; } > mismatch.graph
expect 2 'stage "norm".*"batch".*"sample"|stage "norm".*type' -- "$PIPELINE" validate mismatch.graph

{ source_stage mnist; printf 'stage { name: "a" plugin: "normalize" input: "b" }\n';
  printf 'stage { name: "b" plugin: "normalize" input: "a" }\n';
  printf 'stage { name: "count" plugin: "count" input: "b" }\n'; } > cycle.graph
expect 2 'cycle' -- "$PIPELINE" validate cycle.graph

printf 'stage { name: "count" plugin: "count" }\n' > nosource.graph
expect 2 'no source' -- "$PIPELINE" validate nosource.graph
source_stage mnist > nosink.graph
expect 2 'no sink' -- "$PIPELINE" validate nosink.graph

# All errors at once, before anything runs.
cat plugin.graph | sed 's/"limit"/"limt"/' > many.graph
expect 2 '2 error\(s\)' -- "$PIPELINE" validate many.graph

# A failing stage names stage, epoch and sample; a bad data file is named.
good | sed "s|t10k-images-idx3-ubyte.gz|t10k-labels-idx1-ubyte.gz|" > badfile.graph
expect 1 'stage "mnist" \(idx_source\).*t10k-labels-idx1-ubyte.gz.*magic' -- "$PIPELINE" run badfile.graph

expect 0 'idx_source .*source' -- "$PIPELINE" plugins

# A command without its argument says what to give, in the user's words (not "--graph").
for command in run validate dot; do
  expect 2 "pipeline $command: give a graph file, e.g. pipeline $command train.graph" \
    -- "$PIPELINE" "$command"
done
expect 2 "pipeline inspect: give a checkpoint, e.g. pipeline inspect" -- "$PIPELINE" inspect
expect 2 "pipeline evaluate: give a checkpoint, e.g. pipeline evaluate" -- "$PIPELINE" evaluate

# Every command takes --plugin-path (README: Command line), and refuses a folder that is not there.
mkdir -p plugins_here
for command in "run good.graph" "validate good.graph" "dot good.graph" plugins \
  "inspect missing.ckpt" "evaluate missing.ckpt" "quantize missing.ckpt out.ckpt"; do
  # shellcheck disable=SC2086 # the command and its argument
  output=$("$PIPELINE" $command --plugin-path plugins_here 2>&1)
  if grep -qiE "unknown option|unrecogni[sz]ed option" <<<"$output"; then
    echo "FAIL: pipeline $command refuses --plugin-path: $output"
    failures=$((failures + 1))
  fi
  expect 2 "--plugin-path nowhere: no such folder" -- "$PIPELINE" $command --plugin-path nowhere
done

# Validation checks that the files a stage reads are there, at their place in the graph.
expect 2 '^--set: error: stage "mnist": parameter "images": /nonexistent.gz: No such file' \
  -- "$PIPELINE" validate good.graph --set mnist.images=/nonexistent.gz
good | sed "s|$MNIST_DIR/t10k-images-idx3-ubyte.gz|missing-images.gz|" > nofile.graph
expect 2 'nofile.graph:4:[0-9]+: error: stage "mnist": parameter "images": missing-images.gz: No such file' \
  -- "$PIPELINE" validate nofile.graph
expect 2 'parameter "images": .*: is a folder' -- "$PIPELINE" validate good.graph --set mnist.images=.
expect 0 'Parameters:' -- "$PIPELINE" plugins batch
expect 2 'no stage type "bacth" \(did you mean "batch"' -- "$PIPELINE" plugins bacth

if [[ $failures -gt 0 ]]; then echo "$failures check(s) failed"; exit 1; fi
echo "all CLI checks passed"
