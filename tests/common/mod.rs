//! Shared test helpers: every device on the machine, and comparisons that print where
//! they fail.
#![allow(dead_code, unused_macros)]

use std::sync::OnceLock;

use wgcnn::{BackendKind, Device, DeviceOptions};

/// One `#[test]` per backend for a family of cases: `backend_tests!(name)` runs
/// `fn name(dev: &Device)` on the CPU reference and on each GPU backend of the
/// platform, `backend_tests!(gpu name)` on the GPU backends only. Each is a test of its
/// own (`name::vulkan`, `name::gl`, `name::cpu`), so a failure names its backend and
/// hides no other backend's.
macro_rules! backend_tests {
    (gpu $name:ident) => {
        backend_tests!(@module $name []);
    };
    ($name:ident) => {
        backend_tests!(@module $name [cpu]);
    };
    (@module $name:ident [$($cpu:ident)?]) => {
        mod $name {
            #[cfg(not(target_os = "macos"))]
            #[test]
            fn vulkan() {
                crate::common::on_backend(wgcnn::BackendKind::Vulkan, super::$name);
            }

            #[cfg(target_os = "linux")]
            #[test]
            fn gl() {
                crate::common::on_backend(wgcnn::BackendKind::Gl, super::$name);
            }

            #[cfg(target_os = "macos")]
            #[test]
            fn metal() {
                crate::common::on_backend(wgcnn::BackendKind::Metal, super::$name);
            }

            #[cfg(windows)]
            #[test]
            fn dx12() {
                crate::common::on_backend(wgcnn::BackendKind::Dx12, super::$name);
            }

            $(
                #[test]
                fn $cpu() {
                    crate::common::on_backend(wgcnn::BackendKind::Cpu, super::$name);
                }
            )?
        }
    };
}

/// Runs `case` on the device of backend `kind`. Without an adapter of that kind it
/// says so, and with `WGCNN_REQUIRE_GPU=1` (CI) it fails.
pub fn on_backend(kind: BackendKind, case: impl FnOnce(&Device)) {
    match backends().iter().find(|d| d.backend() == kind) {
        Some(dev) => case(dev),
        None if std::env::var("WGCNN_REQUIRE_GPU").is_ok_and(|v| v == "1") => {
            panic!("WGCNN_REQUIRE_GPU=1 but there is no {kind} adapter")
        }
        None => eprintln!("note: no {kind} adapter on this machine: nothing to run"),
    }
}

/// `dev`'s adapter opened again with `options` (a fresh device handle, for tests that
/// change limits or lowerings).
pub fn reopen(dev: &Device, options: &DeviceOptions) -> Device {
    Device::new(&DeviceOptions {
        backend: Some(dev.backend()),
        ..options.clone()
    })
    .expect("reopening the adapter")
}

/// Every adapter on the machine plus the CPU reference, opened once per test binary.
/// With no GPU adapter this prints why; with `WGCNN_REQUIRE_GPU=1` it fails instead.
pub fn backends() -> &'static [Device] {
    static DEVICES: OnceLock<Vec<Device>> = OnceLock::new();
    DEVICES.get_or_init(|| {
        let devices = Device::all().expect("opening the adapters");
        if devices.iter().all(Device::is_cpu) {
            let msg = "no GPU adapter found: install mesa-vulkan-drivers (lavapipe) and \
                       libgl1-mesa-dri + libegl1 (llvmpipe) to test on real drivers";
            if std::env::var("WGCNN_REQUIRE_GPU").is_ok_and(|v| v == "1") {
                panic!("WGCNN_REQUIRE_GPU=1 but {msg}");
            }
            eprintln!("note: {msg}; testing the CPU reference only");
        }
        devices
    })
}

/// The GPU devices among [`backends`].
pub fn gpus() -> Vec<&'static Device> {
    backends().iter().filter(|d| !d.is_cpu()).collect()
}

/// A GPU device opened with `options` for each GPU backend on the machine (a fresh
/// device each call, for tests that change limits or break things).
pub fn gpus_with(options: &DeviceOptions) -> Vec<Device> {
    gpus().iter().map(|d| reopen(d, options)).collect()
}

/// Every fixture of the project's tests/fixtures (from the library's tests or the
/// command line's, one folder down).
pub fn project_fixtures() -> Vec<wgcnn::fixture::Fixture> {
    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = [here.join("tests/fixtures"), here.join("../tests/fixtures")]
        .into_iter()
        .find(|d| d.is_dir())
        .expect("the project's tests/fixtures");
    wgcnn::fixture::collect(&[dir])
        .unwrap()
        .iter()
        .map(|p| wgcnn::fixture::Fixture::load(p).unwrap())
        .collect()
}

/// Values where float code goes wrong: zeros of both signs, NaN of both signs, the
/// infinities, the smallest normals and the extremes (12 of them).
pub fn specials() -> Vec<f32> {
    vec![
        0.0,
        -0.0,
        1.0,
        -1.0,
        f32::NAN,
        -f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::MIN_POSITIVE,
        -f32::MIN_POSITIVE,
        f32::MAX,
        f32::MIN,
    ]
}

/// Asserts that the fixture `fx` passes on `dev`, printing its judge's detail if not.
pub fn assert_passes(fx: &wgcnn::fixture::Fixture, dev: &Device) {
    let out = fx.check(dev);
    assert_eq!(
        out.verdict,
        wgcnn::fixture::Verdict::Pass,
        "{} on {dev:?}: {}",
        fx.name,
        out.detail
    );
}

/// Every conv2d lowering a caller can ask for.
pub const ALGOS: [wgcnn::Conv2dAlgo; 6] = [
    wgcnn::Conv2dAlgo::Auto,
    wgcnn::Conv2dAlgo::Im2col,
    wgcnn::Conv2dAlgo::Direct,
    wgcnn::Conv2dAlgo::Implicit,
    wgcnn::Conv2dAlgo::Packed,
    wgcnn::Conv2dAlgo::Winograd,
];

/// Deterministic pseudo-random floats in [-1, 1) (xorshift), so failures reproduce.
pub fn random(len: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

/// Asserts `|got - want| <= atol + rtol * |want|` elementwise (NaN equals NaN) and
/// prints the first offending index, both values and the difference.
pub fn assert_close(got: &[f32], want: &[f32], atol: f32, rtol: f32, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: lengths differ");
    let tol = wgcnn::fixture::Tolerance {
        atol: f64::from(atol),
        rtol: f64::from(rtol),
    };
    let cmp = wgcnn::fixture::compare(got, want, tol);
    if let Some((i, g, w)) = cmp.first {
        panic!(
            "{what}: {} of {} elements differ; first at {i}: got {g:e}, want {w:e}, diff {:e}",
            cmp.mismatches,
            got.len(),
            (g - w).abs()
        );
    }
}

/// Asserts bit-for-bit equality (what selection ops must give).
pub fn assert_bits_eq(got: &[f32], want: &[f32], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: lengths differ");
    if let Some(i) = (0..got.len()).find(|&i| got[i].to_bits() != want[i].to_bits()) {
        panic!(
            "{what}: element {i} differs: got {:e} ({:#010x}), want {:e} ({:#010x})",
            got[i],
            got[i].to_bits(),
            want[i],
            want[i].to_bits()
        );
    }
}

/// Devices on one adapter share one wgpu device, so a test that counts submits or
/// buffers takes this lock, as does every other test of its binary.
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

/// The digits CNN's held-out images: inputs, their shape, labels and PyTorch's logits
/// (tests/data/digits_heldout.safetensors).
pub fn digits_heldout() -> (Vec<f32>, Vec<usize>, Vec<f32>, Vec<f32>) {
    let bytes = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/digits_heldout.safetensors"
    ))
    .unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let f32s = |k: &str| -> Vec<f32> { bytemuck::pod_collect_to_vec(st.tensor(k).unwrap().data()) };
    (
        f32s("input"),
        st.tensor("input").unwrap().shape().to_vec(),
        f32s("labels"),
        f32s("logits"),
    )
}

/// The share of `predictions` equal to `labels` (class indices held as f32).
pub fn accuracy(predictions: &[usize], labels: &[f32]) -> f64 {
    let correct = predictions
        .iter()
        .zip(labels)
        .filter(|(p, l)| **p as f32 == **l)
        .count();
    correct as f64 / labels.len() as f64
}
