#!/usr/bin/env bash
# The augmentation preview (graphs/augment_preview.graph) run the way a user runs it: the plugins
# are found next to the binary, the PNG grid is written, has the size 8 digits x (1 original + 6
# epochs) gives, shows digits rather than a blank sheet, and is the same file byte for byte with
# 1 and 2 threads (every random choice is keyed by seed, stage, epoch and sample), different with
# another seed.
#
# Environment (set by ctest): PIPELINE (the built binary), SOURCE_DIR, BUILD_DIR, MNIST_DIR.
set -euo pipefail
: "${PIPELINE:?}" "${SOURCE_DIR:?}" "${BUILD_DIR:?}" "${MNIST_DIR:?}"
unset PIPELINE_PLUGIN_PATH  # only the plugins next to the binary

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

preview() {  # preview OUTPUT.png ARGS...: runs the graph, keeping its output in $TMP/out
  local output=$1
  shift
  if ! "$PIPELINE" run "$SOURCE_DIR/graphs/augment_preview.graph" \
      --set "grid.output=$output" \
      --set "mnist.images=$MNIST_DIR/t10k-images-idx3-ubyte.gz" "$@" >"$TMP/out" 2>&1; then
    cat "$TMP/out" >&2
    fail "the preview graph failed"
  fi
}

# Big-endian 32-bit number at byte OFFSET of FILE.
u32() {
  od -A n -t u1 -j "$2" -N 4 "$1" | awk '{ print (($1 * 256 + $2) * 256 + $3) * 256 + $4 }'
}

preview "$TMP/preview.png" --threads 2
png="$TMP/preview.png"
[[ -f $png ]] || fail "no PNG was written"
[[ ! -e $png.tmp ]] || fail "the temporary file was left behind"
grep -q "image_grid: wrote 8 row(s) of 1 original + 6 augmented" "$TMP/out" ||
  { cat "$TMP/out" >&2; fail "the sink did not report the grid it wrote"; }

# The PNG signature, then the IHDR chunk: width, height, 8-bit greyscale.
signature=$(od -A n -t x1 -N 8 "$png" | tr -d ' \n')
[[ $signature == 89504e470d0a1a0a ]] || fail "not a PNG (signature $signature)"
[[ $(od -A n -c -j 12 -N 4 "$png" | tr -d ' \n') == IHDR ]] || fail "no IHDR chunk first"
width=$(u32 "$png" 16)
height=$(u32 "$png" 20)
# 28x28 digits at scale 4 (112 pixels) with 4-pixel gaps around each tile.
((width == 7 * 112 + 8 * 4)) || fail "width $width, expected $((7 * 112 + 8 * 4))"
((height == 8 * 112 + 9 * 4)) || fail "height $height, expected $((8 * 112 + 9 * 4))"

# Not blank: a sheet of plain tiles and gaps deflates to about a kilobyte; 56 digits with noise and
# blur do not.
size=$(stat -c %s "$png")
((size > 15000)) || fail "the PNG is suspiciously small ($size bytes): blank tiles?"

# With python3 at hand, decode it (zlib only) and look at the tiles themselves: every tile has
# ink, and ink covers a digit-like share of it.
if command -v python3 >/dev/null; then
  python3 - "$png" <<'EOF' || fail "the decoded grid does not look like digits"
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
pos, idat = 8, b""
while pos < len(data):
    length, kind = struct.unpack(">I4s", data[pos:pos + 8])
    if kind == b"IHDR":
        width, height, depth, colour = struct.unpack(">IIBB", data[pos + 8:pos + 18])
    elif kind == b"IDAT":
        idat += data[pos + 8:pos + 8 + length]
    pos += 12 + length
assert depth == 8 and colour == 0, (depth, colour)
raw = zlib.decompress(idat)
rows, previous = [], bytearray(width)
for y in range(height):
    line = raw[y * (width + 1):(y + 1) * (width + 1)]
    kind, row = line[0], bytearray(line[1:])
    for x in range(width):
        a = row[x - 1] if x else 0
        b = previous[x]
        c = previous[x - 1] if x else 0
        if kind == 1: row[x] = (row[x] + a) & 255
        elif kind == 2: row[x] = (row[x] + b) & 255
        elif kind == 3: row[x] = (row[x] + (a + b) // 2) & 255
        elif kind == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            row[x] = (row[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    rows.append(row)
    previous = row
gap, cell = 4, 112
for r in range(8):
    for c in range(7):
        top, left = gap + r * (cell + gap), gap + c * (cell + gap)
        tile = [rows[y][x] for y in range(top, top + cell) for x in range(left, left + cell)]
        ink = sum(v > 64 for v in tile) / len(tile)
        if not 0.03 < ink < 0.6 or max(tile) < 128:
            sys.exit(f"tile row {r} column {c}: {ink:.1%} ink, brightest {max(tile)}")
print("tiles ok")
EOF
fi

# Deterministic: the same picture with 1 thread, another with another seed.
preview "$TMP/one_thread.png" --threads 1
cmp -s "$png" "$TMP/one_thread.png" || fail "1 and 2 threads drew different augmentations"
preview "$TMP/other_seed.png" --threads 2 --seed 8
if cmp -s "$png" "$TMP/other_seed.png"; then fail "another seed drew the same augmentations"; fi

echo "ok: ${width}x${height} PNG, $size bytes"
