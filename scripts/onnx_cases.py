#!/usr/bin/env python3
"""Writes the per-op ONNX cases of wgcnn's ONNX loader into tests/onnx/.

Each case is `NAME.onnx` (a single-node or tiny model made with onnx.helper, opset 17
unless its name says otherwise) and `NAME.safetensors`, a fixture in the format of
docs/fixtures.md with `op` "model" and `params` {"model": "NAME.onnx"}: tensor `input`
(or `input.<name>` per graph input when there are several) and `expected` (or
`expected.<name>` per graph output). Weights are initializers, most stored as raw_data,
some as float_data, one as float16 behind a Cast.

`expected` is computed by onnx.reference.ReferenceEvaluator on a float64 copy of the model
(initializers, Constant/ConstantOfShape values, Cast targets and the graph's inputs and
outputs float32 -> float64; Resize/Upsample scales stay float32 as the spec requires)
from the float32 inputs, then stored as float32. Where the reference evaluator cannot run
a model, onnxruntime (float32) computes it and the case says so in `source` and carries a
tolerance. Every case is cross-checked with onnxruntime (float32); disagreements are
printed. Ops that only select or copy values carry the exact tolerance {"atol": 0, "rtol": 0}.

    ~/wgcnn-venv/bin/pip install onnx onnxruntime safetensors numpy
    ~/wgcnn-venv/bin/python scripts/onnx_cases.py
"""

import copy
import glob
import json
import os
import sys
import warnings

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator
from safetensors.numpy import save_file

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "onnx")
SOURCE = f"onnx {onnx.__version__} onnx.reference, float64"
SOURCE_ORT = f"onnxruntime {ort.__version__}, float32"
NEG_INF = float("-inf")
EXACT = {"atol": 0.0, "rtol": 0.0}
DEFAULT_TOL = {"atol": 1e-5, "rtol": 1e-4}  # wgcnn's default for ops with arithmetic
R = np.random.default_rng(0)
N = helper.make_node
FLOAT = TensorProto.FLOAT
INT64_MAX = np.iinfo(np.int64).max
INT64_MIN = np.iinfo(np.int64).min

written = []
disagreements = []


def rnd(*shape, scale=1.0):
    return (R.standard_normal(shape) * scale).astype(np.float32)


def i64(*v):
    return np.array(v, dtype=np.int64)


def f32(*v):
    return np.array(v, dtype=np.float32)


# ---------------------------------------------------------------- building and running
def make(nodes, inputs, outputs, inits, opset, float_data=()):
    """The float32 model: inputs {name: array}, outputs [names], inits {name: array}."""
    init_protos = []
    for k, v in inits.items():
        if k in float_data:
            # float_data (or int64_data) instead of raw_data
            t = helper.make_tensor(k, helper.np_dtype_to_tensor_dtype(v.dtype), v.shape,
                                   v.flatten().tolist(), raw=False)
        else:
            t = numpy_helper.from_array(v, k)
        init_protos.append(t)
    g = helper.make_graph(
        nodes, "case",
        [helper.make_tensor_value_info(k, helper.np_dtype_to_tensor_dtype(v.dtype), v.shape)
         for k, v in inputs.items()],
        [helper.make_tensor_value_info(o, FLOAT, None) for o in outputs],
        init_protos)
    opsets = [helper.make_opsetid("", opset)]
    if any(n.domain not in ("", "ai.onnx") for n in nodes):
        opsets += [helper.make_opsetid(d, 1) for d in sorted({n.domain for n in nodes} - {"", "ai.onnx"})]
    m = helper.make_model(g, opset_imports=opsets, producer_name="wgcnn scripts/onnx_cases.py")
    m.ir_version = helper.find_min_ir_version_for(opsets[:1])
    return m


def to_double(model):
    """A float64 copy: float32 tensors, I/O and Cast targets become float64, except the
    inputs that the spec types float32 only (Resize roi/scales, Upsample scales)."""
    m = copy.deepcopy(model)
    g = m.graph
    keep = set()
    for n in g.node:
        if n.op_type == "Resize":
            keep.update(n.input[1:3])
        if n.op_type == "Upsample":
            keep.update(n.input[1:2])

    def dbl(t):
        if t.data_type == FLOAT and t.name not in keep:
            t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(t).astype(np.float64), t.name))

    for t in g.initializer:
        dbl(t)
    for vi in list(g.input) + list(g.output) + list(g.value_info):
        if vi.type.tensor_type.elem_type == FLOAT and vi.name not in keep:
            vi.type.tensor_type.elem_type = TensorProto.DOUBLE
    for n in g.node:
        for a in n.attribute:
            if a.name == "to" and a.i == FLOAT:
                a.i = TensorProto.DOUBLE
            if a.type == onnx.AttributeProto.TENSOR and not any(o in keep for o in n.output):
                a.t.name = ""
                dbl(a.t)
            if a.name == "value_float":
                a.CopyFrom(helper.make_attribute("value", numpy_helper.from_array(np.array(a.f, np.float64))))
            if a.name == "value_floats":
                a.CopyFrom(helper.make_attribute("value", numpy_helper.from_array(np.array(a.floats, np.float64))))
        if n.op_type == "ConstantOfShape" and not n.attribute:
            n.attribute.append(helper.make_attribute("value", numpy_helper.from_array(np.zeros(1, np.float64))))
    return m


def run_reference(model, feeds):
    m64 = to_double(model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sess = ReferenceEvaluator(m64)
        outs = sess.run(None, {k: v.astype(np.float64) if v.dtype == np.float32 else v for k, v in feeds.items()})
    return [np.asarray(o).astype(np.float32) for o in outs]


def run_ort(model, feeds):
    so = ort.SessionOptions()
    so.log_severity_level = 3
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    return [np.asarray(o) for o in sess.run(None, feeds)]


def within(got, want, tol):
    if got.shape != want.shape:
        return False, f"shape {got.shape} vs {want.shape}"
    g, w = got.astype(np.float64), want.astype(np.float64)
    bad = ~((np.abs(g - w) <= tol["atol"] + tol["rtol"] * np.abs(w)) | (np.isnan(g) & np.isnan(w)))
    if bad.any():
        return False, f"{int(bad.sum())}/{bad.size} elements off, max |diff| {np.nanmax(np.abs(g - w)):.3g}"
    return True, ""


def case(name, nodes, inputs, outputs=("y",), inits=None, opset=17, tol=None, exact=False,
         expect_error=False, float_data=(), trust=None, note=None, torch_fn=None):
    """Builds, runs and writes one case. `torch_fn(**inputs, **inits)`, given float64 torch
    tensors, computes the expected output with PyTorch instead (where the reference
    evaluator is wrong, see the calls); `trust` = "ort" uses onnxruntime's answer."""
    inits = inits or {}
    outputs = list(outputs)
    model = make(nodes, inputs, outputs, inits, opset, float_data)
    feeds = {k: v for k, v in inputs.items()}
    tol = EXACT if exact else tol
    source = SOURCE
    meta = {"op": "model", "params": json.dumps({"model": f"{name}.onnx"})}
    expected = None
    if expect_error:
        meta["expect_error"] = "true"
        source = "unsupported by wgcnn by design"
    else:
        ref = ort_out = torch_out = None
        try:
            ref = run_reference(model, feeds)
        except Exception as e:  # noqa: BLE001 (any evaluator failure falls back to ORT)
            print(f"  {name}: onnx.reference failed ({type(e).__name__}: {str(e).splitlines()[0][:120]})")
        try:
            ort_out = run_ort(model, feeds)
        except Exception as e:  # noqa: BLE001
            print(f"  {name}: onnxruntime failed ({type(e).__name__}: {str(e).splitlines()[0][:160]})")
        if torch_fn is not None:
            import torch
            args = {k: torch.from_numpy(np.array(v)).double() if v.dtype == np.float32 else torch.from_numpy(np.array(v))
                    for k, v in {**inputs, **inits}.items()}
            with torch.no_grad():
                got = torch_fn(**args)
            got = [got] if not isinstance(got, (list, tuple)) else got
            torch_out = [g.float().numpy() for g in got]
            expected, source = torch_out, getattr(torch_fn, "source", f"torch {torch.__version__}, float64")
        elif ref is not None and trust != "ort":
            expected = ref
        elif ort_out is not None:
            expected, source = ort_out, SOURCE_ORT
            tol = tol or {"atol": 1e-5, "rtol": 1e-4}
        else:
            print(f"  {name}: NOT WRITTEN (nothing ran it)")
            return
        # every other answer against the one kept
        for label, other in [("onnx.reference", ref), ("onnxruntime", ort_out), ("torch", torch_out)]:
            if other is None or other is expected:
                continue
            for o, a, b in zip(outputs, other, expected):
                ok, why = within(a, b, tol or DEFAULT_TOL)
                if not ok:
                    msg = f"{name}.{o}: {label} vs {source} (trusted): {why}"
                    disagreements.append(msg)
                    print(f"  DISAGREE {msg}")
        # fill in the output shapes now that they are known
        for vi, e in zip(model.graph.output, expected):
            vi.CopyFrom(helper.make_tensor_value_info(vi.name, FLOAT, e.shape))
        onnx.checker.check_model(model, full_check=True)
    meta["source"] = source
    if tol:
        meta["tolerance"] = json.dumps(tol)
    if note:
        meta["note"] = note

    in_names = list(inputs)
    tensors = {}
    if len(in_names) == 1:
        tensors["input"] = inputs[in_names[0]]
    else:
        tensors.update({f"input.{k}": v for k, v in inputs.items()})
    if expected is not None:
        if len(outputs) == 1:
            tensors["expected"] = expected[0].astype(np.float32)
        else:
            tensors.update({f"expected.{o}": e.astype(np.float32) for o, e in zip(outputs, expected)})
    tensors = {k: np.ascontiguousarray(v) for k, v in tensors.items()}
    onnx.save(model, os.path.join(OUT, f"{name}.onnx"))
    save_file(tensors, os.path.join(OUT, f"{name}.safetensors"), metadata=meta)
    written.append(name)
    shapes = ", ".join(str(tuple(e.shape)) for e in expected) if expected is not None else "expect_error"
    print(f"{name}: opset {opset}, {shapes}{'' if source == SOURCE else ' [' + source + ']'}")


def unary(name, op, x, opset=17, exact=False, **attrs):
    case(name, [N(op, ["x"], ["y"], **attrs)], {"x": x}, opset=opset, exact=exact)


# ---------------------------------------------------------------- PyTorch referees
def F_():
    import torch.nn.functional as F
    return F


def same_pads(size, k, s, d, upper):
    """ONNX auto_pad SAME_*: output ceil(size / s); the odd pixel at the end (UPPER) or start."""
    out = -(-size // s)
    total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
    small = total // 2
    return (small, total - small) if upper else (total - small, small)


def spec_nearest(out, scales, ctm, nm):
    """Resize mode nearest as the ONNX spec writes it, in float64 (a referee for onnx.reference)."""
    import torch

    def index(n_in, n_out, scale):
        x = np.arange(n_out, dtype=np.float64)
        if ctm == "align_corners":
            c = x * (n_in - 1) / (n_out - 1) if n_out > 1 else np.zeros(n_out)
        elif ctm == "asymmetric":
            c = x / scale
        elif ctm == "pytorch_half_pixel" and n_out == 1:
            c = np.zeros(n_out)
        else:
            c = (x + 0.5) / scale - 0.5
        tie = c - np.floor(c) == 0.5
        i = {"floor": np.floor(c), "ceil": np.ceil(c),
             "round_prefer_floor": np.where(tie, np.floor(c), np.round(c)),
             "round_prefer_ceil": np.where(tie, np.ceil(c), np.round(c))}[nm]
        return np.clip(i, 0, n_in - 1).astype(np.int64)

    def f(x, **_):
        y = x.numpy()
        for axis in (2, 3):
            y = np.take(y, index(x.shape[axis], out[axis], scales[axis]), axis)
        return torch.from_numpy(y)
    f.source = "numpy float64, the ONNX spec's nearest-resize formula"
    return f


def t_conv(pads, strides=(1, 1), dilations=(1, 1), group=1):
    import torch.nn.functional as F

    def f(x, w, b=None):
        # ONNX pads [top, left, bottom, right]; F.pad wants (left, right, top, bottom)
        xp = F.pad(x, (pads[1], pads[3], pads[0], pads[2]))
        return F.conv2d(xp, w, b, stride=strides, dilation=dilations, groups=group)
    return f


def t_conv_transpose(strides=(1, 1), pads=(0, 0, 0, 0), output_padding=(0, 0), dilations=(1, 1), group=1):
    import torch.nn.functional as F

    def f(x, w, b=None):
        # the full transposed convolution, then `pads` cropped from each side
        y = F.conv_transpose2d(x, w, b, stride=strides, output_padding=output_padding, groups=group,
                               dilation=dilations)
        h, wd = y.shape[-2:]
        return y[..., pads[0]:h - pads[2], pads[1]:wd - pads[3]]
    return f


# ---------------------------------------------------------------- Conv
def conv_cases():
    x = rnd(1, 4, 9, 9)
    case("conv_basic", [N("Conv", ["x", "w", "b"], ["y"], kernel_shape=[3, 3], pads=[1, 1, 1, 1])],
         {"x": x}, inits={"w": rnd(6, 4, 3, 3), "b": rnd(6)}, float_data={"w", "b"})
    case("conv_no_kernel_shape", [N("Conv", ["x", "w", "b"], ["y"], pads=[1, 1, 1, 1])],
         {"x": x}, inits={"w": rnd(6, 4, 3, 3), "b": rnd(6)})
    case("conv_nobias_stride2", [N("Conv", ["x", "w"], ["y"], kernel_shape=[3, 3], strides=[2, 2])],
         {"x": x}, inits={"w": rnd(5, 4, 3, 3)})
    case("conv_group2", [N("Conv", ["x", "w", "b"], ["y"], group=2, pads=[1, 1, 1, 1])],
         {"x": x}, inits={"w": rnd(6, 2, 3, 3), "b": rnd(6)})
    case("conv_depthwise_stride2", [N("Conv", ["x", "w", "b"], ["y"], group=4, strides=[2, 2], pads=[1, 1, 1, 1])],
         {"x": x}, inits={"w": rnd(4, 1, 3, 3), "b": rnd(4)})
    case("conv_depthwise_multiplier", [N("Conv", ["x", "w", "b"], ["y"], group=4)],
         {"x": x}, inits={"w": rnd(8, 1, 3, 3), "b": rnd(8)})
    case("conv_depthwise_5x5", [N("Conv", ["x", "w"], ["y"], group=4, pads=[2, 2, 2, 2])],
         {"x": x}, inits={"w": rnd(4, 1, 5, 5)})
    case("conv_dilations2", [N("Conv", ["x", "w", "b"], ["y"], dilations=[2, 2], pads=[2, 2, 2, 2])],
         {"x": x}, inits={"w": rnd(3, 4, 3, 3), "b": rnd(3)})
    case("conv_mixed", [N("Conv", ["x", "w", "b"], ["y"], kernel_shape=[3, 5], strides=[2, 1],
                          dilations=[1, 2], pads=[1, 2, 0, 3])],
         {"x": x}, inits={"w": rnd(3, 4, 3, 5), "b": rnd(3)})
    case("conv_asymmetric_pads", [N("Conv", ["x", "w", "b"], ["y"], pads=[0, 1, 2, 1])],
         {"x": x}, inits={"w": rnd(3, 4, 3, 3), "b": rnd(3)})
    case("conv_pads_stride2_asymmetric", [N("Conv", ["x", "w"], ["y"], strides=[2, 2], pads=[0, 0, 1, 1])],
         {"x": rnd(1, 3, 8, 8)}, inits={"w": rnd(4, 3, 3, 3)})
    for mode in ["SAME_UPPER", "SAME_LOWER"]:
        # even kernel with stride 2 on 9x9: total padding 3, split 1/2 (upper) or 2/1 (lower)
        case(f"conv_auto_pad_{mode.lower()}", [N("Conv", ["x", "w", "b"], ["y"], auto_pad=mode, strides=[2, 2],
                                                 kernel_shape=[4, 4])],
             {"x": x}, inits={"w": rnd(3, 4, 4, 4), "b": rnd(3)})
        case(f"conv_auto_pad_{mode.lower()}_k3s1", [N("Conv", ["x", "w"], ["y"], auto_pad=mode)],
             {"x": x}, inits={"w": rnd(3, 4, 3, 3)})
        # onnxruntime refuses dilations with SAME_*; PyTorch pads explicitly as the spec says
        ph = same_pads(9, 2, 1, 2, mode == "SAME_UPPER")
        pw = same_pads(9, 3, 1, 1, mode == "SAME_UPPER")
        case(f"conv_auto_pad_{mode.lower()}_dilated", [N("Conv", ["x", "w"], ["y"], auto_pad=mode,
                                                         kernel_shape=[2, 3], dilations=[2, 1])],
             {"x": x}, inits={"w": rnd(3, 4, 2, 3)},
             torch_fn=t_conv((ph[0], pw[0], ph[1], pw[1]), dilations=(2, 1)))
    case("conv_auto_pad_valid", [N("Conv", ["x", "w", "b"], ["y"], auto_pad="VALID", strides=[2, 2])],
         {"x": x}, inits={"w": rnd(3, 4, 3, 3), "b": rnd(3)})
    case("conv_pointwise_stride2", [N("Conv", ["x", "w", "b"], ["y"], kernel_shape=[1, 1], strides=[2, 2])],
         {"x": x}, inits={"w": rnd(8, 4, 1, 1), "b": rnd(8)})
    case("conv_stem_7x7", [N("Conv", ["x", "w"], ["y"], kernel_shape=[7, 7], strides=[2, 2], pads=[3, 3, 3, 3])],
         {"x": rnd(1, 3, 16, 16)}, inits={"w": rnd(4, 3, 7, 7)})
    case("conv_batch2_opset11", [N("Conv", ["x", "w", "b"], ["y"], kernel_shape=[3, 3], pads=[1, 1, 1, 1])],
         {"x": rnd(2, 3, 6, 6)}, inits={"w": rnd(4, 3, 3, 3), "b": rnd(4)}, opset=11)
    # a float16 initializer behind a Cast
    w16 = rnd(4, 4, 3, 3).astype(np.float16)
    case("conv_f16_weight_cast", [N("Cast", ["w16"], ["w"], to=FLOAT),
                                  N("Conv", ["x", "w", "b"], ["y"], pads=[1, 1, 1, 1])],
         {"x": x}, inits={"w16": w16, "b": rnd(4)})
    case("conv_weight_input", [N("Conv", ["x", "w"], ["y"], pads=[1, 1, 1, 1])],
         {"x": rnd(1, 2, 5, 5), "w": rnd(3, 2, 3, 3)})


def conv_transpose_cases():
    # onnx.reference's ConvTranspose is wrong for group > 1 (a reshape error for group 2, wrong
    # values for depthwise, where onnxruntime and PyTorch agree): PyTorch computes all of them.
    x = rnd(1, 4, 5, 5)

    def ct(**a):
        return [N("ConvTranspose", ["x", "w", "b"], ["y"], **a)]

    def case(name, nodes, inputs, **kw):
        a = {k: v for k, v in {at.name: helper.get_attribute_value(at) for at in nodes[0].attribute}.items()
             if k != "kernel_shape"}
        globals()["case"](name, nodes, inputs, torch_fn=t_conv_transpose(**a), **kw)
    case("convtranspose_basic", ct(), {"x": x}, inits={"w": rnd(4, 3, 3, 3), "b": rnd(3)})
    case("convtranspose_s2_k2", ct(strides=[2, 2], kernel_shape=[2, 2]), {"x": x},
         inits={"w": rnd(4, 3, 2, 2), "b": rnd(3)})
    case("convtranspose_s2_p1_op1", ct(strides=[2, 2], pads=[1, 1, 1, 1], output_padding=[1, 1]), {"x": x},
         inits={"w": rnd(4, 3, 3, 3), "b": rnd(3)})
    case("convtranspose_s2_k4_p1", ct(strides=[2, 2], pads=[1, 1, 1, 1]), {"x": x},
         inits={"w": rnd(4, 2, 4, 4), "b": rnd(2)})
    case("convtranspose_s3_op2_nonsquare", ct(strides=[3, 2], pads=[1, 0, 1, 0], output_padding=[2, 1]), {"x": x},
         inits={"w": rnd(4, 2, 3, 3), "b": rnd(2)})
    case("convtranspose_dilations2", ct(dilations=[2, 2], pads=[1, 1, 1, 1]), {"x": x},
         inits={"w": rnd(4, 3, 3, 3), "b": rnd(3)})
    case("convtranspose_group2", ct(group=2, strides=[2, 2]), {"x": x},
         inits={"w": rnd(4, 3, 3, 3), "b": rnd(6)})
    case("convtranspose_depthwise", ct(group=4, strides=[2, 2], pads=[1, 1, 1, 1], output_padding=[1, 1]),
         {"x": x}, inits={"w": rnd(4, 1, 3, 3), "b": rnd(4)})
    case("convtranspose_asymmetric_pads", ct(strides=[2, 2], pads=[0, 1, 1, 0]), {"x": x},
         inits={"w": rnd(4, 3, 3, 3), "b": rnd(3)})
    case("convtranspose_nobias", [N("ConvTranspose", ["x", "w"], ["y"], strides=[2, 2])], {"x": x},
         inits={"w": rnd(4, 3, 3, 3)})
    case("convtranspose_opset11", ct(strides=[2, 2], pads=[1, 1, 1, 1], output_padding=[1, 1]), {"x": x},
         inits={"w": rnd(4, 3, 3, 3), "b": rnd(3)}, opset=11)


# ---------------------------------------------------------------- BatchNormalization
def bn_cases():
    x = rnd(2, 3, 4, 5)
    bn = {"scale": 1 + 0.2 * rnd(3), "bias": rnd(3), "mean": rnd(3), "var": (np.abs(rnd(3)) + 0.5).astype(np.float32)}
    names = ["x", "scale", "bias", "mean", "var"]
    case("batchnorm", [N("BatchNormalization", names, ["y"])], {"x": x}, inits=bn)
    case("batchnorm_epsilon", [N("BatchNormalization", names, ["y"], epsilon=1e-3)], {"x": x}, inits=bn)
    # onnx.reference's BatchNormalization-9 is off by up to 0.02 here (onnxruntime and PyTorch agree)
    case("batchnorm_opset9", [N("BatchNormalization", names, ["y"], epsilon=1e-3, momentum=0.99)], {"x": x},
         inits=bn, opset=9, torch_fn=lambda x, scale, bias, mean, var: F_().batch_norm(
             x, mean, var, scale, bias, False, 0.0, 1e-3))
    case("batchnorm_opset14_training_mode0", [N("BatchNormalization", names, ["y"], training_mode=0)], {"x": x},
         inits=bn, opset=14)
    case("batchnorm_2d_input", [N("BatchNormalization", names, ["y"])], {"x": rnd(4, 3)}, inits=bn)
    case("conv_batchnorm_relu", [N("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
                                 N("BatchNormalization", ["c", "scale", "bias", "mean", "var"], ["n"]),
                                 N("Relu", ["n"], ["y"])],
         {"x": rnd(1, 4, 6, 6)}, inits={"w": rnd(3, 4, 3, 3), "b": rnd(3), **bn})
    case("conv_nobias_batchnorm", [N("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1], strides=[2, 2]),
                                   N("BatchNormalization", ["c", "scale", "bias", "mean", "var"], ["y"], epsilon=1e-3)],
         {"x": rnd(1, 4, 6, 6)}, inits={"w": rnd(3, 4, 3, 3), **bn})


# ---------------------------------------------------------------- activations
def activation_cases():
    x = rnd(2, 3, 4, 5, scale=4.0)
    x.flat[:6] = [0.0, -0.0, 3.0, -3.0, 6.0, -6.0]
    unary("relu", "Relu", x, exact=True)
    unary("relu_opset13", "Relu", x, opset=13, exact=True)
    unary("relu_2d", "Relu", rnd(3, 7), exact=True)
    unary("leakyrelu", "LeakyRelu", x)
    unary("leakyrelu_alpha0_2", "LeakyRelu", x, alpha=0.2)
    unary("sigmoid", "Sigmoid", x)
    unary("tanh", "Tanh", x)
    unary("hardsigmoid", "HardSigmoid", x)
    unary("hardsigmoid_torch", "HardSigmoid", x, alpha=1.0 / 6, beta=0.5)
    unary("hardswish", "HardSwish", x)
    unary("identity", "Identity", x, exact=True)
    # Clip: inputs form (opset 11+), with min only, max only, both (ReLU6)
    clip = lambda mn, mx: [N("Clip", ["x", mn, mx], ["y"])]  # noqa: E731
    case("clip_relu6", clip("lo", "hi"), {"x": x}, inits={"lo": f32(0.0).reshape(()), "hi": f32(6.0).reshape(())},
         exact=True)
    case("clip_relu6_opset11", clip("lo", "hi"), {"x": x},
         inits={"lo": f32(0.0).reshape(()), "hi": f32(6.0).reshape(())}, opset=11, exact=True)
    case("clip_relu6_opset13", clip("lo", "hi"), {"x": x},
         inits={"lo": f32(0.0).reshape(()), "hi": f32(6.0).reshape(())}, opset=13, exact=True)
    case("clip_min_only", [N("Clip", ["x", "lo"], ["y"])], {"x": x}, inits={"lo": f32(-1.5).reshape(())}, exact=True)
    case("clip_max_only", [N("Clip", ["x", "", "hi"], ["y"])], {"x": x}, inits={"hi": f32(2.5).reshape(())},
         exact=True)
    case("clip_no_bounds", [N("Clip", ["x"], ["y"])], {"x": x}, exact=True)
    case("clip_constant_nodes", [N("Constant", [], ["lo"], value=numpy_helper.from_array(f32(-1.0).reshape(()))),
                                 N("Constant", [], ["hi"], value=numpy_helper.from_array(f32(1.0).reshape(()))),
                                 N("Clip", ["x", "lo", "hi"], ["y"])], {"x": x}, exact=True)
    case("clip_attr_opset6", [N("Clip", ["x"], ["y"], min=0.0, max=6.0)], {"x": x}, opset=6, exact=True)
    case("clip_attr_opset6_min_only", [N("Clip", ["x"], ["y"], min=-1.0)], {"x": x}, opset=6, exact=True)
    # hardswish as torch's older exporters wrote it: x * relu6(x + 3) / 6
    case("hardswish_decomposed", [N("Add", ["x", "three"], ["a"]), N("Clip", ["a", "lo", "hi"], ["c"]),
                                  N("Mul", ["x", "c"], ["m"]), N("Div", ["m", "six"], ["y"])],
         {"x": x}, inits={"three": f32(3.0).reshape(()), "lo": f32(0.0).reshape(()), "hi": f32(6.0).reshape(()),
                          "six": f32(6.0).reshape(())})


# ---------------------------------------------------------------- binary ops
def binary_cases():
    x = rnd(1, 4, 5, 5)
    pos = (np.abs(rnd(1, 4, 5, 5)) + 0.5).astype(np.float32)
    case("mul_nc11", [N("Mul", ["x", "s"], ["y"])], {"x": x}, inits={"s": rnd(1, 4, 1, 1)})
    case("add_c11", [N("Add", ["x", "b"], ["y"])], {"x": x}, inits={"b": rnd(4, 1, 1)})
    case("sub_scalar", [N("Sub", ["x", "s"], ["y"])], {"x": x}, inits={"s": f32(0.75).reshape(())})
    case("div_scalar_constant", [N("Constant", [], ["s"], value=numpy_helper.from_array(f32(2.5).reshape(()))),
                                 N("Div", ["x", "s"], ["y"])], {"x": x})
    case("mul_scalar_1elem", [N("Mul", ["x", "s"], ["y"])], {"x": x}, inits={"s": f32(-1.25)})
    case("add_last_dim", [N("Add", ["x", "b"], ["y"])], {"x": x}, inits={"b": rnd(5)})
    case("sub_reversed_c11", [N("Sub", ["b", "x"], ["y"])], {"x": x}, inits={"b": rnd(4, 1, 1)})
    case("div_reversed_scalar", [N("Div", ["s", "x"], ["y"])], {"x": pos}, inits={"s": f32(3.0).reshape(())})
    case("add_inputs", [N("Add", ["a", "b"], ["y"])], {"a": x, "b": rnd(1, 4, 5, 5)})
    case("sub_inputs", [N("Sub", ["a", "b"], ["y"])], {"a": x, "b": rnd(1, 4, 5, 5)})
    case("mul_inputs_nc11", [N("Mul", ["a", "b"], ["y"])], {"a": x, "b": rnd(1, 4, 1, 1)})
    case("mul_inputs_nc11_first", [N("Mul", ["b", "a"], ["y"])], {"a": x, "b": rnd(1, 4, 1, 1)})
    case("div_inputs", [N("Div", ["a", "b"], ["y"])], {"a": x, "b": pos})
    case("add_bidirectional", [N("Add", ["a", "b"], ["y"])], {"a": rnd(1, 4, 5, 1), "b": rnd(1, 1, 1, 6)})
    case("mul_batch_broadcast", [N("Mul", ["a", "b"], ["y"])], {"a": rnd(2, 3, 4, 4), "b": rnd(1, 3, 4, 4)})
    case("add_same_input_twice", [N("Add", ["x", "x"], ["y"])], {"x": x})
    case("add_2d_row", [N("Add", ["a", "b"], ["y"])], {"a": rnd(3, 10)}, inits={"b": rnd(1, 10)})
    # a squeeze-and-excitation block: GlobalAveragePool, two 1x1 convs, HardSigmoid, Mul
    case("se_block", [N("GlobalAveragePool", ["x"], ["p"]), N("Conv", ["p", "w1", "b1"], ["c1"]),
                      N("Relu", ["c1"], ["r"]), N("Conv", ["r", "w2", "b2"], ["c2"]),
                      N("HardSigmoid", ["c2"], ["s"], alpha=1.0 / 6, beta=0.5), N("Mul", ["x", "s"], ["y"])],
         {"x": rnd(1, 8, 5, 5)}, inits={"w1": rnd(2, 8, 1, 1), "b1": rnd(2), "w2": rnd(8, 2, 1, 1), "b2": rnd(8)})
    case("residual_add_relu", [N("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]), N("Add", ["c", "x"], ["a"]),
                               N("Relu", ["a"], ["y"])],
         {"x": rnd(1, 4, 6, 6)}, inits={"w": rnd(4, 4, 3, 3), "b": rnd(4)})


# ---------------------------------------------------------------- shape ops
def concat_split_cases():
    a, b = rnd(1, 2, 3, 4), rnd(1, 2, 3, 4)
    for axis in [0, 1, 2, 3, -1, -3]:
        case(f"concat_axis{axis}".replace("-", "neg"), [N("Concat", ["a", "b", "c"], ["y"], axis=axis)],
             {"a": a, "b": b}, inits={"c": rnd(1, 2, 3, 4)}, exact=True)
    case("concat_uneven_channels", [N("Concat", ["a", "b"], ["y"], axis=1)], {"a": a, "b": rnd(1, 5, 3, 4)},
         exact=True)
    case("concat_single", [N("Concat", ["a"], ["y"], axis=1)], {"a": a}, exact=True)
    x = rnd(1, 6, 4, 3)
    case("split_equal_opset11", [N("Split", ["x"], ["y0", "y1", "y2"], axis=1)], {"x": x},
         outputs=["y0", "y1", "y2"], opset=11, exact=True)
    case("split_sizes_attr_opset11", [N("Split", ["x"], ["y0", "y1"], axis=1, split=[2, 4])], {"x": x},
         outputs=["y0", "y1"], opset=11, exact=True)
    case("split_sizes_input_opset13", [N("Split", ["x", "s"], ["y0", "y1", "y2"], axis=2)], {"x": x},
         outputs=["y0", "y1", "y2"], inits={"s": i64(1, 2, 1)}, opset=13, exact=True)
    case("split_equal_opset13", [N("Split", ["x"], ["y0", "y1"], axis=1)], {"x": x},
         outputs=["y0", "y1"], opset=13, exact=True)
    case("split_negative_axis", [N("Split", ["x", "s"], ["y0", "y1"], axis=-1)], {"x": x},
         outputs=["y0", "y1"], inits={"s": i64(1, 2)}, exact=True)
    case("split_num_outputs_opset18", [N("Split", ["x"], ["y0", "y1", "y2"], axis=1, num_outputs=3)], {"x": x},
         outputs=["y0", "y1", "y2"], opset=18, exact=True)
    # 7 channels in 3 outputs: ceil(7/3) = 3, so 3, 3, 1
    case("split_num_outputs_uneven_opset18", [N("Split", ["x"], ["y0", "y1", "y2"], axis=1, num_outputs=3)],
         {"x": rnd(1, 7, 2, 2)}, outputs=["y0", "y1", "y2"], opset=18, exact=True)
    case("split_sizes_input_opset18", [N("Split", ["x", "s"], ["y0", "y1"], axis=1)], {"x": x},
         outputs=["y0", "y1"], inits={"s": i64(5, 1)}, opset=18, exact=True)


def slice_cases():
    x = rnd(1, 3, 6, 7)

    def sl(name, starts, ends, axes=None, steps=None, opset=17):
        names = ["x", "starts", "ends"]
        inits = {"starts": i64(*starts), "ends": i64(*ends)}
        if axes is not None or steps is not None:
            names.append("axes" if axes is not None else "")
            if axes is not None:
                inits["axes"] = i64(*axes)
        if steps is not None:
            names.append("steps")
            inits["steps"] = i64(*steps)
        case(name, [N("Slice", names, ["y"])], {"x": x}, inits=inits, opset=opset, exact=True)

    sl("slice_basic", [1], [4], [2])
    sl("slice_two_axes", [1, 2], [3, 6], [1, 3])
    sl("slice_steps", [0, 1], [6, 7], [2, 3], [2, 3])
    sl("slice_reverse", [-1], [INT64_MIN], [3], [-1])
    sl("slice_negative_step2", [4], [0], [2], [-2])
    sl("slice_negative_starts_ends", [-3], [-1], [3])
    sl("slice_negative_axes", [1], [5], [-1])
    sl("slice_clamped_ends", [2, 1], [1000, INT64_MAX], [2, 3])
    sl("slice_clamped_starts", [-100], [3], [2])
    sl("slice_no_axes", [0, 1], [1, 3])
    sl("slice_axes_unsorted", [1, 0], [6, 2], [3, 1])
    sl("slice_empty_result_free_axis", [0], [1], [0], [1])
    sl("slice_opset11", [1], [-1], [2], [1], opset=11)
    case("slice_attr_opset9", [N("Slice", ["x"], ["y"], starts=[1, -4], ends=[3, 100], axes=[1, 3])], {"x": x},
         opset=9, exact=True)


def transpose_reshape_cases():
    x = rnd(1, 3, 4, 5)
    for perm in [[0, 2, 3, 1], [0, 3, 1, 2], [1, 0, 2, 3], [0, 1, 3, 2]]:
        case("transpose_" + "".join(map(str, perm)), [N("Transpose", ["x"], ["y"], perm=perm)], {"x": x}, exact=True)
    case("transpose_default_reverse", [N("Transpose", ["x"], ["y"])], {"x": x}, exact=True)
    case("transpose_2d", [N("Transpose", ["x"], ["y"], perm=[1, 0])], {"x": rnd(3, 7)}, exact=True)
    # ShuffleNet's channel shuffle with 2 groups
    c = 6
    case("channel_shuffle", [N("Reshape", ["x", "s1"], ["r"]), N("Transpose", ["r"], ["t"], perm=[0, 2, 1, 3, 4]),
                             N("Reshape", ["t", "s2"], ["y"])],
         {"x": rnd(1, c, 3, 4)}, inits={"s1": i64(1, 2, c // 2, 3, 4), "s2": i64(1, c, 3, 4)}, exact=True)
    case("channel_shuffle_minus1", [N("Reshape", ["x", "s1"], ["r"]), N("Transpose", ["r"], ["t"], perm=[0, 2, 1, 3, 4]),
                                    N("Reshape", ["t", "s2"], ["y"])],
         {"x": rnd(1, c, 3, 4)}, inits={"s1": i64(1, 3, -1, 3, 4), "s2": i64(1, -1, 3, 4)}, exact=True)
    for name, shape in [("zero_minus1", [0, -1]), ("zero_zero_minus1", [0, 0, -1]), ("minus1", [-1]),
                        ("explicit", [3, 20]), ("minus1_first", [-1, 5]), ("zero_minus1_2", [0, -1, 2])]:
        case(f"reshape_{name}", [N("Reshape", ["x", "s"], ["y"])], {"x": x}, inits={"s": i64(*shape)}, exact=True)
    case("reshape_opset11", [N("Reshape", ["x", "s"], ["y"])], {"x": x}, inits={"s": i64(0, -1)}, opset=11, exact=True)
    case("reshape_int64_data", [N("Reshape", ["x", "s"], ["y"])], {"x": x}, inits={"s": i64(1, 60)},
         float_data={"s"}, exact=True)
    for axis in [0, 1, 2, 3, -1]:
        case(f"flatten_axis{axis}".replace("-", "neg"), [N("Flatten", ["x"], ["y"], axis=axis)], {"x": x}, exact=True)
    case("flatten_default", [N("Flatten", ["x"], ["y"])], {"x": x}, exact=True)
    p = rnd(2, 3, 1, 1)
    case("squeeze_attr_opset11", [N("Squeeze", ["x"], ["y"], axes=[2, 3])], {"x": p}, opset=11, exact=True)
    case("squeeze_input_opset13", [N("Squeeze", ["x", "a"], ["y"])], {"x": p}, inits={"a": i64(2, 3)}, opset=13,
         exact=True)
    case("squeeze_negative_axes", [N("Squeeze", ["x", "a"], ["y"])], {"x": p}, inits={"a": i64(-1)}, exact=True)
    case("squeeze_all", [N("Squeeze", ["x"], ["y"])], {"x": rnd(1, 3, 1, 4)}, exact=True)
    v = rnd(2, 3)
    case("unsqueeze_attr_opset11", [N("Unsqueeze", ["x"], ["y"], axes=[2, 3])], {"x": v}, opset=11, exact=True)
    case("unsqueeze_input_opset13", [N("Unsqueeze", ["x", "a"], ["y"])], {"x": v}, inits={"a": i64(0, 3)}, opset=13,
         exact=True)
    case("unsqueeze_negative_axes", [N("Unsqueeze", ["x", "a"], ["y"])], {"x": v}, inits={"a": i64(-1, 1)},
         exact=True)


# ---------------------------------------------------------------- pooling
def pool_cases():
    x = rnd(1, 3, 9, 9)
    x.flat[0] = -1e30  # a padded max must not see a 0
    mp = lambda **a: [N("MaxPool", ["x"], ["y"], **a)]  # noqa: E731
    case("maxpool_k3s2p1", mp(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]), {"x": x}, exact=True)
    case("maxpool_k2s2", mp(kernel_shape=[2, 2], strides=[2, 2]), {"x": x}, exact=True)
    case("maxpool_no_strides", mp(kernel_shape=[2, 2]), {"x": x}, exact=True)  # ONNX default stride is 1
    case("maxpool_ceil", mp(kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1), {"x": x}, exact=True)
    case("maxpool_ceil_k3s2", mp(kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1), {"x": rnd(1, 2, 8, 8)}, exact=True)
    # ceil mode where the last window would start in the padding (dropped, as in PyTorch)
    case("maxpool_ceil_pad_last_window", mp(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1),
         {"x": rnd(1, 2, 6, 6)}, exact=True)
    case("maxpool_dilations2", mp(kernel_shape=[3, 3], strides=[1, 1], dilations=[2, 2]), {"x": x}, exact=True)
    case("maxpool_dilations_ceil", mp(kernel_shape=[2, 2], strides=[2, 2], dilations=[2, 1], pads=[1, 0, 1, 0],
                                      ceil_mode=1), {"x": x}, exact=True)
    case("maxpool_asymmetric_pads", mp(kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 1, 1]), {"x": x}, exact=True)
    case("maxpool_nonsquare", mp(kernel_shape=[2, 3], strides=[1, 2], pads=[1, 1, 0, 1]), {"x": x}, exact=True)
    case("maxpool_auto_pad_same_upper", mp(kernel_shape=[2, 2], strides=[2, 2], auto_pad="SAME_UPPER"), {"x": x},
         exact=True)
    # onnx.reference gives SAME_LOWER a 4x4 output here, against the spec's ceil(9 / 2) = 5
    # (onnxruntime and onnx's own shape inference say 5): PyTorch on the explicitly padded input
    case("maxpool_auto_pad_same_lower", mp(kernel_shape=[2, 2], strides=[2, 2], auto_pad="SAME_LOWER"), {"x": x},
         exact=True, torch_fn=lambda x: F_().max_pool2d(F_().pad(x, (1, 0, 1, 0), value=NEG_INF), 2, 2))
    case("maxpool_opset11", mp(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1), {"x": x},
         opset=11, exact=True)
    ap = lambda **a: [N("AveragePool", ["x"], ["y"], **a)]  # noqa: E731
    y = rnd(1, 3, 9, 9)
    for cip in [0, 1]:
        case(f"avgpool_k3s2p1_cip{cip}", ap(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
                                            count_include_pad=cip), {"x": y})
        case(f"avgpool_ceil_cip{cip}", ap(kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1, count_include_pad=cip),
             {"x": y})
        case(f"avgpool_ceil_pads_cip{cip}", ap(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1,
                                               count_include_pad=cip), {"x": rnd(1, 2, 6, 6)})
        case(f"avgpool_asymmetric_pads_cip{cip}", ap(kernel_shape=[3, 3], strides=[2, 2], pads=[0, 1, 2, 1],
                                                     count_include_pad=cip), {"x": y})
    case("avgpool_k2s2", ap(kernel_shape=[2, 2], strides=[2, 2]), {"x": y})
    case("avgpool_no_strides", ap(kernel_shape=[3, 3]), {"x": y})
    case("avgpool_opset11", ap(kernel_shape=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1], count_include_pad=0),
         {"x": y}, opset=11)
    case("avgpool_auto_pad_same_upper", ap(kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_UPPER"), {"x": rnd(1, 2, 8, 8)})
    z = rnd(2, 3, 5, 7)
    case("globalavgpool", [N("GlobalAveragePool", ["x"], ["y"])], {"x": z})
    case("globalmaxpool", [N("GlobalMaxPool", ["x"], ["y"])], {"x": z}, exact=True)
    rm = "ReduceMean"
    case("reducemean_axes23_keepdims1_opset13", [N(rm, ["x"], ["y"], axes=[2, 3], keepdims=1)], {"x": z}, opset=13)
    case("reducemean_axes23_keepdims0_opset13", [N(rm, ["x"], ["y"], axes=[2, 3], keepdims=0)], {"x": z}, opset=13)
    case("reducemean_axes_neg_opset13", [N(rm, ["x"], ["y"], axes=[-1, -2])], {"x": z}, opset=13)
    case("reducemean_axes23_keepdims1_opset18", [N(rm, ["x", "a"], ["y"], keepdims=1)], {"x": z},
         inits={"a": i64(2, 3)}, opset=18)
    case("reducemean_axes23_keepdims0_opset18", [N(rm, ["x", "a"], ["y"], keepdims=0)], {"x": z},
         inits={"a": i64(2, 3)}, opset=18)
    case("reducemean_axis1_opset18", [N(rm, ["x", "a"], ["y"])], {"x": z}, inits={"a": i64(1)}, opset=18)


# ---------------------------------------------------------------- Resize / Upsample
def resize_cases():
    up = rnd(1, 2, 4, 5)
    down = rnd(1, 2, 8, 9)
    ctms = ["half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric"]
    nms = ["floor", "round_prefer_floor", "round_prefer_ceil", "ceil"]
    short = {"half_pixel": "hp", "pytorch_half_pixel": "php", "align_corners": "ac", "asymmetric": "asym",
             "floor": "floor", "round_prefer_floor": "rpf", "round_prefer_ceil": "rpc", "ceil": "ceil"}

    def rs(name, x, scales=None, sizes=None, opset=17, exact=False, **attrs):
        kw = {}
        if attrs.get("coordinate_transformation_mode") == "align_corners" and scales is not None:
            # onnx.reference maps align_corners through the given scales; the spec (and
            # onnxruntime) use the lengths: x_original = x_resized * (in - 1) / (out - 1)
            out = [int(np.floor(n * sc)) for n, sc in zip(x.shape, scales)]
            if attrs.get("mode") == "linear":
                kw["torch_fn"] = lambda x, **_: F_().interpolate(x, size=out[2:], mode="bilinear", align_corners=True)
            else:
                kw["torch_fn"] = spec_nearest(out, scales, attrs["coordinate_transformation_mode"],
                                              attrs.get("nearest_mode", "round_prefer_floor"))
        inits = {}
        if opset < 13:
            # Resize-11: roi and scales are required inputs (empty when unused)
            names = ["x", "roi", "scales"]
            inits["roi"] = np.zeros(0, np.float32)
            inits["scales"] = f32(*scales) if scales is not None else np.zeros(0, np.float32)
        else:
            names = ["x", "", "scales" if scales is not None else ""]
            if scales is not None:
                inits["scales"] = f32(*scales)
        if sizes is not None:
            names.append("sizes")
            inits["sizes"] = i64(*sizes)
        case(name, [N("Resize", names, ["y"], **attrs)], {"x": x}, inits=inits, opset=opset, exact=exact, **kw)

    for ctm in ctms:
        for nm in nms:
            tag = f"{short[ctm]}_{short[nm]}"
            # non-integer scales: output floor(4*1.7)=6, floor(5*2.3)=11, the mapping uses the scales given
            rs(f"resize_nearest_{tag}_up_scales", up, scales=[1, 1, 1.7, 2.3], mode="nearest",
               coordinate_transformation_mode=ctm, nearest_mode=nm, exact=True)
            rs(f"resize_nearest_{tag}_down_sizes", down, sizes=[1, 2, 5, 4], mode="nearest",
               coordinate_transformation_mode=ctm, nearest_mode=nm, exact=True)
        tag = short[ctm]
        rs(f"resize_nearest_{tag}_x2", up, scales=[1, 1, 2, 2], mode="nearest", coordinate_transformation_mode=ctm,
           exact=True)
        rs(f"resize_nearest_{tag}_down_scales", down, scales=[1, 1, 0.6, 0.5], mode="nearest",
           coordinate_transformation_mode=ctm, exact=True)
        rs(f"resize_nearest_{tag}_up_sizes", up, sizes=[1, 2, 7, 12], mode="nearest",
           coordinate_transformation_mode=ctm, exact=True)
        rs(f"resize_linear_{tag}_x2", up, scales=[1, 1, 2, 2], mode="linear", coordinate_transformation_mode=ctm)
        rs(f"resize_linear_{tag}_up_scales", up, scales=[1, 1, 1.7, 2.3], mode="linear",
           coordinate_transformation_mode=ctm)
        rs(f"resize_linear_{tag}_down_scales", down, scales=[1, 1, 0.6, 0.5], mode="linear",
           coordinate_transformation_mode=ctm)
        rs(f"resize_linear_{tag}_up_sizes", up, sizes=[1, 2, 7, 12], mode="linear", coordinate_transformation_mode=ctm)
        rs(f"resize_linear_{tag}_down_sizes", down, sizes=[1, 2, 5, 4], mode="linear",
           coordinate_transformation_mode=ctm)
        rs(f"resize_linear_{tag}_to_1x1", down, sizes=[1, 2, 1, 1], mode="linear", coordinate_transformation_mode=ctm)
    # defaults: mode nearest, half_pixel, round_prefer_floor
    rs("resize_defaults_x2", up, scales=[1, 1, 2, 2], exact=True)
    rs("resize_defaults_up_scales", up, scales=[1, 1, 1.5, 2.5], exact=True)
    # the forms torch writes: nearest asymmetric floor (F.interpolate nearest), linear
    # pytorch_half_pixel / align_corners (bilinear)
    rs("resize_torch_nearest_x2", up, scales=[1, 1, 2, 2], mode="nearest",
       coordinate_transformation_mode="asymmetric", nearest_mode="floor", exact=True)
    rs("resize_torch_nearest_sizes", up, sizes=[1, 2, 10, 7], mode="nearest",
       coordinate_transformation_mode="asymmetric", nearest_mode="floor", exact=True)
    rs("resize_batch_channel_scale1", rnd(2, 3, 3, 4), scales=[1, 1, 2, 2], mode="linear",
       coordinate_transformation_mode="pytorch_half_pixel")
    for opset in [11, 13]:
        rs(f"resize_nearest_scales_opset{opset}", up, scales=[1, 1, 2, 2], mode="nearest",
           coordinate_transformation_mode="asymmetric", nearest_mode="floor", opset=opset, exact=True)
        rs(f"resize_linear_sizes_opset{opset}", up, sizes=[1, 2, 7, 12], mode="linear",
           coordinate_transformation_mode="align_corners", opset=opset)
        rs(f"resize_linear_scales_opset{opset}", up, scales=[1, 1, 1.7, 2.3], mode="linear",
           coordinate_transformation_mode="pytorch_half_pixel", opset=opset)
    # sizes computed at run time, as the TorchScript exporter writes F.interpolate(size=...)
    case("resize_sizes_runtime", [N("Shape", ["x"], ["s"]), N("Slice", ["s", "z", "two", "z"], ["nc"]),
                                  N("Concat", ["nc", "hw"], ["sizes"], axis=0),
                                  N("Resize", ["x", "", "", "sizes"], ["y"], mode="linear",
                                    coordinate_transformation_mode="pytorch_half_pixel")],
         {"x": up}, inits={"z": i64(0), "two": i64(2), "hw": i64(9, 6)})
    # Upsample (deprecated since opset 10), opset 9: scales an input
    case("upsample_nearest_opset9", [N("Upsample", ["x", "scales"], ["y"], mode="nearest")], {"x": up},
         inits={"scales": f32(1, 1, 2, 2)}, opset=9, exact=True)
    case("upsample_nearest_nonsquare_opset9", [N("Upsample", ["x", "scales"], ["y"], mode="nearest")], {"x": up},
         inits={"scales": f32(1, 1, 2, 3)}, opset=9, exact=True)
    case("upsample_linear_opset9", [N("Upsample", ["x", "scales"], ["y"], mode="linear")], {"x": up},
         inits={"scales": f32(1, 1, 2, 2)}, opset=9)


# ---------------------------------------------------------------- Gemm / MatMul / Softmax
def gemm_cases():
    a, a_t = rnd(3, 5), rnd(5, 3)
    b, b_t = rnd(5, 4), rnd(4, 5)
    case("gemm_basic", [N("Gemm", ["a", "b", "c"], ["y"])], {"a": a}, inits={"b": b, "c": rnd(4)},
         float_data={"b", "c"})
    case("gemm_transb_linear", [N("Gemm", ["a", "b", "c"], ["y"], transB=1)], {"a": a}, inits={"b": b_t, "c": rnd(4)})
    case("gemm_transa", [N("Gemm", ["a", "b", "c"], ["y"], transA=1)], {"a": a_t}, inits={"b": b, "c": rnd(4)})
    case("gemm_transa_transb", [N("Gemm", ["a", "b", "c"], ["y"], transA=1, transB=1)], {"a": a_t},
         inits={"b": b_t, "c": rnd(4)})
    case("gemm_alpha_beta", [N("Gemm", ["a", "b", "c"], ["y"], alpha=0.5, beta=2.0, transB=1)], {"a": a},
         inits={"b": b_t, "c": rnd(4)})
    case("gemm_c_1xn", [N("Gemm", ["a", "b", "c"], ["y"])], {"a": a}, inits={"b": b, "c": rnd(1, 4)})
    case("gemm_c_mxn", [N("Gemm", ["a", "b", "c"], ["y"])], {"a": a}, inits={"b": b, "c": rnd(3, 4)})
    case("gemm_c_mx1", [N("Gemm", ["a", "b", "c"], ["y"])], {"a": a}, inits={"b": b, "c": rnd(3, 1)})
    case("gemm_c_scalar", [N("Gemm", ["a", "b", "c"], ["y"])], {"a": a}, inits={"b": b, "c": f32(0.5)})
    case("gemm_no_c", [N("Gemm", ["a", "b"], ["y"], transB=1)], {"a": a}, inits={"b": b_t})
    case("gemm_b_input", [N("Gemm", ["a", "b", "c"], ["y"], transB=1)], {"a": a, "b": b_t}, inits={"c": rnd(4)})
    case("gemm_opset11", [N("Gemm", ["a", "b", "c"], ["y"], transB=1)], {"a": a}, inits={"b": b_t, "c": rnd(4)},
         opset=11)
    case("gemm_opset9_c_required", [N("Gemm", ["a", "b", "c"], ["y"], transB=1, beta=0.0)], {"a": a},
         inits={"b": b_t, "c": rnd(4)}, opset=9)
    case("matmul_2d", [N("MatMul", ["a", "b"], ["y"])], {"a": a}, inits={"b": b})
    case("matmul_1xk", [N("MatMul", ["a", "b"], ["y"])], {"a": rnd(1, 5)}, inits={"b": b})
    case("matmul_inputs", [N("MatMul", ["a", "b"], ["y"])], {"a": a, "b": b})
    case("matmul_batched_3d", [N("MatMul", ["a", "b"], ["y"])], {"a": rnd(2, 3, 5)}, inits={"b": b})
    case("matmul_add_linear", [N("MatMul", ["a", "w"], ["m"]), N("Add", ["m", "c"], ["y"])], {"a": rnd(2, 5)},
         inits={"w": b, "c": rnd(4)})
    x = rnd(2, 3, 4, 5, scale=2.0)
    # Softmax-11 coerces the input to 2-D at `axis` (softmax over dims axis.. together);
    # onnx.reference applies Softmax-13's per-axis semantics there, onnxruntime the spec's.
    coerced = lambda axis: lambda x: F_().softmax(x.reshape(*x.shape[:axis], -1), -1).reshape(x.shape)  # noqa: E731
    for opset in [11, 13]:
        case(f"softmax_axis1_opset{opset}", [N("Softmax", ["x"], ["y"], axis=1)], {"x": x}, opset=opset,
             torch_fn=coerced(1) if opset == 11 else None)
        case(f"softmax_axis_neg1_opset{opset}", [N("Softmax", ["x"], ["y"], axis=-1)], {"x": x}, opset=opset)
        case(f"softmax_2d_opset{opset}", [N("Softmax", ["x"], ["y"], axis=1)], {"x": rnd(3, 10, scale=3.0)},
             opset=opset)
    case("softmax_default_axis_opset11", [N("Softmax", ["x"], ["y"])], {"x": x}, opset=11,
         torch_fn=coerced(1))  # axis 1, coerced 2-D
    case("softmax_default_axis", [N("Softmax", ["x"], ["y"])], {"x": x})  # axis -1
    case("softmax_large_values", [N("Softmax", ["x"], ["y"], axis=1)], {"x": rnd(2, 10, scale=100.0)})


# ---------------------------------------------------------------- misc
def misc_cases():
    x = rnd(2, 3, 4, 4)
    case("dropout_opset11", [N("Dropout", ["x"], ["y"], ratio=0.3)], {"x": x}, opset=11, exact=True)
    case("dropout_ratio_input", [N("Dropout", ["x", "r"], ["y"])], {"x": x}, inits={"r": f32(0.5).reshape(())},
         exact=True)
    case("dropout_no_ratio", [N("Dropout", ["x"], ["y"])], {"x": x}, exact=True)
    case("dropout_training_false", [N("Dropout", ["x", "r", "t"], ["y"])], {"x": x},
         inits={"r": f32(0.5).reshape(()), "t": np.array(False)}, exact=True)
    # the flatten torch's TorchScript exporter wrote: x.view(x.size(0), -1)
    chain = lambda unsq: [N("Shape", ["x"], ["s"]),  # noqa: E731
                          N("Gather", ["s", "i0"], ["n"], axis=0),
                          unsq,
                          N("Concat", ["n1", "m1"], ["shape"], axis=0),
                          N("Reshape", ["x", "shape"], ["y"])]
    case("shape_gather_unsqueeze_concat_reshape_opset11", chain(N("Unsqueeze", ["n"], ["n1"], axes=[0])), {"x": x},
         inits={"i0": np.array(0, np.int64), "m1": i64(-1)}, opset=11, exact=True)
    case("shape_gather_unsqueeze_concat_reshape_opset13", chain(N("Unsqueeze", ["n", "ax"], ["n1"])), {"x": x},
         inits={"i0": np.array(0, np.int64), "m1": i64(-1), "ax": i64(0)}, opset=13, exact=True)
    # the same with the constants as Constant nodes, batch and channels kept: [N, C, -1]
    case("shape_gather_constants", [
        N("Constant", [], ["i0"], value=numpy_helper.from_array(np.array(0, np.int64))),
        N("Constant", [], ["i1"], value=numpy_helper.from_array(np.array(1, np.int64))),
        N("Constant", [], ["m1"], value=numpy_helper.from_array(i64(-1))),
        N("Constant", [], ["ax"], value=numpy_helper.from_array(i64(0))),
        N("Shape", ["x"], ["s"]), N("Gather", ["s", "i0"], ["n"], axis=0), N("Gather", ["s", "i1"], ["c"], axis=0),
        N("Unsqueeze", ["n", "ax"], ["n1"]), N("Unsqueeze", ["c", "ax"], ["c1"]),
        N("Concat", ["n1", "c1", "m1"], ["shape"], axis=0), N("Reshape", ["x", "shape"], ["y"])],
        {"x": x}, exact=True)
    case("shape_start_end_opset15", [N("Shape", ["x"], ["s"], start=2), N("ConstantOfShape", ["s"], ["o"],
                                                                          value=numpy_helper.from_array(f32(0.5))),
                                     N("Add", ["x", "o"], ["y"])], {"x": x}, opset=15)
    # torch's x.chunk(2, dim=1) as the TorchScript exporter writes it (ShuffleNet): the
    # slice bounds are int64 arithmetic on the shape; 7 channels: (7 + 1) / 2 = 4, so 4 and 3
    case("shape_arithmetic_chunk", [
        N("Shape", ["x"], ["s"]), N("Gather", ["s", "one"], ["c"], axis=0), N("Add", ["c", "one"], ["c1"]),
        N("Div", ["c1", "two"], ["half"]), N("Mul", ["half", "one"], ["mid"]), N("Mul", ["half", "two"], ["end"]),
        N("Slice", ["x", "zero", "mid", "one"], ["a"]), N("Slice", ["x", "mid", "end", "one"], ["b"])],
        {"x": rnd(1, 7, 3, 4)}, outputs=["a", "b"], inits={"zero": i64(0), "one": i64(1), "two": i64(2)}, exact=True)
    case("gather_channels", [N("Gather", ["x", "idx"], ["y"], axis=1)], {"x": x}, inits={"idx": i64(2, 0)},
         exact=True)
    case("constant_tensor", [N("Constant", [], ["c"], value=numpy_helper.from_array(rnd(3, 1, 1))),
                             N("Add", ["x", "c"], ["y"])], {"x": x})
    case("constant_value_float", [N("Constant", [], ["c"], value_float=0.5), N("Mul", ["x", "c"], ["y"])], {"x": x})
    case("constant_value_floats", [N("Constant", [], ["c"], value_floats=[1.0, 2.0, 3.0, 4.0]),
                                   N("Mul", ["x", "c"], ["y"])], {"x": x})
    case("constantofshape_from_shape", [N("Shape", ["x"], ["s"]),
                                        N("ConstantOfShape", ["s"], ["o"], value=numpy_helper.from_array(f32(1.5))),
                                        N("Add", ["x", "o"], ["y"])], {"x": x})
    case("constantofshape_default_zero", [N("ConstantOfShape", ["s"], ["o"]), N("Add", ["x", "o"], ["y"])],
         {"x": x}, inits={"s": i64(1, 3, 1, 1)}, exact=True)
    case("cast_float_int32_float", [N("Mul", ["x", "ten"], ["m"]), N("Cast", ["m"], ["i"], to=TensorProto.INT32),
                                    N("Cast", ["i"], ["y"], to=FLOAT)],
         {"x": x}, inits={"ten": f32(10.0).reshape(())},
         note="Cast to int32 truncates toward zero")
    case("cast_float_float16_float", [N("Cast", ["x"], ["h"], to=TensorProto.FLOAT16), N("Cast", ["h"], ["y"], to=FLOAT)],
         {"x": x}, exact=True, note="rounds to the nearest float16, ties to even")
    case("cast_float_to_float", [N("Cast", ["x"], ["y"], to=FLOAT)], {"x": x}, exact=True)
    case("identity_chain_two_outputs", [N("Identity", ["x"], ["a"]), N("Relu", ["x"], ["b"])], {"x": x},
         outputs=["a", "b"], exact=True)


def dynamo_form_cases():
    """Nodes as torch.onnx.export(dynamo=True) writes them at its default opset 20."""
    x = rnd(1, 2, 4, 5)
    r20 = dict(antialias=0, coordinate_transformation_mode="half_pixel", cubic_coeff_a=-0.75, exclude_outside=0,
               extrapolation_value=0.0, keep_aspect_ratio_policy="stretch")
    case("resize_linear_opset20", [N("Resize", ["x", "", "scales"], ["y"], mode="linear", nearest_mode="floor", **r20)],
         {"x": x}, inits={"scales": f32(1, 1, 2, 2)}, opset=20)
    case("resize_linear_sizes_opset20", [N("Resize", ["x", "", "", "sizes"], ["y"], mode="linear", nearest_mode="floor",
                                           **r20)], {"x": x}, inits={"sizes": i64(1, 2, 9, 7)}, opset=20)
    r20["coordinate_transformation_mode"] = "asymmetric"
    case("resize_nearest_opset20", [N("Resize", ["x", "", "scales"], ["y"], mode="nearest", nearest_mode="floor",
                                      **r20)], {"x": x}, inits={"scales": f32(1, 1, 2, 2)}, opset=20, exact=True)
    case("reducemean_opset20_noop0", [N("ReduceMean", ["x", "a"], ["y"], keepdims=1, noop_with_empty_axes=0)],
         {"x": x}, inits={"a": i64(-1, -2)}, opset=20)
    case("reshape_allowzero1_opset20", [N("Reshape", ["x", "s"], ["y"], allowzero=1)], {"x": x},
         inits={"s": i64(1, 40)}, opset=20, exact=True)
    case("split_num_outputs_opset20", [N("Split", ["x"], ["y0", "y1"], axis=1, num_outputs=2)], {"x": x},
         outputs=["y0", "y1"], opset=20, exact=True)
    case("conv_opset20", [N("Conv", ["x", "w", "b"], ["y"], auto_pad="NOTSET", dilations=[1, 1], group=1,
                            pads=[1, 1, 1, 1], strides=[1, 1])], {"x": x}, inits={"w": rnd(3, 2, 3, 3), "b": rnd(3)},
         opset=20)


def error_cases():
    x = rnd(1, 2, 4, 4)
    # LSTM (unsupported) between supported ops
    case("error_lstm", [N("Conv", ["x", "w"], ["c"]), N("Reshape", ["c", "s"], ["seq"]),
                        N("LSTM", ["seq", "W", "R"], ["h"], hidden_size=3), N("Relu", ["h"], ["y"])],
         {"x": x}, inits={"w": rnd(2, 2, 1, 1), "s": i64(4, 2, 4), "W": rnd(1, 12, 4), "R": rnd(1, 12, 3)},
         expect_error=True)
    case("error_nonmaxsuppression", [N("Relu", ["boxes"], ["b"]),
                                     N("NonMaxSuppression", ["b", "scores", "k"], ["sel"]),
                                     N("Cast", ["sel"], ["y"], to=FLOAT)],
         {"boxes": np.abs(rnd(1, 6, 4)), "scores": rnd(1, 1, 6)}, inits={"k": i64(3)}, expect_error=True)
    case("error_custom_domain", [N("Relu", ["x"], ["r"]), N("FancyOp", ["r"], ["y"], domain="com.example")],
         {"x": x}, expect_error=True)


def se_block(x, c_out, k, pad, c_mid=2):
    """A squeeze-and-excitation block and the convolution after it, as EfficientNet and
    MobileNetV3 export it: GlobalAveragePool, 1x1 conv, Relu, 1x1 conv, Sigmoid, Mul with
    the map, then a k x k convolution of the scaled map."""
    c = x.shape[1]
    nodes = [N("GlobalAveragePool", ["x"], ["g"]), N("Conv", ["g", "w1", "b1"], ["h"]), N("Relu", ["h"], ["r"]),
             N("Conv", ["r", "w2", "b2"], ["e"]), N("Sigmoid", ["e"], ["s"]), N("Mul", ["s", "x"], ["m"]),
             N("Conv", ["m", "w3", "b3"], ["y"], pads=[pad] * 4)]
    inits = {"w1": rnd(c_mid, c, 1, 1), "b1": rnd(c_mid), "w2": rnd(c, c_mid, 1, 1), "b2": rnd(c),
             "w3": rnd(c_out, c, k, k), "b3": rnd(c_out)}
    return nodes, {"x": x}, inits


def fusion_cases():
    """Graphs whose steps the planner fuses: the channel scaling of an SE block folded
    into the next convolution's weight (where the weight is the smaller, at batch 1),
    and the same shapes where it is not folded."""
    for name, x, c_out, k, pad in [
        ("se_fold_pointwise", rnd(1, 8, 6, 6), 4, 1, 0),   # weight 32 < map 288: folded
        ("se_fold_padded", rnd(1, 8, 6, 6), 2, 3, 1),      # 144 < 288, zero padding: folded
        ("se_no_fold_wide", rnd(1, 8, 3, 3), 16, 1, 0),    # weight 128 > map 72: not folded
        ("se_no_fold_batch", rnd(2, 8, 6, 6), 4, 1, 0),    # batch 2: not folded
    ]:
        nodes, inputs, inits = se_block(x, c_out, k, pad)
        case(name, nodes, inputs, inits=inits)
    concat_in_place_cases()


def concat_in_place_cases():
    """Concatenations whose parts the executor computes straight into their place in the
    output, beside the parts it must still copy: a graph input, a part at an offset the
    device may not bind at (5x5 maps), a producer that reads another part of the same
    buffer, a part also read elsewhere or given twice, a part that is a graph output, a
    convolution with a fused residual and relu, and batch 2, where parts are not
    contiguous."""
    x = rnd(1, 4, 5, 5)
    conv = lambda i, o, w, k=3, **a: N("Conv", [i, w, "b" + w[1:]], [o], pads=[k // 2] * 4, **a)  # noqa: E731
    case("concat_in_place_parts",
         [conv("x", "c1", "w1"), N("Relu", ["x"], ["r"]), conv("x", "c2", "w2", k=1),
          N("MaxPool", ["x"], ["p"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1]),
          N("Concat", ["c1", "r", "x", "c2", "p"], ["y"], axis=1)],
         {"x": x}, inits={"w1": rnd(16, 4, 3, 3), "b1": rnd(16), "w2": rnd(3, 4, 1, 1), "b2": rnd(3)})
    case("concat_in_place_reads_a_sibling",
         [conv("x", "a", "w1"), conv("a", "c", "w2"), N("Concat", ["a", "c"], ["y"], axis=1)],
         {"x": x}, inits={"w1": rnd(8, 4, 3, 3), "b1": rnd(8), "w2": rnd(8, 8, 3, 3), "b2": rnd(8)})
    case("concat_in_place_shared_parts",
         [conv("x", "s", "w1"), N("Relu", ["x"], ["r"]), N("Concat", ["s", "r"], ["y1"], axis=1),
          N("Sigmoid", ["s"], ["g"]), N("Concat", ["g", "s", "s"], ["y2"], axis=1),
          N("Add", ["y1", "y1"], ["y"])],
         {"x": x}, outputs=["y", "y2"], inits={"w1": rnd(4, 4, 3, 3), "b1": rnd(4)})
    case("concat_in_place_output_part",
         [conv("x", "c", "w1"), N("Relu", ["x"], ["r"]), N("Concat", ["c", "r"], ["y"], axis=1)],
         {"x": x}, outputs=["y", "c"], inits={"w1": rnd(4, 4, 3, 3), "b1": rnd(4)})
    case("concat_in_place_output_view",
         [conv("x", "c", "w1"), N("Relu", ["x"], ["r"]), N("Concat", ["c", "r"], ["y"], axis=1),
          N("Flatten", ["c"], ["z"])],
         {"x": x}, outputs=["y", "z"], inits={"w1": rnd(4, 4, 3, 3), "b1": rnd(4)})
    case("concat_in_place_residual",
         [conv("x", "c", "w1"), N("Add", ["c", "x"], ["a"]), N("Relu", ["a"], ["r"]),
          N("Concat", ["x", "r"], ["y"], axis=1)],
         {"x": rnd(1, 16, 8, 8)}, inits={"w1": rnd(16, 16, 3, 3), "b1": rnd(16)})
    case("concat_in_place_unary",
         [N("Relu", ["x"], ["r"]), N("Sigmoid", ["x"], ["s"]), N("Concat", ["r", "s"], ["y"], axis=1)],
         {"x": x})
    # any input size (tests/concat.rs runs it on a larger map to measure its memory)
    path = os.path.join(OUT, "concat_in_place_unary.onnx")
    m = onnx.load(path)
    for v, dims in [(m.graph.input[0], "nchw"), (m.graph.output[0], "nkhw")]:
        for d, name in zip(v.type.tensor_type.shape.dim, dims):
            d.dim_param = name
    onnx.save(m, path)
    case("concat_in_place_batch2",
         [conv("x", "c", "w1"), N("Relu", ["x"], ["r"]), N("Concat", ["c", "r"], ["y"], axis=1)],
         {"x": rnd(2, 4, 5, 5)}, inits={"w1": rnd(4, 4, 3, 3), "b1": rnd(4)})


def half_model_cases():
    """Networks exported from PyTorch in half precision (model.half(), FLOAT16 inputs and
    initializers): the case is dtype float16, its input and expected F16, expected
    PyTorch's CPU half output. Tolerance: one f16 step (2^-10) plus 1e-3 absolute, for
    the f32 sums of two orders, PyTorch's own among them."""
    import torch
    import torch.nn as nn

    torch.manual_seed(12)
    tol = {"atol": 1e-3, "rtol": 2.0 ** -10}

    def half_case(name, model, x):
        model = model.eval().half()
        x = x.half()
        path = os.path.join(OUT, f"{name}.onnx")
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(model, (x,), path, dynamo=False, opset_version=17)
            y = model(x)
        meta = {"op": "model", "params": json.dumps({"model": f"{name}.onnx"}),
                "source": f"torch {torch.__version__}, CPU half", "dtype": "float16",
                "tolerance": json.dumps(tol)}
        save_file({"input": x.numpy(), "expected": y.numpy()},
                  os.path.join(OUT, f"{name}.safetensors"), metadata=meta)
        written.append(name)
        print(f"{name}: {tuple(y.shape)} [CPU half]")

    half_case("half_convnet", nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1, groups=2), nn.Hardswish(), nn.Conv2d(16, 8, 1),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 5)), torch.randn(2, 3, 16, 16))

    class Skip(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Conv2d(4, 4, 3, padding=1)
            self.b = nn.Conv2d(4, 4, 3, padding=1)
            self.up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)

        def forward(self, x):
            y = torch.relu(self.a(x)) + x
            z = torch.cat([self.b(y), y], 1)
            return torch.sigmoid(self.up(nn.functional.avg_pool2d(z, 2)))

    half_case("half_skip_concat", Skip(), torch.randn(1, 4, 12, 12))


def main():
    if sys.argv[1:] == ["half"]:
        # the half-precision networks alone, next to the other cases
        half_model_cases()
        return 0
    os.makedirs(OUT, exist_ok=True)
    for f in glob.glob(os.path.join(OUT, "*.onnx")) + glob.glob(os.path.join(OUT, "*.safetensors")):
        os.remove(f)  # stale cases (tests/onnx/models/ is export_onnx.py's)
    for group in [conv_cases, conv_transpose_cases, bn_cases, activation_cases, binary_cases, concat_split_cases,
                  slice_cases, transpose_reshape_cases, pool_cases, resize_cases, gemm_cases, misc_cases,
                  dynamo_form_cases, error_cases, fusion_cases, half_model_cases]:
        group()
    size = sum(os.path.getsize(os.path.join(OUT, f"{n}{e}")) for n in written for e in (".onnx", ".safetensors"))
    print(f"\n{len(written)} cases, {size / 1024:.0f} KiB in {os.path.normpath(OUT)}")
    if disagreements:
        print(f"{len(disagreements)} disagreements (each case keeps the trusted answer):")
        for d in disagreements:
            print("  " + d)
    return 0


if __name__ == "__main__":
    sys.exit(main())
