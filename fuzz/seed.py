#!/usr/bin/env python3
"""Fills fuzz/corpus/<target>/ with seeds: the project's own files (fixtures, the
digits model, the pictures, the benchmark workloads), the keyword arguments of every
fixture, and variations of them in which one parameter takes a boundary value
(0, -1, 2^31, 2^62, i64::MAX, i64::MIN, 1e300, null), written as valid safetensors
files so that the fuzzer starts past the header's length prefix.

    python3 fuzz/seed.py        # then: cd fuzz && cargo +nightly fuzz run <target>
"""

import glob
import json
import os
import shutil
import struct

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")
TARGETS = ["fixture", "model", "kwargs", "tensor_file", "image", "kernel_file", "onnx"]
BOUNDARY = [0, -1, 2**31, 2**62, 2**63 - 1, -(2**63), 1e300, None]
# keys of the model format's layers and of the ops' keyword arguments
KEYS = [
    "kernel_size", "stride", "padding", "dilation", "groups", "divisor_override",
    "output_size", "size", "scale_factor", "start_dim", "end_dim", "in_features",
    "out_features", "in_channels", "out_channels",
]


def read(path):
    """The header (with its metadata) and the data of a safetensors file."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    return json.loads(raw[8 : 8 + n]), raw[8 + n :]


def write(path, header, data):
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data)


def weights_only(header, data):
    """A model file of a `sequential` fixture: its tensors but `input` and `expected`."""
    out, body = {}, b""
    for key, entry in header.items():
        if key in ("input", "expected"):
            continue
        if key != "__metadata__":
            start, end = entry["data_offsets"]
            entry = dict(entry, data_offsets=[len(body), len(body) + end - start])
            body += data[start:end]
        out[key] = entry
    return out, body


def put(target, name, content):
    path = os.path.join(CORPUS, target, name)
    mode = "wb" if isinstance(content, bytes) else "w"
    with open(path, mode) as f:
        f.write(content)


def variations(params):
    """`params` (a dict) with one key at a time set to each boundary value."""
    for key in KEYS:
        if key in params:
            for i, value in enumerate(BOUNDARY):
                yield f"{key}{i}", dict(params, **{key: value})


def main():
    for t in TARGETS:
        os.makedirs(os.path.join(CORPUS, t), exist_ok=True)
    fixtures = sorted(glob.glob(os.path.join(ROOT, "tests", "fixtures", "*.safetensors")))
    models = [os.path.join(ROOT, "models", "digits.safetensors")]
    for path in fixtures + models:
        shutil.copy(path, os.path.join(CORPUS, "fixture"))
        shutil.copy(path, os.path.join(CORPUS, "tensor_file"))
    for path in glob.glob(os.path.join(ROOT, "tests", "data", "*.safetensors")):
        shutil.copy(path, os.path.join(CORPUS, "tensor_file"))
    for path in glob.glob(os.path.join(ROOT, "assets", "*.png")) + glob.glob(
        os.path.join(ROOT, "assets", "*.jpg")
    ):
        shutil.copy(path, os.path.join(CORPUS, "image"))
    shutil.copy(os.path.join(ROOT, "benches", "workloads.json"), os.path.join(CORPUS, "kwargs"))
    # every ONNX case and the small exported models
    for path in glob.glob(os.path.join(ROOT, "tests", "onnx", "*.onnx")) + glob.glob(
        os.path.join(ROOT, "tests", "onnx", "models", "*.onnx")
    ):
        shutil.copy(path, os.path.join(CORPUS, "onnx"))

    for path in fixtures + models:
        stem = os.path.basename(path)[: -len(".safetensors")]
        header, data = read(path)
        meta = header.get("__metadata__", {})
        params = json.loads(meta.get("params", "{}"))
        sequential = meta.get("op") == "sequential"
        if sequential:
            write(os.path.join(CORPUS, "model", stem + ".safetensors"), *weights_only(header, data))
        put("kwargs", stem + ".json", json.dumps(params))
        layers = params.get("layers", []) if sequential else []
        for i, layer in enumerate(layers):
            put("kwargs", f"{stem}_layer{i}.json", json.dumps(layer.get("params", {})))
        # one parameter at a time at a boundary: of the op, or of each layer
        if not sequential:
            for tag, p in variations(params):
                put("kwargs", f"{stem}_{tag}.json", json.dumps(p))
                h = dict(header, __metadata__=dict(meta, params=json.dumps(p)))
                write(os.path.join(CORPUS, "fixture", f"{stem}_{tag}.safetensors"), h, data)
        # (the variations of the small networks only: each is a copy of the weights)
        for i, layer in enumerate(layers if len(data) < 16384 else []):
            for tag, p in variations(layer.get("params", {})):
                new = [dict(l, params=p) if j == i else l for j, l in enumerate(layers)]
                m = dict(meta, params=json.dumps(dict(params, layers=new)))
                write(
                    os.path.join(CORPUS, "model", f"{stem}_{i}_{tag}.safetensors"),
                    *weights_only(dict(header, __metadata__=m), data),
                )
                write(
                    os.path.join(CORPUS, "fixture", f"{stem}_{i}_{tag}.safetensors"),
                    dict(header, __metadata__=m),
                    data,
                )

    kernels = {
        "edge": "-1 -1 -1\n-1 8 -1\n-1 -1 -1\n",
        "box5": "\n".join([",".join(["0.04"] * 5)] * 5) + "\n",
        "one": "1\n",
        "odd": "0 -1e3 0\n-inf NaN 1.5e-7\n0 1 0\n",
    }
    for name, text in kernels.items():
        put("kernel_file", name + ".txt", text)


if __name__ == "__main__":
    main()
