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
import warnings

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
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn(**args, **params, **kw)
    except (RuntimeError, ValueError, TypeError, NotImplementedError, IndexError) as e:
        print(f"    raises: {str(e).splitlines()[0]}")
        return None


def case(name, op, fn, tensors, params, **kw):
    y = call(fn, tensors, params, **kw)
    save(name, op, params, tensors, expected=y, error=y is None)
    print(f"{name}: {'error' if y is None else tuple(y.shape)}")


# ---------------------------------------------------------------- conv_transpose2d
def conv_transpose2d_cases():
    r = torch.randn

    def conv_transpose2d(input, weight, bias=None, **params):
        return F.conv_transpose2d(input, weight, bias, **params)

    def ct(name, x, w, b=None, **params):
        tensors = {"input": x, "weight": w}
        if b is not None:
            tensors["bias"] = b
        case(name, "conv_transpose2d", conv_transpose2d, tensors, params)

    ct("conv_transpose2d_plain", r(2, 3, 5, 6), r(3, 4, 3, 3), r(4))
    ct("conv_transpose2d_stride2", r(2, 4, 7, 7), r(4, 8, 4, 4), r(8), stride=2, padding=1)
    ct("conv_transpose2d_output_padding", r(1, 3, 5, 4), r(3, 2, 3, 3), r(2), stride=2,
       padding=1, output_padding=1)
    ct("conv_transpose2d_rect", r(1, 2, 4, 6), r(2, 3, 2, 5), r(3), stride=[2, 3],
       padding=[1, 2], output_padding=[1, 2])
    ct("conv_transpose2d_dilated", r(1, 2, 5, 5), r(2, 2, 3, 3), stride=1, dilation=2,
       output_padding=1)
    ct("conv_transpose2d_groups", r(2, 4, 5, 5), r(4, 3, 3, 3), r(6), stride=2, groups=2)
    ct("conv_transpose2d_depthwise", r(1, 6, 7, 5), r(6, 1, 3, 3), r(6), padding=1, groups=6)
    ct("conv_transpose2d_unbatched", r(3, 6, 5), r(3, 2, 3, 3), r(2), stride=2)
    ct("conv_transpose2d_err_output_padding", r(1, 1, 4, 4), r(1, 1, 3, 3), output_padding=2)
    ct("conv_transpose2d_err_channels", r(1, 3, 4, 4), r(2, 1, 3, 3))
    ct("conv_transpose2d_err_too_small", r(1, 1, 1, 1), r(1, 1, 1, 1), padding=1)


# ---------------------------------------------------------------- permute, slice
def copy_cases():
    r = torch.randn

    def permute(input, dims):
        return input.permute(dims).contiguous()

    def slice_(input, dim=0, start=None, end=None, step=None):
        # numpy's (and ONNX Slice's) x[start:end:step], negative steps included
        picks = list(range(input.shape[dim]))[slice(start, end, step)]
        return input.index_select(dim, torch.tensor(picks, dtype=torch.long))

    case("permute_3d", "permute", permute, {"input": r(3, 5, 7)}, {"dims": [2, 0, 1]})
    case("permute_4d_nhwc", "permute", permute, {"input": r(2, 3, 4, 5)}, {"dims": [0, 2, 3, 1]})
    case("permute_6d", "permute", permute, {"input": r(2, 1, 3, 2, 3, 2)},
         {"dims": [5, 3, 1, 0, 4, 2]})
    case("permute_err_duplicate", "permute", permute, {"input": r(2, 3, 4)}, {"dims": [0, 1, 1]})
    case("slice_inner", "slice", slice_, {"input": r(2, 3, 10, 4)},
         {"dim": 2, "start": 1, "end": 8, "step": 3})
    case("slice_negative_step", "slice", slice_, {"input": r(3, 9)},
         {"dim": -1, "start": -2, "end": 0, "step": -2})
    case("slice_reversed", "slice", slice_, {"input": r(4, 5)}, {"dim": 0, "step": -1})
    case("slice_clamped", "slice", slice_, {"input": r(6, 2)}, {"start": -100, "end": 100})
    case("slice_empty", "slice", slice_, {"input": r(6, 2)}, {"start": 4, "end": 2})


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


# ---------------------------------------------------------------- conv2d
def conv2d(input, weight, bias=None, padding_mode="zeros", **params):
    if padding_mode == "zeros":
        return F.conv2d(input, weight, bias, **params)
    # nn.Conv2d with a padding mode: pads with F.pad, then convolves unpadded
    c_out, cg, kh, kw = weight.shape
    m = torch.nn.Conv2d(input.shape[-3], c_out, (kh, kw), bias=bias is not None,
                        padding_mode=padding_mode, **params).double()
    with torch.no_grad():
        m.weight.copy_(weight)
        if bias is not None:
            m.bias.copy_(bias)
        return m(input)


def conv_case(name, x, w, b=None, **params):
    tensors = {"input": x, "weight": w}
    if b is not None:
        tensors["bias"] = b
    case(name, "conv2d", conv2d, tensors, params)


def conv2d_cases():
    r = torch.randn
    conv_case("conv2d_seed", r(2, 3, 28, 28), r(16, 3, 3, 3), r(16), padding=1)
    conv_case("conv2d_s21_p10", r(2, 3, 9, 9), r(4, 3, 3, 3), r(4), stride=[2, 1], padding=[1, 0])
    conv_case("conv2d_nobias", r(1, 5, 11, 11), r(7, 5, 3, 3))
    conv_case("conv2d_stride2", r(2, 4, 15, 16), r(8, 4, 3, 3), r(8), stride=2, padding=1)
    conv_case("conv2d_dilation2", r(1, 3, 16, 16), r(4, 3, 3, 3), r(4), dilation=2, padding=2)
    conv_case("conv2d_mixed", r(2, 4, 17, 13), r(6, 4, 3, 5), r(6),
              stride=[2, 3], padding=[2, 1], dilation=[1, 2])
    conv_case("conv2d_groups2", r(2, 4, 9, 9), r(6, 2, 3, 3), r(6), groups=2, padding=1)
    conv_case("conv2d_depthwise", r(2, 8, 10, 10), r(8, 1, 3, 3), r(8), groups=8, padding=1)
    conv_case("conv2d_depthwise_multiplier", r(1, 4, 8, 8), r(12, 1, 3, 3), r(12), groups=4)
    conv_case("conv2d_pointwise", r(2, 16, 7, 7), r(24, 16, 1, 1), r(24))
    conv_case("conv2d_pointwise_strided", r(1, 8, 9, 9), r(4, 8, 1, 1), stride=2)
    conv_case("conv2d_same_odd", r(1, 3, 10, 12), r(5, 3, 3, 3), r(5), padding="same")
    conv_case("conv2d_same_even", r(1, 2, 9, 9), r(3, 2, 4, 4), padding="same")
    conv_case("conv2d_same_dilated", r(1, 2, 11, 11), r(2, 2, 4, 3), padding="same", dilation=[2, 3])
    conv_case("conv2d_valid", r(1, 3, 8, 8), r(2, 3, 3, 3), padding="valid")
    conv_case("conv2d_unbatched", r(3, 9, 9), r(4, 3, 3, 3), r(4), padding=1)
    conv_case("conv2d_kernel_is_input", r(1, 2, 5, 5), r(3, 2, 5, 5), r(3))
    conv_case("conv2d_stem", r(1, 3, 32, 32), r(8, 3, 7, 7), stride=2, padding=3)
    conv_case("conv2d_nonsquare", r(1, 3, 6, 20), r(2, 3, 2, 5), r(2), stride=[1, 2], padding=[1, 2])
    conv_case("conv2d_pad_list1", r(1, 2, 6, 6), r(2, 2, 3, 3), padding=[1], stride=[2])
    conv_case("conv2d_empty_batch", r(0, 3, 5, 5), r(4, 3, 3, 3), r(4))
    conv_case("conv2d_wide_k", r(2, 70, 6, 6), r(67, 70, 3, 3), r(67), padding=1)
    for mode in ["reflect", "replicate", "circular"]:
        conv_case(f"conv2d_{mode}", r(2, 3, 7, 8), r(4, 3, 3, 3), r(4), padding=2, padding_mode=mode)
        conv_case(f"conv2d_{mode}_same", r(1, 2, 6, 6), r(3, 2, 4, 4), padding="same", padding_mode=mode)
    conv_case("conv2d_reflect_strided", r(1, 2, 9, 9), r(2, 2, 3, 3), stride=2, padding=[1, 2],
              dilation=[1, 2], padding_mode="reflect")
    # errors
    x = r(1, 1, 28, 28)
    conv_case("conv2d_err_channels", x, r(16, 3, 5, 5))
    conv_case("conv2d_err_rank2", r(3, 4), r(16, 3, 5, 5))
    conv_case("conv2d_err_rank5", r(1, 1, 3, 4, 4), r(16, 1, 3, 3))
    conv_case("conv2d_err_weight_rank", x, r(16, 1, 3))
    conv_case("conv2d_err_groups_out", r(1, 4, 8, 8), r(3, 2, 3, 3), groups=2)
    conv_case("conv2d_err_groups_in", r(1, 5, 8, 8), r(4, 2, 3, 3), groups=2)
    conv_case("conv2d_err_groups_zero", x, r(4, 1, 3, 3), groups=0)
    conv_case("conv2d_err_bias", x, r(4, 1, 3, 3), r(5))
    conv_case("conv2d_err_stride_zero", x, r(4, 1, 3, 3), stride=0)
    conv_case("conv2d_err_stride_negative", x, r(4, 1, 3, 3), stride=[1, -1])
    conv_case("conv2d_err_dilation_zero", x, r(4, 1, 3, 3), dilation=0)
    conv_case("conv2d_err_padding_negative", x, r(4, 1, 3, 3), padding=-1)
    conv_case("conv2d_err_kernel_too_big", r(1, 1, 2, 2), r(4, 1, 3, 3))
    conv_case("conv2d_err_dilated_too_big", r(1, 1, 4, 4), r(4, 1, 3, 3), dilation=2)
    conv_case("conv2d_err_same_strided", x, r(4, 1, 3, 3), padding="same", stride=2)
    conv_case("conv2d_err_padding_string", x, r(4, 1, 3, 3), padding="full")
    conv_case("conv2d_err_padding_list3", x, r(4, 1, 3, 3), padding=[1, 1, 1])
    conv_case("conv2d_err_reflect_too_big", r(1, 1, 3, 3), r(1, 1, 3, 3), padding=3, padding_mode="reflect")
    conv_case("conv2d_err_circular_too_big", r(1, 1, 3, 3), r(1, 1, 3, 3), padding=4, padding_mode="circular")


# ---------------------------------------------------------------- pooling
def pool_cases():
    r = torch.randn

    def mp(name, x, **params):
        if not params.get("return_indices"):
            case(name, "max_pool2d", F.max_pool2d, {"input": x}, params)
            return
        # the expected indices ride along with the values
        y, i = F.max_pool2d(x.double(), **params)
        save_file({"input": x, "expected": y.float(), "expected_indices": i},
                  os.path.join(OUT, f"{name}.safetensors"),
                  metadata={"op": "max_pool2d", "params": json.dumps(params), "source": SOURCE})
        print(f"{name}: {tuple(y.shape)} with indices")

    mp("max_pool2d_2x2", r(2, 3, 8, 8), kernel_size=2)
    mp("max_pool2d_resnet", r(2, 4, 11, 11), kernel_size=3, stride=2, padding=1)
    mp("max_pool2d_ceil", r(1, 2, 5, 5), kernel_size=2, ceil_mode=True)
    mp("max_pool2d_ceil_drop_last", r(1, 1, 5, 5), kernel_size=2, stride=2, padding=1, ceil_mode=True)
    mp("max_pool2d_ceil_s3", r(1, 2, 10, 10), kernel_size=3, stride=3, ceil_mode=True)
    mp("max_pool2d_dilated", r(1, 2, 9, 9), kernel_size=3, dilation=2, padding=1)
    mp("max_pool2d_err_pad_over_half_kernel", r(1, 2, 9, 9), kernel_size=3, dilation=2, padding=2)
    mp("max_pool2d_nonsquare", r(2, 2, 7, 9), kernel_size=[2, 3], stride=[1, 2], padding=[1, 1])
    mp("max_pool2d_indices", r(2, 3, 7, 7), kernel_size=3, stride=2, padding=1, return_indices=True)
    mp("max_pool2d_indices_ceil_dilated", r(1, 2, 8, 9), kernel_size=2, stride=2, dilation=2, padding=1,
       ceil_mode=True, return_indices=True)
    mp("max_pool2d_all_negative_padded", -torch.rand(1, 2, 4, 4) - 1, kernel_size=3, stride=1, padding=1,
       return_indices=True)
    nan = r(1, 2, 6, 6)
    nan[0, 0, 1, 1] = float("nan"); nan[0, 0, 0, 0] = float("nan"); nan[0, 1, 4, 5] = float("nan")
    mp("max_pool2d_nan", nan, kernel_size=2, return_indices=True)
    ties = torch.randint(-2, 3, (2, 2, 6, 6)).float()
    ties[0, 0, 0, 1] = -0.0
    mp("max_pool2d_ties", ties, kernel_size=3, stride=1, padding=1, return_indices=True)
    inf = torch.full((1, 1, 3, 3), -float("inf"))
    mp("max_pool2d_neg_inf", inf, kernel_size=2, padding=1, return_indices=True)
    mp("max_pool2d_unbatched", r(3, 8, 8), kernel_size=2)
    mp("max_pool2d_lists", r(1, 2, 9, 9), kernel_size=[3], stride=[2], padding=[1])
    mp("max_pool2d_err_pad", r(1, 3, 8, 8), kernel_size=3, padding=2)
    mp("max_pool2d_err_too_small", r(1, 3, 2, 2), kernel_size=3)
    mp("max_pool2d_err_stride_zero", r(1, 3, 8, 8), kernel_size=2, stride=0)
    mp("max_pool2d_err_kernel_zero", r(1, 3, 8, 8), kernel_size=0, stride=1)
    mp("max_pool2d_err_rank2", r(3, 4), kernel_size=2)
    mp("max_pool2d_err_rank5", r(1, 1, 3, 4, 4), kernel_size=2)
    mp("max_pool2d_err_negative_pad", r(1, 3, 8, 8), kernel_size=2, padding=-1)
    mp("max_pool2d_err_dilation_zero", r(1, 3, 8, 8), kernel_size=2, dilation=0)
    mp("max_pool2d_err_kernel_list3", r(1, 3, 8, 8), kernel_size=[2, 2, 2])

    def ap(name, x, **params):
        case(name, "avg_pool2d", F.avg_pool2d, {"input": x}, params)

    ap("avg_pool2d_2x2", r(2, 3, 8, 8), kernel_size=2)
    ap("avg_pool2d_3x3_pad", r(2, 3, 9, 9), kernel_size=3, stride=1, padding=1)
    ap("avg_pool2d_3x3_pad_exclude", r(2, 3, 9, 9), kernel_size=3, stride=1, padding=1, count_include_pad=False)
    ap("avg_pool2d_ceil", r(1, 2, 7, 7), kernel_size=3, stride=2, padding=1, ceil_mode=True)
    ap("avg_pool2d_ceil_exclude", r(1, 2, 7, 7), kernel_size=3, stride=2, padding=1, ceil_mode=True,
       count_include_pad=False)
    ap("avg_pool2d_ceil_no_pad", r(1, 2, 6, 8), kernel_size=4, stride=3, ceil_mode=True)
    ap("avg_pool2d_divisor", r(1, 2, 6, 6), kernel_size=3, stride=2, padding=1, divisor_override=5)
    ap("avg_pool2d_nonsquare", r(2, 2, 7, 9), kernel_size=[2, 3], stride=[1, 2], padding=[1, 1])
    ap("avg_pool2d_unbatched", r(3, 8, 8), kernel_size=2)
    ap("avg_pool2d_err_pad", r(1, 3, 8, 8), kernel_size=3, padding=2)
    ap("avg_pool2d_err_divisor_zero", r(1, 3, 8, 8), kernel_size=3, divisor_override=0)
    ap("avg_pool2d_err_too_small", r(1, 3, 2, 2), kernel_size=3)
    ap("avg_pool2d_err_stride_zero", r(1, 3, 8, 8), kernel_size=2, stride=0)

    def aap(name, x, **params):
        case(name, "adaptive_avg_pool2d", F.adaptive_avg_pool2d, {"input": x}, params)

    aap("adaptive_avg_pool2d_7to3", r(2, 3, 7, 7), output_size=3)
    aap("adaptive_avg_pool2d_global", r(2, 8, 5, 6), output_size=1)
    aap("adaptive_avg_pool2d_none", r(1, 2, 8, 6), output_size=[None, 4])
    aap("adaptive_avg_pool2d_up", r(1, 2, 3, 4), output_size=[5, 7])
    aap("adaptive_avg_pool2d_err_negative", r(1, 2, 8, 8), output_size=-1)
    aap("adaptive_avg_pool2d_err_rank2", r(3, 4), output_size=2)

    def amp(name, x, **params):
        y = call(F.adaptive_max_pool2d, {"input": x}, dict(params, return_indices=True))
        if y is None:
            save(name, "adaptive_max_pool2d", params, {"input": x}, error=True)
        else:
            save_file({"input": x, "expected": y[0].float(), "expected_indices": y[1]},
                      os.path.join(OUT, f"{name}.safetensors"),
                      metadata={"op": "adaptive_max_pool2d", "params": json.dumps(dict(params, return_indices=True)),
                                "source": SOURCE})
        print(name)

    nan = r(1, 2, 7, 7)
    nan[0, 1, 3, 3] = float("nan")
    amp("adaptive_max_pool2d_7to3", nan, output_size=3)
    amp("adaptive_max_pool2d_rect", r(2, 2, 9, 5), output_size=[4, 2])
    amp("adaptive_max_pool2d_err_rank2", r(3, 4), output_size=2)


# ---------------------------------------------------------------- interpolate
def interpolate_cases():
    r = torch.randn

    def it(name, x, **params):
        case(name, "interpolate", F.interpolate, {"input": x}, params)

    it("interpolate_nearest_x2", r(2, 3, 5, 6), scale_factor=2.0, mode="nearest")
    it("interpolate_nearest_size", r(1, 2, 4, 5), size=[7, 9], mode="nearest")
    it("interpolate_nearest_x1_5", r(1, 2, 5, 7), scale_factor=1.5, mode="nearest")
    it("interpolate_nearest_x2_05", r(1, 2, 10, 10), scale_factor=2.05, mode="nearest")
    it("interpolate_nearest_x1_2_same_size", r(1, 1, 3, 3), scale_factor=1.2, mode="nearest")
    it("interpolate_nearest_down", r(1, 2, 9, 11), scale_factor=0.45, mode="nearest")
    it("interpolate_nearest_recompute", r(1, 2, 5, 7), scale_factor=1.7, mode="nearest", recompute_scale_factor=True)
    it("interpolate_nearest_1d", r(1, 2, 5), scale_factor=2.5, mode="nearest")
    it("interpolate_nearest_pair", r(1, 2, 4, 6), scale_factor=[1.5, 2.5], mode="nearest")
    it("interpolate_nearest_exact_x1_5", r(1, 2, 5, 7), scale_factor=1.5, mode="nearest-exact")
    it("interpolate_nearest_exact_size", r(1, 2, 4, 5), size=[7, 3], mode="nearest-exact")
    it("interpolate_nearest_exact_x2_05", r(1, 2, 10, 10), scale_factor=2.05, mode="nearest-exact")
    it("interpolate_bilinear_x2", r(2, 3, 5, 6), scale_factor=2.0, mode="bilinear", align_corners=False)
    it("interpolate_bilinear_ac", r(1, 2, 28, 28), size=[57, 57], mode="bilinear", align_corners=True)
    it("interpolate_bilinear_default_ac", r(1, 2, 6, 6), scale_factor=2.0, mode="bilinear")
    it("interpolate_bilinear_down", r(1, 2, 9, 11), scale_factor=0.5, mode="bilinear", align_corners=False)
    it("interpolate_bilinear_x1_7", r(1, 2, 5, 7), scale_factor=1.7, mode="bilinear", align_corners=False)
    it("interpolate_bilinear_x1_7_recompute", r(1, 2, 5, 7), scale_factor=1.7, mode="bilinear",
       align_corners=False, recompute_scale_factor=True)
    it("interpolate_bilinear_to_1x1_ac", r(1, 2, 4, 4), size=[1, 1], mode="bilinear", align_corners=True)
    it("interpolate_bilinear_pair", r(1, 2, 4, 6), scale_factor=[1.5, 2.5], mode="bilinear", align_corners=False)
    it("interpolate_bilinear_size_ac_false", r(1, 2, 8, 8), size=[3, 13], mode="bilinear", align_corners=False)
    it("interpolate_err_both", r(1, 3, 8, 8), size=4, scale_factor=2.0)
    it("interpolate_err_neither", r(1, 3, 8, 8))
    it("interpolate_err_align_nearest", r(1, 3, 8, 8), scale_factor=2.0, align_corners=True)
    it("interpolate_err_size_zero", r(1, 3, 8, 8), size=0)
    it("interpolate_err_scale_small", r(1, 3, 8, 8), scale_factor=0.1)
    it("interpolate_err_size3", r(1, 3, 8, 8), size=[3, 3, 3])
    it("interpolate_err_bilinear_3d", r(1, 3, 8), scale_factor=2.0, mode="bilinear")
    it("interpolate_err_rank2", r(3, 8), scale_factor=2.0)
    it("interpolate_err_recompute_size", r(1, 3, 8, 8), size=4, recompute_scale_factor=True)
    it("interpolate_err_negative_scale", r(1, 3, 8, 8), scale_factor=-2.0)


# ---------------------------------------------------------------- sequential
def sequential_cases():
    import copy
    import torch.nn as nn
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from export import export

    def seq(name, model, x):
        model.eval()
        with torch.no_grad():
            y = copy.deepcopy(model).double()(x.double())
        export(model, os.path.join(OUT, f"{name}.safetensors"),
               extra_tensors={"input": x, "expected": y.float()})
        print(f"{name}: {tuple(y.shape)}")

    seq("sequential_mnist_like", nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * 7 * 7, 10)), torch.randn(2, 1, 28, 28))
    seq("sequential_unet_like", nn.Sequential(
        nn.Conv2d(4, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(),
        nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
        nn.Conv2d(8, 4, 3, padding=1), nn.ReLU()), torch.randn(1, 4, 16, 16))
    seq("sequential_classifier", nn.Sequential(
        nn.Conv2d(3, 8, 3, stride=2, padding=1, bias=False), nn.ReLU(inplace=True),
        nn.AvgPool2d(2, ceil_mode=True), nn.Conv2d(8, 12, 1), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.5), nn.Linear(12, 5)),
        torch.randn(3, 3, 13, 13))
    seq("sequential_modes", nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1, padding_mode="reflect"), nn.ReLU(),
        nn.Upsample(size=(9, 7), mode="nearest"),
        nn.Conv2d(4, 4, 3, padding="same", padding_mode="circular", groups=2), nn.ReLU(),
        nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True)), torch.randn(2, 2, 6, 5))
    # errors: a weight missing; an input with the wrong channel count
    m = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 4 * 4, 3))
    export(m, os.path.join(OUT, "sequential_err_channels.safetensors"),
           extra_tensors={"input": torch.randn(1, 2, 6, 6)}, metadata={"expect_error": "true"})
    sd = {k: v for k, v in m.state_dict().items() if k != "3.weight"}
    tensors = dict(sd, input=torch.randn(1, 1, 6, 6))
    from export import layer_list
    save_file({k: v.contiguous() for k, v in tensors.items()},
              os.path.join(OUT, "sequential_err_missing_weight.safetensors"),
              metadata={"op": "sequential", "params": json.dumps({"layers": layer_list(m)}),
                        "expect_error": "true", "source": SOURCE})
    print("sequential errors")


# ---------------------------------------------------------------- half precision
def half_cases():
    """Calls on f16 tensors (metadata dtype float16, every tensor F16): PyTorch's CPU
    half result where it computes one, else the float64 reference of the f16 inputs
    rounded to f16. Tolerances, stated per op:
      - selection ops (relu, max pools and indices, nearest): exact, no tolerance key;
      - averages and bilinear blends: one f16 step (2^-10 relative) plus 1e-5;
      - products (conv2d, conv_transpose2d, linear): one f16 step plus 1e-3 absolute,
        for two f32 summation orders, and PyTorch's own, of sums that cancel.
    """
    torch.manual_seed(16)
    step = {"atol": 1e-5, "rtol": 2.0 ** -10}
    sums = {"atol": 1e-3, "rtol": 2.0 ** -10}

    def hc(name, op, fn, tensors, params, tolerance=None):
        halves = {k: v.half() for k, v in tensors.items()}
        source = f"torch {torch.__version__}, CPU half"
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out = fn(**{k: v.clone() for k, v in halves.items()}, **params)
        except (RuntimeError, NotImplementedError) as e:
            print(f"    no CPU half ({str(e).splitlines()[0]}): float64 reference")
            source = f"torch {torch.__version__}, float64 reference of the f16 inputs, rounded to f16"
            out = fn(**{k: v.double() for k, v in halves.items()}, **params)
        indices = None
        if isinstance(out, tuple):
            out, indices = out
        tensors = {k: v.contiguous() for k, v in halves.items()}
        tensors["expected"] = out.half().contiguous()
        if indices is not None:
            tensors["expected_indices"] = indices.contiguous()
        meta = {"op": op, "params": json.dumps(params), "source": source, "dtype": "float16"}
        if tolerance:
            meta["tolerance"] = json.dumps(tolerance)
        save_file(tensors, os.path.join(OUT, f"{name}.safetensors"), metadata=meta)
        print(f"{name}: {tuple(out.shape)} ({source})")

    r = torch.randn
    specials = torch.tensor([0.0, -0.0, 1.0, -1.0, float("nan"), float("inf"), -float("inf"),
                             6e-8, -6e-8, 65504.0, -65504.0, 0.5, 1e-5, -1e-5, 3.0])
    relu = lambda input, inplace=False: F.relu(input, inplace=inplace)  # noqa: E731
    hc("half_relu_specials", "relu", relu, {"input": specials.reshape(1, 1, 3, 5)}, {})
    hc("half_relu_inplace", "relu", relu, {"input": r(2, 3, 7, 9)}, {"inplace": True})
    x = r(2, 4, 11, 11) * 4
    x[0, 0, 0, :4] = torch.tensor([float("nan"), float("inf"), -float("inf"), -0.0])
    hc("half_max_pool2d_indices", "max_pool2d", F.max_pool2d, {"input": x},
       {"kernel_size": 3, "stride": 2, "padding": 1, "return_indices": True})
    hc("half_max_pool2d_ceil", "max_pool2d", F.max_pool2d, {"input": r(1, 3, 9, 9)},
       {"kernel_size": 2, "ceil_mode": True})
    hc("half_avg_pool2d", "avg_pool2d", F.avg_pool2d, {"input": r(2, 3, 10, 10)},
       {"kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": False}, step)
    hc("half_adaptive_avg_pool2d", "adaptive_avg_pool2d", F.adaptive_avg_pool2d,
       {"input": r(2, 8, 7, 7)}, {"output_size": 1}, step)
    hc("half_interpolate_nearest", "interpolate", F.interpolate, {"input": r(2, 3, 5, 6)},
       {"scale_factor": 2.0, "mode": "nearest"})
    hc("half_interpolate_bilinear", "interpolate", F.interpolate, {"input": r(1, 3, 6, 8)},
       {"scale_factor": 2.0, "mode": "bilinear", "align_corners": False}, step)
    hc("half_interpolate_bilinear_corners", "interpolate", F.interpolate,
       {"input": r(1, 2, 5, 7)}, {"size": [9, 13], "mode": "bilinear", "align_corners": True},
       step)
    conv = lambda input, weight, bias=None, **p: F.conv2d(input, weight, bias, **p)  # noqa: E731
    hc("half_conv2d_3x3", "conv2d", conv,
       {"input": r(2, 8, 12, 12), "weight": r(16, 8, 3, 3) * 0.2, "bias": r(16)},
       {"padding": 1}, sums)
    hc("half_conv2d_groups_stride", "conv2d", conv,
       {"input": r(1, 8, 11, 11), "weight": r(8, 2, 3, 3) * 0.3},
       {"stride": 2, "groups": 4}, sums)
    hc("half_conv2d_1x1", "conv2d", conv,
       {"input": r(1, 16, 7, 7), "weight": r(24, 16, 1, 1) * 0.25, "bias": r(24)}, {}, sums)
    hc("half_conv2d_5x5", "conv2d", conv,
       {"input": r(1, 3, 16, 16), "weight": r(8, 3, 5, 5) * 0.2},
       {"stride": 2, "padding": 2}, sums)
    convt = lambda input, weight, bias=None, **p: F.conv_transpose2d(input, weight, bias, **p)  # noqa: E731
    hc("half_conv_transpose2d", "conv_transpose2d", convt,
       {"input": r(1, 4, 6, 6), "weight": r(4, 3, 3, 3) * 0.3, "bias": r(3)},
       {"stride": 2, "padding": 1}, sums)


def main():
    torch.manual_seed(0)
    os.makedirs(OUT, exist_ok=True)
    only = set(sys.argv[1:])
    for group, fn in [("relu", relu_cases), ("conv2d", conv2d_cases), ("pool", pool_cases),
                      ("interpolate", interpolate_cases), ("sequential", sequential_cases),
                      ("conv_transpose2d", conv_transpose2d_cases), ("copy", copy_cases),
                      ("half", half_cases)]:
        if not only or group in only:
            fn()


if __name__ == "__main__":
    main()
