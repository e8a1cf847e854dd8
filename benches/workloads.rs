//! Criterion benchmarks of the workloads in benches/workloads.json (bench IDs are the
//! workload names), on the best adapter: for regressions. `wgcnn bench` prints the
//! table with GPU times, throughput and the roofline.
//!
//!     cargo bench                      # every workload
//!     cargo bench -- resnet_3x3        # one

use criterion::{Criterion, criterion_group, criterion_main};
use wgcnn::Device;
use wgcnn::bench::{self, WorkloadKind};

fn workloads(c: &mut Criterion) {
    let device = Device::best().expect("a device");
    let mut group = c.benchmark_group(format!("{}", device.backend()));
    group.sample_size(10);
    for wl in bench::parse_workloads(bench::WORKLOADS_JSON).expect("the built-in workloads") {
        if matches!(wl.kind, WorkloadKind::Other { .. }) {
            continue;
        }
        let mut run = bench::prepare_workload(&device, &wl).expect("the workload's inputs");
        group.bench_function(wl.name.as_str(), |b| {
            b.iter(|| {
                let out = run().expect("the workload runs");
                device.sync().expect("the device finishes");
                out
            })
        });
    }
    group.finish();
}

criterion_group!(benches, workloads);
criterion_main!(benches);
