//! One image larger than a storage binding (128 MiB on most adapters) runs on the GPU,
//! in bands of rows: conv2d, the pools and interpolate of a 6000 x 6000 plane, and a
//! convolution of a 3 x 3000 x 4000 photo, each against the CPU reference.

#[macro_use]
mod common;

use wgcnn::reference::{interpolate as interp_ref, pool2d as pool_ref};
use wgcnn::{Conv2dParams, Device, InterpolateMode, InterpolateParams, MaxPool2dParams, Tensor};

/// A 6000 x 6000 plane, 144 MB: larger than a binding on every adapter here.
const SIDE: usize = 6000;

/// Values in [-1, 1) that vary along rows and columns, cheap to make at this size.
fn plane(len: usize) -> Vec<f32> {
    (0..len)
        .map(|i| ((i.wrapping_mul(2_654_435_761) >> 7) % 2001) as f32 / 1000.0 - 1.0)
        .collect()
}

fn conv_matches(dev: &Device, shape: [usize; 4], weight: [usize; 4], p: &Conv2dParams) {
    let data = plane(shape.iter().product());
    let w = common::random(weight.iter().product(), 3);
    let cpu = Device::cpu();
    let run = |d: &Device| {
        let x = Tensor::from_slice(d, &data, &shape).unwrap();
        let w = Tensor::from_slice(d, &w, &weight).unwrap();
        wgcnn::conv2d(&x, &w, None, p).unwrap().to_vec().unwrap()
    };
    let want = run(&cpu);
    common::assert_close(
        &run(dev),
        &want,
        1e-5,
        1e-5,
        &format!("conv2d of {shape:?}"),
    );
}

fn a_6000_square_plane_runs_conv2d_pools_and_interpolate(dev: &Device) {
    let shape = [1, 1, SIDE, SIDE];
    let data = plane(SIDE * SIDE);
    let x = Tensor::from_slice(dev, &data, &shape).unwrap();
    let p = MaxPool2dParams::new(3).stride(2).padding(1);
    let (want, want_idx) = pool_ref::max_pool2d(&data, &p.geometry(&shape).unwrap());
    let (y, idx) = wgcnn::max_pool2d_with_indices(&x, &p).unwrap();
    common::assert_bits_eq(&y.to_vec().unwrap(), &want, "max_pool2d");
    assert!(idx.to_vec().unwrap() == want_idx, "max_pool2d indices");
    for p in [
        InterpolateParams::scale(0.5, InterpolateMode::Bilinear),
        InterpolateParams::size(7001, 5003, InterpolateMode::Nearest),
    ] {
        let want = interp_ref::interpolate(&data, &p.geometry(&shape).unwrap());
        let got = wgcnn::interpolate(&x, &p).unwrap().to_vec().unwrap();
        common::assert_close(&got, &want, 1e-6, 1e-6, &format!("{p:?}"));
    }
    drop(x);
    conv_matches(
        dev,
        shape,
        [2, 1, 3, 3],
        &Conv2dParams::default().padding(1),
    );
}
backend_tests!(gpu a_6000_square_plane_runs_conv2d_pools_and_interpolate);

fn a_3000_by_4000_photo_is_convolved(dev: &Device) {
    // what `wgcnn filter` runs on a 12-megapixel RGB photo: 3 x 3 kernels, 3 channels
    conv_matches(
        dev,
        [1, 3, 3000, 4000],
        [3, 3, 3, 3],
        &Conv2dParams::default().padding(1),
    );
}
backend_tests!(gpu a_3000_by_4000_photo_is_convolved);
