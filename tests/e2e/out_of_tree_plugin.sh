#!/usr/bin/env bash
# An out-of-tree plugin, built the way a user builds one: install pipeline into a prefix, build
# plugins/template against it with find_package(pipeline), then list its stage and run a graph
# that uses it with the installed `pipeline`.
#
# Environment (set by ctest): PIPELINE (the built binary), SOURCE_DIR, BUILD_DIR, MNIST_DIR.
set -euo pipefail
: "${PIPELINE:?}" "${SOURCE_DIR:?}" "${BUILD_DIR:?}" "${MNIST_DIR:?}"
# Only the folders this test names may contribute plugins.
unset PIPELINE_PLUGIN_PATH

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# Runs a command, keeping its output in $TMP/out; shows it when the command fails.
run_logged() {
  if ! "$@" >"$TMP/out" 2>&1; then
    cat "$TMP/out" >&2
    fail "command failed: $*"
  fi
}

expect_in_output() {
  grep -q -- "$1" "$TMP/out" || { cat "$TMP/out" >&2; fail "output lacks \"$1\""; }
}

echo "== install into a fresh prefix"
run_logged cmake --install "$BUILD_DIR" --prefix "$TMP/prefix"
installed="$TMP/prefix/bin/pipeline"
[[ -x "$installed" ]] || fail "no $installed after install"
config=$(find "$TMP/prefix" -name pipelineConfig.cmake)
[[ -n "$config" ]] || fail "no pipelineConfig.cmake installed"
[[ -f "$TMP/prefix/include/pipeline/plugin.h" ]] || fail "public headers not installed"
[[ ! -e "$TMP/prefix/include/pipeline/engine" ]] || fail "engine internals were installed"

# The installed binary must use the installed libpipeline (found through its RPATH), not the
# build tree's.
run_logged ldd "$installed"
grep -q "libpipeline.so.* => $TMP/prefix/" "$TMP/out" ||
  { cat "$TMP/out" >&2; fail "installed binary does not load the installed libpipeline"; }

echo "== build plugins/template out of tree"
# As README's tutorial does: no build type given, and the template still builds optimised.
run_logged cmake -S "$SOURCE_DIR/plugins/template" -B "$TMP/tbuild" \
  -DCMAKE_PREFIX_PATH="$TMP/prefix"
grep -q "^CMAKE_BUILD_TYPE:STRING=Release$" "$TMP/tbuild/CMakeCache.txt" ||
  fail "the template builds without a build type (no optimisation) unless one is given"
run_logged cmake --build "$TMP/tbuild" -j 2 -v
expect_in_output "-O3"
[[ -f "$TMP/tbuild/libmy_augment.so" ]] || fail "the template did not produce libmy_augment.so"
# Hidden visibility: the entry point is the library's only exported pipeline symbol.
run_logged nm -D --defined-only "$TMP/tbuild/libmy_augment.so"
expect_in_output "pipeline_plugin_v1"

echo "== pipeline plugins my_augment --plugin-path"
run_logged "$installed" plugins my_augment --plugin-path "$TMP/tbuild"
for expected in my_augment probability max_shift fill sample "$TMP/tbuild/libmy_augment.so"; do
  expect_in_output "$expected"
done
# Only the parts README's step 4 has the user change say "shift": the port docs survive a new
# augmentation unchanged, so they must describe any.
grep -A3 "^Outputs" "$TMP/out" | grep -qi "shift" && fail "the template's port docs say shift"

# The build tree's binary loads the same library.
run_logged "$PIPELINE" plugins my_augment --plugin-path "$TMP/tbuild"
expect_in_output max_shift

echo "== without --plugin-path the stage is unknown, until installed into the prefix"
if "$installed" plugins my_augment >"$TMP/out" 2>&1; then
  cat "$TMP/out" >&2
  fail "my_augment found without --plugin-path before it was installed"
fi
run_logged cmake --install "$TMP/tbuild" --prefix "$TMP/prefix"
run_logged "$installed" plugins my_augment
expect_in_output "$TMP/prefix/.*/pipeline/plugins/libmy_augment.so"

echo "== run a graph through the plugin"
cat >"$TMP/tiny.graph" <<GRAPH
name: "out_of_tree_plugin"
seed: 7
stage {
  name: "mnist"
  plugin: "idx_source"
  param { key: "images" value: "$MNIST_DIR/t10k-images-idx3-ubyte.gz" }
  param { key: "labels" value: "$MNIST_DIR/t10k-labels-idx1-ubyte.gz" }
  param { key: "limit" value: "256" }
}
stage {
  name: "aug"
  plugin: "my_augment"
  input: "mnist"
  param { key: "probability" value: "1" }
}
stage {
  name: "count"
  plugin: "count"
  input: "aug"
  param { key: "expect_samples" value: "256" }
}
GRAPH
run_logged "$installed" run "$TMP/tiny.graph" --threads 2
# A value outside the plugin's declared range is refused before anything runs (exit 2).
set +e
"$installed" run "$TMP/tiny.graph" --set aug.max_shift=99 >"$TMP/out" 2>&1
status=$?
set -e
[[ $status -eq 2 ]] || { cat "$TMP/out" >&2; fail "out-of-range parameter: exit $status, not 2"; }
expect_in_output "max_shift"

echo "PASS"
