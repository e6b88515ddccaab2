#!/usr/bin/env bash
# predict.graph over the committed photo fixtures (data/fixtures/photos, made from MNIST test
# digits by make_digit_photos) with three broken files mixed in: one row per file, the digits
# of each photo read left to right, the broken files as error rows, exit code 1 because of them
# (0 with fail_on_error=false), and JSON lines on stdout; graphs/annotate_photos.graph draws them.
set -euo pipefail
source "$(dirname "$0")/lib/quick_checkpoint.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

fixtures="$SOURCE_DIR/data/fixtures/photos"
cp -r "$fixtures" "$work/photos"
printf 'this is not a picture\n' >"$work/photos/zz_text.png"
: >"$work/photos/zz_empty.jpg"
head -c 1500 "$fixtures/00000_label7.jpg" >"$work/photos/zz_truncated.jpg"
photos=$(ls "$fixtures" | grep -cE '\.(jpg|png)$')
files=$((photos + 3))

quick_checkpoint
predict=("$PIPELINE" run "$SOURCE_DIR/predict.graph" --set "source.path=$work/photos"
         --set "classify.checkpoint=$CHECKPOINT")

set +e
"${predict[@]}" --set "output.output=$work/predictions.csv" >"$work/out.txt" 2>&1
status=$?
set -e
cat "$work/out.txt"
[[ $status -eq 1 ]] || fail "expected exit code 1 (three unreadable files), got $status"
grep -q "predictions: $files files, 3 failed" "$work/out.txt" || fail "summary line"
grep -q "3 of $files files could not be read" "$work/out.txt" || fail "error message"
[[ $(wc -l <"$work/predictions.csv") -eq $((files + 1)) ]] || fail "expected $files rows + header"
head -1 "$work/predictions.csv" | grep -qx 'file,prediction,confidence,top3,boxes,rows,label,error' ||
  fail "header"

# The broken files: a row each, with why.
if grep -q 'zz_empty.jpg,,,,,,,no image to classify' "$work/predictions.csv"; then
  fail "the classifier replaced the file's error with its own: cnn_predict must copy Sample::error"
fi
grep -q 'zz_empty.jpg,,,,,,,cannot decode: empty file$' "$work/predictions.csv" || fail "empty row"
grep -q 'zz_text.png,,,,,,,cannot decode: not an image' "$work/predictions.csv" || fail "text row"
grep -q 'zz_truncated.jpg,,,,,,,cannot decode: truncated' "$work/predictions.csv" ||
  fail "truncated row"

# Every photo: as many digits read as it holds, one box each; most of them right.
correct=0
while IFS=, read -r file digits confidence top3 boxes rows label error; do
  [[ $file == */zz_* ]] && continue
  truth=$(basename "$file" | sed -E 's/.*label([0-9]+)\..*/\1/')
  [[ -z $error ]] || fail "$file: unexpected error $error"
  [[ ${#digits} -eq ${#truth} ]] || fail "$file: read '$digits', it holds ${#truth} digits"
  [[ $(tr ';' '\n' <<<"$boxes" | wc -l) -eq ${#truth} ]] || fail "$file: boxes '$boxes'"
  [[ $digits == "$truth" ]] && correct=$((correct + 1))
done < <(tail -n +2 "$work/predictions.csv")
echo "$correct of $photos photos read exactly"
((correct * 10 >= photos * 8)) || fail "fewer than 80% of the photos read right"

# fail_on_error=false: the same rows, exit code 0; JSON lines streamed to stdout.
"${predict[@]}" --set output.output=- --set output.format=jsonl \
  --set output.fail_on_error=false >"$work/rows.jsonl" 2>"$work/err.txt" ||
  fail "exit code $? with fail_on_error=false"
[[ $(wc -l <"$work/rows.jsonl") -eq $files ]] || fail "expected $files JSON lines"
grep -q '"error": "cannot decode: empty file"' "$work/rows.jsonl" || fail "JSON error row"
grep -q "predictions: $files files, 3 failed" "$work/err.txt" || fail "summary on stderr"

# graphs/annotate_photos.graph: every photo drawn with its boxes and digits, one PNG each.
"$PIPELINE" run "$SOURCE_DIR/graphs/annotate_photos.graph" --set "source.path=$fixtures" \
  --set "classify.checkpoint=$CHECKPOINT" --set "output.folder=$work/annotated" \
  >"$work/annotate.txt" 2>&1 || { cat "$work/annotate.txt"; fail "annotate_photos.graph failed"; }
[[ $(ls "$work/annotated" | grep -c '\.png$') -eq $photos ]] ||
  fail "expected $photos annotated pictures in $work/annotated"
echo "ok"
