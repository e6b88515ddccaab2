#!/usr/bin/env bash
# Every benchmark's command line: --help prints its usage and exits 0; an unknown option, a value
# that is not a number and a missing required option exit 2 with the program's name and a pointer
# to --help — never an uncaught exception.
set -uo pipefail
source "$(dirname "$0")/lib/expect.sh"
bin=$BUILD_DIR/bin

benches=(augment_bench augment_overhead int8_bench onnx_bench photo_accuracy photo_speed
  time_to_accuracy train_bench video_speed)
[[ ${PIPELINE_HAVE_MPI:-0} == 1 ]] && benches+=(allreduce_bench)
for bench in "${benches[@]}"; do
  expect 0 "^usage: .*$bench" -- "$bin/$bench" --help
  expect 2 "^$bench: unrecognised option '--no-such-option' \(see $bench --help\)" -- \
    "$bin/$bench" --no-such-option 1
done
# Numbers that are not numbers (these once went to std::stoi and ended in std::terminate).
expect 2 "^photo_speed: the argument \('abc'\) for option '--runs' is invalid" -- \
  "$bin/photo_speed" --checkpoint x.ckpt --runs abc
expect 2 "^video_speed: the argument \('1e'\) for option '--camera-fps' is invalid" -- \
  "$bin/video_speed" --checkpoint x.ckpt --camera-fps 1e
expect 2 "^video_speed: --camera-fps must be in" -- "$bin/video_speed" --checkpoint x --camera-fps 0
expect 2 "^photo_accuracy: --per-category must be at least 0" -- \
  "$bin/photo_accuracy" --per-category -3
expect 2 "^photo_speed: the option '--checkpoint' is required" -- "$bin/photo_speed"
if [[ ${PIPELINE_HAVE_MPI:-0} == 1 ]]; then
  expect 2 "^allreduce_bench: the argument \('x'\) for option '--floats' is invalid" -- \
    "$bin/allreduce_bench" --floats x
fi
[[ $failures -eq 0 ]] || { echo "$failures check(s) failed"; exit 1; }
echo "bench command lines: all checks passed"
