#!/usr/bin/env bash
# predict.graph over the committed samples of the photo kinds that used to fail
# (data/fixtures/hard_photos, one per category of tools/digit_photo_categories.h): every photo
# yields as many digits as it holds, each with a confidence and a row number (JSON lines), and
# a digit under uncertain_below is written as "?".
set -euo pipefail
source "$(dirname "$0")/lib/quick_checkpoint.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

fixtures="$SOURCE_DIR/data/fixtures/hard_photos"
photos=$(ls "$fixtures" | grep -cE '\.(jpg|png)$')
[[ $photos -ge 8 ]] || fail "expected a sample of each category in $fixtures"
quick_checkpoint
"$PIPELINE" run "$SOURCE_DIR/predict.graph" --set "source.path=$fixtures" \
  --set "classify.checkpoint=$CHECKPOINT" --set output.format=jsonl --set output.output=- \
  >"$work/rows.jsonl" 2>"$work/err.txt" || { cat "$work/err.txt"; fail "predict.graph failed"; }
[[ $(wc -l <"$work/rows.jsonl") -eq $photos ]] || fail "expected $photos JSON lines"
while IFS= read -r line; do
  file=$(sed -E 's/.*"file": "([^"]*)".*/\1/' <<<"$line")
  digits=$(sed -E 's/.*"prediction": "([^"]*)".*/\1/' <<<"$line")
  rows=$(sed -E 's/.*"rows": \[([^]]*)\].*/\1/' <<<"$line")
  truth=$(basename "$file" | sed -E 's/.*label([0-9]+)\..*/\1/')
  [[ ${#digits} -eq ${#truth} ]] || fail "$file: read '$digits', it holds ${#truth} digits"
  expected=0
  for ((k = 1; k < ${#truth}; ++k)); do expected+=", 0"; done  # one line of writing each
  [[ $rows == "$expected" ]] || fail "$file: rows [$rows]"
done <"$work/rows.jsonl"

# Everything below a confidence of 1 is uncertain: every digit becomes "?".
"$PIPELINE" run "$SOURCE_DIR/predict.graph" --set "source.path=$fixtures" \
  --set "classify.checkpoint=$CHECKPOINT" --set output.output="$work/all.csv" \
  --set output.uncertain_below=1 >/dev/null 2>&1 || fail "uncertain_below=1 run failed"
tail -n +2 "$work/all.csv" | cut -d, -f2 | grep -qvE '^\?+$' && fail "a digit was not marked ?"
echo "ok: $photos hard photos, digit counts and rows right"
