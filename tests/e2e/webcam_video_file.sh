#!/usr/bin/env bash
# The webcam graph on a video file instead of a camera, writing the annotated frames to a video
# (webcam_to_file.graph) — every frame read, annotated and written — and webcam.graph without
# a screen, which must say what to use instead.
set -euo pipefail
source "$(dirname "$0")/lib/quick_checkpoint.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# A short clip from the photo fixtures, one photo per frame (video_writer scales them all to
# the first one's size).
cat >"$work/make_clip.graph" <<GRAPH
stage { name: "photos" plugin: "image_source" param { key: "path" value: "$SOURCE_DIR/data/fixtures/photos" } }
stage { name: "clip" plugin: "video_writer" input: "photos" param { key: "path" value: "$work/clip.avi" } param { key: "fps" value: "10" } }
GRAPH
"$PIPELINE" run "$work/make_clip.graph" >/dev/null
frames=$(ls "$SOURCE_DIR/data/fixtures/photos" | grep -cE '\.(jpg|png)$')

quick_checkpoint
"$PIPELINE" run "$SOURCE_DIR/webcam_to_file.graph" --set "camera.path=$work/clip.avi" \
  --set "classify.checkpoint=$CHECKPOINT" --set "video.path=$work/annotated.avi" \
  >"$work/out.txt" 2>&1 || { cat "$work/out.txt"; fail "webcam_to_file.graph failed"; }
cat "$work/out.txt"
grep -q "camera_source: clip.avi; $frames frames" "$work/out.txt" || fail "frames read"
if grep -q "without a picture skipped" "$work/out.txt"; then
  fail "annotate got predictions without their frame: cnn_predict must copy Sample::origin," \
    "part and parts into each Prediction"
fi
grep -q "video_writer: $frames frames to $work/annotated.avi" "$work/out.txt" ||
  fail "expected all $frames frames annotated and written"

# The annotated video holds every frame.
cat >"$work/count.graph" <<GRAPH
stage { name: "video" plugin: "camera_source" param { key: "path" value: "$work/annotated.avi" } }
stage { name: "count" plugin: "count" input: "video" param { key: "expect_samples" value: "$frames" } }
GRAPH
"$PIPELINE" run "$work/count.graph" >"$work/count.txt" 2>&1 || { cat "$work/count.txt"; fail "frame count"; }

# No screen: a clear error that names the alternative, exit code 1, no hang.
set +e
env -u DISPLAY -u WAYLAND_DISPLAY timeout 60 "$PIPELINE" run "$SOURCE_DIR/webcam.graph" \
  --set "camera.path=$work/clip.avi" --set "classify.checkpoint=$CHECKPOINT" >"$work/display.txt" 2>&1
status=$?
set -e
[[ $status -eq 1 ]] || { cat "$work/display.txt"; fail "expected exit code 1 without a display, got $status"; }
grep -q "no display" "$work/display.txt" || fail "message"
grep -q "webcam_to_file.graph" "$work/display.txt" || fail "alternative not named"
# Only the real error: the camera, opened before the display failed, has nothing to say.
! grep -q "finished early" "$work/display.txt" || { cat "$work/display.txt"; fail "noise before the error"; }
echo "ok"
