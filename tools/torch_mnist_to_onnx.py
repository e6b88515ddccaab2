#!/usr/bin/env python3
"""A digit classifier that nobody here wrote by hand: trains a small CNN with PyTorch on MNIST for
one epoch, exports it with torch.onnx.export and writes PyTorch's own test-set accuracy next to it.
tests/e2e/onnx_torch_model.sh runs the exported file through our stages (cnn_predict on OpenCV dnn)
and asserts the same accuracy, so it checks the import path against a model from elsewhere.

Output (committed, so the test runs without PyTorch):
  data/fixtures/onnx/torch_mnist.onnx      opset 11, input "input" (N, 1, 28, 28) normalized,
                                           output "logits" (N, 10); metadata_props say how to feed it
  data/fixtures/onnx/torch_mnist.accuracy  "test_correct 9xxx of 10000" as PyTorch counts it
  data/fixtures/onnx/torch_mnist.predictions  PyTorch's answer for each test image, one a line

Regenerate (Debian 12: apt-get install python3-torch, i.e. scripts/install_deps.sh --bench;
about a minute on 2 cores):
  /usr/bin/python3 tools/torch_mnist_to_onnx.py [MNIST_DIR] [OUT_DIR]
MNIST_DIR defaults to ../shared/data/mnist beside the checkout, else data/mnist. CI runs it
(.ci/run) where `python3 -c "import torch"` works, then the test, so the fixture stays
reproducible; the weights differ slightly from CPU to CPU, the accuracy file moves with them.
"""
import gzip
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn

MEAN, STD = 0.1307, 0.3081  # MNIST training-set pixel mean and std (of pixel / 255)


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack(">I", data[:4])[0]
    dims = magic & 0xFF
    shape = struct.unpack(">" + "I" * dims, data[4 : 4 + 4 * dims])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def normalized(images):
    return torch.from_numpy(((images.astype(np.float32) / 255.0) - MEAN) / STD).unsqueeze(1)


def metadata_bytes(entries):
    """ModelProto.metadata_props (field 14, StringStringEntryProto: key 1, value 2), encoded by
    hand: Debian 12 has no python3-onnx, and protobuf lets repeated fields be appended to a
    serialized message."""

    def varint(n):
        out = bytearray()
        while True:
            byte = n & 0x7F
            n >>= 7
            out.append(byte | (0x80 if n else 0))
            if not n:
                return bytes(out)

    def field(number, payload):
        return varint((number << 3) | 2) + varint(len(payload)) + payload

    return b"".join(
        field(14, field(1, k.encode()) + field(2, v.encode())) for k, v in entries
    )


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    shared = os.path.join(os.path.dirname(root), "shared", "data", "mnist")
    mnist = sys.argv[1] if len(sys.argv) > 1 else (
        shared if os.path.isdir(shared) else os.path.join(root, "data", "mnist"))
    out_dir = sys.argv[2] if len(sys.argv) > 2 else os.path.join(root, "data", "fixtures", "onnx")
    torch.manual_seed(7)
    torch.set_num_threads(2)
    train_x = normalized(read_idx(os.path.join(mnist, "train-images-idx3-ubyte.gz")))
    train_y = torch.from_numpy(read_idx(os.path.join(mnist, "train-labels-idx1-ubyte.gz")).astype(np.int64))
    test_x = normalized(read_idx(os.path.join(mnist, "t10k-images-idx3-ubyte.gz")))
    test_y = torch.from_numpy(read_idx(os.path.join(mnist, "t10k-labels-idx1-ubyte.gz")).astype(np.int64))

    # nn.Flatten exports as one Flatten node; x.view(x.size(0), -1) would export a
    # Shape->Gather->Unsqueeze->Concat->Reshape chain that OpenCV 4.6 cannot import.
    model = nn.Sequential(
        nn.Conv2d(1, 16, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 5 * 5, 64), nn.ReLU(), nn.Dropout(0.2), nn.Linear(64, 10))
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    model.train()
    order = torch.randperm(len(train_x))
    for step, start in enumerate(range(0, len(order), 64)):
        batch = order[start : start + 64]
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(train_x[batch]), train_y[batch])
        loss.backward()
        optimizer.step()
        if step % 200 == 0:
            print(f"step {step}, loss {loss.item():.4f}", flush=True)

    model.eval()
    with torch.no_grad():
        predicted = torch.cat([model(test_x[i : i + 1000]).argmax(1)
                               for i in range(0, len(test_x), 1000)])
    correct = int((predicted == test_y).sum())
    print(f"PyTorch test accuracy: {correct} of {len(test_x)} ({100.0 * correct / len(test_x):.2f}%)")

    os.makedirs(out_dir, exist_ok=True)
    onnx_path = os.path.join(out_dir, "torch_mnist.onnx")
    temporary = onnx_path + ".tmp"
    torch.onnx.export(model, torch.zeros(1, 1, 28, 28), temporary, opset_version=11,
                      input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    with open(temporary, "ab") as f:
        f.write(metadata_bytes([
            ("class_names", ",".join(str(c) for c in range(10))),
            ("input_layout", "NCHW"),
            ("input_range", "normalized"),
            ("normalization_scale", repr(1.0 / 255.0)),
            ("normalization_mean", repr(MEAN)),
            ("normalization_std", repr(STD)),
            ("polarity", "light_on_dark"),
            ("output", "logits"),
            ("producer", f"tools/torch_mnist_to_onnx.py, PyTorch {torch.__version__}, 1 epoch"),
            ("test_correct", str(correct)),
        ]))
    os.replace(temporary, onnx_path)
    with open(os.path.join(out_dir, "torch_mnist.accuracy"), "w") as f:
        f.write(f"test_correct {correct} of {len(test_x)}\n")
    # PyTorch's answer for each test image, one digit a line, to find the images we answer
    # differently.
    with open(os.path.join(out_dir, "torch_mnist.predictions"), "w") as f:
        f.write("".join(f"{int(p)}\n" for p in predicted))
    print(f"wrote {onnx_path}")


if __name__ == "__main__":
    main()
