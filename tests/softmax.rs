//! softmax on every backend against the CPU reference, the reference against values
//! computed by PyTorch, non-finite inputs, and PyTorch's dimension errors.

#[macro_use]
mod common;

use wgcnn::op::softmax::SoftmaxGeometry;
use wgcnn::reference::softmax::softmax as reference_softmax;
use wgcnn::{Device, DeviceOptions, Tensor};

fn check(dev: &Device, data: &[f32], shape: &[usize], dim: i64) {
    let x = Tensor::from_slice(dev, data, shape).unwrap();
    let y = wgcnn::softmax(&x, dim).unwrap();
    assert_eq!(y.shape(), shape);
    let want = reference_softmax(data, &SoftmaxGeometry::new(shape, dim).unwrap());
    common::assert_close(
        &y.to_vec().unwrap(),
        &want,
        1e-7,
        1e-5,
        &format!("softmax {shape:?} dim {dim} on {dev:?}"),
    );
}

fn softmax_matches_reference_over_shapes_and_dims(dev: &Device) {
    let cases: &[(&[usize], &[i64])] = &[
        (&[5], &[0, -1]),
        (&[2, 3], &[0, 1, -1, -2]),
        (&[4, 1000], &[1, 0]),
        (&[3, 63], &[1]),
        (&[3, 64], &[1]),
        (&[2, 3, 4, 5], &[0, 1, 2, 3, -1]),
        (&[1, 10, 7, 7], &[1]),
        (&[2, 1001, 3], &[1]),
        (&[7, 1, 3], &[1]),
        (&[1, 4099], &[-1]),
        (&[], &[0, -1]),
        (&[1], &[0]),
    ];
    for (i, &(shape, dims)) in cases.iter().enumerate() {
        let n: usize = shape.iter().product();
        // [-12, 12): exp spans a wide range
        let data: Vec<f32> = common::random(n, i as u64)
            .iter()
            .map(|v| v * 12.0)
            .collect();
        for &dim in dims {
            check(dev, &data, shape, dim);
        }
    }
}
backend_tests!(softmax_matches_reference_over_shapes_and_dims);

fn softmax_gives_pytorchs_values(dev: &Device) {
    // torch.softmax(torch.tensor([[1., 2., 3.], [1000., 1000., -1000.]]), dim=1)
    let x = Tensor::from_slice(dev, &[1.0, 2.0, 3.0, 1000.0, 1000.0, -1000.0], &[2, 3]).unwrap();
    let y = wgcnn::softmax(&x, 1).unwrap().to_vec().unwrap();
    let want = [0.090_030_57, 0.244_728_48, 0.665_240_94, 0.5, 0.5, 0.0];
    common::assert_close(&y, &want, 1e-7, 1e-6, "softmax");
    // a scalar's softmax is 1
    let x = Tensor::from_slice(dev, &[-3.5], &[]).unwrap();
    assert_eq!(wgcnn::softmax(&x, 0).unwrap().to_vec().unwrap(), [1.0]);
}
backend_tests!(softmax_gives_pytorchs_values);

fn softmax_of_non_finite_inputs_is_pytorchs(dev: &Device) {
    let (inf, nan) = (f32::INFINITY, f32::NAN);
    // rows of 4 and of 100 (the workgroup-per-row kernel), along dims 1 and 0
    for len in [4usize, 100] {
        let mut rows = vec![vec![-inf, 0.0, -inf, 0.0], vec![1.0, nan, 2.0, 3.0]];
        rows.push(vec![-inf; 4]);
        rows.push(vec![inf, 1.0, 2.0, 3.0]);
        let data: Vec<f32> = rows
            .iter()
            .flat_map(|r| {
                let mut r = r.clone();
                r.resize(len, -inf);
                r
            })
            .collect();
        check(dev, &data, &[4, len], 1);
        check(dev, &data, &[4, len], 0);
        let y = wgcnn::softmax(&Tensor::from_slice(dev, &data, &[4, len]).unwrap(), 1)
            .unwrap()
            .to_vec()
            .unwrap();
        // exp(-inf) is 0; a NaN, an all -inf row or +inf makes the row NaN
        assert_eq!(&y[..4], &[0.0, 0.5, 0.0, 0.5]);
        assert!(
            y[len..].iter().all(|v| v.is_nan()),
            "{:?}",
            &y[len..len + 4]
        );
    }
}
backend_tests!(softmax_of_non_finite_inputs_is_pytorchs);

fn softmax_of_an_empty_dim_is_empty(dev: &Device) {
    let x = Tensor::from_slice(dev, &[], &[3, 0, 2]).unwrap();
    assert_eq!(wgcnn::softmax(&x, 1).unwrap().shape(), &[3, 0, 2]);
}
backend_tests!(softmax_of_an_empty_dim_is_empty);

fn softmax_dimension_errors_are_pytorchs(dev: &Device) {
    let x = Tensor::from_slice(dev, &[0.0; 6], &[2, 3]).unwrap();
    let e = wgcnn::softmax(&x, 2).unwrap_err();
    assert_eq!(
        e.to_string(),
        "softmax: Dimension out of range (expected to be in range of [-2, 1], but got 2)"
    );
    assert!(wgcnn::softmax(&x, -3).is_err());
    let s = Tensor::from_slice(dev, &[1.0], &[]).unwrap();
    let e = wgcnn::softmax(&s, 1).unwrap_err();
    assert!(e.to_string().contains("[-1, 0], but got 1"), "{e}");
}
backend_tests!(softmax_dimension_errors_are_pytorchs);

fn softmax_runs_past_the_workgroup_limit_and_in_chunks(dev: &Device) {
    // 70000 rows of 64 (a workgroup each) and 17M columns: both spill into y
    let data = common::random(70000 * 64, 1);
    check(dev, &data, &[70000, 64], 1);
    let data = common::random(2 * 17_000_000, 2);
    check(dev, &data, &[2, 1, 17_000_000], 1);
    // a 4 KiB binding and 3 workgroups per dimension: runs of whole blocks
    let options = DeviceOptions {
        max_storage_binding: Some(4096),
        max_workgroups_per_dim: Some(3),
        ..DeviceOptions::default()
    };
    let small = &common::reopen(dev, &options);
    let data = common::random(37 * 300, 3);
    check(small, &data, &[37, 300], 1);
    check(small, &data, &[37, 3, 100], 1);
    check(small, &data[..1000], &[1000], 0);
    // blocks larger than a binding: in bands of columns
    check(small, &data, &[37, 300], 0);
    check(small, &data, &[3, 37, 100], 1);
    check(small, &data, &[1, 37, 20, 15], 1);
    // one row larger than a binding along the last dim
    let x = Tensor::from_slice(small, &data, &[11100]).unwrap();
    let e = wgcnn::softmax(&x, 0).unwrap_err();
    assert!(matches!(e, wgcnn::Error::Limit { .. }), "{e}");
}
backend_tests!(gpu softmax_runs_past_the_workgroup_limit_and_in_chunks);
