#!/usr/bin/env python3
"""Trains a small CNN on scikit-learn's handwritten digits and exports it for wgcnn.

The 8x8 images (values 0..16) are scaled to [0, 1]; the network's first layer
upsamples them to 28x28 with a bilinear interpolate. Writes:
- models/digits.safetensors: weights + layer list (scripts/export.py), with the class
  names, the preprocessing and the held-out accuracy in its metadata;
- tests/data/digits_heldout.safetensors: the held-out images, their labels, and
  PyTorch's logits for them (float32, as PyTorch runs the model);
- tests/fixtures/sequential_digits.safetensors: a sequential fixture on 16 of them;
- assets/digit_*.png: a few held-out digits as pictures, ink dark on white.

    ~/wgcnn-venv/bin/pip install torch safetensors scikit-learn pillow
    ~/wgcnn-venv/bin/python scripts/train_digits.py
"""

import copy
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
from safetensors.torch import save_file
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export import export  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def model():
    return nn.Sequential(
        nn.Upsample(size=(28, 28), mode="bilinear", align_corners=False),
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 10))


def main():
    torch.manual_seed(0)
    digits = load_digits()
    x = torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16.0
    y = torch.tensor(digits.target)
    idx_train, idx_test = train_test_split(np.arange(len(y)), test_size=0.2, random_state=0, stratify=digits.target)
    x_train, y_train, x_test, y_test = x[idx_train], y[idx_train], x[idx_test], y[idx_test]

    net = model()
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    for epoch in range(25):
        net.train()
        perm = torch.randperm(len(x_train))
        for i in range(0, len(perm), 64):
            b = perm[i:i + 64]
            opt.zero_grad()
            loss = nn.functional.cross_entropy(net(x_train[b]), y_train[b])
            loss.backward()
            opt.step()
    net.eval()
    with torch.no_grad():
        logits = net(x_test)
    accuracy = (logits.argmax(1) == y_test).float().mean().item()
    print(f"held-out accuracy (PyTorch): {accuracy:.4f} on {len(y_test)} images")

    meta = {
        "classes": json.dumps([str(i) for i in range(10)]),
        "preprocess": json.dumps({"channels": 1, "size": [8, 8], "scale": 1.0, "invert": True}),
        "description": "CNN trained on scikit-learn's digits (8x8, values scaled to [0, 1])",
        "heldout_accuracy": f"{accuracy:.4f}",
    }
    export(net, os.path.join(ROOT, "models", "digits.safetensors"), metadata=meta)
    save_file({"input": x_test.contiguous(), "labels": y_test.float(), "logits": logits.contiguous()},
              os.path.join(ROOT, "tests", "data", "digits_heldout.safetensors"),
              metadata={"source": f"torch {torch.__version__}, scripts/train_digits.py",
                        "heldout_accuracy": f"{accuracy:.4f}"})
    with torch.no_grad():
        expected = copy.deepcopy(net).double()(x_test[:16].double()).float()
    export(net, os.path.join(ROOT, "tests", "fixtures", "sequential_digits.safetensors"),
           extra_tensors={"input": x_test[:16].contiguous(), "expected": expected})

    from PIL import Image
    for i in range(3):
        img = (255 - x_test[i, 0].numpy() * 255).clip(0, 255).astype(np.uint8)
        Image.fromarray(img).resize((64, 64), Image.NEAREST).save(
            os.path.join(ROOT, "assets", f"digit_{int(y_test[i])}.png"))


if __name__ == "__main__":
    main()
