//! conv2d on non-finite and huge inputs: every lowering (the default one included, and
//! Winograd forced) gives the direct sum's numbers, infinities where it has them and
//! NaN exactly where it has NaN. The default-path cases are 3x3 stride-1 convolutions
//! with 8 or more input channels and 512 or more output pixels, which `Auto` runs by
//! Winograd on CPU drivers.

mod common;

use wgcnn::op::conv2d::Conv2dGeometry;
use wgcnn::{Conv2dAlgo, Conv2dOptions, Conv2dParams, Device, PaddingMode, Tensor};

use common::ALGOS;

/// One conv2d call's inputs.
struct Case {
    x: Vec<f32>,
    xs: [usize; 4],
    w: Vec<f32>,
    ws: [usize; 4],
    b: Option<Vec<f32>>,
    p: Conv2dParams,
}

impl Case {
    fn new(x: Vec<f32>, xs: [usize; 4], w: Vec<f32>, ws: [usize; 4]) -> Self {
        Self {
            x,
            xs,
            w,
            ws,
            b: None,
            p: Conv2dParams::default().padding(1),
        }
    }

    /// The reference output (f64 sums).
    fn want(&self, relu: bool) -> Vec<f32> {
        let g: Conv2dGeometry = self
            .p
            .geometry(
                &self.xs,
                &self.ws,
                self.b.as_ref().map(|b| vec![b.len()]).as_deref(),
            )
            .unwrap();
        wgcnn::reference::conv2d::conv2d(&self.x, &self.w, self.b.as_deref(), &g, relu)
    }

    fn run(&self, dev: &Device, options: &Conv2dOptions) -> Vec<f32> {
        let tx = Tensor::from_slice(dev, &self.x, &self.xs).unwrap();
        let tw = Tensor::from_slice(dev, &self.w, &self.ws).unwrap();
        let tb = self
            .b
            .as_ref()
            .map(|b| Tensor::from_slice(dev, b, &[b.len()]).unwrap());
        wgcnn::conv2d_ext(&tx, &tw, tb.as_ref(), &self.p, options)
            .unwrap()
            .to_vec()
            .unwrap()
    }

    /// Checks `dev` with `options` against the reference: NaN where it has NaN, its
    /// infinities exactly, finite values within `1e-4 * max|finite|`.
    fn check(&self, dev: &Device, options: &Conv2dOptions, what: &str) {
        if let Err(e) = self.compare(dev, options, what) {
            panic!("{e}");
        }
    }

    /// [`Case::check`] as a result: the mismatches and the first of them.
    fn compare(&self, dev: &Device, options: &Conv2dOptions, what: &str) -> Result<(), String> {
        let want = self.want(options.relu);
        let got = self.run(dev, options);
        let max = want
            .iter()
            .filter(|v| v.is_finite())
            .fold(0.0f32, |m, v| m.max(v.abs()));
        let tol = wgcnn::fixture::Tolerance {
            atol: f64::from(1e-4 * max + 1e-5),
            rtol: 0.0,
        };
        let cmp = wgcnn::fixture::compare(&got, &want, tol);
        match cmp.first {
            None => Ok(()),
            Some((i, g, w)) => Err(format!(
                "{what}: {:?} * {:?} {options:?} on {dev:?}: {} of {} elements differ; \
                 first at {i}: got {g:e}, want {w:e}",
                self.xs,
                self.ws,
                cmp.mismatches,
                got.len()
            )),
        }
    }
}

fn algo(algo: Conv2dAlgo, relu: bool) -> Conv2dOptions {
    Conv2dOptions {
        relu,
        algo,
        col_budget: None,
    }
}

/// Weights in [lo, lo + span).
fn weights(len: usize, seed: u64, lo: f32, span: f32) -> Vec<f32> {
    common::random(len, seed)
        .into_iter()
        .map(|v| lo + span * (v + 1.0) / 2.0)
        .collect()
}

/// (a) of the report: one +inf in a [1,16,32,32] input, positive weights, padding 1.
fn one_inf() -> Case {
    let xs = [1, 16, 32, 32];
    let mut x = common::random(xs.iter().product(), 1);
    x[(5 * 32 + 10) * 32 + 17] = f32::INFINITY;
    Case::new(x, xs, weights(8 * 16 * 9, 2, 0.01, 1.0), [8, 16, 3, 3])
}

/// (b) of the report: +-1.5e38 in a checkerboard, weights +-0.01, padding 1.
fn checkerboard() -> Case {
    let xs = [1, 16, 32, 32];
    let x = (0..xs.iter().product::<usize>())
        .map(|i| {
            let (y, x) = ((i / 32) % 32, i % 32);
            if (x + y) % 2 == 0 { 1.5e38 } else { -1.5e38 }
        })
        .collect();
    let w = common::random(8 * 16 * 9, 3)
        .into_iter()
        .map(|v| if v < 0.0 { -0.01 } else { 0.01 })
        .collect();
    Case::new(x, xs, w, [8, 16, 3, 3])
}

#[test]
fn one_inf_gives_pytorchs_72_infinities_and_no_nan_by_default() {
    let case = one_inf();
    let want = case.want(false);
    // torch.nn.functional.conv2d: the 9 outputs whose window holds the inf, in each of
    // the 8 output channels
    assert_eq!(want.iter().filter(|v| v.is_infinite()).count(), 72);
    assert!(!want.iter().any(|v| v.is_nan()));
    for dev in common::backends() {
        let got = case.run(dev, &Conv2dOptions::default());
        let nans = got.iter().filter(|v| v.is_nan()).count();
        let infs = got.iter().filter(|v| **v == f32::INFINITY).count();
        assert_eq!((nans, infs), (0, 72), "NaN and +inf outputs on {dev:?}");
        case.check(dev, &Conv2dOptions::default(), "one inf");
    }
}

#[test]
fn huge_finite_inputs_give_finite_outputs_by_default() {
    let case = checkerboard();
    let want = case.want(false);
    assert!(want.iter().all(|v| v.is_finite()));
    let max = want.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    assert!(max > 1e37 && max < 1e38, "{max:e}");
    for dev in common::backends() {
        let got = case.run(dev, &Conv2dOptions::default());
        let bad = got.iter().filter(|v| !v.is_finite()).count();
        assert_eq!(bad, 0, "non-finite outputs on {dev:?}");
        case.check(dev, &Conv2dOptions::default(), "checkerboard");
    }
}

#[test]
fn nan_inputs_give_nan_exactly_where_the_direct_sum_does() {
    let xs = [2, 12, 16, 18];
    let mut x = common::random(xs.iter().product(), 4);
    for i in [0, 77, 288 * 5 + 33, 288 * 11 + 287, 288 * 23 + 70] {
        x[i] = f32::NAN;
    }
    let case = Case::new(x, xs, weights(10 * 12 * 9, 5, -1.0, 2.0), [10, 12, 3, 3]);
    let want = case.want(false);
    assert!(want.iter().any(|v| v.is_nan()) && want.iter().any(|v| v.is_finite()));
    for dev in common::backends() {
        case.check(dev, &Conv2dOptions::default(), "NaN inputs");
    }
}

#[test]
fn negative_infinity_gives_negative_infinities_and_no_nan() {
    let xs = [1, 8, 24, 32];
    let mut x = common::random(xs.iter().product(), 6);
    x[3 * 768 + 32 * 4 + 7] = f32::NEG_INFINITY;
    x[5 * 768 + 767] = f32::NEG_INFINITY;
    let case = Case::new(x, xs, weights(6 * 8 * 9, 7, 0.01, 1.0), [6, 8, 3, 3]);
    let want = case.want(false);
    assert!(want.contains(&f32::NEG_INFINITY) && !want.iter().any(|v| v.is_nan()));
    for dev in common::backends() {
        case.check(dev, &Conv2dOptions::default(), "-inf");
    }
}

#[test]
fn plus_and_minus_infinity_in_one_window_give_nan() {
    let xs = [1, 8, 24, 24];
    let mut x = common::random(xs.iter().product(), 8);
    // two channels, neighbouring pixels: the windows holding both sum inf - inf
    x[2 * 576 + 9 * 24 + 9] = f32::INFINITY;
    x[6 * 576 + 9 * 24 + 10] = f32::NEG_INFINITY;
    let case = Case::new(x, xs, weights(4 * 8 * 9, 9, 0.01, 1.0), [4, 8, 3, 3]);
    let want = case.want(false);
    assert!(want.iter().any(|v| v.is_nan()));
    assert!(want.contains(&f32::INFINITY) && want.contains(&f32::NEG_INFINITY));
    for dev in common::backends() {
        case.check(dev, &Conv2dOptions::default(), "+inf and -inf");
    }
}

/// Inputs with infinities, NaN and huge values, on shapes that take each Winograd
/// path (vec4, vec2 and scalar rows, padding modes, two chunks of input channels, a
/// bias, an infinite weight).
fn cases() -> Vec<(&'static str, Case)> {
    let mut cases = vec![("one inf", one_inf()), ("checkerboard", checkerboard())];
    // odd sizes (scalar rows), +inf, -inf and NaN, a bias
    let xs = [2, 9, 9, 11];
    let mut x = common::random(xs.iter().product(), 10);
    x[40] = f32::INFINITY;
    x[300] = f32::NEG_INFINITY;
    x[1000] = f32::NAN;
    x[1500] = 3e38;
    let mut c = Case::new(x, xs, weights(5 * 9 * 9, 11, -1.0, 2.0), [5, 9, 3, 3]);
    c.b = Some(common::random(5, 12));
    cases.push(("mixed, odd sizes", c));
    // rows of whole vec2s, no padding, -inf and huge values (whose products sum
    // within f32 in any order: the transforms overflow, the direct sum does not)
    let xs = [1, 10, 8, 6];
    let mut x: Vec<f32> = common::random(xs.iter().product(), 13)
        .into_iter()
        .map(|v| v * 3e38)
        .collect();
    x[100] = f32::NEG_INFINITY;
    let mut c = Case::new(x, xs, weights(7 * 10 * 9, 14, 0.001, 0.01), [7, 10, 3, 3]);
    c.p = Conv2dParams::default();
    cases.push(("huge, vec2 rows", c));
    // padding modes: an inf next to the border is reflected, replicated, wrapped
    for mode in [
        PaddingMode::Reflect,
        PaddingMode::Replicate,
        PaddingMode::Circular,
    ] {
        let xs = [1, 8, 7, 8];
        let mut x = common::random(xs.iter().product(), 15);
        x[3 * 56 + 8] = f32::INFINITY;
        x[5 * 56 + 55] = f32::NAN;
        let mut c = Case::new(x, xs, weights(3 * 8 * 9, 16, 0.01, 1.0), [3, 8, 3, 3]);
        c.p = Conv2dParams {
            padding_mode: mode,
            ..Conv2dParams::default().padding(1)
        };
        cases.push(("padding mode", c));
    }
    // 300 input channels (two chunks summed), an inf in the second chunk
    let xs = [1, 300, 4, 8];
    let mut x = common::random(xs.iter().product(), 17);
    x[280 * 32 + 13] = f32::INFINITY;
    cases.push((
        "two chunks",
        Case::new(x, xs, weights(20 * 300 * 9, 18, 0.01, 1.0), [20, 300, 3, 3]),
    ));
    // an infinite weight: every output of that channel pair's windows
    let xs = [1, 8, 6, 8];
    let x = weights(xs.iter().product(), 19, 0.01, 1.0);
    let mut w = weights(4 * 8 * 9, 20, 0.01, 1.0);
    w[9 + 4] = f32::INFINITY;
    cases.push(("inf weight", Case::new(x, xs, w, [4, 8, 3, 3])));
    cases
}

#[test]
fn every_lowering_matches_the_reference_on_non_finite_inputs() {
    let cases = cases();
    let mut failures = Vec::new();
    for dev in common::backends() {
        for (what, case) in &cases {
            for a in ALGOS {
                for relu in [false, true] {
                    if let Err(e) = case.compare(dev, &algo(a, relu), what) {
                        failures.push(e);
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn winograd_on_the_gemm_shader_and_in_runs_matches_the_reference_on_non_finite_inputs() {
    let tiled = wgcnn::DeviceOptions::default().with(wgcnn::Lowerings {
        gemm: Some(wgcnn::GemmVariant::Tiled),
        ..Default::default()
    });
    // images in runs and bands of tile rows under a small binding
    let small = wgcnn::DeviceOptions {
        max_storage_binding: Some(16384),
        ..Default::default()
    };
    let xs = [3, 8, 20, 16];
    let mut x = common::random(xs.iter().product(), 21);
    x[2560 + 7 * 16 + 9] = f32::INFINITY;
    x[2 * 2560 + 5 * 320 + 19 * 16 + 15] = f32::NAN;
    let mut c = Case::new(x, xs, weights(4 * 8 * 9, 22, 0.01, 1.0), [4, 8, 3, 3]);
    c.b = Some(common::random(4, 23));
    for dev in common::gpus_with(&tiled) {
        for (what, case) in &cases() {
            case.check(&dev, &algo(Conv2dAlgo::Winograd, false), what);
        }
        c.check(&dev, &algo(Conv2dAlgo::Winograd, true), "runs");
    }
    for dev in common::gpus_with(&small) {
        c.check(&dev, &algo(Conv2dAlgo::Winograd, false), "runs");
    }
    // every quad to fix, more than a dimension's workgroups: the fix-up grid spills
    // into y
    let few_groups = wgcnn::DeviceOptions {
        max_workgroups_per_dim: Some(5),
        ..Default::default()
    };
    let xs = [1, 8, 12, 16];
    let all_inf = vec![f32::INFINITY; xs.iter().product()];
    let c = Case::new(all_inf, xs, weights(4 * 8 * 9, 24, 0.01, 1.0), [4, 8, 3, 3]);
    for dev in common::gpus_with(&few_groups) {
        c.check(&dev, &algo(Conv2dAlgo::Winograd, false), "all inf");
    }
}
