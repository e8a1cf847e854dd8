//! The device's memory under inputs that grow call after call: 200 convolutions of
//! `[1, 4, s, s]` by `[16, 4, 3, 3]` with `s` from 64 to 661, each result read back.
//! Prints the pool's size, the peak of live tensors and the process's resident memory.
//!
//! `cargo run --release --example pool_growth` (`WGCNN_BACKEND=gl` for GL).

use wgcnn::{Conv2dParams, Device, Tensor};

/// The process's resident set, in MB (Linux; 0 elsewhere).
fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn main() -> wgcnn::Result<()> {
    let dev = Device::best()?;
    let w = Tensor::from_slice(&dev, &vec![0.01; 16 * 4 * 9], &[16, 4, 3, 3])?;
    let params = Conv2dParams::default().padding(1);
    for i in 0..200 {
        let s = 64 + 3 * i;
        let x = Tensor::from_slice(&dev, &vec![1.0; 4 * s * s], &[1, 4, s, s])?;
        let y = wgcnn::conv2d(&x, &w, None, &params)?;
        let host = y.to_vec()?;
        assert_eq!(host.len(), 16 * s * s);
    }
    let mb = |b: u64| b as f64 / (1 << 20) as f64;
    let m = dev.memory();
    println!(
        "{}: pool {:.1} MiB, peak live {:.1} MiB, process RSS {:.0} MB",
        dev.backend(),
        mb(m.pool_bytes),
        mb(m.peak_bytes),
        rss_mb()
    );
    drop(w);
    dev.trim();
    println!(
        "after Device::trim: pool {:.1} MiB, process RSS {:.0} MB",
        mb(dev.memory().pool_bytes),
        rss_mb()
    );
    Ok(())
}
