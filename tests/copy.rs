//! permute, slice and cat on every backend against the CPU reference, bit for bit
//! (NaN payloads and -0.0 included), the reference against hand-computed values,
//! empty tensors, copies split over small bindings, and PyTorch's errors.

#[macro_use]
mod common;

use wgcnn::op::copy::{Permutation, SliceParams, cat_geometry};
use wgcnn::reference::copy as reference;
use wgcnn::{Device, DeviceOptions, Error, Tensor};

/// Random data with special values (NaN payloads, -0.0, infinities, subnormals)
/// sprinkled in, so that a copy that goes through float arithmetic shows.
fn data(len: usize, seed: u64) -> Vec<f32> {
    let specials = [
        f32::from_bits(0x7fc0_1234),
        f32::from_bits(0xffa0_0001),
        -0.0,
        f32::INFINITY,
        f32::NEG_INFINITY,
        1e-45,
    ];
    let mut v = common::random(len, seed);
    for (i, x) in v.iter_mut().enumerate() {
        if i % 7 == 3 {
            *x = specials[(i / 7) % specials.len()];
        }
    }
    v
}

fn arange(n: usize) -> Vec<f32> {
    (0..n).map(|v| v as f32).collect()
}

fn check_permute(dev: &Device, shape: &[usize], dims: &[usize], seed: u64) {
    let x = data(shape.iter().product(), seed);
    let signed: Vec<i64> = dims.iter().map(|&d| d as i64).collect();
    let g = Permutation::new(&signed).unwrap().geometry(shape).unwrap();
    let want = reference::permute(&x, &g);
    let y = wgcnn::permute(&Tensor::from_slice(dev, &x, shape).unwrap(), dims).unwrap();
    assert_eq!(y.shape(), &g.output_shape()[..]);
    let what = format!("permute {shape:?} {dims:?} on {dev:?}");
    common::assert_bits_eq(&y.to_vec().unwrap(), &want, &what);
}

fn check_slice(
    dev: &Device,
    shape: &[usize],
    (dim, start, end, step): (usize, i64, i64, i64),
    seed: u64,
) {
    let x = data(shape.iter().product(), seed);
    let p = SliceParams {
        dim: dim as i64,
        start,
        end,
        step,
    };
    let g = p.geometry(shape).unwrap();
    let want = reference::slice(&x, &g);
    let y = wgcnn::slice(
        &Tensor::from_slice(dev, &x, shape).unwrap(),
        dim,
        start,
        end,
        step,
    )
    .unwrap();
    assert_eq!(y.shape(), &g.output_shape()[..]);
    let what = format!("slice {shape:?} dim {dim} {start}:{end}:{step} on {dev:?}");
    common::assert_bits_eq(&y.to_vec().unwrap(), &want, &what);
}

fn check_cat(dev: &Device, shapes: &[Vec<usize>], dim: usize, seed: u64) {
    let xs: Vec<Vec<f32>> = shapes
        .iter()
        .enumerate()
        .map(|(i, s)| data(s.iter().product(), seed + i as u64))
        .collect();
    let refs: Vec<&[usize]> = shapes.iter().map(Vec::as_slice).collect();
    let g = cat_geometry(&refs, dim as i64).unwrap();
    let host: Vec<&[f32]> = xs.iter().map(Vec::as_slice).collect();
    let want = reference::cat(&host, &g);
    let ts: Vec<Tensor> = xs
        .iter()
        .zip(shapes)
        .map(|(x, s)| Tensor::from_slice(dev, x, s).unwrap())
        .collect();
    let tr: Vec<&Tensor> = ts.iter().collect();
    let y = wgcnn::cat(&tr, dim).unwrap();
    assert_eq!(y.shape(), &g.output_shape()[..]);
    let what = format!("cat {shapes:?} dim {dim} on {dev:?}");
    common::assert_bits_eq(&y.to_vec().unwrap(), &want, &what);
}

/// Every permutation of `0..n`.
fn permutations(n: usize) -> Vec<Vec<usize>> {
    if n == 0 {
        return vec![vec![]];
    }
    let mut out = Vec::new();
    for p in permutations(n - 1) {
        for at in 0..=p.len() {
            let mut q = p.clone();
            q.insert(at, n - 1);
            out.push(q);
        }
    }
    out
}

#[test]
fn reference_matches_hand_computed_values() {
    // torch.arange(6.).view(2, 3).permute(1, 0)
    let g = Permutation::new(&[1, 0])
        .unwrap()
        .geometry(&[2, 3])
        .unwrap();
    assert_eq!(g.output_shape(), [3, 2]);
    assert_eq!(
        reference::permute(&arange(6), &g),
        [0.0, 3.0, 1.0, 4.0, 2.0, 5.0]
    );
    // [2, 1, 3] -> permute(2, 0, 1)
    let g = Permutation::new(&[2, 0, -2])
        .unwrap()
        .geometry(&[2, 1, 3])
        .unwrap();
    assert_eq!(g.output_shape(), [3, 2, 1]);
    assert_eq!(
        reference::permute(&arange(6), &g),
        [0.0, 3.0, 1.0, 4.0, 2.0, 5.0]
    );
    // numpy: np.arange(10)[a:b:c]
    let slice = |start, end, step| {
        let p = SliceParams {
            dim: 0,
            start,
            end,
            step,
        };
        reference::slice(&arange(10), &p.geometry(&[10]).unwrap())
    };
    assert_eq!(slice(-3, i64::MAX, 1), [7.0, 8.0, 9.0]);
    assert_eq!(slice(2, 7, 2), [2.0, 4.0, 6.0]);
    assert_eq!(slice(-1, i64::MIN, -2), [9.0, 7.0, 5.0, 3.0, 1.0]);
    assert_eq!(slice(100, 0, -3), [9.0, 6.0, 3.0]);
    assert_eq!(slice(-100, 100, 4), [0.0, 4.0, 8.0]);
    assert_eq!(slice(5, 2, 1), [] as [f32; 0]);
    assert_eq!(slice(2, 5, -1), [] as [f32; 0]);
    assert_eq!(
        slice(-1, -11, -1),
        arange(10).into_iter().rev().collect::<Vec<_>>()
    );
    assert_eq!(slice(3, 4, i64::MAX), [3.0]);
    assert_eq!(slice(8, 3, i64::MIN), [8.0]);
    // slicing an inner dimension: np.arange(12).reshape(3, 4)[:, 3:0:-2]
    let g = SliceParams {
        dim: 1,
        start: 3,
        end: 0,
        step: -2,
    }
    .geometry(&[3, 4])
    .unwrap();
    assert_eq!(
        reference::slice(&arange(12), &g),
        [3.0, 1.0, 7.0, 5.0, 11.0, 9.0]
    );
    // torch.cat([arange(4).view(2, 2), 10 + arange(2).view(2, 1)], 1)
    let g = cat_geometry(&[&[2, 2], &[2, 1]], 1).unwrap();
    let b = [10.0, 11.0];
    assert_eq!(
        reference::cat(&[&arange(4), &b], &g),
        [0.0, 1.0, 10.0, 2.0, 3.0, 11.0]
    );
    let g = cat_geometry(&[&[2, 2], &[1, 2]], -2).unwrap();
    assert_eq!(
        reference::cat(&[&arange(4), &b], &g),
        [0.0, 1.0, 2.0, 3.0, 10.0, 11.0]
    );
}

fn permutations_of_3_to_6_dimensions_match_the_reference(dev: &Device) {
    let shapes: [&[usize]; 4] = [
        &[3, 5, 7],
        &[2, 3, 4, 5],
        &[2, 3, 1, 4, 3],
        &[2, 1, 3, 2, 3, 2],
    ];
    let mut seed = 0;
    for shape in shapes {
        let all = permutations(shape.len());
        // every permutation up to 4-D, every 7th of 5-D and 6-D
        let every = if shape.len() <= 4 { 1 } else { 7 };
        for dims in all.iter().step_by(every) {
            seed += 1;
            check_permute(dev, shape, dims, seed);
        }
    }
    // 1-D, 2-D, a larger transpose
    check_permute(dev, &[17], &[0], 1);
    check_permute(dev, &[33, 65], &[1, 0], 2);
    check_permute(dev, &[2, 64, 56, 3], &[0, 3, 1, 2], 3);
}
backend_tests!(permutations_of_3_to_6_dimensions_match_the_reference);

fn slices_match_the_reference(dev: &Device) {
    let shape = [3, 4, 5, 6];
    let mut seed = 0;
    for dim in 0..4 {
        for (start, end, step) in [
            (0, i64::MAX, 1),
            (1, 3, 1),
            (-2, i64::MAX, 1),
            (0, -1, 2),
            (1, 100, 3),
            (-1, i64::MIN, -1),
            (i64::MAX, i64::MIN, -2),
            (3, 0, -1),
            (-100, 100, 1),
            (2, 2, 1),
            (4, 1, 1),
            (1, 4, -1),
            (0, 1, i64::MAX),
            (-1, -2, i64::MIN),
        ] {
            seed += 1;
            check_slice(dev, &shape, (dim, start, end, step), seed);
        }
    }
    // 1-D, 6-D, odd sizes
    check_slice(dev, &[1001], (0, 7, -1, 3), 1);
    check_slice(dev, &[2, 3, 1, 5, 2, 7], (5, -2, 0, -2), 2);
    check_slice(dev, &[2, 3, 1, 5, 2, 7], (3, 1, 4, 1), 3);
}
backend_tests!(slices_match_the_reference);

fn cat_on_every_axis_with_1_to_4_inputs_matches_the_reference(dev: &Device) {
    let bases: [&[usize]; 4] = [&[5], &[3, 4], &[2, 3, 5, 4], &[2, 1, 3, 2, 3, 2]];
    let mut seed = 0;
    for base in bases {
        for dim in 0..base.len() {
            for count in 1..=4 {
                let shapes: Vec<Vec<usize>> = (0..count)
                    .map(|i| {
                        let mut s = base.to_vec();
                        s[dim] = 1 + (i * 2 + dim) % 4;
                        s
                    })
                    .collect();
                seed += 10;
                check_cat(dev, &shapes, dim, seed);
            }
        }
    }
    // an input empty along the dimension is skipped
    check_cat(dev, &[vec![2, 0, 3], vec![2, 2, 3], vec![2, 0, 3]], 1, 7);
}
backend_tests!(cat_on_every_axis_with_1_to_4_inputs_matches_the_reference);

fn empty_tensors_give_empty_results(dev: &Device) {
    let e = Tensor::from_slice(dev, &[], &[2, 0, 3]).unwrap();
    let y = wgcnn::permute(&e, &[2, 0, 1]).unwrap();
    assert_eq!(y.shape(), &[3, 2, 0]);
    assert!(y.to_vec().unwrap().is_empty());
    let y = wgcnn::slice(&e, 2, 0, 2, 1).unwrap();
    assert_eq!(y.shape(), &[2, 0, 2]);
    let x = Tensor::from_slice(dev, &arange(6), &[2, 3]).unwrap();
    let y = wgcnn::slice(&x, 1, 2, 1, 1).unwrap();
    assert_eq!(y.shape(), &[2, 0]);
    assert!(y.to_vec().unwrap().is_empty());
    let y = wgcnn::cat(&[&e, &e], 2).unwrap();
    assert_eq!(y.shape(), &[2, 0, 6]);
    let z = Tensor::from_slice(dev, &[], &[2, 0]).unwrap();
    let y = wgcnn::cat(&[&z, &x, &z], 1).unwrap();
    assert_eq!(y.shape(), &[2, 3]);
    assert_eq!(y.to_vec().unwrap(), arange(6));
}
backend_tests!(empty_tensors_give_empty_results);

fn copies_split_over_small_bindings_match_the_reference(dev: &Device) {
    // 4 KiB bindings (1024 elements) and 3 workgroups per dimension: copies cut into
    // many pieces, each dispatch spilling into y
    let options = DeviceOptions {
        max_storage_binding: Some(4096),
        max_workgroups_per_dim: Some(3),
        ..DeviceOptions::default()
    };
    let dev = &common::reopen(dev, &options);
    check_permute(dev, &[8, 300], &[1, 0], 1);
    check_permute(dev, &[3, 40, 50], &[2, 0, 1], 2);
    check_permute(dev, &[2, 3, 1200], &[2, 1, 0], 3);
    check_slice(dev, &[7, 900], (1, -1, i64::MIN, -3), 4);
    check_slice(dev, &[5000], (0, 4999, 0, -1), 5);
    check_slice(dev, &[30, 200], (0, 29, 0, -2), 6);
    check_cat(dev, &[vec![6, 700], vec![6, 500]], 1, 7);
    check_cat(dev, &[vec![3000], vec![2000], vec![1]], 0, 8);
}
backend_tests!(gpu copies_split_over_small_bindings_match_the_reference);

fn copies_run_past_the_workgroup_limit_per_dimension(dev: &Device) {
    // 65535 workgroups of 256 and more: the grid must spill into y
    let shape = [2, 65535 * 128 + 3];
    check_permute(dev, &shape, &[1, 0], 1);
    check_slice(dev, &[65535 * 256 + 7], (0, -1, i64::MIN, -1), 2);
}
backend_tests!(gpu copies_run_past_the_workgroup_limit_per_dimension);

#[test]
fn bad_calls_get_pytorchs_errors() {
    let dev = Device::cpu();
    let x = Tensor::zeros(&dev, &[2, 3, 4]).unwrap();
    let msg = |r: wgcnn::Result<Tensor>| {
        let e = r.unwrap_err();
        assert!(
            matches!(
                e,
                Error::Shape { .. } | Error::InvalidParam { .. } | Error::Limit { .. }
            ),
            "{e:?}"
        );
        e.to_string()
    };
    let cases = [
        (
            msg(wgcnn::permute(&x, &[0, 1])),
            "number of dimensions in the tensor input does not match the length of the desired ordering of dimensions i.e. input.dim() = 3 is not equal to len(dims) = 2",
        ),
        (
            msg(wgcnn::permute(&x, &[0, 1, 1])),
            "permute(): duplicate dims are not allowed.",
        ),
        (
            msg(wgcnn::permute(&x, &[0, 1, 3])),
            "Dimension out of range (expected to be in range of [-3, 2], but got 3)",
        ),
        (
            msg(wgcnn::slice(&x, 1, 0, 2, 0)),
            "slice step cannot be zero",
        ),
        (
            msg(wgcnn::slice(&x, 3, 0, 2, 1)),
            "Dimension out of range (expected to be in range of [-3, 2], but got 3)",
        ),
        (
            msg(wgcnn::cat(&[], 0)),
            "torch.cat(): expected a non-empty list of Tensors",
        ),
        (
            msg(wgcnn::cat(&[&x, &Tensor::zeros(&dev, &[2, 3]).unwrap()], 0)),
            "Tensors must have same number of dimensions: got 3 and 2",
        ),
        (
            msg(wgcnn::cat(
                &[&x, &Tensor::zeros(&dev, &[2, 5, 4]).unwrap()],
                0,
            )),
            "Sizes of tensors must match except in dimension 0. Expected size 3 but got size 5 for tensor number 1 in the list.",
        ),
        (
            msg(wgcnn::cat(&[&x, &x], 3)),
            "Dimension out of range (expected to be in range of [-3, 2], but got 3)",
        ),
        (
            msg(wgcnn::cat(&[&Tensor::zeros(&dev, &[]).unwrap()], 0)),
            "zero-dimensional tensor (at position 0) cannot be concatenated",
        ),
        (
            msg(wgcnn::slice(&Tensor::zeros(&dev, &[]).unwrap(), 0, 0, 1, 1)),
            "slice() cannot be applied to a 0-dim tensor.",
        ),
    ];
    for (got, want) in cases {
        assert!(got.contains(want), "got: {got}\nwant: {want}");
    }
    // past rank 6: a limit, named
    let big = Tensor::zeros(&dev, &[1; 7]).unwrap();
    for e in [
        wgcnn::permute(&big, &[0, 1, 2, 3, 4, 5, 6]).unwrap_err(),
        wgcnn::slice(&big, 0, 0, 1, 1).unwrap_err(),
        wgcnn::cat(&[&big], 0).unwrap_err(),
    ] {
        assert!(
            matches!(
                e,
                Error::Limit {
                    what: "tensor rank",
                    ..
                }
            ),
            "{e:?}"
        );
    }
}

#[test]
fn tensors_on_different_devices_are_refused() {
    let Some(gpu) = common::gpus().first().copied() else {
        return;
    };
    let a = Tensor::zeros(&Device::cpu(), &[2, 2]).unwrap();
    let b = Tensor::zeros(gpu, &[2, 2]).unwrap();
    let e = wgcnn::cat(&[&a, &b], 0).unwrap_err();
    assert!(matches!(e, Error::DeviceMismatch { op: "cat" }), "{e:?}");
}

#[test]
fn keyword_arguments_parse() {
    use wgcnn::Op;
    use wgcnn::op::kwargs::Kwargs;
    let kw = serde_json::json!({"dims": [2, 0, -2]});
    let op = Op::from_kwargs("permute", Kwargs(kw.as_object().unwrap()), &[]).unwrap();
    assert_eq!(op, Op::Permute(Permutation::new(&[2, 0, -2]).unwrap()));
    let kw = serde_json::json!({"dim": -1, "start": 1, "end": -1, "step": 2});
    let op = Op::from_kwargs("slice", Kwargs(kw.as_object().unwrap()), &[]).unwrap();
    assert_eq!(
        op,
        Op::Slice(SliceParams {
            dim: -1,
            start: 1,
            end: -1,
            step: 2
        })
    );
    // absent start and end are Python's None: x[::-1] walks the whole dimension
    let kw = serde_json::json!({"step": -1});
    let Op::Slice(p) = Op::from_kwargs("slice", Kwargs(kw.as_object().unwrap()), &[]).unwrap()
    else {
        panic!("not a slice");
    };
    assert_eq!(
        reference::slice(&arange(4), &p.geometry(&[4]).unwrap()),
        [3.0, 2.0, 1.0, 0.0]
    );
    let kw = serde_json::json!({"dim": 1});
    let op = Op::from_kwargs("cat", Kwargs(kw.as_object().unwrap()), &[]).unwrap();
    assert_eq!(op, Op::Cat { dim: 1 });
    assert!(op.is_exact());
    let kw = serde_json::json!({"dims": [0, 1.5]});
    let e = Op::from_kwargs("permute", Kwargs(kw.as_object().unwrap()), &[]).unwrap_err();
    assert!(
        e.to_string().contains(
            "argument 'dims' must be tuple of ints, but found element of type float at pos 1"
        ),
        "{e}"
    );
}
