#!/usr/bin/env bash
# ctest-labels: slow
# Every command README.md shows, run as a user runs it, so the test breaks when README and the
# program disagree; and every measured figure in README names the CPU it was measured on.
#
# Which lines are commands: a line in a code block (indented by 4+ spaces, or inside ``` fences),
# with a leading "$ " prompt removed, whose first word is one of this project's programs or a
# step of the plugin tutorial: `pipeline`, `build/bin/NAME`, `scripts/NAME.sh`, `data/NAME.sh`,
# `bench/NAME.sh`,
# `$HOME/pipeline/bin/pipeline`, `mpirun`, `cmake`, `cp`, `mv`, `sed`, `xdg-open`.
#
# Each runs in README's order, in a scratch copy of the repository root (the shipped graphs,
# models, plugins/template, data/fixtures, data/mnist from $MNIST_DIR, build -> $BUILD_DIR) with
# `pipeline` on PATH and HOME in the scratch folder, so the tutorial's ~/my_contrast and
# $HOME/pipeline stay inside it. A `cd` carries over to the next command, as in a shell.
#   RUN_AS   replaces a command too long for a test (training, benchmarks) with a cut-down form
#            of the same command, or a placeholder (`[NAME]`, `xdg-open`) with what it stands for;
#   BEFORE   prepares what a command expects to be there (photos/, clip.avi, the tutorial's
#            graphs, taken from README's own text);
#   EXPECT   the exit code when it is not 0 (README shows the command failing);
#   SKIP     commands that must never run here, each with the reason.
# A command README no longer shows but a table still names fails the test (stale entry).
#
# Environment (set by ctest): PIPELINE, SOURCE_DIR, BUILD_DIR, MNIST_DIR.
set -uo pipefail
source "$(dirname "$0")/lib/mpi_sanitizer.sh"
: "${PIPELINE:?}" "${SOURCE_DIR:?}" "${BUILD_DIR:?}" "${MNIST_DIR:?}"
unset PIPELINE_PLUGIN_PATH
readme="$SOURCE_DIR/README.md"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

# --- the commands ---------------------------------------------------------------------------
commands() {
  awk '
    /^```/ { fenced = !fenced; next }
    fenced || /^    / {
      line = $0
      sub(/^ +/, "", line); sub(/^\$ /, "", line)
      if (line ~ /^(pipeline |build\/bin\/[a-z_]+|scripts\/[a-z_]+\.sh|data\/[a-z_]+\.sh|bench\/[a-z_]+\.sh|\$HOME\/pipeline\/bin\/pipeline |mpirun |cmake |cp |mv |sed |xdg-open )/) {
        sub(/[ ]+# .*$/, "", line)  # the comment README adds after a command
        print NR "\t" line
      }
    }' "$readme"
}

# Cut-down training: a few thousand images, one epoch (the graphs' stage names).
cut="--set train_data.limit=2000 --set test_data.limit=1000 --set train_data.epochs=1"
declare -A RUN_AS BEFORE EXPECT SKIP
SKIP["scripts/train.sh"]="installs packages and builds; scripts/bare_machine_check.sh runs it on a fresh Debian root"
SKIP["scripts/test.sh"]="runs every test, this one included"
SKIP["pipeline run webcam.graph"]="needs a camera; webcam_window.sh runs webcam.graph on a video under Xvfb"
RUN_AS["pipeline run train.graph"]="pipeline run train.graph $cut"
BEFORE["pipeline validate my.graph"]="cp train.graph my.graph"
RUN_AS["pipeline plugins [NAME]"]="pipeline plugins && pipeline plugins cnn_train"
BEFORE["pipeline run predict.graph --set source.path=my_photos/"]="cp -r data/fixtures/photos my_photos"
RUN_AS["pipeline dot train.graph | dot -Tpng -o graph.png"]="if command -v dot >/dev/null; then pipeline dot train.graph | dot -Tpng -o graph.png; else pipeline dot train.graph >/dev/null; fi"
RUN_AS["build/bin/pipeline run train.graph --set train.resume=runs/mnist/latest.ckpt"]="build/bin/pipeline run train.graph --set train.resume=runs/mnist/latest.ckpt $cut"
RUN_AS["build/bin/train_bench"]="build/bin/train_bench --steps 2 --repeats 1 --no-torch"
RUN_AS["pipeline run train_augmented.graph"]="pipeline run train_augmented.graph $cut"
RUN_AS["pipeline run train_fast.graph"]="pipeline run train_fast.graph $cut"
RUN_AS["build/bin/time_to_accuracy"]="build/bin/time_to_accuracy --runs 1 --no-torch --target 0.5"
RUN_AS["build/bin/train_bench --model models/mnist_fast.pbtxt"]="build/bin/train_bench --model models/mnist_fast.pbtxt --steps 2 --repeats 1 --no-torch"
RUN_AS["build/bin/augment_bench"]="build/bin/augment_bench --samples 500 --runs 1"
RUN_AS["build/bin/augment_overhead"]="build/bin/augment_overhead --samples 256 --runs 1"
RUN_AS["build/bin/trainer_in_graph"]="build/bin/trainer_in_graph --samples 1024 --epochs 1 --runs 1"
RUN_AS["xdg-open runs/mnist/index.html"]="test -s runs/mnist/index.html"
BEFORE["pipeline evaluate runs/mnist/latest.ckpt my-images-idx3-ubyte.gz --labels my-labels-idx1-ubyte.gz"]="cp data/mnist/t10k-images-idx3-ubyte.gz my-images-idx3-ubyte.gz && cp data/mnist/t10k-labels-idx1-ubyte.gz my-labels-idx1-ubyte.gz"
RUN_AS["pipeline run graphs/train_validation.graph"]="pipeline run graphs/train_validation.graph $cut"
RUN_AS["pipeline run graphs/train_validation.graph --set train_data.epochs=30"]="pipeline run graphs/train_validation.graph --set train_data.epochs=30 $cut"
RUN_AS["xdg-open runs/mnist_validation/index.html"]="test -s runs/mnist_validation/index.html"
RUN_AS["pipeline run graphs/train_validation.graph --set train.optimizer=sgd --set train.lr=100"]="pipeline run graphs/train_validation.graph --set train.optimizer=sgd --set train.lr=100 $cut"
EXPECT["pipeline run graphs/train_validation.graph --set train.optimizer=sgd --set train.lr=100"]=1
BEFORE["pipeline run predict.graph --set source.path=photos/"]="cp -r data/fixtures/photos photos"
BEFORE["pipeline run predict.graph --set source.path=scan.jpg,more/ --set output.format=jsonl --set output.output=-"]="cp data/fixtures/photos/00016_strip_label97349.jpg scan.jpg && mkdir -p more && cp data/fixtures/photos/*.png more/"
RUN_AS["build/bin/photo_accuracy --checkpoint runs/mnist/latest.ckpt --per-category 200"]="build/bin/photo_accuracy --checkpoint runs/mnist/latest.ckpt --singles 20 --strips 5 --per-category 2"
# A video file in a window: under Xvfb when there is one, a few frames.
make_clip='pipeline run make_clip.graph >/dev/null'
RUN_AS["pipeline run webcam.graph --set camera.path=clip.avi"]="if command -v xvfb-run >/dev/null; then xvfb-run -a pipeline run webcam.graph --set camera.path=clip.avi --set camera.max_frames=20; else echo 'no xvfb-run: the window is not tried'; fi"
BEFORE["pipeline run webcam.graph --set camera.path=clip.avi"]="$make_clip"
BEFORE["pipeline run webcam_to_file.graph --set camera.path=clip.avi --set video.path=out.avi"]="$make_clip"
# The plugin tutorial: its graphs are README's own text, placed where README says.
BEFORE["\$HOME/pipeline/bin/pipeline run contrast_preview.graph --plugin-path ~/my_contrast/build"]="cd \"$work/root\" && readme_block contrast_preview >contrast_preview.graph"
BEFORE["\$HOME/pipeline/bin/pipeline run my_train.graph --plugin-path ~/my_contrast/build"]="make_my_train"
RUN_AS["\$HOME/pipeline/bin/pipeline run my_train.graph --plugin-path ~/my_contrast/build"]="\$HOME/pipeline/bin/pipeline run my_train.graph --plugin-path ~/my_contrast/build $cut"

# Any dataset: Fashion-MNIST cut down.
RUN_AS["pipeline run graphs/train_fashion.graph"]="pipeline run graphs/train_fashion.graph $cut"
RUN_AS["pipeline run graphs/train_fashion.graph --set train_data.epochs=45 --set train_augment.max_translation=0.07"]="pipeline run graphs/train_fashion.graph $cut --set train_augment.max_translation=0.07"
# ONNX: the photos folder predict.graph reads by default; training with the export, cut down.
BEFORE["pipeline run predict.graph --set classify.checkpoint=model.onnx"]="test -d photos || cp -r data/fixtures/photos photos"
RUN_AS["pipeline run train.graph --set checkpoint.onnx=true"]="pipeline run train.graph --set checkpoint.onnx=true $cut && test -s runs/mnist/latest.onnx"
# int8: the benchmarks cut down; predict.graph's default photos/ folder.
RUN_AS["build/bin/int8_bench"]="build/bin/int8_bench --batches 1 --repeats 1 --calibration-images 256"
RUN_AS["build/bin/photo_speed --checkpoint runs/mnist/latest_int8.ckpt --precision int8 --max-side 128"]="build/bin/photo_speed --checkpoint runs/mnist/latest_int8.ckpt --precision int8 --max-side 128 --photos 40 --runs 1"
BEFORE["pipeline run predict.graph --set classify.checkpoint=runs/mnist/latest_int8.ckpt --set classify.precision=int8"]="test -d photos || cp -r data/fixtures/photos photos"
# MPI: as root here (CI), Open MPI needs its two consent variables; --oversubscribe in case the
# machine has fewer cores than ranks.
as_root_mpi="OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 mpirun --oversubscribe"
RUN_AS["mpirun -np 2 build/bin/pipeline run train.graph"]="$as_root_mpi -np 2 build/bin/pipeline run train.graph $cut"
SKIP["mpirun -np 4 --hostfile hosts build/bin/pipeline run train.graph"]="needs the other machines a hosts file names; train_mpi.sh runs 2 ranks on this one"
RUN_AS["bench/distributed_scaling.sh 20000 2"]="bench/distributed_scaling.sh 2000 1"
RUN_AS["mpirun --oversubscribe -np 2 build/bin/allreduce_bench"]="OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 mpirun --oversubscribe -np 2 build/bin/allreduce_bench"

# --- the scratch repository root --------------------------------------------------------------
root="$work/root"
mkdir -p "$root/data/mnist" "$work/home" "$work/bin"
cp "$SOURCE_DIR"/*.graph "$root/"
cp -r "$SOURCE_DIR/bench" "$SOURCE_DIR/graphs" "$SOURCE_DIR/models" "$SOURCE_DIR/datasets" "$SOURCE_DIR/tools" "$root/"
mkdir -p "$root/plugins" && cp -r "$SOURCE_DIR/plugins/template" "$root/plugins/"
cp -r "$SOURCE_DIR/data/fixtures" "$root/data/"
ln -s "$MNIST_DIR"/*.gz "$root/data/mnist/"
ln -s "$BUILD_DIR" "$root/build"
ln -s "$PIPELINE" "$work/bin/pipeline"
cat >"$root/make_clip.graph" <<GRAPH
stage { name: "photos" plugin: "image_source" param { key: "path" value: "data/fixtures/photos" } }
stage { name: "clip" plugin: "video_writer" input: "photos" param { key: "path" value: "clip.avi" } param { key: "fps" value: "10" } }
GRAPH

# The text block of README that starts with `name: "NAME"` (a graph shown in full).
readme_block() {
  awk -v name="name: \"$1\"" '
    index($0, name) { on = 1 }
    on && /^$/ { exit }
    on { sub(/^    /, ""); print }' "$readme"
}
# Step 6: a copy of train_augmented.graph with README's stage after train_augment, the
# normalizer fed from it, and the run folder README says to change.
make_my_train() {
  cd "$root" || return 1
  sed 's|input: "train_augment"|input: "contrast"|; s|runs/mnist_augmented|runs/my_contrast|' \
    train_augmented.graph >my_train.graph
  awk '/^    stage \{$/ { block = "" ; on = 1 }
       on { block = block substr($0, 5) "\n" }
       on && /^    \}$/ { if (block ~ /"my_contrast"/ && block ~ /train_augment/) printf "%s", block; on = 0 }' \
    "$readme" >>my_train.graph
  sed -i 's/key: "max_change" value: "0.2"/key: "max_shift" value: "2"/' my_train.graph
}
export -f readme_block make_my_train
export readme root

# --- run them ----------------------------------------------------------------------------------
cwd="$root"
declare -A seen
count=0
while IFS=$'\t' read -r line_number command; do
  seen["$command"]=1
  if [[ -n ${SKIP[$command]+x} ]]; then
    echo "== README:$line_number skipped: $command (${SKIP[$command]})"
    continue
  fi
  run=${RUN_AS[$command]:-$command}
  before=${BEFORE[$command]:-true}
  wanted=${EXPECT[$command]:-0}
  echo "== README:$line_number: $run"
  count=$((count + 1))
  # One shell per command; the folder it ends in is where the next one starts.
  (
    cd "$cwd" && export HOME="$work/home" PATH="$work/bin:$PATH" &&
      eval "$before" >"$work/before.log" 2>&1 || { cat "$work/before.log"; exit 99; }
    eval "$run"
    status=$?
    pwd >"$work/cwd"
    exit $status
  ) >"$work/log" 2>&1 </dev/null
  status=$?
  if [[ $status -ne $wanted ]]; then
    tail -n 25 "$work/log" | sed 's/^/    /'
    fail "README:$line_number \`$command\` exited $status (wanted $wanted)"
  fi
  [[ -s "$work/cwd" ]] && cwd=$(cat "$work/cwd")
done < <(commands)

for table in RUN_AS BEFORE EXPECT SKIP; do
  declare -n entries=$table
  for command in "${!entries[@]}"; do
    [[ -n ${seen[$command]+x} ]] || fail "$table names \`$command\`, which README no longer shows"
  done
done
# What the commands should have left behind.
[[ -f "$root/runs/my_contrast/latest.ckpt" ]] || fail "the tutorial's training wrote no runs/my_contrast"
[[ -e "$root/runs/mnist_augmented/latest.ckpt" && ! "$root/runs/mnist_augmented/latest.ckpt" -nt "$root/runs/my_contrast/latest.ckpt" ]] ||
  fail "the tutorial's training wrote into runs/mnist_augmented"
[[ -s "$root/contrast_preview.png" ]] || fail "contrast_preview.graph wrote no contrast_preview.png"
echo "ran $count README commands"

# --- every measured figure names its CPU --------------------------------------------------------
# A measurement is a number followed by %, img/s, images/s, samples/s, frames/s, GFLOP/s, µs,
# ms, s or min, outside code blocks. The paragraph it is in (a table counts with the paragraph
# above it, its caption, as does a table continuing a table) must name a CPU key from README's "Which CPU a figure comes from"
# list (the bold names there, e.g. "Xeon SPR"). A paragraph that holds the line
# `<!-- figures: settings, not measurements -->` states settings and thresholds ("for 30 s",
# "to >= 99.0%") and is not checked.
keys=$(awk '/^\*\*Which CPU a figure comes from/ { on = 1; next }
            on && /^- \*\*/ { sub(/^- \*\*/, ""); sub(/\*\*.*/, ""); print }
            on && /^$/ { exit }' "$readme")
[[ -n $keys ]] || fail "README's list of CPU keys (\"Which CPU a figure comes from\") is missing"
unnamed=$(awk -v keys="$keys" '
  BEGIN { n = split(keys, key, "\n") }
  function flush() {
    if (figure != "" && !exempt) {
      named = 0
      for (i = 1; i <= n; i++) if (index(text, key[i])) named = 1
      if (!named) print "README:" figure_line ": " figure
    }
    text = ""; figure = ""; exempt = 0
  }
  /^```/ { fenced = !fenced; next }
  fenced || /^    / { next }
  /^$/ { blank = 1; next }
  /^<!-- figures: settings, not measurements -->$/ { flush(); exempt = 1; blank = 0; next }
  {
    # A new paragraph starts after a blank line; a table belongs to what is above it (its
    # caption, or the table it continues).
    if (blank && !/^\|/) flush()
    blank = 0
    text = text " " $0
    if (figure == "" && match($0, /[0-9][0-9.,]*( ?%| ?(img|images|samples|frames|GFLOP)\/s| ?µs| ?ms([^a-z]|$)| s([^a-z]|$)| min([^a-z]|$))/)) {
      figure = substr($0, RSTART, RLENGTH); figure_line = NR
    }
  }
  END { flush() }' "$readme")
if [[ -n $unnamed ]]; then
  echo "$unnamed" | sed 's/^/    /'
  fail "figures above do not name the CPU they were measured on (one of: $(echo $keys))"
fi

if [[ $failures -gt 0 ]]; then
  echo "$failures check(s) failed"
  exit 1
fi
echo "PASS"
