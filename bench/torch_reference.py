#!/usr/bin/python3
"""PyTorch reference for train_bench: the seed network, trained and run on random data.

Run with Debian's interpreter (/usr/bin/python3), which has torch 1.13. Prints one JSON object per
measured mode on stdout, e.g. {"mode": "train", "precision": "fp32", "images_per_s": 470.1}; the
C++ benchmark parses these lines.
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn as nn

from torch_modelspec import load_network


def seed_network():
    # conv3x3*32 -> ReLU -> conv3x3*64 -> ReLU -> maxpool2 -> flatten -> dense128 -> ReLU -> dense10
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(),
        nn.Conv2d(32, 64, 3), nn.ReLU(),
        nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(9216, 128), nn.ReLU(),
        nn.Linear(128, 10))


def timed_repeats(step, steps, repeats, batch):
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            step()
        rates.append(steps * batch / (time.perf_counter() - start))
    return statistics.median(rates)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=10, help="steps per timed repeat")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--model", help="a ModelSpec text file instead of the seed network")
    parser.add_argument("--modes", default="train_fp32,infer_fp32,train_bf16,infer_bf16")
    args = parser.parse_args()

    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    model = load_network(args.model) if args.model else seed_network()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    images = torch.randn(args.batch, 1, 28, 28)
    labels = torch.randint(0, 10, (args.batch,))

    def train_step(bf16):
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(device_type="cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = loss_fn(model(images), labels)
        loss.backward()
        optimizer.step()

    def infer_step(bf16):
        with torch.no_grad(), torch.autocast(device_type="cpu", dtype=torch.bfloat16,
                                             enabled=bf16):
            model(images)

    for mode in args.modes.split(","):
        kind, precision = mode.split("_")
        if kind == "train":
            step = lambda: train_step(precision == "bf16")
        else:
            model.eval()
            step = lambda: infer_step(precision == "bf16")
        for _ in range(3):  # warm-up: allocator, oneDNN kernel generation
            step()
        rate = timed_repeats(step, args.steps, args.repeats, args.batch)
        print(json.dumps({"mode": kind, "precision": precision, "batch": args.batch,
                          "threads": torch.get_num_threads(), "images_per_s": round(rate, 1)}),
              flush=True)
        model.train()


if __name__ == "__main__":
    main()
