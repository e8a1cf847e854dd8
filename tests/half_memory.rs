//! An f16 forward holds half the device memory of an f32 one: the peak of
//! `Device::memory` over a forward of the mnist_cnn and unet_block workloads (the
//! activations and the im2col scratch; the weights and input are allocated before),
//! in each f16 kernel form, at most 0.55x the f32 peak. Alone in its binary, so that
//! no other test's buffers count.

#[macro_use]
mod common;

use wgcnn::bench::{WORKLOADS_JSON, WorkloadKind, build_network, parse_workloads};
use wgcnn::{DType, Device, DeviceOptions, F16Kernels, Lowerings, Tensor};

/// The peak bytes a forward of workload `name` in `dtype` allocates on `dev`.
fn forward_peak(dev: &Device, name: &str, dtype: DType) -> u64 {
    let workloads = parse_workloads(WORKLOADS_JSON).unwrap();
    let wl = workloads.iter().find(|w| w.name == name).unwrap();
    let WorkloadKind::Network { input, layers } = &wl.kind else {
        panic!("{name} is not a network workload");
    };
    let mut net = build_network(dev, layers).unwrap();
    net.to_dtype(dtype).unwrap();
    let n = input.iter().product();
    let x = Tensor::from_slice(dev, &common::random(n, 1), input)
        .unwrap()
        .to_dtype(dtype)
        .unwrap();
    dev.sync().unwrap();
    dev.trim();
    dev.reset_peak_memory();
    let base = dev.memory().live_bytes;
    let y = net.forward(&x).unwrap();
    dev.sync().unwrap();
    let peak = dev.memory().peak_bytes - base;
    assert_eq!(y.dtype(), dtype);
    peak
}

fn f16_forwards_hold_at_most_055x_the_memory_of_f32(dev: &Device) {
    for kernels in [F16Kernels::Packed, F16Kernels::Native] {
        if kernels == F16Kernels::Native && !dev.has_shader_f16() {
            continue;
        }
        let d = common::reopen(
            dev,
            &DeviceOptions::default().with(Lowerings {
                f16: Some(kernels),
                ..Lowerings::default()
            }),
        );
        for name in ["mnist_cnn", "unet_block"] {
            let full = forward_peak(&d, name, DType::F32);
            let half = forward_peak(&d, name, DType::F16);
            let ratio = half as f64 / full as f64;
            eprintln!(
                "{} {kernels:?} {name}: f32 {full} bytes, f16 {half} bytes ({ratio:.3}x)",
                dev.backend()
            );
            assert!(
                ratio <= 0.55,
                "{name} on {} {kernels:?}: {ratio:.3}x",
                dev.backend()
            );
        }
    }
}
backend_tests!(gpu f16_forwards_hold_at_most_055x_the_memory_of_f32);
