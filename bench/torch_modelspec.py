"""Our ModelSpec text files (nn/proto/model.proto) as PyTorch networks, for the PyTorch references
of the benchmarks (bench/torch_reference.py, bench/torch_time_to_accuracy.py): the same layers and
the same initialisation rule as the engine's.
"""
import re

import numpy as np
import torch.nn as nn


def parse_text_proto(text):
    """The subset of protobuf text format a ModelSpec file uses: nested messages and scalars."""
    text = re.sub(r"#[^\n]*", "", text)
    tokens = re.findall(r'"[^"]*"|[{}:]|[^\s{}:]+', text)
    position = 0

    def message():
        nonlocal position
        fields = []
        while position < len(tokens) and tokens[position] != "}":
            name = tokens[position]
            position += 1
            if tokens[position] == ":":
                position += 1
            if tokens[position] == "{":
                position += 1
                fields.append((name, message()))
                position += 1  # the closing brace
            else:
                fields.append((name, tokens[position].strip('"')))
                position += 1
        return fields

    return message()


def build_network(spec_fields):
    """nn.Sequential for a ModelSpec (conv, pool, dense, relu, dropout, batchnorm, flatten)."""
    shape = None
    layers = []
    for name, value in spec_fields:
        if name == "input":
            fields = dict(value)
            shape = [int(fields.get("channels", 1)), int(fields["rows"]), int(fields["cols"])]
        if name != "layer":
            continue
        kind, body = [(k, v) for k, v in value if k != "name"][0]
        fields = dict(body) if isinstance(body, list) else {}
        if kind == "conv":
            kernel = int(fields["kernel"])
            pad = kernel // 2 if fields.get("same") == "true" else int(fields.get("pad", 0))
            conv = nn.Conv2d(shape[0], int(fields["filters"]), kernel, padding=pad,
                             bias=fields.get("no_bias") != "true")
            layers.append(conv)
            shape = [conv.out_channels, shape[1] + 2 * pad - kernel + 1,
                     shape[2] + 2 * pad - kernel + 1]
        elif kind == "pool":
            size = int(fields.get("size", 2))
            pool = nn.AvgPool2d(size) if fields.get("kind") == "POOL_AVG" else nn.MaxPool2d(size)
            layers.append(pool)
            shape = [shape[0], shape[1] // size, shape[2] // size]
        elif kind == "batchnorm":
            layers.append(nn.BatchNorm2d(shape[0]) if len(shape) == 3 else nn.BatchNorm1d(shape[0]))
        elif kind == "relu":
            layers.append(nn.ReLU())
        elif kind == "dropout":
            layers.append(nn.Dropout(float(fields.get("rate", 0))))
        elif kind == "flatten":
            layers.append(nn.Flatten())
            shape = [int(np.prod(shape))]
        elif kind == "dense":
            if len(shape) != 1:
                layers.append(nn.Flatten())
                shape = [int(np.prod(shape))]
            dense = nn.Linear(shape[0], int(fields["units"]), bias=fields.get("no_bias") != "true")
            layers.append(dense)
            shape = [dense.out_features]
        else:
            raise ValueError("unsupported layer kind " + kind)
    return nn.Sequential(*layers)


def initialise(network):
    """The engine's rule: He-normal (fan-in) for a layer whose output reaches a ReLU before the
    next conv/dense, Glorot-uniform otherwise; biases 0; batch norm gamma 1, beta 0."""
    modules = list(network)
    for index, module in enumerate(modules):
        if not isinstance(module, (nn.Conv2d, nn.Linear)):
            continue
        feeds_relu = False
        for later in modules[index + 1:]:
            if isinstance(later, nn.ReLU):
                feeds_relu = True
                break
            if isinstance(later, (nn.Conv2d, nn.Linear)):
                break
        if feeds_relu:
            nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
        else:
            nn.init.xavier_uniform_(module.weight)
        if module.bias is not None:
            nn.init.zeros_(module.bias)


def load_network(path):
    """The network of a ModelSpec text file, initialised as the engine initialises it."""
    with open(path) as file:
        network = build_network(parse_text_proto(file.read()))
    initialise(network)
    return network
