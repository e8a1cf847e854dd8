//! interpolate on every backend against the CPU reference (nearest modes bit for bit),
//! PyTorch's index formulas checked on known cases, its errors, and the workloads.

#[macro_use]
mod common;

use proptest::prelude::*;
use wgcnn::op::interpolate::{linear_source, nearest_source};
use wgcnn::{Device, DeviceOptions, Error, InterpolateMode, InterpolateParams, Tensor};

fn check(dev: &Device, data: &[f32], shape: &[usize], p: &InterpolateParams) {
    let g = p.geometry(shape).unwrap();
    let want = wgcnn::reference::interpolate::interpolate(data, &g);
    let x = Tensor::from_slice(dev, data, shape).unwrap();
    let y = wgcnn::interpolate(&x, p).unwrap();
    assert_eq!(y.shape(), &g.output_shape()[..]);
    let what = format!("{shape:?} {p:?} on {dev:?}");
    if p.mode == InterpolateMode::Bilinear {
        common::assert_close(&y.to_vec().unwrap(), &want, 1e-6, 1e-5, &what);
    } else {
        common::assert_bits_eq(&y.to_vec().unwrap(), &want, &what);
    }
}

#[test]
fn nearest_uses_one_over_scale_factor_and_pytorchs_special_cases() {
    // torch: F.interpolate(arange(10)[None,None,None], scale_factor=(1, 2.05)) picks
    // i >> 1 (output twice the input), not floor(i / 2.05)
    let picks: Vec<usize> = (0..20)
        .map(|o| nearest_source(InterpolateMode::Nearest, o, 10, 20, Some(2.05)))
        .collect();
    assert_eq!(picks, (0..20).map(|o| o / 2).collect::<Vec<_>>());
    // scale 1.2 on 3 cells keeps 3 cells: identity
    let same: Vec<usize> = (0..3)
        .map(|o| nearest_source(InterpolateMode::Nearest, o, 3, 3, Some(1.2)))
        .collect();
    assert_eq!(same, [0, 1, 2]);
    // scale 1.5 on 5 -> 7: floor(o / 1.5)
    let x15: Vec<usize> = (0..7)
        .map(|o| nearest_source(InterpolateMode::Nearest, o, 5, 7, Some(1.5)))
        .collect();
    assert_eq!(x15, [0, 0, 1, 2, 2, 3, 4]);
    // nearest-exact: floor((o + 0.5) / 1.5)
    let exact: Vec<usize> = (0..7)
        .map(|o| nearest_source(InterpolateMode::NearestExact, o, 5, 7, Some(1.5)))
        .collect();
    assert_eq!(exact, [0, 1, 1, 2, 3, 3, 4]);
}

#[test]
fn bilinear_source_positions_follow_align_corners() {
    // align_corners=True, 28 -> 57: src = o * 27 / 56
    let t = linear_source(56, 28, 57, true, None);
    assert_eq!((t.i0, t.i1, t.lambda1), (27, 27, 0.0));
    // align_corners=False, scale 2: src = (o + 0.5) / 2 - 0.5, clamped at 0
    let t = linear_source(0, 5, 10, false, Some(2.0));
    assert_eq!((t.i0, t.i1, t.lambda0), (0, 1, 1.0));
    let t = linear_source(3, 5, 10, false, Some(2.0));
    assert_eq!((t.i0, t.i1, t.lambda1), (1, 2, 0.25));
}

fn every_mode_matches_the_reference(dev: &Device) {
    let nearest = InterpolateMode::Nearest;
    let cases = [
        ([2, 3, 5, 6], InterpolateParams::scale(2.0, nearest)),
        // rows of whole vec4s: one invocation per source vec4
        ([2, 3, 5, 8], InterpolateParams::scale(2.0, nearest)),
        ([1, 2, 10, 10], InterpolateParams::scale(2.05, nearest)),
        ([1, 2, 9, 11], InterpolateParams::scale(0.45, nearest)),
        ([1, 2, 4, 5], InterpolateParams::size(7, 9, nearest)),
        (
            [1, 2, 5, 7],
            InterpolateParams::scale(1.5, InterpolateMode::NearestExact),
        ),
        (
            [2, 3, 5, 6],
            InterpolateParams::scale(2.0, InterpolateMode::Bilinear),
        ),
        // doubled rows of whole vec4s: 2 x 8 outputs per source vec4, borders included
        (
            [2, 3, 5, 8],
            InterpolateParams::scale(2.0, InterpolateMode::Bilinear),
        ),
        (
            [1, 2, 1, 4],
            InterpolateParams::size(2, 8, InterpolateMode::Bilinear),
        ),
        // 2 output rows per invocation (3 source rows as vec4s), rows of whole vec4s out
        (
            [1, 2, 8, 8],
            InterpolateParams::size(13, 12, InterpolateMode::Bilinear).align_corners(true),
        ),
        (
            [1, 2, 28, 28],
            InterpolateParams::size(57, 57, InterpolateMode::Bilinear).align_corners(true),
        ),
        (
            [1, 2, 9, 11],
            InterpolateParams::scale(0.5, InterpolateMode::Bilinear),
        ),
        (
            [1, 2, 4, 4],
            InterpolateParams::size(1, 1, InterpolateMode::Bilinear).align_corners(true),
        ),
    ];
    for (i, (shape, p)) in cases.iter().enumerate() {
        check(
            dev,
            &common::random(shape.iter().product(), i as u64),
            shape,
            p,
        );
    }
}
backend_tests!(every_mode_matches_the_reference);

fn interpolate_runs_in_chunks_of_planes_when_bindings_are_small(dev: &Device) {
    let options = DeviceOptions {
        max_storage_binding: Some(2048),
        max_workgroups_per_dim: Some(3),
        ..Default::default()
    };
    let dev = &common::reopen(dev, &options);
    let data = common::random(3 * 4 * 10 * 10, 3);
    check(
        dev,
        &data,
        &[3, 4, 10, 10],
        &InterpolateParams::scale(2.0, InterpolateMode::Bilinear),
    );
    check(
        dev,
        &data,
        &[3, 4, 10, 10],
        &InterpolateParams::scale(1.5, InterpolateMode::Nearest),
    );
    let data = common::random(3 * 4 * 6 * 8, 4);
    for mode in [InterpolateMode::Nearest, InterpolateMode::Bilinear] {
        check(
            dev,
            &data,
            &[3, 4, 6, 8],
            &InterpolateParams::scale(2.0, mode),
        );
    }
    // 2 output rows per invocation from vec4 source rows, odd output sizes
    let p = InterpolateParams::size(11, 15, InterpolateMode::Bilinear).align_corners(true);
    check(dev, &data, &[3, 4, 6, 8], &p);
}
backend_tests!(gpu interpolate_runs_in_chunks_of_planes_when_bindings_are_small);

fn a_plane_larger_than_a_binding_is_interpolated_in_bands_of_rows(dev: &Device) {
    // 256 floats a binding: 17 x 23 planes in, and out
    let options = DeviceOptions {
        max_storage_binding: Some(1024),
        ..Default::default()
    };
    let dev = &common::reopen(dev, &options);
    let shape = [2, 2, 17, 23];
    let data = common::random(shape.iter().product(), 9);
    for mode in [
        InterpolateMode::Nearest,
        InterpolateMode::NearestExact,
        InterpolateMode::Bilinear,
    ] {
        for p in [
            InterpolateParams::scale(2.0, mode),
            InterpolateParams::scale(0.37, mode),
            InterpolateParams::size(61, 5, mode),
            InterpolateParams::size(34, 46, mode),
        ] {
            check(dev, &data, &shape, &p);
        }
    }
    let p = InterpolateParams::size(40, 30, InterpolateMode::Bilinear).align_corners(true);
    check(dev, &data, &shape, &p);
}
backend_tests!(gpu a_plane_larger_than_a_binding_is_interpolated_in_bands_of_rows);

#[test]
fn bad_calls_get_pytorchs_errors() {
    let x = Tensor::zeros(&Device::cpu(), &[1, 3, 8, 8]).unwrap();
    let both = InterpolateParams {
        scale_factor: Some([2.0, 2.0]),
        ..InterpolateParams::size(4, 4, InterpolateMode::Nearest)
    };
    let neither = InterpolateParams {
        size: None,
        ..InterpolateParams::size(4, 4, InterpolateMode::Nearest)
    };
    let cases = [
        (both, "only one of size or scale_factor should be defined"),
        (neither, "either size or scale_factor should be defined"),
        (
            InterpolateParams::scale(2.0, InterpolateMode::Nearest).align_corners(true),
            "align_corners option can only be set with the interpolating modes: linear | bilinear | bicubic | trilinear",
        ),
        (
            InterpolateParams::size(0, 0, InterpolateMode::Nearest),
            "Input and output sizes should be greater than 0, but got input (H: 8, W: 8) output (H: 0, W: 0)",
        ),
        (
            InterpolateParams::scale(0.1, InterpolateMode::Bilinear),
            "Input and output sizes should be greater than 0",
        ),
    ];
    for (p, want) in cases {
        let e = wgcnn::interpolate(&x, &p).unwrap_err();
        assert!(
            matches!(e, Error::Shape { .. } | Error::InvalidParam { .. }),
            "{e:?}"
        );
        assert!(e.to_string().contains(want), "got: {e}\nwant: {want}");
    }
    let x3 = Tensor::zeros(&Device::cpu(), &[1, 3, 8]).unwrap();
    let e = wgcnn::interpolate(
        &x3,
        &InterpolateParams::scale(2.0, InterpolateMode::Bilinear),
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("Got 3D input, but bilinear mode needs 4D input"),
        "{e}"
    );
}

fn every_interpolate_workload_runs_correctly(dev: &Device) {
    for wl in wgcnn::bench::parse_workloads(wgcnn::bench::WORKLOADS_JSON).unwrap() {
        if let wgcnn::bench::WorkloadKind::Op {
            op: wgcnn::Op::Interpolate(params),
            inputs,
        } = &wl.kind
        {
            let input = inputs[0].as_ref().unwrap();
            {
                check(
                    dev,
                    &common::random(input.iter().product(), 4),
                    input,
                    params,
                );
            }
        }
    }
}
backend_tests!(gpu every_interpolate_workload_runs_correctly);

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]
    #[test]
    fn random_resizes_match_the_reference_on_every_adapter(
        n in 1usize..3, c in 1usize..3, h in 1usize..9, w in 1usize..9,
        sh in 0.3f64..3.5, sw in 0.3f64..3.5, mode in 0usize..3, by_size in any::<bool>(), ac in any::<bool>(), seed in 0u64..100
    ) {
        let mode = [InterpolateMode::Nearest, InterpolateMode::NearestExact, InterpolateMode::Bilinear][mode];
        let (oh, ow) = (((h as f64 * sh) as i64).max(1), ((w as f64 * sw) as i64).max(1));
        let mut p = if by_size { InterpolateParams::size(oh, ow, mode) } else { InterpolateParams { scale_factor: Some([sh, sw]), ..InterpolateParams::scale(1.0, mode) } };
        if mode == InterpolateMode::Bilinear { p.align_corners = Some(ac); }
        let shape = [n, c, h, w];
        prop_assume!(p.geometry(&shape).is_ok());
        let data = common::random(shape.iter().product(), seed);
        for dev in common::backends() {
            check(dev, &data, &shape, &p);
        }
    }
}
