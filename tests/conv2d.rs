//! conv2d on every backend and every lowering against the CPU reference, PyTorch's
//! errors, and the benchmark workloads.

#[macro_use]
mod common;

use proptest::prelude::*;
use wgcnn::op::conv2d::Conv2dGeometry;
use wgcnn::{Conv2dAlgo, Conv2dOptions, Conv2dParams, Device, Error, Padding, PaddingMode, Tensor};

/// The reference output for a call, from the CPU path.
fn reference(
    x: &[f32],
    xs: &[usize],
    w: &[f32],
    ws: &[usize],
    b: Option<&[f32]>,
    p: &Conv2dParams,
    relu: bool,
) -> (Vec<usize>, Vec<f32>) {
    let g: Conv2dGeometry = p
        .geometry(xs, ws, b.map(|b| vec![b.len()]).as_deref())
        .unwrap();
    (
        g.output_shape(),
        wgcnn::reference::conv2d::conv2d(x, w, b, &g, relu),
    )
}

/// Runs one call on `dev` with `options` and checks it against the reference with the
/// proptest tolerance `|y - e| <= 1e-4 * max|e| + 1e-5`.
#[allow(clippy::too_many_arguments)]
fn check(
    dev: &Device,
    xs: &[usize],
    ws: &[usize],
    bias: bool,
    p: &Conv2dParams,
    options: &Conv2dOptions,
    seed: u64,
) {
    let x = common::random(xs.iter().product(), seed);
    let w = common::random(ws.iter().product(), seed + 1);
    let b = bias.then(|| common::random(ws[0], seed + 2));
    let (shape, want) = reference(&x, xs, &w, ws, b.as_deref(), p, options.relu);
    let tx = Tensor::from_slice(dev, &x, xs).unwrap();
    let tw = Tensor::from_slice(dev, &w, ws).unwrap();
    let tb = b
        .as_ref()
        .map(|b| Tensor::from_slice(dev, b, &[b.len()]).unwrap());
    let y = wgcnn::conv2d_ext(&tx, &tw, tb.as_ref(), p, options).unwrap();
    assert_eq!(y.shape(), &shape[..]);
    let max = want.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    common::assert_close(
        &y.to_vec().unwrap(),
        &want,
        1e-4 * max + 1e-5,
        0.0,
        &format!("{xs:?} * {ws:?} {p:?} {options:?} on {dev:?}"),
    );
}

use common::ALGOS;

fn with(algo: Conv2dAlgo, relu: bool) -> Conv2dOptions {
    Conv2dOptions {
        relu,
        algo,
        col_budget: None,
    }
}

fn the_seed_example_gives_16_channels_of_28_by_28(dev: &Device) {
    // torch: F.conv2d(x [b,3,28,28], w [16,3,3,3], padding=1) -> [b,16,28,28]
    let x = Tensor::zeros(dev, &[5, 3, 28, 28]).unwrap();
    let w = Tensor::zeros(dev, &[16, 3, 3, 3]).unwrap();
    let y = wgcnn::conv2d(&x, &w, None, &Conv2dParams::default().padding(1)).unwrap();
    assert_eq!(y.shape(), &[5, 16, 28, 28]);
}
backend_tests!(the_seed_example_gives_16_channels_of_28_by_28);

fn a_known_convolution_gives_known_numbers(dev: &Device) {
    // 3x3 ramp, 2x2 kernel of ones, bias 0.5: each output is the sum of a 2x2 window.
    let x: Vec<f32> = (0..9).map(|v| v as f32).collect();
    let tx = Tensor::from_slice(dev, &x, &[1, 1, 3, 3]).unwrap();
    let tw = Tensor::from_slice(dev, &[1.0; 4], &[1, 1, 2, 2]).unwrap();
    let tb = Tensor::from_slice(dev, &[0.5], &[1]).unwrap();
    let y = wgcnn::conv2d(&tx, &tw, Some(&tb), &Conv2dParams::default()).unwrap();
    assert_eq!(y.to_vec().unwrap(), [8.5, 12.5, 20.5, 24.5], "{dev:?}");
}
backend_tests!(a_known_convolution_gives_known_numbers);

fn every_lowering_matches_the_reference_on_parameter_combinations(dev: &Device) {
    let cases: Vec<([usize; 4], [usize; 4], Conv2dParams)> = vec![
        (
            [2, 3, 9, 9],
            [4, 3, 3, 3],
            Conv2dParams::default().padding(1),
        ),
        (
            [1, 4, 17, 13],
            [6, 4, 3, 5],
            Conv2dParams {
                stride: [2, 3],
                padding: Padding::Explicit([2, 1]),
                dilation: [1, 2],
                ..Conv2dParams::default()
            },
        ),
        (
            [2, 6, 8, 8],
            [9, 2, 3, 3],
            Conv2dParams::default().groups(3).padding(1),
        ),
        (
            [1, 8, 10, 10],
            [8, 1, 3, 3],
            Conv2dParams::default().groups(8).padding(1),
        ),
        (
            [1, 4, 8, 8],
            [12, 1, 3, 3],
            Conv2dParams::default().groups(4).stride(2),
        ),
        ([3, 16, 5, 7], [20, 16, 1, 1], Conv2dParams::default()),
        // aligned 1x1 (8 pixels of a plane per invocation on CPU drivers)
        ([2, 8, 4, 6], [12, 8, 1, 1], Conv2dParams::default()),
        // and in blocks of 32 output channels (a partial second one), in two chunks
        ([2, 8, 4, 6], [40, 8, 1, 1], Conv2dParams::default()),
        ([1, 600, 2, 4], [20, 600, 1, 1], Conv2dParams::default()),
        // rows of whole vec4s, stride 1: 2 rows x 4 pixels per invocation on CPU
        // drivers, with an odd row count, two chunks of input channels, wider kernels
        (
            [1, 64, 7, 8],
            [20, 64, 3, 3],
            Conv2dParams::default().padding(1),
        ),
        // two chunks of input channels (540 taps) on the generic packed kernel
        (
            [1, 60, 5, 5],
            [18, 60, 3, 3],
            Conv2dParams::default().padding(1),
        ),
        (
            [2, 3, 9, 12],
            [5, 3, 5, 5],
            Conv2dParams::default().padding(2),
        ),
        (
            [1, 2, 5, 8],
            [3, 2, 7, 7],
            Conv2dParams::default().padding(3),
        ),
        // depthwise with rows of whole vec4s: 4 rows x 4 pixels per invocation on CPU
        // drivers (a partial last row block, a channel multiplier, a 5x5 kernel)
        (
            [2, 8, 9, 12],
            [8, 1, 3, 3],
            Conv2dParams::default().groups(8).padding(1),
        ),
        (
            [1, 4, 8, 8],
            [12, 1, 3, 3],
            Conv2dParams::default().groups(4).padding(1),
        ),
        (
            [1, 4, 6, 8],
            [4, 1, 5, 5],
            Conv2dParams::default().groups(4).padding(2),
        ),
        // a kernel as large as its input: one dot product per output (K = 128), and
        // one whose 27 taps are no whole vec4s
        ([3, 8, 4, 4], [5, 8, 4, 4], Conv2dParams::default()),
        ([2, 3, 3, 3], [4, 3, 3, 3], Conv2dParams::default()),
        // stride 2 along rows of whole vec4s: 16 columns per input row on CPU drivers
        (
            [2, 3, 9, 16],
            [5, 3, 3, 3],
            Conv2dParams::default().stride(2).padding(1),
        ),
        (
            [1, 3, 16, 16],
            [17, 3, 7, 7],
            Conv2dParams::default().stride(2).padding(3),
        ),
        (
            [1, 4, 13, 16],
            [6, 4, 3, 3],
            Conv2dParams {
                stride: [3, 2],
                ..Conv2dParams::default().padding(2).dilation(2)
            },
        ),
        // stride 1 with rows of 16 (8 neighbours per invocation on CPU drivers)
        (
            [2, 3, 6, 16],
            [5, 3, 3, 3],
            Conv2dParams::default().padding(1),
        ),
        (
            [1, 2, 5, 16],
            [3, 2, 3, 5],
            Conv2dParams {
                padding_mode: PaddingMode::Reflect,
                ..Conv2dParams::default().padding(2)
            },
        ),
        (
            [1, 2, 9, 9],
            [3, 2, 4, 4],
            Conv2dParams {
                padding: Padding::Same,
                dilation: [2, 1],
                ..Conv2dParams::default()
            },
        ),
        (
            [1, 3, 7, 8],
            [4, 3, 3, 3],
            Conv2dParams {
                padding_mode: PaddingMode::Reflect,
                ..Conv2dParams::default().padding(2)
            },
        ),
        (
            [1, 3, 7, 8],
            [4, 3, 3, 3],
            Conv2dParams {
                padding_mode: PaddingMode::Replicate,
                ..Conv2dParams::default().padding(2)
            },
        ),
        (
            [1, 3, 7, 8],
            [4, 3, 3, 3],
            Conv2dParams {
                padding_mode: PaddingMode::Circular,
                ..Conv2dParams::default().padding(2)
            },
        ),
    ];
    for (i, (xs, ws, p)) in cases.iter().enumerate() {
        for algo in ALGOS {
            for relu in [false, true] {
                check(dev, xs, ws, i % 2 == 0, p, &with(algo, relu), i as u64 * 7);
            }
        }
    }
}
backend_tests!(every_lowering_matches_the_reference_on_parameter_combinations);

fn every_gemm_variant_runs_the_im2col_and_pointwise_paths(dev: &Device) {
    use wgcnn::GemmVariant::{Register, Subgroup, Tiled};
    // the first three have K and the maps off whole vec4s (the scalar kernels); the
    // rest are whole vec4s (the vec4 and subgroup kernels): 7x7 maps (column rows
    // padded to vec4s), rows of C not a multiple of 8, groups, a 1x1 over 7x7 maps
    // (copied into vec4 rows) and over 6x6 maps (read in place), and the subgroup
    // GEMM's row blocks of every size
    let aligned: [(&[usize], &[usize], Conv2dParams); 8] = [
        (
            &[2, 8, 7, 7],
            &[13, 8, 3, 3],
            Conv2dParams::default().padding(1),
        ),
        (
            &[1, 16, 14, 14],
            &[21, 16, 3, 3],
            Conv2dParams::default().stride(2).padding(1),
        ),
        (
            &[2, 8, 6, 6],
            &[12, 4, 3, 3],
            Conv2dParams::default().groups(2),
        ),
        (&[2, 16, 7, 7], &[9, 16, 1, 1], Conv2dParams::default()),
        (&[3, 12, 6, 6], &[20, 12, 1, 1], Conv2dParams::default()),
        // the subgroup GEMM's blocks of 8 and 32 rows (100: the last block partly past M)
        (
            &[1, 8, 6, 6],
            &[8, 8, 3, 3],
            Conv2dParams::default().padding(1),
        ),
        (
            &[2, 4, 5, 8],
            &[64, 4, 3, 3],
            Conv2dParams::default().padding(1),
        ),
        (&[1, 8, 4, 4], &[100, 8, 1, 1], Conv2dParams::default()),
    ];
    for gemm in [Tiled, Register, Subgroup] {
        let options = wgcnn::DeviceOptions::default().with(wgcnn::Lowerings {
            gemm: Some(gemm),
            ..Default::default()
        });
        {
            let dev = &common::reopen(dev, &options);
            for relu in [false, true] {
                check(
                    dev,
                    &[2, 5, 11, 9],
                    &[70, 5, 3, 3],
                    true,
                    &Conv2dParams::default().padding(1),
                    &with(Conv2dAlgo::Im2col, relu),
                    1,
                );
                check(
                    dev,
                    &[2, 6, 9, 9],
                    &[10, 3, 3, 3],
                    false,
                    &Conv2dParams::default().groups(2).stride(2),
                    &with(Conv2dAlgo::Im2col, relu),
                    2,
                );
                check(
                    dev,
                    &[3, 17, 5, 7],
                    &[65, 17, 1, 1],
                    true,
                    &Conv2dParams::default(),
                    // a pointwise convolution: the GEMM on the input itself
                    &with(Conv2dAlgo::Im2col, relu),
                    3,
                );
                for (i, (xs, ws, p)) in aligned.iter().enumerate() {
                    check(
                        dev,
                        xs,
                        ws,
                        i % 2 == 0,
                        p,
                        &with(Conv2dAlgo::Im2col, relu),
                        10 + i as u64,
                    );
                }
                // Winograd's GEMMs on each variant: a few tiles (the subgroup GEMM with
                // that variant) and more than 256 (uniform weight blocks)
                for (i, xs) in [[2, 8, 7, 7], [1, 8, 40, 40]].iter().enumerate() {
                    check(
                        dev,
                        xs,
                        &[13, 8, 3, 3],
                        true,
                        &Conv2dParams::default().padding(1),
                        &with(Conv2dAlgo::Winograd, relu),
                        20 + i as u64,
                    );
                }
            }
        }
    }
}
backend_tests!(gpu every_gemm_variant_runs_the_im2col_and_pointwise_paths);

fn fused_relu_equals_relu_after_conv_bit_for_bit(dev: &Device) {
    let x = Tensor::from_slice(dev, &common::random(2 * 3 * 12 * 12, 5), &[2, 3, 12, 12]).unwrap();
    let w = Tensor::from_slice(dev, &common::random(8 * 27, 6), &[8, 3, 3, 3]).unwrap();
    let b = Tensor::from_slice(dev, &common::random(8, 7), &[8]).unwrap();
    let p = Conv2dParams::default().padding(1);
    let fused = wgcnn::conv2d_relu(&x, &w, Some(&b), &p)
        .unwrap()
        .to_vec()
        .unwrap();
    let apart = wgcnn::relu(&wgcnn::conv2d(&x, &w, Some(&b), &p).unwrap())
        .unwrap()
        .to_vec()
        .unwrap();
    common::assert_bits_eq(&fused, &apart, &format!("{dev:?}"));
}
backend_tests!(gpu fused_relu_equals_relu_after_conv_bit_for_bit);

fn the_column_matrix_is_split_over_images_and_rows_under_a_small_budget(dev: &Device) {
    let p = Conv2dParams::default().padding(1);
    // 2 images, 3 rows, 1 row at a time: budgets in bytes of the column matrix.
    for budget in [30 * 27 * 4 * 2, 30 * 27 * 4 * 3, 30 * 27 * 4, 1] {
        let options = Conv2dOptions {
            relu: false,
            algo: Conv2dAlgo::Im2col,
            col_budget: Some(budget),
        };
        check(
            dev,
            &[3, 3, 30, 30],
            &[5, 3, 3, 3],
            true,
            &p,
            &options,
            budget,
        );
    }
}
backend_tests!(gpu the_column_matrix_is_split_over_images_and_rows_under_a_small_budget);

fn small_bindings_split_every_lowering_over_images(dev: &Device) {
    let options = wgcnn::DeviceOptions {
        max_storage_binding: Some(4096),
        ..Default::default()
    };
    let dev = &common::reopen(dev, &options);
    for algo in ALGOS {
        check(
            dev,
            &[5, 2, 10, 10],
            &[3, 2, 3, 3],
            true,
            &Conv2dParams::default().padding(1),
            &with(algo, false),
            3,
        );
        check(
            dev,
            &[5, 4, 9, 9],
            &[4, 4, 1, 1],
            true,
            &Conv2dParams::default(),
            &with(algo, false),
            4,
        );
    }
}
backend_tests!(gpu small_bindings_split_every_lowering_over_images);

fn an_image_larger_than_a_binding_runs_in_bands_of_rows(dev: &Device) {
    // 1024 floats a binding: one 3 x 37 x 29 image (3219 floats) needs 4 bands or more
    let options = wgcnn::DeviceOptions {
        max_storage_binding: Some(4096),
        ..Default::default()
    };
    let dev = &common::reopen(dev, &options);
    let d = Conv2dParams::default;
    let mut cases = vec![
        (d().padding(1), [4, 3, 3, 3]),
        (d().stride(2).padding(2).dilation(2), [5, 3, 3, 3]),
        (
            Conv2dParams {
                padding: Padding::Sides([3, 0, 1, 2]),
                ..d()
            },
            [2, 3, 5, 3],
        ),
        // bands wholly in the padding
        (d().padding(9), [2, 3, 1, 1]),
        (d().groups(3).padding(1), [6, 1, 3, 3]),
    ];
    for mode in [
        PaddingMode::Reflect,
        PaddingMode::Replicate,
        PaddingMode::Circular,
    ] {
        for p in [d().padding(2), d().stride(3).padding(1).dilation(2)] {
            cases.push((
                Conv2dParams {
                    padding_mode: mode,
                    ..p
                },
                [3, 3, 3, 3],
            ));
        }
    }
    for algo in ALGOS {
        for (i, (p, ws)) in cases.iter().enumerate() {
            check(
                dev,
                &[2, 3, 37, 29],
                ws,
                true,
                p,
                &with(algo, i == 0),
                i as u64,
            );
        }
    }
    // an output larger than a binding from a small input
    check(
        dev,
        &[1, 1, 20, 20],
        &[8, 1, 3, 3],
        false,
        &d().padding(1),
        &with(Conv2dAlgo::Auto, false),
        40,
    );
}
backend_tests!(gpu an_image_larger_than_a_binding_runs_in_bands_of_rows);

fn err(x: &[usize], w: &[usize], b: Option<usize>, p: Conv2dParams) -> Error {
    let dev = Device::cpu();
    let tx = Tensor::zeros(&dev, x).unwrap();
    let tw = Tensor::zeros(&dev, w).unwrap();
    let tb = b.map(|n| Tensor::zeros(&dev, &[n]).unwrap());
    wgcnn::conv2d(&tx, &tw, tb.as_ref(), &p).unwrap_err()
}

#[test]
fn bad_calls_get_pytorchs_errors() {
    let d = Conv2dParams::default;
    let cases: Vec<(Error, &str)> = vec![
        (
            err(&[1, 1, 28, 28], &[16, 3, 5, 5], None, d()),
            "Given groups=1, weight of size [16, 3, 5, 5], expected input[1, 1, 28, 28] to have 3 channels, but got 1 channels instead",
        ),
        (
            err(&[3, 4], &[16, 3, 5, 5], None, d()),
            "Expected 3D (unbatched) or 4D (batched) input to conv2d, but got input of size: [3, 4]",
        ),
        (
            err(&[1, 4, 8, 8], &[3, 2, 3, 3], None, d().groups(2)),
            "Given groups=2, expected weight to be divisible by 2 at dimension 0, but got weight of size [[3, 2, 3, 3]] instead",
        ),
        (
            err(&[1, 1, 8, 8], &[4, 1, 3, 3], None, d().groups(0)),
            "non-positive groups is not supported",
        ),
        (
            err(&[1, 1, 8, 8], &[4, 1, 3, 3], Some(5), d()),
            "Given weight of size [4, 1, 3, 3], expected bias to be 1-dimensional with 4 elements, but got bias of size [5] instead",
        ),
        (
            err(&[1, 1, 8, 8], &[4, 1, 3, 3], None, d().stride(0)),
            "non-positive stride is not supported",
        ),
        (
            err(&[1, 1, 8, 8], &[4, 1, 3, 3], None, d().dilation(0)),
            "dilation should be greater than zero, but got [0, 0]",
        ),
        (
            err(&[1, 1, 8, 8], &[4, 1, 3, 3], None, d().padding(-1)),
            "negative padding is not supported",
        ),
        (
            err(&[1, 1, 2, 2], &[4, 1, 3, 3], None, d()),
            "Calculated padded input size per channel: (2 x 2). Kernel size: (3 x 3). Kernel size can't be greater than actual input size",
        ),
        (
            err(
                &[1, 1, 8, 8],
                &[4, 1, 3, 3],
                None,
                Conv2dParams {
                    padding: Padding::Same,
                    ..d().stride(2)
                },
            ),
            "padding='same' is not supported for strided convolutions",
        ),
        (
            err(
                &[1, 1, 3, 3],
                &[1, 1, 3, 3],
                None,
                Conv2dParams {
                    padding_mode: PaddingMode::Reflect,
                    ..d().padding(3)
                },
            ),
            "Padding size should be less than the corresponding input dimension, but got: padding (3, 3) at dimension 3 of input [1, 1, 3, 3]",
        ),
    ];
    for (e, want) in cases {
        assert!(
            matches!(e, Error::Shape { .. } | Error::InvalidParam { .. }),
            "{e:?}"
        );
        assert!(e.to_string().contains(want), "got: {e}\nwant: {want}");
    }
}

fn an_error_leaves_the_gpu_usable(dev: &Device) {
    let x = Tensor::zeros(dev, &[1, 1, 2, 2]).unwrap();
    let w = Tensor::zeros(dev, &[4, 1, 3, 3]).unwrap();
    assert!(wgcnn::conv2d(&x, &w, None, &Conv2dParams::default()).is_err());
    check(
        dev,
        &[1, 2, 6, 6],
        &[2, 2, 3, 3],
        true,
        &Conv2dParams::default(),
        &Conv2dOptions::default(),
        1,
    );
}
backend_tests!(gpu an_error_leaves_the_gpu_usable);

fn every_conv2d_workload_runs_correctly(dev: &Device) {
    let text = include_str!("../benches/workloads.json");
    let json: serde_json::Value = serde_json::from_str(text).unwrap();
    let pair = |v: &serde_json::Value| [v[0].as_i64().unwrap(), v[1].as_i64().unwrap()];
    let dims = |v: &serde_json::Value| -> Vec<usize> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_u64().unwrap() as usize)
            .collect()
    };
    for wl in json["conv2d"].as_array().unwrap() {
        let p = Conv2dParams {
            stride: pair(&wl["stride"]),
            padding: Padding::Explicit(pair(&wl["padding"])),
            dilation: pair(&wl["dilation"]),
            groups: wl["groups"].as_i64().unwrap(),
            padding_mode: PaddingMode::Zeros,
        };
        let (xs, ws) = (dims(&wl["input"]), dims(&wl["weight"]));
        {
            check(
                dev,
                &xs,
                &ws,
                wl["bias"].as_bool().unwrap(),
                &p,
                &Conv2dOptions::default(),
                11,
            );
        }
    }
}
backend_tests!(gpu every_conv2d_workload_runs_correctly);

fn params_strategy() -> impl Strategy<Value = ([usize; 4], [usize; 4], Conv2dParams, bool)> {
    (
        1usize..3,
        1usize..4,
        1usize..4,
        1usize..5,
        1usize..4,
        1usize..4,
        1usize..3,
        1usize..3,
        0usize..3,
        0usize..4,
        any::<bool>(),
        0usize..4,
    )
        .prop_flat_map(
            |(n, groups, cg, mg, kh, kw, s, d, pad, mode, bias, extra)| {
                let ext_h = d * (kh - 1) + 1;
                let ext_w = d * (kw - 1) + 1;
                (
                    Just((n, groups, cg, mg, kh, kw, s, d, pad, mode, bias)),
                    ext_h.max(pad + 1)..ext_h + 9 + extra,
                    ext_w.max(pad + 1)..ext_w + 9,
                )
            },
        )
        .prop_map(
            |((n, groups, cg, mg, kh, kw, s, d, pad, mode, bias), h, w)| {
                let padding_mode = [
                    PaddingMode::Zeros,
                    PaddingMode::Reflect,
                    PaddingMode::Replicate,
                    PaddingMode::Circular,
                ][mode];
                let p = Conv2dParams {
                    stride: [s as i64, s as i64],
                    padding: Padding::Explicit([pad as i64, pad as i64]),
                    dilation: [d as i64, d as i64],
                    groups: groups as i64,
                    padding_mode,
                };
                ([n, groups * cg, h, w], [groups * mg, cg, kh, kw], p, bias)
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
    #[test]
    fn random_convolutions_match_the_reference_on_every_adapter((xs, ws, p, bias) in params_strategy(), algo in 0usize..ALGOS.len(), seed in 0u64..1000) {
        for dev in common::backends() {
            check(dev, &xs, &ws, bias, &p, &with(ALGOS[algo], seed % 3 == 0), seed);
        }
    }
}

fn the_conv2d_module_holds_its_parameters_and_padding_mode(dev: &Device) {
    let w = common::random(4 * 3 * 9, 1);
    let b = common::random(4, 2);
    let p = Conv2dParams {
        padding_mode: PaddingMode::Circular,
        ..Conv2dParams::default().padding(1)
    };
    let layer = wgcnn::nn::Conv2d::new(
        Tensor::from_slice(dev, &w, &[4, 3, 3, 3]).unwrap(),
        Some(Tensor::from_slice(dev, &b, &[4]).unwrap()),
        p,
    )
    .unwrap();
    assert_eq!(
        (
            layer.in_channels(),
            layer.out_channels(),
            layer.kernel_size()
        ),
        (3, 4, [3, 3])
    );
    let x = common::random(2 * 3 * 6 * 6, 3);
    let (shape, want) = reference(&x, &[2, 3, 6, 6], &w, &[4, 3, 3, 3], Some(&b), &p, true);
    let y = layer
        .forward_relu(&Tensor::from_slice(dev, &x, &[2, 3, 6, 6]).unwrap())
        .unwrap();
    assert_eq!(y.shape(), &shape[..]);
    common::assert_close(&y.to_vec().unwrap(), &want, 1e-5, 1e-4, &format!("{dev:?}"));
    // a bias of the wrong length is refused when the layer is built
    let bad = wgcnn::nn::Conv2d::new(
        Tensor::from_slice(dev, &w, &[4, 3, 3, 3]).unwrap(),
        Some(Tensor::from_slice(dev, &b[..3], &[3]).unwrap()),
        p,
    );
    assert!(matches!(bad, Err(Error::Shape { .. })));
}
backend_tests!(the_conv2d_module_holds_its_parameters_and_padding_mode);

fn winograd_matches_the_reference_on_its_edge_cases(dev: &Device) {
    let cases: Vec<([usize; 4], [usize; 4], Conv2dParams)> = vec![
        // odd output sizes: the last tile row and column are half outside
        (
            [2, 5, 7, 9],
            [6, 5, 3, 3],
            Conv2dParams::default().padding(1),
        ),
        // no padding, rows of 3 tiles (4-tile blocks with one to spare)
        ([1, 3, 8, 8], [17, 3, 3, 3], Conv2dParams::default()),
        // 'same' and a wide padding, every padding mode
        (
            [1, 4, 6, 11],
            [5, 4, 3, 3],
            Conv2dParams {
                padding: Padding::Same,
                ..Conv2dParams::default()
            },
        ),
        (
            [2, 2, 5, 6],
            [3, 2, 3, 3],
            Conv2dParams {
                padding_mode: PaddingMode::Reflect,
                ..Conv2dParams::default().padding(2)
            },
        ),
        (
            [1, 2, 5, 6],
            [3, 2, 3, 3],
            Conv2dParams {
                padding_mode: PaddingMode::Replicate,
                ..Conv2dParams::default().padding(1)
            },
        ),
        (
            [1, 2, 6, 5],
            [3, 2, 3, 3],
            Conv2dParams {
                padding_mode: PaddingMode::Circular,
                ..Conv2dParams::default().padding(2)
            },
        ),
        // rows of whole vec4s: the input as vec4 (padding 0, 1, 2), the output as vec4
        // with a last block half past the row
        (
            [2, 3, 6, 12],
            [4, 3, 3, 3],
            Conv2dParams::default().padding(1),
        ),
        (
            [1, 3, 10, 20],
            [5, 3, 3, 3],
            Conv2dParams::default().padding(1),
        ),
        (
            [1, 2, 7, 8],
            [3, 2, 3, 3],
            Conv2dParams::default().padding(2),
        ),
        // rows of whole vec2s: the input as vec2 (padding 0, 1, 2), the output as vec2
        (
            [2, 3, 9, 14],
            [4, 3, 3, 3],
            Conv2dParams::default().padding(1),
        ),
        ([2, 4, 7, 6], [5, 4, 3, 3], Conv2dParams::default()),
        (
            [1, 3, 5, 10],
            [3, 3, 3, 3],
            Conv2dParams::default().padding(2),
        ),
        // 100 input channels: 8 positions per uniform block
        (
            [1, 100, 6, 6],
            [20, 100, 3, 3],
            Conv2dParams::default().padding(1),
        ),
        // 300 input channels: two chunks summed in M
        (
            [1, 300, 4, 5],
            [18, 300, 3, 3],
            Conv2dParams::default().padding(1),
        ),
    ];
    let tiled = wgcnn::DeviceOptions::default().with(wgcnn::Lowerings {
        gemm: Some(wgcnn::GemmVariant::Tiled),
        ..Default::default()
    });
    let small = wgcnn::DeviceOptions {
        max_storage_binding: Some(16384),
        ..Default::default()
    };
    // the uniform-block GEMMs (register variant) and the GEMM shader (tiled)
    let devices = [dev.clone(), common::reopen(dev, &tiled)];
    for dev in &devices {
        for (i, (xs, ws, p)) in cases.iter().enumerate() {
            for relu in [false, true] {
                let options = with(Conv2dAlgo::Winograd, relu);
                check(dev, xs, ws, i % 2 == 0, p, &options, i as u64 * 5);
            }
        }
    }
    // images split over runs under a small binding
    let dev = &common::reopen(dev, &small);
    let options = with(Conv2dAlgo::Winograd, false);
    let p = Conv2dParams::default().padding(1);
    check(dev, &[6, 3, 9, 10], &[4, 3, 3, 3], true, &p, &options, 9);
    // an image larger than the binding: bands of tile rows (8 and 2)
    check(dev, &[2, 4, 20, 16], &[4, 4, 3, 3], true, &p, &options, 10);
}
backend_tests!(gpu winograd_matches_the_reference_on_its_edge_cases);

fn the_default_lowering_is_a_device_option(dev: &Device) {
    assert_eq!(Conv2dAlgo::parse("winograd").unwrap(), Conv2dAlgo::Winograd);
    assert_eq!(Conv2dAlgo::parse("auto").unwrap(), Conv2dAlgo::Auto);
    let e = Conv2dAlgo::parse("fft").unwrap_err().to_string();
    assert!(e.contains("unknown conv2d lowering 'fft'"), "{e}");
    for algo in ALGOS {
        let options = wgcnn::DeviceOptions::default().with(wgcnn::Lowerings {
            conv2d: Some(algo),
            ..Default::default()
        });
        {
            let dev = &common::reopen(dev, &options);
            let p = Conv2dParams::default().padding(1);
            check(
                dev,
                &[2, 8, 6, 8],
                &[5, 8, 3, 3],
                true,
                &p,
                &Conv2dOptions::default(),
                12,
            );
        }
    }
}
backend_tests!(gpu the_default_lowering_is_a_device_option);

/// An image of height or width 0 is PyTorch's error on every backend (it used to be
/// zeros on the CPU and "zero input channels" on a GPU).
fn an_empty_image_is_pytorchs_error_alike_on_every_backend(dev: &Device) {
    for shape in [[1usize, 2, 0, 5], [1, 2, 5, 0]] {
        let x = Tensor::from_slice(dev, &[], &shape).unwrap();
        let w = Tensor::from_slice(dev, &[0.5; 2 * 2 * 9], &[2, 2, 3, 3]).unwrap();
        let e = wgcnn::conv2d(&x, &w, None, &Conv2dParams::default().padding(1)).unwrap_err();
        assert!(
            e.to_string()
                .contains("Only zero batch or zero channel inputs are supported"),
            "{dev:?}: {e}"
        );
    }
    // an empty batch is fine
    let x = Tensor::from_slice(dev, &[], &[0, 2, 5, 5]).unwrap();
    let w = Tensor::from_slice(dev, &[0.5; 2 * 2 * 9], &[2, 2, 3, 3]).unwrap();
    let y = wgcnn::conv2d(&x, &w, None, &Conv2dParams::default()).unwrap();
    assert_eq!(y.shape(), &[0, 2, 3, 3]);
}
backend_tests!(an_empty_image_is_pytorchs_error_alike_on_every_backend);

/// No input channels, as PyTorch allows: the output is the bias (through relu when
/// fused), alike on every backend.
fn a_convolution_over_no_input_channels_is_its_bias(dev: &Device) {
    let x = Tensor::from_slice(dev, &[], &[2, 0, 5, 5]).unwrap();
    let w = Tensor::from_slice(dev, &[], &[3, 0, 3, 3]).unwrap();
    let b = Tensor::from_slice(dev, &[0.5, -1.5, 2.0], &[3]).unwrap();
    let p = Conv2dParams::default().padding(1);
    let y = wgcnn::conv2d(&x, &w, Some(&b), &p).unwrap();
    assert_eq!(y.shape(), &[2, 3, 5, 5]);
    let got = y.to_vec().unwrap();
    for (i, v) in got.iter().enumerate() {
        assert_eq!(*v, [0.5, -1.5, 2.0][(i / 25) % 3], "{dev:?} at {i}");
    }
    let y = wgcnn::conv2d_relu(&x, &w, Some(&b), &p)
        .unwrap()
        .to_vec()
        .unwrap();
    assert_eq!(y[25], 0.0, "{dev:?}: relu of -1.5");
    let y = wgcnn::conv2d(&x, &w, None, &p).unwrap().to_vec().unwrap();
    assert!(y.iter().all(|&v| v == 0.0), "{dev:?}");
}
backend_tests!(a_convolution_over_no_input_channels_is_its_bias);
