#!/usr/bin/env python3
"""Exports torchvision models (and a UNet) to ONNX as model cases for wgcnn's ONNX loader.

For each architecture, with random weights (seeded) and randomised BatchNorm statistics
(running_mean ~ N(0, 0.1), running_var ~ U(0.5, 1.5), affine weight ~ 1 + N(0, 0.1),
bias ~ N(0, 0.1)) so that BatchNorm folding is exercised, in eval mode, at batch 1,
through both of PyTorch's exporters:

- `torch.onnx.export(..., dynamo=True, external_data=False)` (its default opset), and
- `torch.onnx.export(..., dynamo=False, opset_version=17)` (the TorchScript exporter),

writes `<arch>.<dynamo|script>.onnx` and `<arch>.<dynamo|script>.safetensors`, a model
case (docs: /work/shared/FIXTURES.md; op "model", params {"model": "<file>.onnx"}) with
`input` (float32) and `expected`, the model run in float64 on that input, stored as float32.
An exporter that fails for a model is skipped with its reason. Each export is checked with
onnxruntime (float32) against the float64 output; the table of errors and the list of op
types and non-default attributes the Rust executor must support go to stdout and to
`<out>/ops.txt`.

With `--tests`, also (re)writes the small committed cases in tests/onnx/models/: the
trained digits model (models/digits.safetensors, scripts/train_digits.py) on a batch of
held-out images with their labels, and a tiny UNet.

    ~/wgcnn-venv/bin/pip install torch torchvision safetensors onnx onnxscript onnxruntime
    ~/wgcnn-venv/bin/python scripts/export_onnx.py [--out DIR] [--only a,b] [--size N] [--tests]
"""

import argparse
import collections
import copy
import io
import json
import os
import sys
import time
import traceback
import warnings

import numpy as np
import onnx
import torch
import torch.nn as nn
from onnx import numpy_helper
from safetensors.torch import load_file, save_file

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
SOURCE = f"torch {torch.__version__}, float64 reference, scripts/export_onnx.py"


# ---------------------------------------------------------------- models
def block(i, o):
    return nn.Sequential(
        nn.Conv2d(i, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True),
        nn.Conv2d(o, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True))


class UNet(nn.Module):
    """Three downsamplings; up-paths: a ConvTranspose2d, a bilinear and a nearest Upsample,
    each followed by a concatenation with the encoder's feature map of the same size."""

    def __init__(self, c=16, in_ch=3, out_ch=2):
        super().__init__()
        self.e1, self.e2, self.e3 = block(in_ch, c), block(c, 2 * c), block(2 * c, 4 * c)
        self.mid = block(4 * c, 8 * c)
        self.pool = nn.MaxPool2d(2)
        self.up3 = nn.ConvTranspose2d(8 * c, 4 * c, 2, stride=2)
        self.d3 = block(8 * c, 4 * c)
        self.up2 = nn.Sequential(nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
                                 nn.Conv2d(4 * c, 2 * c, 1))
        self.d2 = block(4 * c, 2 * c)
        self.up1 = nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(2 * c, c, 1))
        self.d1 = block(2 * c, c)
        self.head = nn.Conv2d(c, out_ch, 1)

    def forward(self, x):
        x1 = self.e1(x)
        x2 = self.e2(self.pool(x1))
        x3 = self.e3(self.pool(x2))
        m = self.mid(self.pool(x3))
        y = self.d3(torch.cat([self.up3(m), x3], 1))
        y = self.d2(torch.cat([self.up2(y), x2], 1))
        y = self.d1(torch.cat([self.up1(y), x1], 1))
        return self.head(y)


class OutOnly(nn.Module):
    """A segmentation model's output dict reduced to its 'out' tensor."""

    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, x):
        return self.m(x)["out"]


def digits_model():
    # as in scripts/train_digits.py (not imported: that script needs scikit-learn)
    return nn.Sequential(
        nn.Upsample(size=(28, 28), mode="bilinear", align_corners=False),
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 10))


def build(arch):
    import torchvision.models as tvm
    if arch == "unet":
        return UNet()
    if arch == "googlenet":
        return tvm.googlenet(weights=None, aux_logits=False, transform_input=False, init_weights=True)
    if arch == "deeplabv3_mobilenet_v3_large":
        return OutOnly(tvm.segmentation.deeplabv3_mobilenet_v3_large(
            weights=None, weights_backbone=None, aux_loss=False))
    if arch == "efficientnet_b0":
        return tvm.efficientnet_b0(weights=None)
    return getattr(tvm, arch)(weights=None)


ARCHS = ["resnet18", "mobilenet_v2", "mobilenet_v3_small", "efficientnet_b0", "squeezenet1_1",
         "shufflenet_v2_x1_0", "densenet121", "regnet_y_400mf", "googlenet",
         "deeplabv3_mobilenet_v3_large", "unet"]
SMALL = {"unet", "deeplabv3_mobilenet_v3_large"}  # exported at 128x128 by default


def randomise_bn(model, gen):
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                n = m.num_features
                m.running_mean.copy_(torch.randn(n, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(n, generator=gen) + 0.5)
                if m.affine:
                    m.weight.copy_(1 + 0.1 * torch.randn(n, generator=gen))
                    m.bias.copy_(0.1 * torch.randn(n, generator=gen))
    return model


# ---------------------------------------------------------------- export
def export(model, x, path, exporter):
    """Writes model to path with one exporter; returns None or the failure's reason."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if exporter == "dynamo":
                # the exporter prints progress lines; keep stdout for the table
                with open(os.devnull, "w") as null, _redirect(null):
                    torch.onnx.export(model, (x,), path, dynamo=True, external_data=False,
                                      input_names=["input"], output_names=["output"])
            else:
                torch.onnx.export(model, (x,), path, dynamo=False, opset_version=17,
                                  input_names=["input"], output_names=["output"])
        onnx.checker.check_model(path)
        return None
    except Exception as e:  # noqa: BLE001 (any exporter failure is a skip with a reason)
        if os.path.exists(path):
            os.remove(path)
        lines = [ln for ln in f"{type(e).__name__}: {e}".splitlines() if ln.strip()]
        return " / ".join(lines[:3])[:400]


class _redirect:
    def __init__(self, f):
        self.f = f

    def __enter__(self):
        sys.stdout.flush()
        self.saved = os.dup(1)
        os.dup2(self.f.fileno(), 1)
        self._py = sys.stdout
        sys.stdout = io.StringIO()

    def __exit__(self, *a):
        sys.stdout = self._py
        os.dup2(self.saved, 1)
        os.close(self.saved)


def ort_run(path, feeds):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = 2
    so.log_severity_level = 3
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    return sess.run(None, {k: v.numpy() for k, v in feeds.items()})


def save_case(onnx_path, inputs, expected, extra=None, tolerance=None, metadata=None):
    """The model case next to onnx_path: inputs/expected named by the graph's I/O."""
    m = onnx.load(onnx_path, load_external_data=False)
    inits = {i.name for i in m.graph.initializer}
    in_names = [i.name for i in m.graph.input if i.name not in inits]
    out_names = [o.name for o in m.graph.output]
    tensors = {}
    if len(in_names) == 1:
        tensors["input"] = inputs[0]
    else:
        tensors.update({f"input.{n}": t for n, t in zip(in_names, inputs)})
    if len(out_names) == 1:
        tensors["expected"] = expected[0]
    else:
        tensors.update({f"expected.{n}": t for n, t in zip(out_names, expected)})
    tensors = {k: v.float().contiguous() for k, v in tensors.items()}
    tensors.update(extra or {})
    meta = {"op": "model", "params": json.dumps({"model": os.path.basename(onnx_path)}),
            "source": SOURCE}
    if tolerance:
        meta["tolerance"] = json.dumps(tolerance)
    meta.update(metadata or {})
    save_file(tensors, onnx_path[:-len(".onnx")] + ".safetensors", metadata=meta)
    return in_names


def tolerance_for(expected):
    """Deep random networks: an atol scaled by the output's magnitude."""
    scale = float(expected.abs().max())
    return {"atol": float(f"{max(1e-4, 1e-3 * scale):.3g}"), "rtol": 1e-3}


def run_one(arch, size, out, exporters, results):
    torch.manual_seed(0)
    model = build(arch)
    randomise_bn(model, torch.Generator().manual_seed(1))
    model.eval()
    x = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        expected = copy.deepcopy(model).double()(x.double()).float()
    for exporter in exporters:
        path = os.path.join(out, f"{arch}.{exporter}.onnx")
        t0 = time.time()
        reason = export(model, x, path, exporter)
        row = {"arch": arch, "exporter": exporter, "path": path, "secs": time.time() - t0}
        if reason:
            print(f"  {arch} {exporter}: SKIPPED: {reason}", flush=True)
            row["error"] = reason
            results.append(row)
            continue
        save_case(path, [x], [expected], tolerance=tolerance_for(expected),
                  metadata={"input_size": json.dumps(list(x.shape))})
        row.update(check(path, {"input": x}, expected))
        results.append(row)
        print(f"  {arch} {exporter}: {row['size'] / 1e6:.1f} MB, opset {row['opset']}, "
              f"ORT max|diff| {row['abs']:.3g} (rel {row['rel']:.3g}), {row['secs']:.0f} s", flush=True)


def check(path, feeds, expected):
    m = onnx.load(path)
    name = [i.name for i in m.graph.input if i.name not in {t.name for t in m.graph.initializer}][0]
    try:
        got = torch.from_numpy(ort_run(path, {name: feeds["input"]})[0])
        diff = float((got.double() - expected.double()).abs().max())
        rel = diff / max(float(expected.abs().max()), 1e-30)
    except Exception as e:  # noqa: BLE001
        print(f"    onnxruntime failed: {str(e).splitlines()[0]}")
        diff = rel = float("nan")
    return {"size": os.path.getsize(path), "opset": opset_of(m), "ir": m.ir_version,
            "abs": diff, "rel": rel, "maxabs": float(expected.abs().max())}


def opset_of(m):
    return next((o.version for o in m.opset_import if o.domain in ("", "ai.onnx")), None)


# ---------------------------------------------------------------- op inventory
DEFAULTS = {  # attribute values that are the ONNX defaults (so not worth listing)
    "strides": lambda v: all(s == 1 for s in v), "dilations": lambda v: all(d == 1 for d in v),
    "pads": lambda v: all(p == 0 for p in v), "group": lambda v: v == 1,
    "auto_pad": lambda v: v == "NOTSET", "ceil_mode": lambda v: v == 0,
    "count_include_pad": lambda v: v == 0, "storage_order": lambda v: v == 0,
    "transA": lambda v: v == 0, "transB": lambda v: v == 0, "alpha": lambda v: v == 1.0,
    "beta": lambda v: v == 1.0, "keepdims": lambda v: v == 1, "allowzero": lambda v: v == 0,
    "mode": lambda v: v == "nearest", "coordinate_transformation_mode": lambda v: v == "half_pixel",
    "nearest_mode": lambda v: v == "round_prefer_floor", "cubic_coeff_a": lambda v: abs(v + 0.75) < 1e-6,
    "exclude_outside": lambda v: v == 0, "extrapolation_value": lambda v: v == 0.0,
    "antialias": lambda v: v == 0, "keep_aspect_ratio_policy": lambda v: v == "stretch",
    "training_mode": lambda v: v == 0, "output_padding": lambda v: all(p == 0 for p in v),
    "epsilon": lambda v: abs(v - 1e-5) < 1e-9, "momentum": lambda v: abs(v - 0.9) < 1e-6,
}
# inputs whose form (absent / constant / computed at run time) the executor must handle
FORM_OPS = {"Clip", "Resize", "Upsample", "Split", "Slice", "ReduceMean", "Squeeze", "Unsqueeze",
            "Pad", "Reshape", "Dropout", "Expand", "Tile", "Gather", "ConstantOfShape", "Range"}


def attr_value(a):
    v = onnx.helper.get_attribute_value(a)
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, onnx.TensorProto):
        arr = numpy_helper.to_array(v)
        return f"tensor<{onnx.helper.tensor_dtype_to_np_dtype(v.data_type)}>{list(arr.shape)}" + (
            f"={arr.flatten().tolist()}" if arr.size <= 8 else "")
    if isinstance(v, list):
        return [x.decode() if isinstance(x, bytes) else (round(x, 6) if isinstance(x, float) else x) for x in v]
    if isinstance(v, float):
        return round(v, 6)
    return v


def inventory(path):
    """op type -> {"count", "attrs": {name: Counter(values)}, "forms": Counter}. An op whose
    first input is not float32 is listed as e.g. `Div[int64]` (shape arithmetic)."""
    m = onnx.load(path)
    g = m.graph
    types = {}
    try:
        inferred = onnx.shape_inference.infer_shapes(m)
        for vi in list(inferred.graph.value_info) + list(inferred.graph.input) + list(inferred.graph.output):
            types[vi.name] = vi.type.tensor_type.elem_type
    except Exception:  # noqa: BLE001
        pass
    for t in g.initializer:
        types[t.name] = t.data_type
    shapes = {t.name: list(t.dims) for t in g.initializer}
    consts = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    for n in g.node:
        if n.op_type == "Constant" and n.attribute and n.attribute[0].name == "value":
            consts[n.output[0]] = numpy_helper.to_array(n.attribute[0].t)
    ops = {}
    for n in g.node:
        key = n.op_type
        t = types.get(n.input[0]) if n.input and n.input[0] else None
        if t not in (None, 0, onnx.TensorProto.FLOAT) and n.op_type not in ("Shape", "Cast", "Reshape", "Gather",
                                                                              "ConstantOfShape", "Resize"):
            key = f"{n.op_type}[{onnx.helper.tensor_dtype_to_np_dtype(t)}]"
        e = ops.setdefault(key, {"count": 0, "attrs": collections.defaultdict(collections.Counter),
                                 "forms": collections.Counter()})
        e["count"] += 1
        a_map = {a.name: attr_value(a) for a in n.attribute}
        if n.op_type == "Resize":
            combo = (f"mode={a_map.get('mode', 'nearest')} "
                     f"ctm={a_map.get('coordinate_transformation_mode', 'half_pixel')}")
            if a_map.get("mode", "nearest") == "nearest":
                combo += f" nearest_mode={a_map.get('nearest_mode', 'round_prefer_floor')}"
            e["attrs"]["(combination)"][combo] += 1
        if n.op_type in ("Conv", "ConvTranspose") and n.input[1] in shapes:
            w = shapes[n.input[1]]
            grp = a_map.get("group", 1)
            kind = ("depthwise" if grp > 1 and (w[1] == 1 if n.op_type == "Conv" else w[1] == 1) else
                    f"grouped" if grp > 1 else "dense")
            pads = a_map.get("pads", [0, 0, 0, 0])
            kind += f" k{'x'.join(map(str, w[2:]))}"
            kind += ", asymmetric pads" if pads[:2] != pads[2:] else ""
            kind += f", auto_pad {a_map['auto_pad']}" if a_map.get("auto_pad", "NOTSET") != "NOTSET" else ""
            kind += ", bias" if len(n.input) > 2 and n.input[2] else ", no bias"
            e["attrs"]["(kind)"][kind] += 1
        for a in n.attribute:
            v = attr_value(a)
            if a.name in DEFAULTS and DEFAULTS[a.name](v) and n.op_type != "Resize":
                continue
            if a.name == "group" and v > 1:
                continue  # summarised in (kind)
            if n.op_type == "Conv" and a.name == "pads" and len(v) == 4:
                v = f"{v}{' ASYMMETRIC' if v[:2] != v[2:] else ''}"
            if n.op_type == "Constant":
                v = v if a.name != "value" else str(v).split("=")[0]
            e["attrs"][a.name][json.dumps(v) if not isinstance(v, str) else v] += 1
        if n.op_type in FORM_OPS:
            form = []
            for i, name in enumerate(n.input):
                if i == 0:
                    continue
                if not name:
                    form.append("-")
                elif name in consts:
                    c = consts[name]
                    form.append(f"const{list(c.shape)}" + (f"={np.round(c.flatten(), 6).tolist()}"
                                                           if c.size <= 8 else ""))
                else:
                    form.append("runtime")
            e["forms"][f"inputs({', '.join(form)})"] += 1
    return m, ops


def ops_report(rows, path):
    lines = []
    union = collections.defaultdict(lambda: {"count": 0, "models": set(),
                                             "attrs": collections.defaultdict(collections.Counter),
                                             "forms": collections.Counter()})
    for row in rows:
        if "error" in row:
            lines.append(f"== {row['arch']}.{row['exporter']}: FAILED: {row['error']}")
            continue
        m, ops = inventory(row["path"])
        name = f"{row['arch']}.{row['exporter']}"
        domains = ", ".join(f"{o.domain or 'ai.onnx'}:{o.version}" for o in m.opset_import)
        lines.append(f"== {name}: {row['size'] / 1e6:.2f} MB, opsets {domains}, IR {m.ir_version}, "
                     f"{len(m.graph.node)} nodes, {len(m.graph.initializer)} initializers, "
                     f"ORT rel err {row['rel']:.2g}")
        lines.append("   ops: " + ", ".join(f"{k} x{v['count']}" for k, v in sorted(ops.items())))
        for k, v in sorted(ops.items()):
            u = union[k]
            u["count"] += v["count"]
            u["models"].add(name)
            for a, c in v["attrs"].items():
                u["attrs"][a].update(c)
                if a not in ("kernel_shape", "value", "to", "axis", "axes", "perm", "value_ints",
                             "value_float", "value_int", "value_floats"):
                    lines.append(f"   {k}.{a}: " + ", ".join(f"{val} x{n}" for val, n in sorted(c.items())))
            u["forms"].update(v["forms"])
            if v["forms"] and k not in ("Gather", "Reshape"):
                lines.append(f"   {k} " + ", ".join(f"{f} x{n}" for f, n in sorted(v["forms"].items())))
    lines.append("")
    lines.append("== union over all exports: op type, nodes, exports using it; non-default attributes; input forms")
    for k, u in sorted(union.items()):
        lines.append(f"{k}: {u['count']} nodes in {len(u['models'])} exports")
        for a, c in sorted(u["attrs"].items()):
            vals = sorted(c.items(), key=lambda t: -t[1])
            shown = ", ".join(f"{val} x{n}" for val, n in vals[:14])
            more = f", ... ({len(vals) - 14} more values)" if len(vals) > 14 else ""
            lines.append(f"    {a}: {shown}{more}")
        forms = sorted(u["forms"].items(), key=lambda t: -t[1])
        for f, n in forms[:12]:
            lines.append(f"    {f} x{n}")
        if len(forms) > 12:
            lines.append(f"    ... ({len(forms) - 12} more input forms)")
    text = "\n".join(lines) + "\n"
    with open(path, "w") as f:
        f.write(text)
    return text


def table(rows):
    out = [f"{'model':<30} {'exporter':<8} {'MB':>7} {'opset':>5} {'IR':>3} {'max|exp|':>10} "
           f"{'ORT max|diff|':>13} {'rel':>9}"]
    for r in rows:
        if "error" in r:
            out.append(f"{r['arch']:<30} {r['exporter']:<8} FAILED: {r['error'][:120]}")
        else:
            out.append(f"{r['arch']:<30} {r['exporter']:<8} {r['size'] / 1e6:7.2f} {r['opset']:>5} {r['ir']:>3} "
                       f"{r['maxabs']:10.3g} {r['abs']:13.3g} {r['rel']:9.2g}")
    return "\n".join(out)


# ---------------------------------------------------------------- committed small cases
def test_models(exporters):
    """tests/onnx/models/: the trained digits model and a tiny UNet, small enough to commit."""
    out = os.path.join(ROOT, "tests", "onnx", "models")
    os.makedirs(out, exist_ok=True)
    rows = []

    net = digits_model()
    net.load_state_dict(load_file(os.path.join(ROOT, "models", "digits.safetensors")))
    net.eval()
    held = load_file(os.path.join(ROOT, "tests", "data", "digits_heldout.safetensors"))
    x_all, labels = held["input"], held["labels"].long()
    x = x_all[:32].contiguous()
    with torch.no_grad():
        expected = copy.deepcopy(net).double()(x.double()).float()
        acc_torch = (net(x_all).argmax(1) == labels).float().mean().item()
    for exporter in exporters:
        path = os.path.join(out, f"digits.{exporter}.onnx")
        reason = export(net, x, path, exporter)
        if reason:
            print(f"  digits {exporter}: SKIPPED: {reason}")
            rows.append({"arch": "digits", "exporter": exporter, "path": path, "error": reason})
            continue
        # accuracy of the exported graph on all held-out images, 32 at a time (its fixed batch)
        name = [i.name for i in onnx.load(path).graph.input][0]
        correct = 0
        for i in range(0, len(x_all), 32):
            chunk = x_all[i:i + 32]
            k = len(chunk)
            chunk = torch.cat([chunk, torch.zeros(32 - k, *chunk.shape[1:])]) if k < 32 else chunk
            logits = ort_run(path, {name: chunk.contiguous()})[0][:k]
            correct += int((logits.argmax(1) == labels[i:i + k].numpy()).sum())
        acc_ort = correct / len(x_all)
        save_case(path, [x], [expected], extra={"labels": labels[:32].contiguous()},
                  tolerance={"atol": 1e-4, "rtol": 1e-4},
                  metadata={"description": "scripts/train_digits.py's CNN on 32 held-out digits; "
                                           "`labels` are their classes",
                            "heldout_accuracy": f"{acc_torch:.4f}",
                            "heldout_accuracy_onnxruntime": f"{acc_ort:.4f}",
                            "heldout_images": str(len(x_all)),
                            "classes": json.dumps([str(i) for i in range(10)])})
        r = {"arch": "digits", "exporter": exporter, "path": path, "secs": 0}
        r.update(check(path, {"input": x}, expected))
        rows.append(r)
        print(f"  digits {exporter}: held-out accuracy torch {acc_torch:.4f}, ORT {acc_ort:.4f}; "
              f"ORT rel err {r['rel']:.2g}")

    torch.manual_seed(3)
    unet = randomise_bn(UNet(c=4), torch.Generator().manual_seed(4)).eval()
    x = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        expected = copy.deepcopy(unet).double()(x.double()).float()
    for exporter in exporters:
        path = os.path.join(out, f"unet_tiny.{exporter}.onnx")
        reason = export(unet, x, path, exporter)
        if reason:
            print(f"  unet_tiny {exporter}: SKIPPED: {reason}")
            rows.append({"arch": "unet_tiny", "exporter": exporter, "path": path, "error": reason})
            continue
        save_case(path, [x], [expected], tolerance={"atol": 1e-4, "rtol": 1e-3},
                  metadata={"description": "UNet(c=4) of scripts/export_onnx.py, random weights"})
        r = {"arch": "unet_tiny", "exporter": exporter, "path": path, "secs": 0}
        r.update(check(path, {"input": x}, expected))
        rows.append(r)
        print(f"  unet_tiny {exporter}: {r['size'] / 1e3:.0f} kB, ORT rel err {r['rel']:.2g}")
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(ROOT, "target", "onnx-models"))
    ap.add_argument("--only", help="comma-separated architectures (default: all)")
    ap.add_argument("--size", type=int, help="input height and width (default 224; 128 for unet, deeplab)")
    ap.add_argument("--exporters", default="dynamo,script")
    ap.add_argument("--tests", action="store_true", help="also write tests/onnx/models/")
    ap.add_argument("--no-models", action="store_true", help="skip the torchvision models")
    ap.add_argument("--report-only", action="store_true",
                    help="rewrite ops.txt from the exports and results.json already in --out")
    args = ap.parse_args()
    results = os.path.join(args.out, "results.json")
    if args.report_only:
        with open(results) as f:
            rows = json.load(f)
        print(table(rows))
        print()
        print(ops_report(rows, os.path.join(args.out, "ops.txt")))
        return
    torch.set_num_threads(2)
    exporters = args.exporters.split(",")
    os.makedirs(args.out, exist_ok=True)
    rows = []
    if args.tests:
        rows += test_models(exporters)
    if not args.no_models:
        archs = args.only.split(",") if args.only else ARCHS
        for arch in archs:
            if arch not in ARCHS:
                sys.exit(f"unknown architecture {arch}; known: {', '.join(ARCHS)}")
            size = args.size or (128 if arch in SMALL else 224)
            print(f"{arch} ({size}x{size})", flush=True)
            try:
                run_one(arch, size, args.out, exporters, rows)
            except Exception:  # noqa: BLE001
                traceback.print_exc()
                rows.append({"arch": arch, "exporter": "-", "path": "", "error": "model failed (see log)"})
    with open(results, "w") as f:
        json.dump(rows, f, indent=1)
    print()
    print(table(rows))
    print()
    print(ops_report(rows, os.path.join(args.out, "ops.txt")))


if __name__ == "__main__":
    main()
