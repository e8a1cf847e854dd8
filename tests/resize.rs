//! ONNX resize on every backend against the CPU reference (nearest bit for bit), the
//! reference against ONNX's own examples and against interpolate's reference where
//! PyTorch and ONNX coincide, and its errors.

#[macro_use]
mod common;

use wgcnn::op::interpolate::{InterpolateMode, InterpolateParams};
use wgcnn::reference::interpolate::interpolate as reference_interpolate;
use wgcnn::reference::resize::resize as reference_resize;
use wgcnn::{CoordinateMode, Device, DeviceOptions, NearestMode, ResizeMode, ResizeParams, Tensor};

const COORDINATES: [CoordinateMode; 4] = [
    CoordinateMode::HalfPixel,
    CoordinateMode::PytorchHalfPixel,
    CoordinateMode::AlignCorners,
    CoordinateMode::Asymmetric,
];

const NEAREST: [NearestMode; 4] = [
    NearestMode::RoundPreferFloor,
    NearestMode::RoundPreferCeil,
    NearestMode::Floor,
    NearestMode::Ceil,
];

/// Resize parameters to `size` with the scales ONNX derives from sizes (out / in).
fn params(
    mode: ResizeMode,
    coordinate: CoordinateMode,
    nearest: NearestMode,
    input: [usize; 4],
    size: [usize; 2],
) -> ResizeParams {
    ResizeParams {
        mode,
        coordinate,
        nearest,
        size,
        scale: [
            size[0] as f32 / input[2] as f32,
            size[1] as f32 / input[3] as f32,
        ],
    }
}

/// Every mode, coordinate transform and nearest mode.
fn all_params(input: [usize; 4], size: [usize; 2]) -> Vec<ResizeParams> {
    let mut out = Vec::new();
    for coordinate in COORDINATES {
        for nearest in NEAREST {
            out.push(params(
                ResizeMode::Nearest,
                coordinate,
                nearest,
                input,
                size,
            ));
        }
        out.push(params(
            ResizeMode::Linear,
            coordinate,
            NearestMode::Floor,
            input,
            size,
        ));
    }
    out
}

fn check(dev: &Device, data: &[f32], input: [usize; 4], p: &ResizeParams) {
    let x = Tensor::from_slice(dev, data, &input).unwrap();
    let y = wgcnn::resize(&x, p).unwrap();
    assert_eq!(y.shape(), &[input[0], input[1], p.size[0], p.size[1]]);
    let want = reference_resize(data, &p.geometry(&input).unwrap());
    let got = y.to_vec().unwrap();
    let what = format!("resize {input:?} {p:?} on {dev:?}");
    match p.mode {
        ResizeMode::Nearest => common::assert_bits_eq(&got, &want, &what),
        ResizeMode::Linear => common::assert_close(&got, &want, 1e-6, 1e-5, &what),
    }
}

fn cases() -> Vec<([usize; 4], [usize; 2])> {
    vec![
        ([1, 1, 2, 2], [4, 6]),
        ([2, 3, 5, 7], [11, 3]),
        ([1, 2, 9, 13], [4, 5]),
        ([1, 1, 1, 1], [3, 2]),
        ([1, 3, 4, 4], [1, 1]),
        ([2, 2, 6, 5], [6, 5]),
        ([1, 1, 3, 3], [8, 8]),
        ([1, 4, 16, 16], [32, 32]),
        ([1, 1, 17, 33], [7, 65]),
    ]
}

fn resize_matches_reference_in_every_mode(dev: &Device) {
    for (i, (input, size)) in cases().into_iter().enumerate() {
        let data = common::random(input.iter().product(), i as u64);
        for p in all_params(input, size) {
            check(dev, &data, input, &p);
        }
        // a scale that is not out / in (ONNX's scales input)
        for p in all_params(input, size) {
            let p = ResizeParams {
                scale: [2.5, 0.75],
                ..p
            };
            check(dev, &data, input, &p);
        }
    }
}
backend_tests!(resize_matches_reference_in_every_mode);

fn resize_gives_onnxs_examples(dev: &Device) {
    let x = Tensor::from_slice(dev, &[1.0, 2.0, 3.0, 4.0], &[1, 1, 2, 2]).unwrap();
    let run = |t: &Tensor, p: ResizeParams| wgcnn::resize(t, &p).unwrap().to_vec().unwrap();
    // resize_upsample_scales_nearest: scales [1, 1, 2, 3], half_pixel, round_prefer_floor
    let p = ResizeParams {
        mode: ResizeMode::Nearest,
        coordinate: CoordinateMode::HalfPixel,
        nearest: NearestMode::RoundPreferFloor,
        size: [4, 6],
        scale: [2.0, 3.0],
    };
    #[rustfmt::skip]
    let want = [
        1.0, 1.0, 1.0, 2.0, 2.0, 2.0,
        1.0, 1.0, 1.0, 2.0, 2.0, 2.0,
        3.0, 3.0, 3.0, 4.0, 4.0, 4.0,
        3.0, 3.0, 3.0, 4.0, 4.0, 4.0,
    ];
    assert_eq!(run(&x, p), want);
    // resize_upsample_scales_linear: scales [1, 1, 2, 2], half_pixel
    let p = ResizeParams {
        mode: ResizeMode::Linear,
        size: [4, 4],
        scale: [2.0, 2.0],
        ..p
    };
    #[rustfmt::skip]
    let want = [
        1.0, 1.25, 1.75, 2.0,
        1.5, 1.75, 2.25, 2.5,
        2.5, 2.75, 3.25, 3.5,
        3.0, 3.25, 3.75, 4.0,
    ];
    common::assert_close(&run(&x, p), &want, 1e-6, 1e-6, "linear half_pixel");
    // resize_upsample_scales_linear_align_corners
    let p = ResizeParams {
        coordinate: CoordinateMode::AlignCorners,
        ..p
    };
    let (a, b) = (4.0 / 3.0, 5.0 / 3.0);
    #[rustfmt::skip]
    let want = [
        1.0, a, b, 2.0,
        b, 2.0, a + 1.0, b + 1.0,
        a + 1.0, b + 1.0, 3.0, a + 2.0,
        3.0, a + 2.0, b + 2.0, 4.0,
    ];
    common::assert_close(&run(&x, p), &want, 1e-6, 1e-6, "linear align_corners");
    // resize_downsample_scales_nearest: [[1, 2, 3, 4], [5, 6, 7, 8]], scales 0.6
    let x = Tensor::from_slice(
        dev,
        &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0],
        &[1, 1, 2, 4],
    )
    .unwrap();
    let p = ResizeParams {
        mode: ResizeMode::Nearest,
        coordinate: CoordinateMode::HalfPixel,
        nearest: NearestMode::RoundPreferFloor,
        size: [1, 2],
        scale: [0.6, 0.6],
    };
    assert_eq!(run(&x, p), [1.0, 3.0]);
}
backend_tests!(resize_gives_onnxs_examples);

/// `interpolate`'s reference of `data` shaped `input` with `p`.
fn interpolate(data: &[f32], input: [usize; 4], p: InterpolateParams) -> Vec<f32> {
    reference_interpolate(data, &p.geometry(&input).unwrap())
}

fn resize_equals_interpolate_where_pytorch_and_onnx_coincide(dev: &Device) {
    for (i, (input, size)) in [
        ([1, 2, 4, 5], [8, 10]),
        ([2, 1, 3, 3], [9, 6]),
        ([1, 1, 8, 6], [4, 3]),
        ([1, 3, 5, 7], [5, 7]),
        ([1, 1, 6, 4], [12, 4]),
    ]
    .into_iter()
    .enumerate()
    {
        let data = common::random(input.iter().product(), 100 + i as u64);
        let x = Tensor::from_slice(dev, &data, &input).unwrap();
        let isize = |mode| InterpolateParams::size(size[0] as i64, size[1] as i64, mode);
        let run = |p: ResizeParams| wgcnn::resize(&x, &p).unwrap().to_vec().unwrap();
        let what = format!("{input:?} -> {size:?} on {dev:?}");
        // interpolate(mode='nearest') == nearest / asymmetric / floor (integer ratios)
        let p = params(
            ResizeMode::Nearest,
            CoordinateMode::Asymmetric,
            NearestMode::Floor,
            input,
            size,
        );
        let want = interpolate(&data, input, isize(InterpolateMode::Nearest));
        common::assert_bits_eq(&run(p), &want, &format!("nearest {what}"));
        // interpolate(mode='nearest-exact') == nearest / half_pixel / round_prefer_ceil
        let p = ResizeParams {
            coordinate: CoordinateMode::HalfPixel,
            nearest: NearestMode::RoundPreferCeil,
            ..p
        };
        let want = interpolate(&data, input, isize(InterpolateMode::NearestExact));
        common::assert_bits_eq(&run(p), &want, &format!("nearest-exact {what}"));
        // interpolate(mode='bilinear', align_corners=False) == linear / pytorch_half_pixel
        // (and half_pixel, the output larger than 1)
        let want = interpolate(&data, input, isize(InterpolateMode::Bilinear));
        for coordinate in [CoordinateMode::PytorchHalfPixel, CoordinateMode::HalfPixel] {
            let p = params(
                ResizeMode::Linear,
                coordinate,
                NearestMode::Floor,
                input,
                size,
            );
            common::assert_close(&run(p), &want, 1e-6, 1e-5, &format!("bilinear {what}"));
        }
        // align_corners=True == linear / align_corners
        let want = interpolate(
            &data,
            input,
            isize(InterpolateMode::Bilinear).align_corners(true),
        );
        let p = params(
            ResizeMode::Linear,
            CoordinateMode::AlignCorners,
            NearestMode::Floor,
            input,
            size,
        );
        common::assert_close(&run(p), &want, 1e-6, 1e-5, &format!("align_corners {what}"));
    }
}
backend_tests!(resize_equals_interpolate_where_pytorch_and_onnx_coincide);

fn resize_errors(dev: &Device) {
    let p = params(
        ResizeMode::Linear,
        CoordinateMode::HalfPixel,
        NearestMode::Floor,
        [1, 1, 2, 2],
        [4, 4],
    );
    let x = Tensor::from_slice(dev, &[0.0; 4], &[1, 2, 2]).unwrap();
    let e = wgcnn::resize(&x, &p).unwrap_err();
    assert!(e.to_string().contains("4-D"), "{e}");
    let x = Tensor::from_slice(dev, &[0.0; 4], &[1, 1, 2, 2]).unwrap();
    for bad in [
        ResizeParams { size: [0, 4], ..p },
        ResizeParams {
            scale: [0.0, 2.0],
            ..p
        },
        ResizeParams {
            scale: [2.0, f32::NAN],
            ..p
        },
        ResizeParams {
            scale: [f32::INFINITY, 2.0],
            ..p
        },
    ] {
        assert!(wgcnn::resize(&x, &bad).is_err(), "{bad:?}");
    }
    let empty = Tensor::from_slice(dev, &[], &[1, 1, 0, 2]).unwrap();
    assert!(wgcnn::resize(&empty, &p).is_err());
    // an empty batch is an empty output
    let empty = Tensor::from_slice(dev, &[], &[0, 3, 2, 2]).unwrap();
    assert_eq!(wgcnn::resize(&empty, &p).unwrap().shape(), &[0, 3, 4, 4]);
}
backend_tests!(resize_errors);

fn resize_runs_in_chunks_and_past_the_workgroup_limit(dev: &Device) {
    // 70000 planes: runs of planes along z
    let input = [70000, 1, 1, 2];
    let data = common::random(140000, 7);
    for p in all_params(input, [2, 3]) {
        check(dev, &data, input, &p);
    }
    // a 4 KiB binding and 3 workgroups per dimension: runs of 3 planes
    let options = DeviceOptions {
        max_storage_binding: Some(4096),
        max_workgroups_per_dim: Some(3),
        ..DeviceOptions::default()
    };
    let small = &common::reopen(dev, &options);
    let input = [2, 5, 8, 8];
    let data = common::random(640, 8);
    for p in all_params(input, [16, 12]) {
        check(small, &data, input, &p);
    }
    // planes larger than a 4 KiB binding: in bands of output rows
    let small = &common::reopen(
        dev,
        &DeviceOptions {
            max_storage_binding: Some(4096),
            ..DeviceOptions::default()
        },
    );
    let input = [1, 2, 37, 29];
    let data = common::random(2 * 37 * 29, 9);
    for size in [[74, 58], [13, 31]] {
        for p in all_params(input, size) {
            check(small, &data, input, &p);
        }
    }
}
backend_tests!(gpu resize_runs_in_chunks_and_past_the_workgroup_limit);
