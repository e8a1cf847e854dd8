//! Half-precision tensors: f16 data kept bit for bit from the host to a GPU and back
//! (the CPU path keeps values widened to f32, which quietens a signaling NaN),
//! `to_dtype` converting bit for bit as `half` and PyTorch's `.half()` and `.float()`
//! do (to nearest, ties to even, overflow to infinity, subnormals, -0.0, and NaNs
//! quiet with their sign and top payload bits) on every backend, in chunks where a
//! binding is small, and ops given mixed types refusing with a typed error that
//! leaves the device usable. The ops in f16: tests/half.rs.

#[macro_use]
mod common;

use half::f16;
use wgcnn::{DType, Device, DeviceOptions, Error, Tensor};

/// `got` and `want` the same, bit for bit (NaN payloads included).
fn assert_bits<T: Copy>(got: &[T], want: &[T], bits: fn(T) -> u32, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let (g, w) = (bits(g), bits(w));
        assert!(g == w, "{what} [{i}]: {g:#010x} for {w:#010x}");
    }
}

fn assert_same32(got: &[f32], want: &[f32], what: &str) {
    assert_bits(got, want, f32::to_bits, what);
}

fn assert_same16(got: &[f16], want: &[f16], what: &str) {
    assert_bits(got, want, |h| u32::from(h.to_bits()), what);
}

/// Every f16 bit pattern.
fn every_f16() -> Vec<f16> {
    (0..=u16::MAX).map(f16::from_bits).collect()
}

/// f32 values where rounding to f16 is decided: every midpoint between neighbouring
/// finite f16 values (exact in f32) and the f32 on either side of it, the overflow
/// threshold, f32 subnormals and the specials.
fn hard_f32() -> Vec<f32> {
    let mut v = common::specials();
    for bits in 0..0x7bffu16 {
        let (a, b) = (
            f16::from_bits(bits).to_f32(),
            f16::from_bits(bits + 1).to_f32(),
        );
        let mid = f32::midpoint(a, b);
        for x in [
            mid,
            f32::from_bits(mid.to_bits() - 1),
            f32::from_bits(mid.to_bits() + 1),
        ] {
            v.extend([x, -x]);
        }
    }
    v.extend([
        65504.0,
        65519.996,
        65520.0,
        -65520.0,
        1e10,
        1e-40,
        -1e-40,
        2f32.powi(-25),
    ]);
    // NaNs with payloads, quiet and signaling
    v.extend(
        [
            0x7f8fe000u32,
            0x7f800001,
            0xffc00001,
            0x7fbfffff,
            0xff801000,
        ]
        .map(f32::from_bits),
    );
    v.extend(common::random(999, 5).iter().map(|x| x * 70000.0));
    v
}

fn round_trips_and_rounds_as_half_does(dev: &Device) {
    // from_f16 / to_vec_f16 / to_vec keep every pattern (but a signaling NaN's quiet
    // bit on the CPU path); odd and empty lengths too
    let all = every_f16();
    let quiet: Vec<f16> = all.iter().map(|h| f16::from_f32(h.to_f32())).collect();
    let widened: Vec<f32> = all.iter().map(|h| h.to_f32()).collect();
    let kept = if dev.is_cpu() { &quiet } else { &all };
    for n in [0, 1, 3, 5, all.len()] {
        let t = Tensor::from_f16(dev, &all[..n], &[n]).unwrap();
        assert_eq!(t.dtype(), DType::F16);
        assert_same16(&t.to_vec_f16().unwrap(), &kept[..n], "round trip");
        assert_same32(&t.to_vec().unwrap(), &widened[..n], "to_vec");
        let c = t.try_clone().unwrap();
        assert_eq!(c.dtype(), DType::F16);
        assert_same16(&c.to_vec_f16().unwrap(), &kept[..n], "clone");
    }
    let t = Tensor::from_f16(dev, &all, &[256, 256]).unwrap();
    // f16 -> f32 as half's to_f32 (exact, NaNs quiet), and back as its from_f32
    let wide = t.to_dtype(DType::F32).unwrap();
    assert_eq!(wide.dtype(), DType::F32);
    assert_same32(&wide.to_vec().unwrap(), &widened, "f16 -> f32");
    let back = wide.to_dtype(DType::F16).unwrap();
    assert_same16(&back.to_vec_f16().unwrap(), &quiet, "f16 -> f32 -> f16");

    // f32 -> f16 where the rounding is decided, as half::f16::from_f32
    let xs = hard_f32();
    let want: Vec<f16> = xs.iter().map(|&x| f16::from_f32(x)).collect();
    let x = Tensor::from_slice(dev, &xs, &[xs.len()]).unwrap();
    let h = x.to_dtype(DType::F16).unwrap();
    assert_eq!(h.shape(), x.shape());
    assert_same16(&h.to_vec_f16().unwrap(), &want, "f32 -> f16");
    // the same type is a copy
    let same = h.to_dtype(DType::F16).unwrap();
    assert_same16(&same.to_vec_f16().unwrap(), &want, "f16 -> f16");

    // through bindings of 4 KiB: 1024 elements a chunk
    if !dev.is_cpu() {
        let small = common::reopen(
            dev,
            &DeviceOptions {
                max_storage_binding: Some(4096),
                ..DeviceOptions::default()
            },
        );
        let x = Tensor::from_slice(&small, &xs, &[xs.len()]).unwrap();
        let h = x.to_dtype(DType::F16).unwrap();
        assert_same16(&h.to_vec_f16().unwrap(), &want, "in chunks");
        let w = h.to_dtype(DType::F32).unwrap().to_vec().unwrap();
        let wide: Vec<f32> = want.iter().map(|h| h.to_f32()).collect();
        assert_same32(&w, &wide, "in chunks, back");
    }

    // between devices
    let cpu = h.to_device(&Device::cpu()).unwrap();
    assert_eq!(cpu.dtype(), DType::F16);
    assert_same16(&cpu.to_vec_f16().unwrap(), &want, "to the CPU");
    let again = cpu.to_device(dev).unwrap();
    assert_same16(&again.to_vec_f16().unwrap(), &want, "and back");
}
backend_tests!(round_trips_and_rounds_as_half_does);

fn ops_refuse_mixed_types_with_typed_errors(dev: &Device) {
    let data = common::random(2 * 3 * 4 * 4, 9);
    let x32 = Tensor::from_slice(dev, &data, &[2, 3, 4, 4]).unwrap();
    let x16 = x32.to_dtype(DType::F16).unwrap();
    // mixed types: refused (in PyTorch's words where it refuses; add, which PyTorch
    // promotes, asks for a conversion here)
    let e = wgcnn::add(&x32, &x16).unwrap_err();
    assert!(matches!(e, Error::InvalidParam { .. }), "{e:?}");
    assert!(
        e.to_string()
            .contains("expected scalar type Float but found Half"),
        "{e}"
    );
    let w32 = Tensor::from_slice(dev, &[0.5; 2 * 3 * 3 * 3], &[2, 3, 3, 3]).unwrap();
    let e = wgcnn::conv2d(&x16, &w32, None, &Default::default()).unwrap_err();
    assert!(
        e.to_string()
            .contains("expected scalar type Half but found Float"),
        "{e}"
    );
    let e = x32.to_vec_f16().unwrap_err();
    assert!(
        e.to_string()
            .contains("expected scalar type Half but found Float"),
        "{e}"
    );
    // the device goes on
    let y = wgcnn::relu(&x32).unwrap().to_vec().unwrap();
    assert_eq!(y, data.iter().map(|v| v.max(0.0)).collect::<Vec<_>>());
    assert!(format!("{x16:?}").contains("float16"));
}
backend_tests!(ops_refuse_mixed_types_with_typed_errors);
