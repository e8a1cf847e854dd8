//! conv_transpose2d on every backend against the CPU reference over many shapes and
//! every parameter, the reference against hand-computed values and against conv2d's
//! reference (the transposed convolution is conv2d's adjoint), and PyTorch's errors.

#[macro_use]
mod common;

use wgcnn::{Conv2dParams, ConvTranspose2dParams, Device, DeviceOptions, Error, Padding, Tensor};

/// `conv_transpose2d` of random data on `dev` against the reference.
fn check(
    dev: &Device,
    input: &[usize],
    weight: &[usize],
    bias: bool,
    p: &ConvTranspose2dParams,
    seed: u64,
) {
    let g = p
        .geometry(
            input,
            weight,
            bias.then_some(&[weight[1] * p.groups as usize][..]),
        )
        .unwrap();
    let x = common::random(input.iter().product(), seed);
    let w = common::random(weight.iter().product(), seed + 1);
    let b = common::random(g.c_out, seed + 2);
    let want =
        wgcnn::reference::conv_transpose2d::conv_transpose2d(&x, &w, bias.then_some(&b[..]), &g);
    let xt = Tensor::from_slice(dev, &x, input).unwrap();
    let wt = Tensor::from_slice(dev, &w, weight).unwrap();
    let bt = Tensor::from_slice(dev, &b, &[g.c_out]).unwrap();
    let y = wgcnn::conv_transpose2d(&xt, &wt, bias.then_some(&bt), p).unwrap();
    assert_eq!(y.shape(), &g.output_shape()[..]);
    let what = format!("input {input:?} weight {weight:?} bias {bias} {p:?} on {dev:?}");
    common::assert_close(&y.to_vec().unwrap(), &want, 1e-5, 1e-4, &what);
}

fn params(
    s: [i64; 2],
    pad: [i64; 2],
    op: [i64; 2],
    groups: i64,
    d: [i64; 2],
) -> ConvTranspose2dParams {
    ConvTranspose2dParams {
        stride: s,
        padding: pad,
        output_padding: op,
        groups,
        dilation: d,
    }
}

fn every_parameter_matches_the_reference(dev: &Device) {
    let mut seed = 0;
    let mut run = |input: &[usize], weight: &[usize], bias: bool, p: ConvTranspose2dParams| {
        seed += 3;
        check(dev, input, weight, bias, &p, seed);
    };
    // strides 1-3, with and without padding and output padding, square and not
    for s in 1..=3 {
        for pad in 0..=2 {
            for op in 0..s {
                run(
                    &[2, 3, 5, 4],
                    &[3, 2, 3, 3],
                    true,
                    params([s, s], [pad, pad], [op, op], 1, [1, 1]),
                );
            }
        }
    }
    // rectangular strides, paddings, kernels; output padding below the dilation
    run(
        &[1, 2, 4, 6],
        &[2, 3, 2, 5],
        true,
        params([2, 3], [1, 2], [1, 2], 1, [1, 1]),
    );
    run(
        &[1, 2, 5, 5],
        &[2, 2, 3, 3],
        false,
        params([1, 1], [0, 1], [1, 1], 1, [2, 2]),
    );
    run(
        &[2, 3, 3, 7],
        &[3, 4, 3, 2],
        true,
        params([2, 1], [2, 0], [0, 0], 1, [3, 2]),
    );
    // groups, depthwise, depthwise with a multiplier
    run(
        &[2, 4, 5, 5],
        &[4, 3, 3, 3],
        true,
        params([2, 2], [1, 1], [1, 1], 2, [1, 1]),
    );
    run(
        &[1, 6, 7, 5],
        &[6, 1, 3, 3],
        true,
        params([1, 1], [1, 1], [0, 0], 6, [1, 1]),
    );
    run(
        &[2, 6, 4, 4],
        &[6, 2, 4, 4],
        false,
        params([2, 2], [1, 1], [0, 0], 6, [1, 1]),
    );
    run(
        &[1, 6, 5, 3],
        &[6, 5, 2, 3],
        true,
        params([3, 2], [0, 1], [2, 0], 3, [1, 2]),
    );
    // output channels not a multiple of 4, one output channel, odd sizes
    run(
        &[3, 5, 9, 11],
        &[5, 7, 3, 3],
        true,
        params([2, 2], [1, 1], [1, 0], 1, [1, 1]),
    );
    run(
        &[1, 3, 13, 1],
        &[3, 1, 1, 1],
        true,
        params([1, 1], [0, 0], [0, 0], 1, [1, 1]),
    );
    run(
        &[1, 1, 1, 1],
        &[1, 9, 4, 4],
        true,
        params([3, 3], [0, 0], [0, 0], 1, [1, 1]),
    );
    // unbatched
    run(
        &[3, 6, 5],
        &[3, 2, 3, 3],
        true,
        params([2, 2], [1, 1], [1, 1], 1, [1, 1]),
    );
    run(
        &[2, 4, 4],
        &[2, 3, 2, 2],
        false,
        params([1, 1], [0, 0], [0, 0], 1, [1, 1]),
    );
    // a kernel larger than the input, padding cutting most of the output
    run(
        &[1, 2, 2, 2],
        &[2, 3, 5, 5],
        true,
        params([1, 1], [2, 2], [0, 0], 1, [1, 1]),
    );
    // a larger layer: a decoder's upsampling step
    run(
        &[2, 16, 8, 8],
        &[16, 8, 4, 4],
        true,
        params([2, 2], [1, 1], [0, 0], 1, [1, 1]),
    );
}
backend_tests!(every_parameter_matches_the_reference);

fn random_shapes_match_the_reference(dev: &Device) {
    // xorshift over shapes and parameters
    let mut s = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = |n: u64| {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s % n) as usize
    };
    let mut done = 0;
    while done < 40 {
        let groups = [1, 1, 2, 3][next(4)];
        let cg = 1 + next(3);
        let mg = 1 + next(5);
        let (kh, kw) = (1 + next(4), 1 + next(4));
        let stride = [1 + next(3) as i64, 1 + next(3) as i64];
        let dilation = [1 + next(2) as i64, 1 + next(2) as i64];
        let padding = [next(3) as i64, next(3) as i64];
        let output_padding = [
            next(stride[0].max(dilation[0]) as u64) as i64,
            next(stride[1].max(dilation[1]) as u64) as i64,
        ];
        let input = [1 + next(3), cg * groups, 1 + next(7), 1 + next(7)];
        let weight = [cg * groups, mg, kh, kw];
        let p = params(stride, padding, output_padding, groups as i64, dilation);
        // skip calls PyTorch rejects (an output too small)
        if p.geometry(&input, &weight, None).is_err() {
            continue;
        }
        check(dev, &input, &weight, next(2) == 0, &p, done as u64);
        done += 1;
    }
}
backend_tests!(random_shapes_match_the_reference);

fn runs_of_images_split_over_small_bindings_match_the_reference(dev: &Device) {
    // 2 KiB bindings: one image per dispatch; 3 workgroups per dimension: grids spill
    let options = DeviceOptions {
        max_storage_binding: Some(2048),
        max_workgroups_per_dim: Some(3),
        ..DeviceOptions::default()
    };
    let dev = &common::reopen(dev, &options);
    check(
        dev,
        &[5, 3, 4, 4],
        &[3, 2, 3, 3],
        true,
        &params([2, 2], [1, 1], [1, 1], 1, [1, 1]),
        7,
    );
    // images larger than a binding: in bands of output rows
    let cases = [
        (
            [2, 2, 30, 30],
            [2, 2, 3, 3],
            params([1, 1], [0, 0], [0, 0], 1, [1, 1]),
        ),
        (
            [1, 2, 21, 17],
            [2, 3, 4, 4],
            params([2, 2], [1, 1], [1, 1], 1, [1, 1]),
        ),
        (
            [1, 4, 13, 11],
            [4, 1, 3, 3],
            params([1, 2], [2, 0], [0, 1], 2, [2, 1]),
        ),
        // rows no input reaches: stride 3, one tap
        (
            [1, 2, 17, 9],
            [2, 2, 1, 1],
            params([3, 3], [0, 0], [2, 0], 1, [1, 1]),
        ),
    ];
    for (i, (input, weight, p)) in cases.iter().enumerate() {
        check(dev, input, weight, true, p, 20 + i as u64);
    }
}
backend_tests!(gpu runs_of_images_split_over_small_bindings_match_the_reference);

fn empty_batches_and_channels_give_empty_outputs(dev: &Device) {
    let x = Tensor::from_slice(dev, &[], &[0, 2, 3, 3]).unwrap();
    let w = Tensor::zeros(dev, &[2, 3, 2, 2]).unwrap();
    let y =
        wgcnn::conv_transpose2d(&x, &w, None, &ConvTranspose2dParams::default().stride(2)).unwrap();
    assert_eq!(y.shape(), &[0, 3, 6, 6]);
    // no output channels
    let x = Tensor::zeros(dev, &[1, 2, 3, 3]).unwrap();
    let w = Tensor::from_slice(dev, &[], &[2, 0, 2, 2]).unwrap();
    let y = wgcnn::conv_transpose2d(&x, &w, None, &ConvTranspose2dParams::default()).unwrap();
    assert_eq!(y.shape(), &[1, 0, 4, 4]);
    assert!(y.to_vec().unwrap().is_empty());
}
backend_tests!(empty_batches_and_channels_give_empty_outputs);

/// The reference's answer for one call on host data.
fn reference(
    x: &[f32],
    xs: &[usize],
    w: &[f32],
    ws: &[usize],
    b: Option<&[f32]>,
    p: &ConvTranspose2dParams,
) -> (Vec<usize>, Vec<f32>) {
    let bias_shape = b.map(|b| [b.len()]);
    let g = p
        .geometry(xs, ws, bias_shape.as_ref().map(|s| &s[..]))
        .unwrap();
    (
        g.output_shape(),
        wgcnn::reference::conv_transpose2d::conv_transpose2d(x, w, b, &g),
    )
}

#[test]
fn reference_matches_hand_computed_values() {
    let k: Vec<f32> = (1..=9).map(|v| v as f32).collect();
    // a 1x1 input with stride 2: the kernel scaled
    // torch: F.conv_transpose2d(torch.full((1,1,1,1), 2.), k.view(1,1,3,3), stride=2)
    let (shape, y) = reference(
        &[2.0],
        &[1, 1, 1, 1],
        &k,
        &[1, 1, 3, 3],
        None,
        &ConvTranspose2dParams::default().stride(2),
    );
    assert_eq!(shape, [1, 1, 3, 3]);
    assert_eq!(y, k.iter().map(|v| v * 2.0).collect::<Vec<_>>());
    // [[1, 2], [3, 4]] with a 2x2 kernel of ones: overlapping sums
    let x = [1.0, 2.0, 3.0, 4.0];
    let (shape, y) = reference(
        &x,
        &[1, 1, 2, 2],
        &[1.0; 4],
        &[1, 1, 2, 2],
        None,
        &ConvTranspose2dParams::default(),
    );
    assert_eq!(shape, [1, 1, 3, 3]);
    assert_eq!(y, [1.0, 3.0, 2.0, 4.0, 10.0, 6.0, 3.0, 7.0, 4.0]);
    // padding 1 keeps the centre
    let (shape, y) = reference(
        &x,
        &[1, 1, 2, 2],
        &[1.0; 4],
        &[1, 1, 2, 2],
        None,
        &ConvTranspose2dParams::default().padding(1),
    );
    assert_eq!((shape, y), (vec![1, 1, 1, 1], vec![10.0]));
    // stride 2, output_padding 1 and a bias: blocks, then a last row and column of bias
    let p = ConvTranspose2dParams::default().stride(2).output_padding(1);
    let (shape, y) = reference(&x, &[1, 2, 2], &[1.0; 4], &[1, 1, 2, 2], Some(&[0.5]), &p);
    assert_eq!(shape, [1, 5, 5]);
    #[rustfmt::skip]
    let want = [
        1.5, 1.5, 2.5, 2.5, 0.5,
        1.5, 1.5, 2.5, 2.5, 0.5,
        3.5, 3.5, 4.5, 4.5, 0.5,
        3.5, 3.5, 4.5, 4.5, 0.5,
        0.5, 0.5, 0.5, 0.5, 0.5,
    ];
    assert_eq!(y, want);
    // dilation 2 spreads the taps
    let (_, y) = reference(
        &[1.0],
        &[1, 1, 1, 1],
        &[1.0, 2.0, 3.0, 4.0],
        &[1, 1, 2, 2],
        None,
        &ConvTranspose2dParams::default().dilation(2),
    );
    assert_eq!(y, [1.0, 0.0, 2.0, 0.0, 0.0, 0.0, 3.0, 0.0, 4.0]);
    // two groups of one channel: each its own scale
    let (shape, y) = reference(
        &[5.0, 7.0],
        &[1, 2, 1, 1],
        &[2.0, 3.0],
        &[2, 1, 1, 1],
        None,
        &ConvTranspose2dParams::default().groups(2),
    );
    assert_eq!((shape, y), (vec![1, 2, 1, 1], vec![10.0, 21.0]));
}

/// A conv2d's input and weight shapes, stride, padding, dilation and groups.
type Conv2dCase = ([usize; 4], [usize; 4], i64, i64, i64, i64);

#[test]
fn reference_is_the_adjoint_of_conv2d() {
    // <conv2d(x, W), y> == <x, conv_transpose2d(y, W)> with the same stride, padding,
    // dilation and groups, output_padding making the shapes meet
    // input, weight, stride, padding, dilation, groups
    let cases: [Conv2dCase; 5] = [
        ([2, 4, 7, 6], [6, 2, 3, 3], 2, 1, 1, 2),
        ([1, 3, 8, 8], [4, 3, 3, 3], 1, 1, 1, 1),
        ([1, 2, 9, 7], [2, 1, 3, 2], 3, 2, 2, 2),
        ([2, 6, 5, 5], [6, 1, 3, 3], 2, 1, 1, 6),
        ([1, 2, 6, 6], [3, 2, 4, 4], 2, 1, 1, 1),
    ];
    for (i, (xs, ws, s, p, d, g)) in cases.into_iter().enumerate() {
        let conv = Conv2dParams {
            stride: [s, s],
            padding: Padding::Explicit([p, p]),
            dilation: [d, d],
            groups: g,
            ..Conv2dParams::default()
        };
        let cg = conv.geometry(&xs, &ws, None).unwrap();
        let x = common::random(xs.iter().product(), 10 + i as u64);
        let w = common::random(ws.iter().product(), 20 + i as u64);
        let fx = wgcnn::reference::conv2d::conv2d(&x, &w, None, &cg, false);
        let ys = cg.output_shape();
        let y = common::random(ys.iter().product(), 30 + i as u64);
        // the output padding that gives back the input's size
        let full = |o: usize, k: usize| (o as i64 - 1) * s - 2 * p + d * (k as i64 - 1) + 1;
        let op = [
            xs[2] as i64 - full(cg.oh, ws[2]),
            xs[3] as i64 - full(cg.ow, ws[3]),
        ];
        let t = ConvTranspose2dParams {
            stride: [s, s],
            padding: [p, p],
            output_padding: op,
            groups: g,
            dilation: [d, d],
        };
        let (shape, ty) = reference(&y, &ys, &w, &ws, None, &t);
        assert_eq!(shape, xs);
        let dot = |a: &[f32], b: &[f32]| -> f64 {
            a.iter()
                .zip(b)
                .map(|(&a, &b)| f64::from(a) * f64::from(b))
                .sum()
        };
        let (lhs, rhs) = (dot(&fx, &y), dot(&x, &ty));
        assert!(
            (lhs - rhs).abs() <= 1e-4 * lhs.abs().max(1.0),
            "case {i}: {lhs} vs {rhs}"
        );
    }
}

#[test]
fn bad_calls_get_pytorchs_errors() {
    let dev = Device::cpu();
    let t = |shape: &[usize]| Tensor::zeros(&dev, shape).unwrap();
    let d = ConvTranspose2dParams::default();
    let cases: Vec<(Tensor, Tensor, Option<Tensor>, ConvTranspose2dParams, &str)> = vec![
        (
            t(&[1, 1, 4, 4]),
            t(&[1, 1, 3, 3]),
            None,
            d.output_padding(2),
            "output padding must be smaller than either stride or dilation, but got output_padding_height: 2 output_padding_width: 2 stride_height: 1 stride_width: 1 dilation_height: 1 dilation_width: 1",
        ),
        (
            t(&[1, 3, 4, 4]),
            t(&[2, 1, 3, 3]),
            None,
            d,
            "Given transposed=1, weight of size [2, 1, 3, 3], expected input[1, 3, 4, 4] to have 2 channels, but got 3 channels instead",
        ),
        (
            t(&[1, 2, 4, 4]),
            t(&[2, 1, 3, 3]),
            Some(t(&[3])),
            d.groups(2),
            "Given transposed=1, weight of size [2, 1, 3, 3], expected bias to be 1-dimensional with 2 elements, but got bias of size [3] instead",
        ),
        (
            t(&[1, 3, 4, 4]),
            t(&[3, 1, 3, 3]),
            None,
            d.groups(2),
            "Given groups=2, expected weight to be divisible by 2 at dimension 0",
        ),
        (
            t(&[1, 3, 4, 4]),
            t(&[3, 1, 3, 3]),
            None,
            d.groups(4),
            "Given groups=4, expected weight to be at least 4 at dimension 0",
        ),
        (
            t(&[1, 1, 1, 1]),
            t(&[1, 1, 1, 1]),
            None,
            d.padding(1),
            "Given input size per channel: (1 x 1). Calculated output size per channel: (-1 x -1). Output size is too small",
        ),
        (
            t(&[4, 4]),
            t(&[1, 1, 3, 3]),
            None,
            d,
            "Expected 3D (unbatched) or 4D (batched) input to conv_transpose2d, but got input of size: [4, 4]",
        ),
        (
            t(&[1, 1, 4, 4]),
            t(&[1, 1, 3, 3]),
            None,
            d.stride(0),
            "non-positive stride is not supported",
        ),
        (
            t(&[1, 1, 4, 4]),
            t(&[1, 1, 3, 3]),
            None,
            d.padding(-1),
            "negative padding is not supported",
        ),
        (
            t(&[1, 1, 4, 4]),
            t(&[1, 1, 3, 3]),
            None,
            d.output_padding(-1),
            "negative output_padding is not supported",
        ),
        (
            t(&[1, 1, 4, 4]),
            t(&[1, 1, 3, 3]),
            None,
            d.dilation(0),
            "dilation should be greater than zero",
        ),
        (
            t(&[1, 1, 4, 4]),
            t(&[1, 1, 3, 3]),
            None,
            d.groups(0),
            "non-positive groups is not supported",
        ),
        (
            t(&[1, 1, 4, 4]),
            t(&[1, 3, 3]),
            None,
            d,
            "Expected 3-dimensional input for 3-dimensional weight [1, 3, 3], but got 4-dimensional input of size [1, 1, 4, 4] instead",
        ),
    ];
    for (x, w, b, p, want) in cases {
        let e = wgcnn::conv_transpose2d(&x, &w, b.as_ref(), &p).unwrap_err();
        assert!(
            matches!(e, Error::Shape { .. } | Error::InvalidParam { .. }),
            "{e:?}"
        );
        assert!(e.to_string().contains(want), "got: {e}\nwant: {want}");
    }
}

#[test]
fn keyword_arguments_parse_with_pytorchs_names() {
    let kw = serde_json::json!({"stride": [2, 1], "padding": 1, "output_padding": [1, 0], "groups": 2, "dilation": 3});
    let op = wgcnn::Op::from_kwargs(
        "conv_transpose2d",
        wgcnn::op::kwargs::Kwargs(kw.as_object().unwrap()),
        &[1, 2, 4, 4],
    )
    .unwrap();
    assert_eq!(
        op,
        wgcnn::Op::ConvTranspose2d(params([2, 1], [1, 1], [1, 0], 2, [3, 3]))
    );
    let kw = serde_json::json!({"stride": 2.0});
    let e = wgcnn::Op::from_kwargs(
        "ConvTranspose2d",
        wgcnn::op::kwargs::Kwargs(kw.as_object().unwrap()),
        &[],
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("argument 'stride' must be tuple of ints, not float"),
        "{e}"
    );
}
