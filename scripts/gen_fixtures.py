#!/usr/bin/env python3
"""Writes the project's PyTorch reference fixtures into tests/fixtures/.

Format: docs/fixtures.md. Expected values are computed by PyTorch in float64 from the
float32 inputs, then stored as float32, so a tolerance measures wgcnn's own rounding.
Needs torch and safetensors (a venv outside the repo):

    python3 -m venv ~/wgcnn-venv && ~/wgcnn-venv/bin/pip install torch safetensors
    ~/wgcnn-venv/bin/python scripts/gen_fixtures.py
"""

import json
import os
import sys

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures")
SOURCE = f"torch {torch.__version__}, float64 reference"


def save(name, op, params, tensors, expected=None, error=False, tolerance=None):
    meta = {"op": op, "params": json.dumps(params), "source": SOURCE}
    tensors = {k: v.contiguous() for k, v in tensors.items()}
    if error:
        meta["expect_error"] = "true"
    else:
        tensors["expected"] = expected.float().contiguous()
    if tolerance:
        meta["tolerance"] = json.dumps(tolerance)
    save_file(tensors, os.path.join(OUT, f"{name}.safetensors"), metadata=meta)


def call(fn, tensors, params, **kw):
    """Runs fn on float64 copies; returns the result, or None when PyTorch raises."""
    args = {k: v.double() for k, v in tensors.items()}
    try:
        return fn(**args, **params, **kw)
    except (RuntimeError, ValueError, TypeError):
        return None


def case(name, op, fn, tensors, params, **kw):
    y = call(fn, tensors, params, **kw)
    save(name, op, params, tensors, expected=y, error=y is None)
    print(f"{name}: {'error' if y is None else tuple(y.shape)}")


# ---------------------------------------------------------------- relu
def relu_cases():
    def relu(input, inplace=False):
        # torch.relu(x) == F.relu(x) == nn.ReLU(inplace)(x), bit for bit
        return F.relu(input, inplace=inplace)

    specials = torch.tensor(
        [0.0, -0.0, 1.0, -1.0, float("nan"), -float("nan"), float("inf"), -float("inf"),
         1.1754944e-38, -1.1754944e-38, 1e-45, -1e-45, 3.4028235e38, -3.4028235e38, 0.5]
    )
    case("relu_specials", "relu", relu, {"input": specials.reshape(1, 1, 3, 5)}, {})
    case("relu_4d", "relu", relu, {"input": torch.randn(2, 3, 5, 7)}, {})
    case("relu_1d_odd", "relu", relu, {"input": torch.randn(1001)}, {})
    case("relu_vec4", "relu", relu, {"input": torch.randn(4, 16, 16, 16)}, {})
    case("relu_inplace", "relu", relu, {"input": torch.randn(3, 4, 9, 9)}, {"inplace": True})
    case("relu_empty", "relu", relu, {"input": torch.randn(2, 0, 4, 4)}, {})


def main():
    torch.manual_seed(0)
    os.makedirs(OUT, exist_ok=True)
    only = set(sys.argv[1:])
    for group, fn in [("relu", relu_cases)]:
        if not only or group in only:
            fn()


if __name__ == "__main__":
    main()
