//! relu and relu_ on every backend against the CPU reference, bit for bit.

#[macro_use]
mod common;

use wgcnn::Device;

use wgcnn::reference::relu::relu as reference_relu;
use wgcnn::{DeviceOptions, Tensor};

/// The common special values and two denormals: 14 values.
fn specials() -> Vec<f32> {
    let mut values = common::specials();
    values.extend([1e-45, -1e-45]);
    values
}

fn relu_matches_reference_on_many_sizes(dev: &Device) {
    for (i, len) in [
        1usize, 2, 3, 4, 5, 7, 8, 255, 256, 257, 1000, 1023, 1024, 4099, 65536,
    ]
    .into_iter()
    .enumerate()
    {
        let data = common::random(len, i as u64);
        let x = Tensor::from_slice(dev, &data, &[len]).unwrap();
        let y = wgcnn::relu(&x).unwrap();
        assert_eq!(y.shape(), &[len]);
        common::assert_bits_eq(
            &y.to_vec().unwrap(),
            &reference_relu(&data),
            &format!("relu len {len} on {dev:?}"),
        );
    }
}
backend_tests!(relu_matches_reference_on_many_sizes);

fn relu_keeps_nan_and_negative_zero_as_pytorch_does(dev: &Device) {
    // 14 values (scalar path) and 16 (vec4 path).
    for extra in [0usize, 2] {
        let mut data = specials();
        data.extend(std::iter::repeat_n(-2.5, extra));
        let x = Tensor::from_slice(dev, &data, &[data.len()]).unwrap();
        let got = wgcnn::relu(&x).unwrap().to_vec().unwrap();
        common::assert_bits_eq(&got, &reference_relu(&data), &format!("{dev:?}"));
        assert!(got[4].is_nan() && got[5].is_nan(), "NaN must stay NaN");
        // torch.relu(torch.tensor(-0.0)) is -0.0: the sign bit survives.
        assert_eq!(got[1].to_bits(), 0x8000_0000, "-0.0 stays -0.0");
        assert_eq!(got[3].to_bits(), 0, "-1.0 gives +0.0");
        assert_eq!(got[6], f32::INFINITY);
        assert_eq!(got[7], 0.0);
    }
}
backend_tests!(relu_keeps_nan_and_negative_zero_as_pytorch_does);

fn relu_in_place_overwrites_its_input(dev: &Device) {
    for len in [1usize, 6, 8, 1001, 4096] {
        let data = common::random(len, 77);
        let mut x = Tensor::from_slice(dev, &data, &[1, 1, 1, len]).unwrap();
        wgcnn::relu_(&mut x).unwrap();
        assert_eq!(x.shape(), &[1, 1, 1, len]);
        common::assert_bits_eq(&x.to_vec().unwrap(), &reference_relu(&data), "relu_");
    }
}
backend_tests!(relu_in_place_overwrites_its_input);

fn relu_of_an_empty_tensor_is_empty(dev: &Device) {
    let x = Tensor::from_slice(dev, &[], &[2, 0, 3]).unwrap();
    let y = wgcnn::relu(&x).unwrap();
    assert_eq!(y.shape(), &[2, 0, 3]);
    assert!(y.to_vec().unwrap().is_empty());
}
backend_tests!(relu_of_an_empty_tensor_is_empty);

fn relu_runs_past_the_workgroup_limit_per_dimension(dev: &Device) {
    // 65535 workgroups of 256 plus one element: the grid must spill into y.
    let len = 65535 * 256 + 1;
    let data = common::random(len, 3);
    let want = reference_relu(&data);
    let x = Tensor::from_slice(dev, &data, &[len]).unwrap();
    let got = wgcnn::relu(&x).unwrap().to_vec().unwrap();
    common::assert_bits_eq(&got, &want, &format!("{dev:?}"));
}
backend_tests!(gpu relu_runs_past_the_workgroup_limit_per_dimension);

fn relu_works_in_chunks_when_the_binding_is_smaller_than_the_tensor(dev: &Device) {
    // A 4 KiB binding and 3 workgroups per dimension: many chunks, each spilling into y.
    let options = DeviceOptions {
        max_storage_binding: Some(4096),
        max_workgroups_per_dim: Some(3),
        ..DeviceOptions::default()
    };
    let dev = &common::reopen(dev, &options);
    for len in [5000usize, 5001, 7 * 1024 + 4] {
        let data = common::random(len, len as u64);
        let x = Tensor::from_slice(dev, &data, &[len]).unwrap();
        let got = wgcnn::relu(&x).unwrap().to_vec().unwrap();
        common::assert_bits_eq(&got, &reference_relu(&data), &format!("{dev:?} len {len}"));
        let mut x = Tensor::from_slice(dev, &data, &[len]).unwrap();
        wgcnn::relu_(&mut x).unwrap();
        common::assert_bits_eq(&x.to_vec().unwrap(), &reference_relu(&data), "in place");
    }
}
backend_tests!(gpu relu_works_in_chunks_when_the_binding_is_smaller_than_the_tensor);
