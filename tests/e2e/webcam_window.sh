#!/usr/bin/env bash
# webcam.graph in a real window on a real X server (Xvfb): a clip played at its own frame rate
# (as a camera delivers it) is shown frame by frame, a screenshot of the screen taken while it
# plays holds the annotated picture (not a blank window), and the run ends cleanly with the
# clip. A display that is named but does not answer gives a clear message, not a crash.
# Needs xvfb-run, xwininfo and xwd (scripts/install_deps.sh installs them); without them the test
# fails and says so — a window check that silently passes checks nothing.
set -euo pipefail
source "$(dirname "$0")/lib/quick_checkpoint.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# KEEP_WORK=1 keeps the clip, the screenshots (screen*.xwd) and the logs to look at.
[[ -n "${KEEP_WORK:-}" ]] && trap - EXIT && echo "work folder: $work"
fail() { echo "FAIL: $*"; exit 1; }

for tool in xvfb-run xwininfo xwd; do
  command -v "$tool" >/dev/null ||
    fail "$tool is not installed: run scripts/install_deps.sh (packages xvfb, xauth, x11-utils, x11-apps)"
done

# A 4 s clip at 10 frames/s: the fixture photos, twice. Under the sanitizers (PIPELINE_SANITIZED)
# a frame takes seconds to classify and paint, so the same 40 frames play at 2 frames/s (20 s),
# long enough for the screenshots below to catch one on screen.
fps=10
[[ -n ${PIPELINE_SANITIZED:-} ]] && fps=2
fixtures="$SOURCE_DIR/data/fixtures/photos"
cat >"$work/make_clip.graph" <<GRAPH
stage { name: "photos" plugin: "image_source" param { key: "path" value: "$fixtures,$fixtures" } }
stage { name: "clip" plugin: "video_writer" input: "photos" param { key: "path" value: "$work/clip.avi" } param { key: "fps" value: "$fps" } }
GRAPH
"$PIPELINE" run "$work/make_clip.graph" >/dev/null
quick_checkpoint

# Inside the X session: start the graph, wait for its window, take a screenshot while the clip
# plays, then wait for the run to end by itself.
cat >"$work/session.sh" <<'SESSION'
set -u
# As README shows it: no camera.live, a video file plays at its own frame rate in the window.
"$PIPELINE" run "$SOURCE_DIR/webcam.graph" --set "camera.path=$WORK/clip.avi" \
  --set "classify.checkpoint=$CHECKPOINT" >"$WORK/out.txt" 2>&1 &
run=$!
for _ in $(seq 200); do
  xwininfo -root -tree 2>/dev/null | grep -q '"pipeline: digits"' && break
  kill -0 "$run" 2>/dev/null || break
  sleep 0.05
done
# Screenshots every half second while the clip plays (4 s): on a loaded machine the first frame
# may take a while to be painted, so the check below looks at the best of them. Under the
# sanitizers (PIPELINE_SANITIZED) the clip lasts 20 s: shots go on for as long, or until the run
# ends.
shots=6
[[ -n ${PIPELINE_SANITIZED:-} ]] && shots=40
for shot in $(seq "$shots"); do
  sleep 0.5
  kill -0 "$run" 2>/dev/null || break
  # A shot taken while the window is being mapped can fail (X BadMatch on GetImage) and leave a
  # partial file; it is dropped, the others still count.
  xwd -root -silent -out "$WORK/screen$shot.xwd" ||
    { rm -f "$WORK/screen$shot.xwd"; echo "xwd failed (shot $shot)" >>"$WORK/out.txt"; }
done
wait "$run"
echo "exit code $?" >>"$WORK/out.txt"
SESSION
# A desktop session sets XDG_RUNTIME_DIR; without it Qt warns about it, which is not ours.
mkdir -m 700 "$work/xdg"
XDG_RUNTIME_DIR="$work/xdg" WORK="$work" CHECKPOINT="$CHECKPOINT" timeout 120 \
  xvfb-run -a -s "-screen 0 1024x768x24" bash "$work/session.sh" ||
  fail "xvfb-run failed (status $?)"
cat "$work/out.txt"
grep -q "^exit code 0$" "$work/out.txt" || fail "webcam.graph did not end with exit code 0"
grep -q "camera_source: clip.avi; " "$work/out.txt" || fail "the clip was not read to its end"
shown=$(sed -n 's/^display: \([0-9]*\) frames.*/\1/p' "$work/out.txt")
# How many frames keep up with the clip's frame rate is a speed check: under the sanitizers
# (PIPELINE_SANITIZED, ctest --preset asan) classifying a frame takes longer than the next one
# takes to arrive and the camera drops the rest, so there one shown frame is enough.
min_shown=10
[[ -n ${PIPELINE_SANITIZED:-} ]] && min_shown=1
[[ -n "$shown" && "$shown" -ge $min_shown ]] ||
  fail "expected at least $min_shown of the 40 frames shown, got '${shown}'"
# Qt, behind the window, must be driven from the main thread; from any other it warned at exit
# ("QObject::killTimer: Timers cannot be stopped from another thread").
if grep -q "QObject::\|Timers cannot be stopped" "$work/out.txt"; then
  fail "Qt warned: the window was not driven from the main thread"
fi

# The screenshot: XWD, a big-endian header (its size in the first word, the colour-map entry
# count in word 19, 12 bytes each) then the pixels. An empty screen or a blank window is one or
# two colours; a photo of digits with boxes and labels is many.
ls "$work"/screen*.xwd >/dev/null 2>&1 || fail "no screenshot"
levels_of() {
  local file=$1
  word() { od -An -tu1 -j $(($1 * 4)) -N4 "$file" | awk '{print ($1*2^24)+($2*2^16)+($3*2^8)+$4}'; }
  local pixels_at=$(($(word 0) + 12 * $(word 19)))
  tail -c +$((pixels_at + 1)) "$file" | od -An -v -tu1 | tr -s ' ' '\n' | sort -un | wc -l
}
levels=0
for screenshot in "$work"/screen*.xwd; do
  shot_levels=$(levels_of "$screenshot")
  if ((shot_levels > levels)); then levels=$shot_levels; fi
done
echo "screenshot: $levels distinct byte values (the most varied of $(ls "$work"/screen*.xwd | wc -l))"
[[ $levels -ge 64 ]] || fail "the screen looks blank ($levels distinct byte values)"

# A display that is named but does not answer: a clear message and exit code 1, not an abort
# inside the GUI toolkit.
set +e
DISPLAY=:987 timeout 60 "$PIPELINE" run "$SOURCE_DIR/webcam.graph" \
  --set "camera.path=$work/clip.avi" --set "classify.checkpoint=$CHECKPOINT" >"$work/gone.txt" 2>&1
status=$?
set -e
cat "$work/gone.txt"
[[ $status -eq 1 ]] || fail "expected exit code 1 for an X server that is not there, got $status"
grep -q "no X server answers at DISPLAY=:987" "$work/gone.txt" || fail "message"
echo "ok"
