#!/usr/bin/env python3
"""Times the workloads of benches/workloads.json on a peer (PyTorch on the CPU, or
onnxruntime's CPU provider) and writes a report in the format of `wgcnn bench --save`,
so that `wgcnn bench --compare` puts wgcnn beside it:

    ~/wgcnn-venv/bin/python scripts/bench_peers.py --peer torch --out torch.json
    ~/wgcnn-venv/bin/python scripts/bench_peers.py --peer onnxruntime --out ort.json
    wgcnn bench --backend vulkan --save wgcnn.json
    wgcnn bench --compare torch.json wgcnn.json       # B/A below 1: wgcnn is faster

Each workload is measured as `wgcnn bench` measures it: its inputs and weights made
once, 2 warm-up runs, then at least 10 runs and 1 s (stopping after 15 s once 3 are in),
the median and minimum wall time and every run's time. The counts are wgcnn's: flops is
2 per multiply-add of a convolution (1 per output element for an op without any), bytes
every input and weight read once and the output written once, float32.

    ~/wgcnn-venv/bin/pip install torch onnx onnxscript onnxruntime
"""

import argparse
import datetime
import io
import json
import pathlib
import re
import statistics
import time
import warnings

import torch
import torch.nn.functional as F
from torch import nn

ROOT = pathlib.Path(__file__).resolve().parent.parent


def ramp(shape):
    """wgcnn's deterministic inputs: ((i * 7919) % 1000) / 500 - 1."""
    n = 1
    for d in shape:
        n *= d
    i = torch.arange(n, dtype=torch.int64)
    return (((i * 7919) % 1000).float() / 500.0 - 1.0).reshape(shape)


def pair(v):
    return tuple(v) if isinstance(v, list) else v


class Op(nn.Module):
    """One workload op as a module (for the ONNX export), its weights as buffers."""

    def __init__(self, section, item):
        super().__init__()
        self.section = section
        self.kw = {k: pair(v) for k, v in item.items() if k not in ("name", "input", "weight", "bias")}
        if section == "conv2d":
            self.register_buffer("weight", ramp(item["weight"]) / 10.0)
            self.register_buffer("bias", ramp([item["weight"][0]]) if item.get("bias") else None)

    def forward(self, x):
        if self.section == "conv2d":
            return F.conv2d(x, self.weight, self.bias, **self.kw)
        if self.section == "max_pool2d":
            return F.max_pool2d(x, **self.kw)
        if self.section == "avg_pool2d":
            return F.avg_pool2d(x, **self.kw)
        if self.section == "interpolate":
            return F.interpolate(x, **self.kw)
        if self.section == "relu":
            return F.relu(x)
        raise ValueError(f"unknown section {self.section}")


def literal(text):
    text = text.strip()
    for parse in (int, float):
        try:
            return parse(text)
        except ValueError:
            pass
    return {"True": True, "False": False}.get(text, text.strip("'\""))


def layer(text):
    """A workload network's layer (`conv2d(1, 32, 3, padding=1)`) as its nn module."""
    m = re.fullmatch(r"\s*(\w+)\s*(?:\((.*)\))?\s*", text)
    name, args = m.group(1), [a for a in (m.group(2) or "").split(",") if a.strip()]
    pos = [literal(a) for a in args if "=" not in a]
    kw = {k.strip(): literal(v) for k, v in (a.split("=", 1) for a in args if "=" in a)}
    if name == "conv2d":
        conv = nn.Conv2d(*pos, **kw)
        with torch.no_grad():
            fan_in = conv.weight[0].numel()
            conv.weight.copy_(ramp(list(conv.weight.shape)) / fan_in**0.5)
            conv.bias.copy_(ramp([conv.out_channels]) * 0.1)
        return conv
    if name == "relu":
        return nn.ReLU()
    if name == "max_pool2d":
        return nn.MaxPool2d(*pos, **kw)
    if name == "avg_pool2d":
        return nn.AvgPool2d(*pos, **kw)
    if name == "interpolate":
        return nn.Upsample(**kw)
    raise ValueError(f"layer {text!r} is not known")


def zoo():
    """wgcnn's whole-network workloads (`wgcnn bench` runs them after the file's): the
    torchvision architectures and the project's UNet, random weights, batch 1."""
    import sys

    import torchvision

    sys.path.insert(0, str(ROOT / "scripts"))
    from export_onnx import UNet

    torch.manual_seed(0)
    yield "resnet18", torchvision.models.resnet18(), [1, 3, 224, 224]
    yield "mobilenet_v2", torchvision.models.mobilenet_v2(), [1, 3, 224, 224]
    yield "efficientnet_b0", torchvision.models.efficientnet_b0(), [1, 3, 224, 224]
    yield "unet", UNet(), [1, 3, 256, 256]


def workloads(path, only):
    """(name, module, input shape) of every workload, in the file's order, then the
    whole networks."""
    doc = json.loads(pathlib.Path(path).read_text())
    for section in ("conv2d", "max_pool2d", "avg_pool2d", "interpolate", "relu", "networks"):
        for item in doc.get(section, []):
            if only and item["name"] not in only:
                continue
            if section == "networks":
                module = nn.Sequential(*[layer(t) for t in item["layers"]])
            else:
                module = Op(section, item)
            yield item["name"], module.eval(), item["input"]
    for name, module, shape in zoo():
        if not only or name in only:
            yield name, module.eval(), shape


def counts(module, x):
    """(multiply-adds, elements of every input and weight, elements of the output)."""
    macs = []

    def hook(conv, _, out):
        macs.append(out.numel() * conv.weight[0].numel())

    convs = [m for m in module.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    handles = [c.register_forward_hook(hook) for c in convs]
    with torch.inference_mode():
        y = module(x)
    for h in handles:
        h.remove()
    weights = [t for t in list(module.parameters()) + list(module.buffers()) if t is not None]
    if isinstance(module, Op) and module.section == "conv2d":
        macs.append(y.numel() * module.weight[0].numel())
    read = x.numel() + sum(t.numel() for t in weights)
    return sum(macs), read, y.numel()


def measure(run):
    """wgcnn's BenchConfig: 2 warm-up runs, >= 10 runs and 1 s, <= 15 s (>= 3 runs)."""
    for _ in range(2):
        run()
    times = []
    start = time.perf_counter()
    while True:
        t0 = time.perf_counter()
        run()
        times.append((time.perf_counter() - t0) * 1e3)
        elapsed = time.perf_counter() - start
        if (len(times) >= 10 and elapsed >= 1.0) or (elapsed >= 15.0 and len(times) >= 3):
            return times


def torch_runner(module, x):
    def run():
        with torch.inference_mode():
            module(x)

    return run


def ort_runner(module, x, threads):
    import onnxruntime as ort

    buf = io.BytesIO()
    with warnings.catch_warnings():
        # the TorchScript exporter's deprecation notice: it exports these ops as they are
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (x,), buf, dynamo=False, opset_version=17, input_names=["x"])
    opts = ort.SessionOptions()
    if threads:
        opts.intra_op_num_threads = threads
    session = ort.InferenceSession(buf.getvalue(), opts, providers=["CPUExecutionProvider"])
    feed = {"x": x.numpy()}
    return lambda: session.run(None, feed)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--peer", choices=["torch", "onnxruntime"], default="torch")
    ap.add_argument("--workloads", default=ROOT / "benches" / "workloads.json")
    ap.add_argument("--only", default="", help="comma-separated workload names")
    ap.add_argument("--threads", type=int, default=0, help="CPU threads (default: the peer's)")
    ap.add_argument("--out", required=True, help="the report (FILE.json)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    only = {n for n in args.only.split(",") if n}

    if args.peer == "torch":
        adapter = f"PyTorch {torch.__version__} CPU ({torch.get_num_threads()} threads)"
        driver = f"torch {torch.__version__}, mkldnn {torch.backends.mkldnn.is_available()}"
    else:
        import onnxruntime as ort

        adapter = f"onnxruntime {ort.__version__} CPUExecutionProvider"
        driver = f"onnxruntime {ort.__version__}"
    version = re.search(r'^version = "(.*)"', (ROOT / "Cargo.toml").read_text(), re.M).group(1)

    results = []
    for name, module, shape in workloads(args.workloads, only):
        x = ramp(shape)
        macs, read, written = counts(module, x)
        run = torch_runner(module, x) if args.peer == "torch" else ort_runner(module, x, args.threads)
        times = measure(run)
        median = statistics.median(times)
        flops = 2.0 * macs if macs else float(written)
        bytes_ = 4.0 * (read + written)
        results.append(
            {
                "workload": name,
                "backend": args.peer,
                "adapter": adapter,
                "runs": len(times),
                "median_ms": median,
                "min_ms": min(times),
                "times_ms": [round(t, 4) for t in times],
                "gpu_ms": None,
                "gflops": flops / median / 1e6 if macs else None,
                "gbps": None if macs else 4.0 * (x.numel() + written) / median / 1e6,
                "flops": flops,
                "bytes": bytes_,
                "intensity": flops / bytes_,
            }
        )
        print(f"{name:<16} {len(times):>6} {median:>11.3f} {min(times):>11.3f}", flush=True)

    report = {
        "format": "wgcnn-bench",
        "version": 1,
        "crate_version": version,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "adapter": adapter,
        "driver": driver,
        "backend": args.peer,
        "roof": None,
        "results": results,
    }
    pathlib.Path(args.out).write_text(json.dumps(report, indent=1) + "\n")
    print(f"-> {args.out}")


if __name__ == "__main__":
    main()
