//! Every op in f16 (f16 stored, summed in f32, rounded once) on the CPU path and on
//! each GPU through both f16 kernel forms: native `f16` where the adapter has
//! `SHADER_F16` (Vulkan here), and packed two to a u32 (every adapter, GL here).
//! Each result is held against the op run in f32 on the CPU over the same f16 values,
//! rounded once to f16: the selection ops (relu, max pools and their indices, nearest
//! interpolation, permute, slice, cat) bit for bit, the others within one f16 step
//! (the f32 sums of two orders may round to neighbouring f16 values). A product's sum
//! (conv2d, linear, matmul) may also be off by what two f32 summation orders differ by,
//! about n * 2^-24 * sum |terms| at worst: 1e-5 for these sizes, which is more than an
//! f16 step only where the sum cancels to near zero.

#[macro_use]
mod common;

use half::f16;
use wgcnn::{
    AvgPool2dParams, Conv2dAlgo, Conv2dOptions, Conv2dParams, ConvTranspose2dParams, DType, Device,
    DeviceOptions, F16Kernels, InterpolateMode, InterpolateParams, Lowerings, MaxPool2dParams,
    Tensor,
};

/// The devices an f16 call is held on for `dev`: the CPU path itself, or the GPU with
/// each f16 kernel form it has.
fn forms(dev: &Device) -> Vec<(String, Device)> {
    forms_with(dev, &DeviceOptions::default())
}

/// [`forms`], each GPU device opened with `options` too.
fn forms_with(dev: &Device, options: &DeviceOptions) -> Vec<(String, Device)> {
    if dev.is_cpu() {
        return vec![("cpu".into(), dev.clone())];
    }
    let with = |k| {
        common::reopen(
            dev,
            &options.clone().with(Lowerings {
                f16: Some(k),
                ..Lowerings::default()
            }),
        )
    };
    let mut out = vec![(
        format!("{} packed", dev.backend()),
        with(F16Kernels::Packed),
    )];
    if dev.has_shader_f16() {
        out.push((
            format!("{} native", dev.backend()),
            with(F16Kernels::Native),
        ));
    }
    out
}

/// `len` f16 values, random in [-scale, scale).
fn values(len: usize, seed: u64, scale: f32) -> Vec<f16> {
    common::random(len, seed)
        .iter()
        .map(|v| f16::from_f32(v * scale))
        .collect()
}

fn on(dev: &Device, v: &[f16], shape: &[usize]) -> Tensor {
    Tensor::from_f16(dev, v, shape).unwrap()
}

fn widened(v: &[f16]) -> Vec<f32> {
    v.iter().map(|h| h.to_f32()).collect()
}

/// The distance of `got` from `want` in f16 steps at `want` (0 for equal values, both
/// NaN, or the same infinity).
fn steps(got: f32, want: f32) -> f32 {
    if got == want || (got.is_nan() && want.is_nan()) {
        return 0.0;
    }
    if !got.is_finite() || !want.is_finite() {
        return f32::INFINITY;
    }
    let w = f16::from_f32(want);
    let next = f16::from_bits(w.to_bits().wrapping_add(1)).to_f32();
    let step = (next - want).abs();
    (got - want).abs() / if step > 0.0 { step } else { 2f32.powi(-24) }
}

/// How close an f16 result must be to the f32 one rounded.
#[derive(Clone, Copy)]
enum Tol {
    /// Bit for bit (NaN for NaN).
    Exact,
    /// Within one f16 step.
    Step,
    /// Within one f16 step, or an absolute error of the f32 sums.
    Sum,
}

const SUM_ATOL: f32 = 1e-5;

/// `got` (an f16 tensor) against `want` (f32 values, rounded here to f16).
fn check(got: &Tensor, want: &[f32], tol: Tol, what: &str) {
    assert_eq!(got.dtype(), DType::F16, "{what}");
    let got = got.to_vec_f16().unwrap();
    assert_eq!(got.len(), want.len(), "{what}");
    for (i, (g, &w)) in got.iter().zip(want).enumerate() {
        let w16 = f16::from_f32(w);
        if let Tol::Exact = tol {
            let same = g.to_bits() == w16.to_bits() || (g.is_nan() && w16.is_nan());
            assert!(
                same,
                "{what} [{i}]: {g} ({:#06x}) for {w16} ({:#06x})",
                g.to_bits(),
                w16.to_bits()
            );
        } else {
            let d = steps(g.to_f32(), w16.to_f32());
            let near = matches!(tol, Tol::Sum) && (g.to_f32() - w16.to_f32()).abs() <= SUM_ATOL;
            assert!(
                d <= 1.0 || near,
                "{what} [{i}]: {g} for {w16} ({d} f16 steps)"
            );
        }
    }
}

/// Runs `op` on f16 inputs on every form of `dev` and on f32 inputs of the same values
/// on the CPU, and checks the one against the other.
fn case(
    dev: &Device,
    inputs: &[(&[f16], &[usize])],
    tol: Tol,
    what: &str,
    op: impl Fn(&[Tensor]) -> Tensor,
) {
    let cpu = Device::cpu();
    let wide: Vec<Tensor> = inputs
        .iter()
        .map(|(v, s)| Tensor::from_slice(&cpu, &widened(v), s).unwrap())
        .collect();
    let want = op(&wide).to_vec().unwrap();
    for (name, d) in forms(dev) {
        let xs: Vec<Tensor> = inputs.iter().map(|(v, s)| on(&d, v, s)).collect();
        check(&op(&xs), &want, tol, &format!("{what} on {name}"));
    }
}

fn selection_ops_are_bit_exact(dev: &Device) {
    let shape = [2, 3, 9, 12];
    let mut x = values(2 * 3 * 9 * 12, 1, 8.0);
    // specials among them: NaN, infinities, -0.0, subnormals, the largest finite
    for (i, v) in [f16::NAN, f16::INFINITY, f16::NEG_INFINITY, f16::NEG_ZERO]
        .into_iter()
        .chain([
            f16::from_bits(1),
            f16::from_bits(0x83ff),
            f16::MAX,
            f16::MIN,
        ])
        .enumerate()
    {
        x[i * 37 + 5] = v;
    }
    let x_in = [(&x[..], &shape[..])];
    case(dev, &x_in, Tol::Exact, "relu", |t| {
        wgcnn::relu(&t[0]).unwrap()
    });
    case(dev, &x_in, Tol::Exact, "relu_", |t| {
        let mut y = t[0].try_clone().unwrap();
        wgcnn::relu_(&mut y).unwrap();
        y
    });
    // an odd length: the last element's word is half padding
    let odd = values(7 * 5, 2, 3.0);
    case(dev, &[(&odd, &[7, 5])], Tol::Exact, "relu of 35", |t| {
        wgcnn::relu(&t[0]).unwrap()
    });
    for (k, s, p) in [(2, 2, 0), (3, 2, 1), (3, 1, 1), (4, 4, 0)] {
        let params = MaxPool2dParams::new(k).stride(s).padding(p);
        let what = format!("max_pool2d k{k} s{s} p{p}");
        case(dev, &x_in, Tol::Exact, &what, |t| {
            wgcnn::max_pool2d(&t[0], &params).unwrap()
        });
        // the indices, as the f32 call gives them
        let cpu_x = Tensor::from_slice(&Device::cpu(), &widened(&x), &shape).unwrap();
        let (_, want) = wgcnn::max_pool2d_with_indices(&cpu_x, &params).unwrap();
        for (name, d) in forms(dev) {
            let (_, got) = wgcnn::max_pool2d_with_indices(&on(&d, &x, &shape), &params).unwrap();
            assert_eq!(
                got.to_vec().unwrap(),
                want.to_vec().unwrap(),
                "{what} indices on {name}"
            );
        }
    }
    case(dev, &x_in, Tol::Exact, "adaptive_max_pool2d", |t| {
        wgcnn::adaptive_max_pool2d(&t[0], [Some(4), Some(5)])
            .unwrap()
            .0
    });
    for p in [
        InterpolateParams::scale(2.0, InterpolateMode::Nearest),
        InterpolateParams::size(13, 7, InterpolateMode::Nearest),
        InterpolateParams::size(5, 30, InterpolateMode::NearestExact),
    ] {
        case(dev, &x_in, Tol::Exact, &format!("interpolate {p:?}"), |t| {
            wgcnn::interpolate(&t[0], &p).unwrap()
        });
    }
    case(dev, &x_in, Tol::Exact, "permute", |t| {
        wgcnn::permute(&t[0], &[0, 3, 1, 2]).unwrap()
    });
    case(dev, &x_in, Tol::Exact, "slice", |t| {
        wgcnn::slice(&t[0], 3, 1, 12, 3).unwrap()
    });
    let y = values(2 * 9 * 12, 3, 2.0);
    case(
        dev,
        &[(&x, &shape), (&y, &[2, 1, 9, 12])],
        Tol::Exact,
        "cat",
        |t| wgcnn::cat(&[&t[0], &t[1]], 1).unwrap(),
    );
    // odd widths along the last axis: halves of words written apart
    let a = values(3 * 5, 4, 2.0);
    let b = values(3 * 4, 5, 2.0);
    case(
        dev,
        &[(&a, &[3, 5]), (&b, &[3, 4])],
        Tol::Exact,
        "cat of odd rows",
        |t| wgcnn::cat(&[&t[0], &t[1]], 1).unwrap(),
    );
}
backend_tests!(selection_ops_are_bit_exact);

fn arithmetic_ops_are_within_one_f16_step(dev: &Device) {
    let shape = [2, 4, 10, 12];
    let n = 2 * 4 * 10 * 12;
    let x = values(n, 11, 4.0);
    let x_in = [(&x[..], &shape[..])];
    for (k, s, p) in [(2, 2, 0), (3, 2, 1), (3, 1, 1)] {
        let params = AvgPool2dParams::new(k).stride(s).padding(p);
        case(
            dev,
            &x_in,
            Tol::Step,
            &format!("avg_pool2d k{k} s{s} p{p}"),
            |t| wgcnn::avg_pool2d(&t[0], &params).unwrap(),
        );
    }
    case(dev, &x_in, Tol::Step, "adaptive_avg_pool2d", |t| {
        wgcnn::adaptive_avg_pool2d(&t[0], [Some(1), Some(1)]).unwrap()
    });
    for p in [
        InterpolateParams::scale(2.0, InterpolateMode::Bilinear),
        InterpolateParams::size(7, 9, InterpolateMode::Bilinear).align_corners(true),
    ] {
        case(dev, &x_in, Tol::Step, &format!("interpolate {p:?}"), |t| {
            wgcnn::interpolate(&t[0], &p).unwrap()
        });
    }
    case(dev, &x_in, Tol::Step, "sigmoid", |t| {
        wgcnn::sigmoid(&t[0]).unwrap()
    });
    case(dev, &x_in, Tol::Step, "tanh", |t| {
        wgcnn::tanh(&t[0]).unwrap()
    });
    case(dev, &x_in, Tol::Step, "hardswish", |t| {
        wgcnn::hardswish(&t[0]).unwrap()
    });
    case(dev, &x_in, Tol::Step, "leaky_relu", |t| {
        wgcnn::leaky_relu(&t[0], 0.1).unwrap()
    });
    let y = values(n, 12, 4.0);
    let row = values(12, 13, 4.0);
    case(dev, &[(&x, &shape), (&y, &shape)], Tol::Step, "add", |t| {
        wgcnn::add(&t[0], &t[1]).unwrap()
    });
    case(
        dev,
        &[(&x, &shape), (&row, &[12])],
        Tol::Step,
        "mul broadcast",
        |t| wgcnn::mul(&t[0], &t[1]).unwrap(),
    );
    let odd = values(3 * 7, 14, 4.0);
    let col = values(3, 15, 4.0);
    case(
        dev,
        &[(&odd, &[3, 7]), (&col, &[3, 1])],
        Tol::Step,
        "sub of odd rows",
        |t| wgcnn::sub(&t[0], &t[1]).unwrap(),
    );
    let stats: Vec<Vec<f16>> = (0..4).map(|i| values(4, 20 + i, 1.0)).collect();
    let var: Vec<f16> = stats[1]
        .iter()
        .map(|v| f16::from_f32(v.to_f32().abs() + 0.5))
        .collect();
    case(
        dev,
        &[
            (&x, &shape),
            (&stats[0], &[4]),
            (&var, &[4]),
            (&stats[2], &[4]),
            (&stats[3], &[4]),
        ],
        Tol::Step,
        "batch_norm",
        |t| wgcnn::batch_norm(&t[0], &t[1], &t[2], Some(&t[3]), Some(&t[4]), 1e-5).unwrap(),
    );
    case(dev, &x_in, Tol::Step, "softmax", |t| {
        wgcnn::softmax(&t[0], 1).unwrap()
    });
    case(dev, &x_in, Tol::Step, "softmax last", |t| {
        wgcnn::softmax(&t[0], 3).unwrap()
    });
    // products: f16 values, sums of up to 288 terms kept in f32
    let a = values(9 * 40, 30, 1.0);
    let b = values(40 * 13, 31, 1.0);
    case(
        dev,
        &[(&a, &[9, 40]), (&b, &[40, 13])],
        Tol::Sum,
        "matmul",
        |t| wgcnn::matmul(&t[0], &t[1]).unwrap(),
    );
    let w = values(24 * 40, 32, 0.5);
    let bias = values(24, 33, 1.0);
    for rows in [3, 40] {
        let xr = values(rows * 40, 34, 1.0);
        case(
            dev,
            &[(&xr, &[rows, 40]), (&w, &[24, 40]), (&bias, &[24])],
            Tol::Sum,
            &format!("linear of {rows} rows"),
            |t| wgcnn::linear(&t[0], &t[1], Some(&t[2])).unwrap(),
        );
    }
    let wt = values(4 * 3 * 3 * 3, 35, 0.5);
    case(
        dev,
        &[(&x, &shape), (&wt, &[4, 3, 3, 3])],
        Tol::Sum,
        "conv_transpose2d",
        |t| {
            let p = ConvTranspose2dParams {
                stride: [2, 2],
                padding: [1, 1],
                ..ConvTranspose2dParams::default()
            };
            wgcnn::conv_transpose2d(&t[0], &t[1], None, &p).unwrap()
        },
    );
}
backend_tests!(arithmetic_ops_are_within_one_f16_step);

fn conv2d_is_within_one_f16_step_on_every_lowering(dev: &Device) {
    for (xs, ws, params) in [
        (
            [2, 8, 11, 12],
            [16, 8, 3, 3],
            Conv2dParams::default().padding(1),
        ),
        ([1, 16, 8, 8], [24, 16, 1, 1], Conv2dParams::default()),
        ([1, 6, 7, 7], [12, 6, 1, 1], Conv2dParams::default()),
        (
            [2, 8, 9, 10],
            [8, 2, 3, 3],
            Conv2dParams::default().groups(4).stride(2),
        ),
        (
            [1, 3, 15, 15],
            [8, 3, 5, 5],
            Conv2dParams::default().padding(2).stride(2),
        ),
        // over 512 taps, in the packed kernels (their chunks' sums kept in f32: the
        // general kernel, the rows kernel over 2 images and 2 blocks of channels, 1x1)
        // and the default lowering
        (
            [1, 72, 9, 10],
            [16, 72, 3, 3],
            Conv2dParams::default().padding(1),
        ),
        (
            [2, 64, 8, 12],
            [20, 64, 3, 3],
            Conv2dParams::default().padding(1),
        ),
        ([1, 520, 4, 8], [16, 520, 1, 1], Conv2dParams::default()),
    ] {
        let x = values(xs.iter().product(), 40, 1.0);
        let w = values(ws.iter().product(), 41, 0.3);
        let b = values(ws[0], 42, 1.0);
        let taps = ws[1] * ws[2] * ws[3];
        let algos = if taps > 512 {
            &[Conv2dAlgo::Packed, Conv2dAlgo::Auto][..]
        } else {
            &common::ALGOS[..]
        };
        for &algo in algos {
            for relu in [false, true] {
                let options = Conv2dOptions {
                    relu,
                    algo,
                    col_budget: None,
                };
                case(
                    dev,
                    &[(&x, &xs), (&w, &ws), (&b, &[ws[0]])],
                    Tol::Sum,
                    &format!("conv2d {xs:?} {ws:?} {algo:?} relu {relu}"),
                    |t| wgcnn::conv2d_ext(&t[0], &t[1], Some(&t[2]), &params, &options).unwrap(),
                );
            }
        }
    }
    // a small column budget: im2col in runs of rows
    let x = values(2 * 4 * 16 * 16, 43, 1.0);
    let w = values(8 * 4 * 3 * 3, 44, 0.3);
    let options = Conv2dOptions {
        relu: false,
        algo: Conv2dAlgo::Im2col,
        col_budget: Some(4096),
    };
    case(
        dev,
        &[(&x, &[2, 4, 16, 16]), (&w, &[8, 4, 3, 3])],
        Tol::Sum,
        "conv2d in bands of rows",
        |t| {
            wgcnn::conv2d_ext(
                &t[0],
                &t[1],
                None,
                &Conv2dParams::default().padding(1),
                &options,
            )
            .unwrap()
        },
    );
}
backend_tests!(conv2d_is_within_one_f16_step_on_every_lowering);

/// Values past f16's range overflow to infinity, as PyTorch's half results do, and
/// small ones become subnormals, in every form.
fn results_overflow_to_infinity_and_keep_subnormals(dev: &Device) {
    let x = [300.0f32, -300.0, 250.0, 1e-3, 256.0, 255.9, -1e-3, 2.0].map(f16::from_f32);
    let y = [300.0f32, 300.0, 262.0, 1e-3, 256.0, 256.0, 2e-3, 0.5].map(f16::from_f32);
    case(
        dev,
        &[(&x, &[8]), (&y, &[8])],
        Tol::Exact,
        "mul past 65504",
        |t| wgcnn::mul(&t[0], &t[1]).unwrap(),
    );
    let got = wgcnn::mul(&on(dev, &x, &[8]), &on(dev, &y, &[8]))
        .unwrap()
        .to_vec_f16()
        .unwrap();
    assert_eq!(got[0], f16::INFINITY);
    assert_eq!(got[1], f16::NEG_INFINITY);
    assert!(
        (1..0x400).contains(&got[3].to_bits()),
        "{}: a positive subnormal",
        got[3]
    );
}
backend_tests!(results_overflow_to_infinity_and_keep_subnormals);

/// Every form rounds an f32 result to f16 as `half` does, to nearest with ties to even,
/// whatever the implementation's own f32 -> f16 conversion does: the product of two f16
/// is exact in f32, so its f16 is one rounding. The factors' bits sweep every finite
/// f16, so the products cover ties, subnormals, 65504 to 65520 and overflow.
fn results_round_to_nearest_even_in_every_form(dev: &Device) {
    let n = 8192;
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut finite = || loop {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let h = f16::from_bits((state >> 20) as u16);
        if h.is_finite() {
            break h;
        }
    };
    let x: Vec<f16> = (0..n).map(|_| finite()).collect();
    // the second factor near 1 (exponents 13..17) half the time, so that products stay
    // in range and many land on ties
    let y: Vec<f16> = (0..n)
        .map(|i| match i % 2 {
            0 => f16::from_bits(0x3400 | (finite().to_bits() & 0x0fff)),
            _ => finite(),
        })
        .collect();
    case(
        dev,
        &[(&x, &[n]), (&y, &[n])],
        Tol::Exact,
        "mul of f16 pairs",
        |t| wgcnn::mul(&t[0], &t[1]).unwrap(),
    );
}
backend_tests!(results_round_to_nearest_even_in_every_form);

/// The native form where an adapter has `SHADER_F16` is the default, and asking for it
/// where there is none is a typed error.
fn the_native_form_is_refused_without_shader_f16(dev: &Device) {
    let d = common::reopen(
        dev,
        &DeviceOptions::default().with(Lowerings {
            f16: Some(F16Kernels::Native),
            ..Lowerings::default()
        }),
    );
    let x = on(&d, &values(16, 50, 1.0), &[16]);
    let r = wgcnn::sigmoid(&x);
    if dev.has_shader_f16() {
        r.unwrap();
    } else {
        let e = r.unwrap_err();
        assert!(matches!(e, wgcnn::Error::Unsupported(_)), "{e:?}");
        // and the device goes on, in the packed form
        wgcnn::sigmoid(&on(dev, &values(16, 50, 1.0), &[16])).unwrap();
    }
}
backend_tests!(gpu the_native_form_is_refused_without_shader_f16);

/// The digits CNN trained in PyTorch, its weights and activations in f16 (as
/// `model.half()`), keeps its held-out accuracy in every form: the same predictions as
/// in f32 but for at most 1 in 100, and over 95% correct.
fn the_digits_network_keeps_its_accuracy_in_f16(dev: &Device) {
    let (x, shape, labels, torch_logits) = common::digits_heldout();
    let argmax = |v: &[f32]| -> Vec<usize> {
        v.chunks(10)
            .map(|r| (0..10).max_by(|&a, &b| r[a].total_cmp(&r[b])).unwrap())
            .collect()
    };
    let theirs = argmax(&torch_logits);
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/models/digits.safetensors");
    for (name, d) in forms(dev) {
        let mut net = wgcnn::nn::Sequential::load(path.as_ref(), &d).unwrap();
        net.to_dtype(DType::F16).unwrap();
        let x16 = Tensor::from_slice(&d, &x, &shape)
            .unwrap()
            .to_dtype(DType::F16)
            .unwrap();
        let y = net.forward(&x16).unwrap();
        assert_eq!(y.dtype(), DType::F16);
        let ours = argmax(&y.to_vec().unwrap());
        let differ = ours.iter().zip(&theirs).filter(|(a, b)| a != b).count();
        let accuracy = common::accuracy(&ours, &labels);
        eprintln!(
            "digits in f16 on {name}: {accuracy:.4} correct, {differ} predictions differ from f32"
        );
        assert!(
            differ * 100 <= ours.len(),
            "{name}: {differ} of {} differ",
            ours.len()
        );
        assert!(accuracy > 0.95, "{name}: {accuracy}");
    }
}
backend_tests!(the_digits_network_keeps_its_accuracy_in_f16);

/// The project's PyTorch fixtures of half-precision calls (metadata `dtype` float16:
/// f16 tensors, PyTorch's half results or the float64 reference rounded to f16) pass
/// in every form, within each file's stated tolerance.
fn the_half_precision_fixtures_pass_in_every_form(dev: &Device) {
    let half: Vec<_> = common::project_fixtures()
        .into_iter()
        .filter(|f| f.dtype == DType::F16)
        .collect();
    assert!(half.len() >= 10, "{} half-precision fixtures", half.len());
    for (name, d) in forms(dev) {
        for fx in &half {
            let out = fx.check(&d);
            assert_eq!(
                out.verdict,
                wgcnn::fixture::Verdict::Pass,
                "{} on {name}: {}",
                fx.name,
                out.detail
            );
        }
    }
}
backend_tests!(the_half_precision_fixtures_pass_in_every_form);

/// `scripts/export.py --half` writes the weights in f16 (half the file): the digits
/// network loaded from it computes in f16 exactly as the f32 file converted on load.
fn a_half_exported_model_runs_as_the_f32_one_converted(dev: &Device) {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/models/");
    let (full, half) = (
        format!("{dir}digits.safetensors"),
        format!("{dir}digits.f16.safetensors"),
    );
    let size = |p: &str| std::fs::metadata(p).unwrap().len();
    assert!(
        size(&half) * 100 <= size(&full) * 55,
        "{} vs {}",
        size(&half),
        size(&full)
    );
    let x = values(4 * 28 * 28, 60, 1.0);
    let mut outs = Vec::new();
    for path in [&full, &half] {
        let mut net = wgcnn::nn::Sequential::load(path.as_ref(), dev).unwrap();
        net.to_dtype(DType::F16).unwrap();
        outs.push(
            net.forward(&on(dev, &x, &[4, 1, 28, 28]))
                .unwrap()
                .to_vec_f16()
                .unwrap(),
        );
    }
    assert_eq!(outs[0], outs[1]);
}
backend_tests!(a_half_exported_model_runs_as_the_f32_one_converted);

/// Every per-op ONNX case (tests/onnx, checked in f32 against onnx.reference) run in
/// f16, its inputs rounded and its answer rounded (`Fixture::in_precision`): the
/// selection ops exactly, the others within `Tolerance::HALF`. The integer cast, which
/// is refused in f32 too, is left out.
fn every_onnx_case_runs_in_f16(dev: &Device) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/onnx");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "safetensors"))
        .collect();
    paths.sort();
    assert!(paths.len() > 300, "{} cases", paths.len());
    let mut failures = Vec::new();
    for path in &paths {
        let fx = wgcnn::fixture::Fixture::load(path)
            .unwrap()
            .in_precision(DType::F16);
        if fx.name == "cast_float_int32_float" {
            continue;
        }
        let out = fx.check(dev);
        if out.verdict != wgcnn::fixture::Verdict::Pass {
            failures.push(format!("{}: {}", fx.name, out.detail));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
backend_tests!(every_onnx_case_runs_in_f16);

/// Where a binding is small, an f16 pooling runs in runs of planes; its u32 indices
/// need twice the bytes of its f16 values, and their windows stay within a binding.
fn f16_pooling_with_indices_runs_within_small_bindings(dev: &Device) {
    let shape = [2, 6, 20, 20];
    let x = values(shape.iter().product(), 70, 4.0);
    let params = MaxPool2dParams::new(3).stride(1).padding(1);
    let cpu_x = Tensor::from_slice(&Device::cpu(), &widened(&x), &shape).unwrap();
    let (want, want_i) = wgcnn::max_pool2d_with_indices(&cpu_x, &params).unwrap();
    let small = DeviceOptions {
        max_storage_binding: Some(4096),
        ..DeviceOptions::default()
    };
    for (name, d) in forms_with(dev, &small) {
        let (y, i) = wgcnn::max_pool2d_with_indices(&on(&d, &x, &shape), &params).unwrap();
        check(
            &y,
            &want.to_vec().unwrap(),
            Tol::Exact,
            &format!("values on {name}"),
        );
        assert_eq!(
            i.to_vec().unwrap(),
            want_i.to_vec().unwrap(),
            "indices on {name}"
        );
    }
}
backend_tests!(f16_pooling_with_indices_runs_within_small_bindings);
