#!/usr/bin/python3
"""PyTorch side of bench/time_to_accuracy: the recipe of train_fast.graph, trained the same way.

Same network (read from the ModelSpec text file the graph trains), same initialisation rule
(He-normal into a ReLU, Glorot-uniform otherwise, biases 0), AdamW with decoupled decay on the
conv/dense weights only, one-cycle learning rate (cosine rise then fall, no momentum cycling), label
smoothing, batch size, shuffled epochs, normalization and a test-set evaluation after every
epoch. MNIST is read from its gzip IDX files with numpy and kept in memory, as the engine does.

Prints one JSON line per epoch, with the seconds since this script started (before `import
torch`): {"epoch": 1, "test_accuracy": 0.9861, "seconds": 4.2}. Run with Debian's interpreter
(/usr/bin/python3), which has torch 1.13.
"""
import time

STARTED = time.perf_counter()

import argparse  # noqa: E402
import gzip  # noqa: E402
import json  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

from torch_modelspec import load_network  # noqa: E402


def read_idx(path):
    with gzip.open(path, "rb") as file:
        data = file.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--mnist", required=True, help="folder of the four gzip IDX files")
    parser.add_argument("--model", required=True, help="ModelSpec text file")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--weight-decay", type=float, default=0.05)
    parser.add_argument("--warmup-epochs", type=float, default=0.3)
    parser.add_argument("--label-smoothing", type=float, default=0.1)
    parser.add_argument("--mean", type=float, default=0.1307)
    parser.add_argument("--std", type=float, default=0.3081)
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    network = load_network(args.model)

    def tensors(split):
        images = read_idx(f"{args.mnist}/{split}-images-idx3-ubyte.gz").astype(np.float32)
        images = (images / 255.0 - args.mean) / args.std
        labels = read_idx(f"{args.mnist}/{split}-labels-idx1-ubyte.gz").astype(np.int64)
        return torch.from_numpy(images).unsqueeze(1), torch.from_numpy(labels)

    train_images, train_labels = tensors("train")
    test_images, test_labels = tensors("t10k")
    decay = [p for m in network if isinstance(m, (nn.Conv2d, nn.Linear)) for p in [m.weight]]
    other = [p for p in network.parameters() if all(p is not d for d in decay)]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                                   {"params": other, "weight_decay": 0.0}], lr=args.lr)
    steps_per_epoch = (len(train_labels) + args.batch - 1) // args.batch
    total = steps_per_epoch * args.epochs
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=args.lr, total_steps=total, pct_start=args.warmup_epochs / args.epochs,
        anneal_strategy="cos", cycle_momentum=False, div_factor=25.0, final_div_factor=1e4)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=args.label_smoothing)
    generator = torch.Generator().manual_seed(args.seed)
    bf16 = args.precision == "bf16"
    for epoch in range(1, args.epochs + 1):
        network.train()
        order = torch.randperm(len(train_labels), generator=generator)
        for first in range(0, len(order), args.batch):
            batch = order[first:first + args.batch]
            optimizer.zero_grad(set_to_none=True)
            with torch.autocast(device_type="cpu", dtype=torch.bfloat16, enabled=bf16):
                loss = loss_fn(network(train_images[batch]), train_labels[batch])
            loss.backward()
            optimizer.step()
            schedule.step()
        network.eval()
        correct = 0
        with torch.no_grad(), torch.autocast(device_type="cpu", dtype=torch.bfloat16,
                                             enabled=bf16):
            for first in range(0, len(test_labels), 1000):
                logits = network(test_images[first:first + 1000])
                correct += int((logits.argmax(1) == test_labels[first:first + 1000]).sum())
        print(json.dumps({"epoch": epoch, "test_accuracy": correct / len(test_labels),
                          "seconds": round(time.perf_counter() - STARTED, 3)}), flush=True)


if __name__ == "__main__":
    main()
