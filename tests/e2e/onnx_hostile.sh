#!/usr/bin/env bash
# Bad ONNX files — truncated, not ONNX at all, an unsupported op, a directory, a missing file —
# through `pipeline inspect`, `pipeline export` and cnn_predict (predict.graph): exit 1 and a
# message naming the file (and the op), never a crash. The wrong-input-shape case is in
# tests/cnn/onnx_export_test.cpp (it needs protobuf to build the file).
#
# Environment (set by ctest): PIPELINE, SOURCE_DIR.
set -uo pipefail
: "${PIPELINE:?}" "${SOURCE_DIR:?}"
source "$SOURCE_DIR/tests/e2e/lib/expect.sh"
good="$SOURCE_DIR/data/fixtures/onnx/torch_mnist.onnx"

head -c 5000 "$good" >truncated.onnx
printf 'name: "a graph file"\nstage { }\n' >text.onnx
# Same-length renaming keeps the protobuf valid: Relu becomes Selu, a real ONNX op we do not run.
perl -0777 -pe 's/Relu/Selu/g' "$good" >selu.onnx
mkdir folder.onnx

for bad in truncated text; do
  expect 1 "$bad.onnx.*(does not parse|no graph|checker)" -- "$PIPELINE" inspect "$bad.onnx"
done
expect 1 "selu.onnx: op Selu \(node .*\) is not supported" -- "$PIPELINE" inspect selu.onnx
expect 1 "folder.onnx: is a directory" -- "$PIPELINE" inspect folder.onnx
expect 1 "missing.onnx: no such file" -- "$PIPELINE" inspect missing.onnx
predict=("$PIPELINE" run "$SOURCE_DIR/predict.graph"
         --set "source.path=$SOURCE_DIR/data/fixtures/photos")
expect 1 "selu.onnx: op Selu" -- "${predict[@]}" --set classify.checkpoint=selu.onnx
expect 1 "truncated.onnx" -- "${predict[@]}" --set classify.checkpoint=truncated.onnx
expect 1 "text.onnx" -- "${predict[@]}" --set classify.checkpoint=text.onnx
# export: a checkpoint that is not one, and a folder that does not exist; no file left behind.
expect 1 "checkpoint text.onnx" -- "$PIPELINE" export text.onnx out.onnx
expect 2 "usage" -- "$PIPELINE" export only_one_argument
[[ ! -e out.onnx ]] || { echo "FAIL: export left out.onnx"; failures=$((failures + 1)); }
if ((failures > 0)); then echo "$failures check(s) failed"; exit 1; fi
echo "ok: every bad ONNX file refused with exit 1, naming it"
