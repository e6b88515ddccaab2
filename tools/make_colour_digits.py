#!/usr/bin/env python3
"""Writes a small 32x32 colour IDX dataset made from MNIST digits, to prove that the engine's
path from idx_source to the report is not tied to 28x28 grey images.

Each digit is coloured (a random ink colour on a random paper colour, far enough apart to read)
and placed at a random offset in a 32x32 picture: an IDX file with magic 0x00000804
(count x 32 x 32 x 3, channels in OpenCV's BGR order) and a label file. Deterministic (seeded).

  tools/make_colour_digits.py MNIST_DIR OUT_DIR [TRAIN_COUNT TEST_COUNT]

OUT_DIR gets train-images-idx4.gz, train-labels-idx1.gz, test-images-idx4.gz, test-labels-idx1.gz
and colour_digits.dataset (a dataset file naming them). Only the standard library is used.
"""
import gzip
import os
import random
import struct
import sys


def read_idx(path, magic):
    with gzip.open(path, "rb") as f:
        data = f.read()
    (found,) = struct.unpack(">I", data[:4])
    if found != magic:
        sys.exit(f"{path}: bad magic {found:#010x}")
    dims = magic & 0xFF
    sizes = struct.unpack(">" + "I" * dims, data[4 : 4 + 4 * dims])
    return sizes, data[4 + 4 * dims :]


def colour_pair(rng):
    while True:
        ink = [rng.randrange(256) for _ in range(3)]
        paper = [rng.randrange(256) for _ in range(3)]
        if sum(abs(a - b) for a, b in zip(ink, paper)) > 300:
            return ink, paper


def write_part(images, labels, first, count, rng, out_dir, part):
    side = 32
    pixels = bytearray()
    for i in range(first, first + count):
        digit = images[i * 784 : (i + 1) * 784]
        ink, paper = colour_pair(rng)
        dx, dy = rng.randrange(5), rng.randrange(5)
        picture = bytearray(side * side * 3)
        for y in range(side):
            for x in range(side):
                value = 0
                if dy <= y < dy + 28 and dx <= x < dx + 28:
                    value = digit[(y - dy) * 28 + (x - dx)]
                for c in range(3):
                    picture[(y * side + x) * 3 + c] = (ink[c] * value + paper[c] * (255 - value)) // 255
        pixels += picture
    with gzip.open(os.path.join(out_dir, f"{part}-images-idx4.gz"), "wb") as f:
        f.write(struct.pack(">IIIII", 0x00000804, count, side, side, 3) + bytes(pixels))
    with gzip.open(os.path.join(out_dir, f"{part}-labels-idx1.gz"), "wb") as f:
        f.write(struct.pack(">II", 0x00000801, count) + bytes(labels[first : first + count]))


def main():
    if len(sys.argv) not in (3, 5):
        sys.exit(__doc__)
    mnist, out_dir = sys.argv[1], sys.argv[2]
    train_count, test_count = (int(sys.argv[3]), int(sys.argv[4])) if len(sys.argv) == 5 else (3000, 1000)
    os.makedirs(out_dir, exist_ok=True)
    # MNIST's test set is the source of both parts (disjoint ranges): small and already at hand.
    (count, rows, cols), images = read_idx(os.path.join(mnist, "t10k-images-idx3-ubyte.gz"), 0x803)
    (_,), labels = read_idx(os.path.join(mnist, "t10k-labels-idx1-ubyte.gz"), 0x801)
    if (rows, cols) != (28, 28) or train_count + test_count > count:
        sys.exit("need 28x28 MNIST with enough images")
    rng = random.Random(7)
    write_part(images, labels, 0, train_count, rng, out_dir, "train")
    write_part(images, labels, train_count, test_count, rng, out_dir, "test")
    with open(os.path.join(out_dir, "colour_digits.dataset"), "w") as f:
        f.write('name: "colour digits 32x32"\n')
        f.write('class_names: ["zero", "one", "two", "three", "four", "five", "six", "seven", '
                '"eight", "nine"]\n')
        f.write('train { images: "train-images-idx4.gz" labels: "train-labels-idx1.gz" }\n')
        f.write('test { images: "test-images-idx4.gz" labels: "test-labels-idx1.gz" }\n')


if __name__ == "__main__":
    main()
