#!/usr/bin/env python3
"""Exports a PyTorch nn.Sequential to one safetensors file that wgcnn runs.

The file holds the state_dict (float32, or float16 with half=True: half the size) and,
in its metadata, the architecture as the
layer list of docs/fixtures.md (op "sequential"): each layer's op and the keyword
arguments its module was built with. Supported: Conv2d, ReLU, MaxPool2d, AvgPool2d,
AdaptiveAvgPool2d, Upsample, Flatten, Linear, Dropout and Identity.

    from export import export
    export(model, "model.safetensors", metadata={"classes": json.dumps([...])})

From the command line, an exported file with its weights rewritten in float16 (metadata
dtype float16), for `wgcnn infer --precision f16`:

    python3 scripts/export.py --half model.safetensors model.f16.safetensors
"""

import json

import torch
import torch.nn as nn
from safetensors.torch import save_file


def _pair(v):
    return list(v) if isinstance(v, (tuple, list)) else [v, v]


def layer_spec(m):
    """One module as {"op", "params"}."""
    if isinstance(m, nn.Conv2d):
        padding = m.padding if isinstance(m.padding, str) else list(m.padding)
        return {"op": "conv2d", "params": {
            "in_channels": m.in_channels, "out_channels": m.out_channels,
            "kernel_size": list(m.kernel_size), "stride": list(m.stride), "padding": padding,
            "dilation": list(m.dilation), "groups": m.groups, "bias": m.bias is not None,
            "padding_mode": m.padding_mode}}
    if isinstance(m, nn.ReLU):
        return {"op": "relu", "params": {"inplace": m.inplace}}
    if isinstance(m, nn.MaxPool2d):
        stride = m.stride if m.stride is not None else m.kernel_size
        return {"op": "max_pool2d", "params": {
            "kernel_size": _pair(m.kernel_size), "stride": _pair(stride), "padding": _pair(m.padding),
            "dilation": _pair(m.dilation), "ceil_mode": m.ceil_mode}}
    if isinstance(m, nn.AvgPool2d):
        stride = m.stride if m.stride is not None else m.kernel_size
        return {"op": "avg_pool2d", "params": {
            "kernel_size": _pair(m.kernel_size), "stride": _pair(stride), "padding": _pair(m.padding),
            "ceil_mode": m.ceil_mode, "count_include_pad": m.count_include_pad,
            "divisor_override": m.divisor_override}}
    if isinstance(m, nn.AdaptiveAvgPool2d):
        size = m.output_size
        return {"op": "adaptive_avg_pool2d",
                "params": {"output_size": list(size) if isinstance(size, (tuple, list)) else size}}
    if isinstance(m, nn.Upsample):
        params = {"mode": m.mode}
        if m.size is not None:
            params["size"] = _pair(m.size)
        else:
            params["scale_factor"] = [float(s) for s in _pair(m.scale_factor)]
        if m.mode in ("linear", "bilinear", "bicubic", "trilinear"):
            params["align_corners"] = bool(m.align_corners)
        return {"op": "interpolate", "params": params}
    if isinstance(m, nn.Flatten):
        return {"op": "flatten", "params": {"start_dim": m.start_dim, "end_dim": m.end_dim}}
    if isinstance(m, nn.Linear):
        return {"op": "linear", "params": {
            "in_features": m.in_features, "out_features": m.out_features, "bias": m.bias is not None}}
    if isinstance(m, (nn.Dropout, nn.Identity)):
        return {"op": "identity", "params": {}}
    raise ValueError(f"wgcnn cannot export {type(m).__name__}")


def layer_list(model):
    """The layer list of an nn.Sequential (names are the state_dict prefixes)."""
    layers = []
    for name, m in model.named_children():
        spec = layer_spec(m)
        spec["name"] = name
        layers.append(spec)
    return layers


def export(model, path, metadata=None, extra_tensors=None, half=False):
    """Writes model's weights and layer list to path (safetensors); with half, the
    weights in float16 (rounded to nearest, as model.half() does)."""
    dtype = torch.float16 if half else torch.float32
    tensors = {k: v.detach().to(dtype).contiguous() for k, v in model.state_dict().items()}
    tensors.update(extra_tensors or {})
    meta = {"op": "sequential", "params": json.dumps({"layers": layer_list(model)}),
            "source": f"torch {torch.__version__}, scripts/export.py"}
    if half:
        meta["dtype"] = "float16"
    meta.update(metadata or {})
    save_file(tensors, path, metadata=meta)


def halve(src, dst):
    """Rewrites the exported file src with its float weights in float16, into dst."""
    from safetensors import safe_open

    with safe_open(src, "pt") as f:
        meta = dict(f.metadata() or {})
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    tensors = {k: (v.half() if v.is_floating_point() else v).contiguous()
               for k, v in tensors.items()}
    meta["dtype"] = "float16"
    save_file(tensors, dst, metadata=meta)


if __name__ == "__main__":
    import sys
    if len(sys.argv) == 4 and sys.argv[1] == "--half":
        halve(sys.argv[2], sys.argv[3])
        sys.exit(0)
    print(__doc__)
    sys.exit(0 if len(sys.argv) == 1 else 2)
