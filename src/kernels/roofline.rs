//! What an adapter can do at most, measured with the project's own kernels
//! (`shaders/roofline.wgsl`): the FP32 FMA peak, a vec4 copy shader,
//! `copy_buffer_to_buffer`, and the cost of a dispatch. `wgcnn bench --roofline`
//! reports each workload as a share of it.

use std::time::Instant;

use serde_json::Value;

use crate::device::{Bind, Device, DeviceKind, Slot};
use crate::error::{Error, Result};
use crate::kernels::shaders::Shader;
use crate::tensor::Tensor;

uniform! {
    /// `RoofParams` of roofline.wgsl.
    pub(crate) struct RoofParams {
        /// FMA steps per invocation, or vec4s to copy.
        count: u32,
        _pad: [u32; 3],
    }
}

const LAYOUT: &[(u32, Slot)] = layout![0 => Read, 1 => ReadWrite, 2 => Uniform];

/// What an adapter can do at most, measured by the project's own kernels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Roofline {
    /// Peak FP32 rate, independent vec4 FMA chains (GFLOP/s, 2 per multiply-add).
    pub fma_gflops: f64,
    /// `copy_buffer_to_buffer` of 64 MiB, read + write counted (GB/s).
    pub copy_gbps: f64,
    /// A vec4-per-invocation copy shader, read + write counted (GB/s).
    pub shader_copy_gbps: f64,
    /// One tiny dispatch + submit + wait (microseconds).
    pub dispatch_us: f64,
    /// Each further tiny dispatch in the same pass (microseconds).
    pub extra_dispatch_us: f64,
}

impl Roofline {
    /// The `--json` line.
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "roofline": true,
            "fma_gflops": self.fma_gflops,
            "copy_gbps": self.copy_gbps,
            "shader_copy_gbps": self.shader_copy_gbps,
            "dispatch_us": self.dispatch_us,
            "extra_dispatch_us": self.extra_dispatch_us,
        })
    }

    /// A throughput as a share of this roof: compute against the FMA peak, memory
    /// bound work against `copy_buffer_to_buffer`.
    pub fn share(&self, gflops: Option<f64>, gbps: Option<f64>) -> Option<f64> {
        match (gflops, gbps) {
            (Some(g), _) => Some(100.0 * g / self.fma_gflops),
            (None, Some(b)) => Some(100.0 * b / self.copy_gbps),
            _ => None,
        }
    }
}

/// The best of `runs` timings of `f` (each ending with the device idle), in seconds.
fn best_of(device: &Device, runs: usize, mut f: impl FnMut() -> Result<()>) -> Result<f64> {
    let mut best = f64::INFINITY;
    for _ in 0..runs {
        let t = Instant::now();
        f()?;
        device.sync()?;
        best = best.min(t.elapsed().as_secs_f64());
    }
    Ok(best)
}

/// Measures the adapter's roof (see [`Roofline`]).
///
/// # Errors
/// [`Error::Unsupported`] on the CPU path; device errors.
pub fn roofline(device: &Device) -> Result<Roofline> {
    let DeviceKind::Gpu(gpu) = device.kind() else {
        return Err(Error::Unsupported(
            "the roofline of the CPU reference path".into(),
        ));
    };
    let bytes: u64 = 64 << 20;
    let elems = (bytes / 4) as usize;
    let a = Tensor::zeros(device, &[elems])?;
    let b = Tensor::zeros(device, &[elems])?;
    let (ab, bb) = (a.gpu_buffer()?, b.gpu_buffer()?);

    // peak FMA rate: enough invocations to fill every core, steps to last ~50 ms
    let fma = gpu.pipeline(&Shader::Roofline.entry("fma_peak", LAYOUT))?;
    let invocations: u64 = 64 * 1024;
    let run_fma = |steps: u32| -> Result<f64> {
        let p = RoofParams {
            count: steps,
            ..RoofParams::default()
        };
        best_of(device, 3, || {
            let binds = [Bind::at(0, ab, 0, 16), Bind::at(1, bb, 0, invocations * 16)];
            gpu.dispatch(
                &fma,
                &binds,
                bytemuck::bytes_of(&p),
                [(invocations / 64) as u32, 1, 1],
            )
        })
    };
    let probe = run_fma(64)?;
    let steps = ((0.05 / probe.max(1e-6)) * 64.0).clamp(64.0, 1e6) as u32;
    let t = run_fma(steps)?;
    let fma_gflops = invocations as f64 * f64::from(steps) * 64.0 / t / 1e9;

    // shader copy, vec4 per invocation
    let copy = gpu.pipeline(&Shader::Roofline.entry("copy_vec4", LAYOUT))?;
    let n4 = bytes / 16;
    let p = RoofParams {
        count: n4 as u32,
        ..RoofParams::default()
    };
    let t = best_of(device, 5, || {
        let binds = [Bind::at(0, ab, 0, bytes), Bind::at(1, bb, 0, bytes)];
        gpu.dispatch(
            &copy,
            &binds,
            bytemuck::bytes_of(&p),
            gpu.grid(n4.div_ceil(256))?,
        )
    })?;
    let shader_copy_gbps = 2.0 * bytes as f64 / t / 1e9;

    // copy_buffer_to_buffer
    let t = best_of(device, 5, || gpu.copy(ab, 0, bb, 0, bytes))?;
    let copy_gbps = 2.0 * bytes as f64 / t / 1e9;

    // one tiny dispatch + submit + wait, and each further one in the same pass
    let tiny = RoofParams {
        count: 1,
        ..RoofParams::default()
    };
    let tiny_binds = || [Bind::at(0, ab, 0, 16), Bind::at(1, bb, 0, 16)];
    let one = best_of(device, 50, || {
        gpu.dispatch(&copy, &tiny_binds(), bytemuck::bytes_of(&tiny), [1, 1, 1])
    })?;
    let many = best_of(device, 10, || {
        for _ in 0..100 {
            gpu.dispatch(&copy, &tiny_binds(), bytemuck::bytes_of(&tiny), [1, 1, 1])?;
        }
        Ok(())
    })?;
    Ok(Roofline {
        fma_gflops,
        copy_gbps,
        shader_copy_gbps,
        dispatch_us: one * 1e6,
        extra_dispatch_us: (many - one) / 99.0 * 1e6,
    })
}
