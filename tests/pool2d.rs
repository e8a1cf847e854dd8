//! Pooling on every backend against the CPU reference: max pool and its indices bit
//! for bit (NaN, ties, -inf, padding), avg pool's divisor rules, adaptive pools,
//! PyTorch's errors, chunking, and the benchmark workloads.

#[macro_use]
mod common;

use proptest::prelude::*;
use wgcnn::op::pool2d::AdaptiveGeometry;
use wgcnn::reference::pool2d as reference;
use wgcnn::{AvgPool2dParams, Device, DeviceOptions, Error, MaxPool2dParams, Tensor};

fn check_max(dev: &Device, data: &[f32], shape: &[usize], p: &MaxPool2dParams) {
    let g = p.geometry(shape).unwrap();
    let (want, want_idx) = reference::max_pool2d(data, &g);
    let x = Tensor::from_slice(dev, data, shape).unwrap();
    let (y, idx) = wgcnn::max_pool2d_with_indices(&x, p).unwrap();
    assert_eq!(y.shape(), &g.output_shape()[..]);
    let what = format!("{shape:?} {p:?} on {dev:?}");
    common::assert_bits_eq(&y.to_vec().unwrap(), &want, &what);
    assert_eq!(idx.to_vec().unwrap(), want_idx, "indices of {what}");
    // without indices, the same values
    common::assert_bits_eq(
        &wgcnn::max_pool2d(&x, p).unwrap().to_vec().unwrap(),
        &want,
        &what,
    );
}

fn check_avg(dev: &Device, data: &[f32], shape: &[usize], p: &AvgPool2dParams) {
    let g = p.geometry(shape).unwrap();
    let want = reference::avg_pool2d(data, &g, p.count_include_pad, p.divisor_override);
    let x = Tensor::from_slice(dev, data, shape).unwrap();
    let y = wgcnn::avg_pool2d(&x, p).unwrap();
    assert_eq!(y.shape(), &g.output_shape()[..]);
    common::assert_close(
        &y.to_vec().unwrap(),
        &want,
        1e-6,
        1e-5,
        &format!("{shape:?} {p:?} on {dev:?}"),
    );
}

fn max_pool2d_propagates_nan_and_keeps_the_first_of_ties(dev: &Device) {
    // torch: F.max_pool2d(x, 2, return_indices=True) on [[nan, 1], [2, nan]] -> nan at 3
    let x = [
        f32::NAN,
        1.0,
        2.0,
        f32::NAN,
        3.0,
        3.0,
        3.0,
        3.0,
        -0.0,
        0.0,
        0.0,
        -0.0,
    ];
    let t = Tensor::from_slice(dev, &x, &[3, 1, 2, 2]).unwrap();
    let (y, i) = wgcnn::max_pool2d_with_indices(&t, &MaxPool2dParams::new(2)).unwrap();
    let (y, i) = (y.to_vec().unwrap(), i.to_vec().unwrap());
    assert!(y[0].is_nan(), "{dev:?}");
    assert_eq!(
        i,
        [3, 0, 0],
        "{dev:?}: a later NaN wins, ties keep the first"
    );
    assert_eq!(
        y[2].to_bits(),
        (-0.0f32).to_bits(),
        "{dev:?}: -0.0 and 0.0 tie"
    );
}
backend_tests!(max_pool2d_propagates_nan_and_keeps_the_first_of_ties);

fn the_vec4_max_pool_resolves_nan_and_ties_as_pytorch_does(dev: &Device) {
    // NaN (two payloads), signed zeros, infinities and repeats: every window's winner
    // must be the reference's, bit for bit, on the 4-outputs-per-invocation path
    let pool = [
        f32::NAN,
        f32::from_bits(0x7fc0_0001),
        -0.0,
        0.0,
        1.0,
        1.0,
        -1.0,
        f32::INFINITY,
        f32::NEG_INFINITY,
        2.5,
    ];
    let shape = [2, 3, 8, 16];
    let n: usize = shape.iter().product();
    let data: Vec<f32> = common::random(n, 77)
        .iter()
        .map(|v| pool[((v.abs() * 1000.0) as usize) % pool.len()])
        .collect();
    for p in [
        MaxPool2dParams::new(3).stride(2).padding(1),
        MaxPool2dParams::new(2),
        MaxPool2dParams::new(3).stride(1).padding(1),
    ] {
        check_max(dev, &data, &shape, &p);
    }
}
backend_tests!(the_vec4_max_pool_resolves_nan_and_ties_as_pytorch_does);

fn padded_cells_never_win_a_max(dev: &Device) {
    // all-negative input with padding: torch never yields 0 from the padding
    let data: Vec<f32> = (0..32).map(|i| -1.0 - i as f32).collect();
    check_max(
        dev,
        &data,
        &[2, 1, 4, 4],
        &MaxPool2dParams::new(3).stride(1).padding(1),
    );
    let inf = vec![f32::NEG_INFINITY; 9];
    check_max(
        dev,
        &inf,
        &[1, 1, 3, 3],
        &MaxPool2dParams::new(2).padding(1),
    );
}
backend_tests!(padded_cells_never_win_a_max);

fn max_pool2d_matches_reference_on_parameter_combinations(dev: &Device) {
    let cases = [
        ([2, 3, 8, 8], MaxPool2dParams::new(2)),
        ([2, 4, 11, 11], MaxPool2dParams::new(3).stride(2).padding(1)),
        // rows of whole vec4s: 4 outputs per invocation from 3 quads a row, stored as
        // a vec4 (ow 8) or one by one (ow 6), and with a partial last window
        ([2, 4, 16, 16], MaxPool2dParams::new(3).stride(2).padding(1)),
        ([2, 4, 12, 12], MaxPool2dParams::new(3).stride(2).padding(1)),
        // 2 output rows per invocation with an odd row count
        ([1, 2, 10, 8], MaxPool2dParams::new(3).stride(2).padding(1)),
        (
            [1, 2, 8, 12],
            MaxPool2dParams::new(2).stride(2).padding(1).ceil_mode(true),
        ),
        ([1, 2, 8, 8], MaxPool2dParams::new(3).stride(1).padding(1)),
        ([1, 2, 5, 5], MaxPool2dParams::new(2).ceil_mode(true)),
        (
            [1, 1, 5, 5],
            MaxPool2dParams::new(2).stride(2).padding(1).ceil_mode(true),
        ),
        ([1, 2, 9, 9], MaxPool2dParams::new(3).dilation(2).padding(1)),
        (
            [2, 2, 7, 9],
            MaxPool2dParams {
                kernel_size: [2, 3],
                stride: Some([1, 2]),
                padding: [1, 1],
                ..MaxPool2dParams::new(1)
            },
        ),
    ];
    for (i, (shape, p)) in cases.iter().enumerate() {
        let data = common::random(shape.iter().product(), i as u64);
        check_max(dev, &data, shape, p);
    }
}
backend_tests!(max_pool2d_matches_reference_on_parameter_combinations);

fn avg_pool2d_divides_as_pytorch_does(dev: &Device) {
    let base = AvgPool2dParams::new(3).stride(2).padding(1);
    let cases = [
        (
            [1, 2, 7, 7],
            AvgPool2dParams {
                ceil_mode: true,
                ..base
            },
        ),
        (
            [1, 2, 7, 7],
            AvgPool2dParams {
                ceil_mode: true,
                count_include_pad: false,
                ..base
            },
        ),
        (
            [1, 2, 6, 8],
            AvgPool2dParams {
                ceil_mode: true,
                ..AvgPool2dParams::new(4).stride(3)
            },
        ),
        (
            [1, 2, 6, 6],
            AvgPool2dParams {
                divisor_override: Some(5),
                ..base
            },
        ),
        ([2, 3, 9, 9], AvgPool2dParams::new(3).stride(1).padding(1)),
        ([2, 3, 8, 8], AvgPool2dParams::new(2)),
        // rows of whole vec4s
        (
            [2, 3, 8, 12],
            AvgPool2dParams {
                count_include_pad: false,
                ..AvgPool2dParams::new(3).stride(1).padding(1)
            },
        ),
        ([2, 3, 12, 12], AvgPool2dParams::new(3).stride(2).padding(1)),
        // stride 1 both ways: 4 rows x 4 outputs per invocation, a partial last block
        ([1, 2, 7, 8], AvgPool2dParams::new(3).stride(1).padding(1)),
        ([1, 2, 6, 8], AvgPool2dParams::new(2).stride(1)),
        (
            [1, 2, 8, 8],
            AvgPool2dParams {
                ceil_mode: true,
                ..AvgPool2dParams::new(2).stride(2).padding(1)
            },
        ),
    ];
    for (i, (shape, p)) in cases.iter().enumerate() {
        let data = common::random(shape.iter().product(), 40 + i as u64);
        check_avg(dev, &data, shape, p);
    }
}
backend_tests!(avg_pool2d_divides_as_pytorch_does);

fn adaptive_pools_match_the_reference(dev: &Device) {
    for (shape, out) in [
        ([2, 3, 7, 7], [Some(3), Some(3)]),
        ([1, 2, 5, 6], [Some(1), Some(1)]),
        ([1, 2, 3, 4], [Some(5), Some(7)]),
        ([1, 2, 8, 6], [None, Some(4)]),
    ] {
        let data = common::random(shape.iter().product(), 5);
        let g = AdaptiveGeometry::new("adaptive_avg_pool2d", &shape, out).unwrap();
        let x = Tensor::from_slice(dev, &data, &shape).unwrap();
        let y = wgcnn::adaptive_avg_pool2d(&x, out).unwrap();
        assert_eq!(y.shape(), &g.output_shape()[..]);
        common::assert_close(
            &y.to_vec().unwrap(),
            &reference::adaptive_avg_pool2d(&data, &g),
            1e-6,
            1e-5,
            "adaptive avg",
        );
        let (want, want_idx) = reference::adaptive_max_pool2d(&data, &g);
        let (y, i) = wgcnn::adaptive_max_pool2d(&x, out).unwrap();
        common::assert_bits_eq(&y.to_vec().unwrap(), &want, "adaptive max");
        assert_eq!(i.to_vec().unwrap(), want_idx);
    }
}
backend_tests!(adaptive_pools_match_the_reference);

fn pooling_runs_in_chunks_of_planes_when_bindings_are_small(dev: &Device) {
    let options = DeviceOptions {
        max_storage_binding: Some(1024),
        max_workgroups_per_dim: Some(2),
        ..Default::default()
    };
    let dev = &common::reopen(dev, &options);
    let data = common::random(5 * 3 * 12 * 12, 8);
    check_max(
        dev,
        &data,
        &[5, 3, 12, 12],
        &MaxPool2dParams::new(3).stride(2).padding(1),
    );
    check_avg(dev, &data, &[5, 3, 12, 12], &AvgPool2dParams::new(2));
}
backend_tests!(gpu pooling_runs_in_chunks_of_planes_when_bindings_are_small);

fn a_plane_larger_than_a_binding_is_pooled_in_bands_of_rows(dev: &Device) {
    // 256 floats a binding: one 23 x 31 plane (713 floats) needs several bands
    let options = DeviceOptions {
        max_storage_binding: Some(1024),
        ..Default::default()
    };
    let dev = &common::reopen(dev, &options);
    let shape = [2, 2, 23, 31];
    let data = common::random(shape.iter().product(), 21);
    for p in [
        MaxPool2dParams::new(3).stride(2).padding(1),
        MaxPool2dParams::new(2),
        MaxPool2dParams::new(3).stride(2).ceil_mode(true),
        MaxPool2dParams::new(3).dilation(2).padding(1),
    ] {
        check_max(dev, &data, &shape, &p);
    }
    for p in [
        AvgPool2dParams::new(3).stride(2).padding(1),
        AvgPool2dParams {
            ceil_mode: true,
            count_include_pad: false,
            ..AvgPool2dParams::new(3).stride(2).padding(1)
        },
        AvgPool2dParams {
            divisor_override: Some(3),
            ..AvgPool2dParams::new(2)
        },
    ] {
        check_avg(dev, &data, &shape, &p);
    }
    let x = Tensor::from_slice(dev, &data, &shape).unwrap();
    for out in [[Some(5), Some(7)], [None, None], [Some(40), Some(9)]] {
        let g = AdaptiveGeometry::new("adaptive_avg_pool2d", &shape, out).unwrap();
        common::assert_close(
            &wgcnn::adaptive_avg_pool2d(&x, out)
                .unwrap()
                .to_vec()
                .unwrap(),
            &reference::adaptive_avg_pool2d(&data, &g),
            1e-6,
            1e-5,
            "adaptive avg in bands",
        );
        let (want, want_idx) = reference::adaptive_max_pool2d(&data, &g);
        let (y, i) = wgcnn::adaptive_max_pool2d(&x, out).unwrap();
        common::assert_bits_eq(&y.to_vec().unwrap(), &want, "adaptive max in bands");
        assert_eq!(i.to_vec().unwrap(), want_idx);
    }
}
backend_tests!(gpu a_plane_larger_than_a_binding_is_pooled_in_bands_of_rows);

fn max_err(shape: &[usize], p: MaxPool2dParams) -> Error {
    wgcnn::max_pool2d(&Tensor::zeros(&Device::cpu(), shape).unwrap(), &p).unwrap_err()
}

#[test]
fn bad_calls_get_pytorchs_errors() {
    let cases = [
        (
            max_err(&[1, 3, 8, 8], MaxPool2dParams::new(3).padding(2)),
            "pad should be at most half of effective kernel size, but got pad=2, kernel_size=3 and dilation=1",
        ),
        (
            max_err(&[1, 3, 2, 2], MaxPool2dParams::new(3)),
            "Given input size: (3x2x2). Calculated output size: (3x0x0). Output size is too small",
        ),
        (
            max_err(&[1, 3, 8, 8], MaxPool2dParams::new(2).stride(0)),
            "stride should not be zero",
        ),
        (
            max_err(&[3, 4], MaxPool2dParams::new(2)),
            "non-empty 3D or 4D (batch mode) tensor expected for input",
        ),
        (
            max_err(&[1, 3, 8, 8], MaxPool2dParams::new(2).padding(-1)),
            "pad must be non-negative, but got pad: -1",
        ),
        (
            max_err(&[1, 3, 8, 8], MaxPool2dParams::new(2).dilation(0)),
            "dilation should be greater than zero, but got dilationH: 0 dilationW: 0",
        ),
        (
            max_err(&[1, 0, 8, 8], MaxPool2dParams::new(2)),
            "Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for input, but got:[1, 0, 8, 8]",
        ),
        (
            wgcnn::avg_pool2d(
                &Tensor::zeros(&Device::cpu(), &[1, 1, 8, 8]).unwrap(),
                &AvgPool2dParams {
                    divisor_override: Some(0),
                    ..AvgPool2dParams::new(3)
                },
            )
            .unwrap_err(),
            "divisor must be not zero",
        ),
        (
            wgcnn::adaptive_avg_pool2d(
                &Tensor::zeros(&Device::cpu(), &[1, 1, 8, 8]).unwrap(),
                [Some(-1), Some(-1)],
            )
            .unwrap_err(),
            "adaptive_avg_pool2d: elements of output_size must be greater than or equal to 0 but received {-1, -1}",
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

fn every_pooling_workload_runs_correctly(dev: &Device) {
    for wl in wgcnn::bench::parse_workloads(wgcnn::bench::WORKLOADS_JSON).unwrap() {
        let wgcnn::bench::WorkloadKind::Op { op, inputs } = &wl.kind else {
            continue;
        };
        let input = inputs[0].as_ref().unwrap();
        {
            match op {
                wgcnn::Op::MaxPool2d { params, .. } => {
                    check_max(
                        dev,
                        &common::random(input.iter().product(), 1),
                        input,
                        params,
                    );
                }
                wgcnn::Op::AvgPool2d(params) => {
                    check_avg(
                        dev,
                        &common::random(input.iter().product(), 2),
                        input,
                        params,
                    );
                }
                _ => {}
            }
        }
    }
}
backend_tests!(gpu every_pooling_workload_runs_correctly);

/// shape, kernel, stride, padding, dilation, ceil_mode
type PoolCase = ([usize; 4], [i64; 2], [i64; 2], [i64; 2], [i64; 2], bool);

fn pool_strategy() -> impl Strategy<Value = PoolCase> {
    (
        1usize..3,
        1usize..4,
        1i64..4,
        1i64..4,
        1i64..4,
        1i64..4,
        1i64..3,
        1i64..3,
        any::<bool>(),
        0usize..6,
        0usize..6,
    )
        .prop_map(|(n, c, kh, kw, sh, sw, dh, dw, ceil, eh, ew)| {
            let (ph, pw) = ((kh - 1) * dh / 2, (kw - 1) * dw / 2);
            let (ph, pw) = (ph.min(kh / 2), pw.min(kw / 2));
            let h = ((kh - 1) * dh + 1) as usize + eh;
            let w = ((kw - 1) * dw + 1) as usize + ew;
            ([n, c, h, w], [kh, kw], [sh, sw], [ph, pw], [dh, dw], ceil)
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]
    #[test]
    fn random_pools_match_the_reference_on_every_adapter((shape, k, s, p, d, ceil) in pool_strategy(), seed in 0u64..1000) {
        let mut data = common::random(shape.iter().product(), seed);
        let len = data.len();
        if seed % 4 == 0 { data[seed as usize % len] = f32::NAN; }
        let mp = MaxPool2dParams { kernel_size: k, stride: Some(s), padding: p, dilation: d, ceil_mode: ceil };
        let ap = AvgPool2dParams { kernel_size: k, stride: Some(s), padding: p, ceil_mode: ceil, count_include_pad: seed % 2 == 0, divisor_override: None };
        for dev in common::backends() {
            check_max(dev, &data, &shape, &mp);
            if seed % 4 != 0 { check_avg(dev, &data, &shape, &ap); }
        }
    }
}
