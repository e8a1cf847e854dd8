//! The device layer: selection, typed errors that leave the device usable, the buffer
//! pool, and one submit per chain of ops.

#[macro_use]
mod common;

use wgcnn::{BackendKind, Device, DeviceOptions, Error, Tensor};

fn every_gpu_backend_is_found_and_named(dev: &Device) {
    let _serial = common::serial();
    assert_ne!(dev.backend(), BackendKind::Cpu);
    assert!(!dev.name().is_empty());
    let again = Device::new(&DeviceOptions::backend(dev.backend())).unwrap();
    assert_eq!(again.backend(), dev.backend());
    assert!(common::backends().last().unwrap().is_cpu());
}
backend_tests!(gpu every_gpu_backend_is_found_and_named);

#[test]
fn backend_names_parse_and_unknown_ones_are_errors() {
    let _serial = common::serial();
    for kind in [
        BackendKind::Vulkan,
        BackendKind::Metal,
        BackendKind::Dx12,
        BackendKind::Gl,
        BackendKind::Cpu,
    ] {
        assert_eq!(BackendKind::parse(kind.name()).unwrap(), kind);
    }
    assert!(matches!(
        BackendKind::parse("cuda"),
        Err(Error::NoAdapter(_))
    ));
    let cpu = Device::new(&DeviceOptions::backend(BackendKind::Cpu)).unwrap();
    assert!(cpu.is_cpu());
}

#[test]
fn an_adapter_filter_that_matches_nothing_is_an_error() {
    let _serial = common::serial();
    let err = Device::new(&DeviceOptions {
        adapter: Some("no such adapter anywhere".into()),
        ..DeviceOptions::default()
    })
    .unwrap_err();
    assert!(matches!(err, Error::NoAdapter(_)), "{err}");
}

fn a_data_length_that_disagrees_with_the_shape_is_a_shape_error(dev: &Device) {
    let _serial = common::serial();
    let err = Tensor::from_slice(dev, &[1.0; 5], &[2, 3]).unwrap_err();
    assert!(matches!(err, Error::Shape { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("shape '[2, 3]' is invalid for input of size 5")
    );
}
backend_tests!(a_data_length_that_disagrees_with_the_shape_is_a_shape_error);

fn a_buffer_past_the_limit_is_an_error_and_the_device_still_works(dev: &Device) {
    let _serial = common::serial();
    let dev = &common::reopen(dev, &DeviceOptions::default());
    // wgpu's own validation, caught by an error scope.
    let err = dev.debug_create_buffer_unchecked(u64::MAX / 2).unwrap_err();
    assert!(
        matches!(err, Error::Validation(_) | Error::OutOfMemory(_)),
        "{err}"
    );
    // wgcnn's own check, before wgpu sees it.
    let err = Tensor::zeros(dev, &[1 << 20, 1 << 12]).unwrap_err();
    assert!(matches!(err, Error::Limit { .. }), "{err}");
    let x = Tensor::from_slice(dev, &[-1.0, 2.0, -3.0, 4.0, 5.0], &[5]).unwrap();
    assert_eq!(
        wgcnn::relu(&x).unwrap().to_vec().unwrap(),
        [0.0, 2.0, 0.0, 4.0, 5.0]
    );
}
backend_tests!(gpu a_buffer_past_the_limit_is_an_error_and_the_device_still_works);

fn a_loop_of_ops_allocates_no_buffer_after_the_first_pass(dev: &Device) {
    let _serial = common::serial();
    let dev = &common::reopen(dev, &DeviceOptions::default());
    let data = common::random(4096, 1);
    let mut created = Vec::new();
    for _ in 0..4 {
        let x = Tensor::from_slice(dev, &data, &[4, 1024]).unwrap();
        let y = wgcnn::relu(&x).unwrap();
        let z = wgcnn::relu(&y).unwrap();
        z.to_vec().unwrap();
        created.push(dev.buffers_created());
    }
    assert!(
        created.windows(2).skip(1).all(|w| w[0] == w[1]),
        "{created:?}"
    );
}
backend_tests!(gpu a_loop_of_ops_allocates_no_buffer_after_the_first_pass);

fn a_chain_of_ops_is_one_submit(dev: &Device) {
    let _serial = common::serial();
    let dev = &common::reopen(dev, &DeviceOptions::default());
    let x = Tensor::from_slice(dev, &common::random(1000, 2), &[1000]).unwrap();
    let before = dev.submit_count();
    let mut y = wgcnn::relu(&x).unwrap();
    for _ in 0..10 {
        y = wgcnn::relu(&y).unwrap();
    }
    assert_eq!(
        dev.submit_count(),
        before,
        "nothing is submitted while recording"
    );
    y.to_vec().unwrap();
    assert_eq!(dev.submit_count(), before + 1);
}
backend_tests!(gpu a_chain_of_ops_is_one_submit);

fn tensors_move_between_devices(dev: &Device) {
    let _serial = common::serial();
    let data = common::random(33, 9);
    let x = Tensor::from_slice(dev, &data, &[3, 11]).unwrap();
    let back = x.to_device(&Device::cpu()).unwrap();
    assert_eq!(back.to_vec().unwrap(), data);
    assert_eq!(back.shape(), &[3, 11]);
}
backend_tests!(tensors_move_between_devices);

/// A long submit on one thread while another makes and reads tensors of new sizes:
/// on GL (llvmpipe runs a submit's work inside `queue.submit`, holding the context)
/// the other thread's calls used to wait out wgpu's lock timeout and panic ("Could
/// not lock adapter context"); now they wait for the submit.
fn a_long_submit_does_not_break_other_threads(dev: &Device) {
    let _serial = common::serial();
    let (n, c, hw) = (1, 64, 160);
    let x = common::random(n * c * hw * hw, 21);
    let w = common::random(c * c * 9, 22);
    let options = wgcnn::Conv2dOptions {
        algo: wgcnn::Conv2dAlgo::Direct,
        ..Default::default()
    };
    let params = wgcnn::Conv2dParams::default().padding(1);
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        let other = s.spawn(|| {
            let mut made = 0;
            let mut size = 1000;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                let t = Tensor::from_slice(dev, &vec![1.5; size], &[size]).unwrap();
                assert_eq!(wgcnn::relu(&t).unwrap().to_vec().unwrap()[size - 1], 1.5);
                size += 4096;
                made += 1;
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            made
        });
        let xt = Tensor::from_slice(dev, &x, &[n, c, hw, hw]).unwrap();
        let wt = Tensor::from_slice(dev, &w, &[c, c, 3, 3]).unwrap();
        let y = wgcnn::conv2d_ext(&xt, &wt, None, &params, &options).unwrap();
        let got = y.to_vec().unwrap();
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        assert!(other.join().expect("the other thread panicked") > 0);
        // a few outputs against the direct sum
        for &(co, oy, ox) in &[(0usize, 0usize, 0usize), (17, 80, 3), (63, 159, 159)] {
            let mut want = 0f64;
            for ci in 0..c {
                for ky in 0..3 {
                    for kx in 0..3 {
                        let (iy, ix) = ((oy + ky) as isize - 1, (ox + kx) as isize - 1);
                        if iy < 0 || ix < 0 || iy >= hw as isize || ix >= hw as isize {
                            continue;
                        }
                        let xv = x[(ci * hw + iy as usize) * hw + ix as usize];
                        want += f64::from(xv) * f64::from(w[((co * c + ci) * 3 + ky) * 3 + kx]);
                    }
                }
            }
            let g = got[(co * hw + oy) * hw + ox];
            assert!(
                (f64::from(g) - want).abs() < 1e-4,
                "{dev:?} ({co}, {oy}, {ox}): {g} vs {want}"
            );
        }
    });
}
backend_tests!(gpu a_long_submit_does_not_break_other_threads);

/// Inputs that grow call after call leave stale buffer sizes behind: the pool keeps
/// at most the larger of 64 MiB and the live high water free, and `trim` frees
/// them all.
fn the_pool_stays_bounded_under_growing_inputs(dev: &Device) {
    let _serial = common::serial();
    let dev = &common::reopen(dev, &DeviceOptions::default());
    dev.trim();
    let w = Tensor::from_slice(dev, &[0.01; 16 * 4 * 9], &[16, 4, 3, 3]).unwrap();
    let params = wgcnn::Conv2dParams::default().padding(1);
    let mut created = 0u64;
    for i in 0..90 {
        let s = 64 + 4 * i;
        let x = Tensor::from_slice(dev, &vec![1.0; 4 * s * s], &[1, 4, s, s]).unwrap();
        let y = wgcnn::conv2d(&x, &w, None, &params).unwrap();
        assert_eq!(y.to_vec().unwrap()[16 * s * s - 1], 0.16);
        created += 20 * (s * s * 4) as u64;
    }
    let m = dev.memory();
    assert!(
        created > 2 * (64 << 20),
        "the loop allocates {created} bytes in all"
    );
    assert!(
        m.pool_bytes <= (64 << 20) + 2 * m.peak_bytes,
        "{dev:?}: pool {} bytes for a peak of {} live",
        m.pool_bytes,
        m.peak_bytes
    );
    drop(w);
    dev.trim();
    assert_eq!(dev.memory().pool_bytes, dev.memory().live_bytes);
}
backend_tests!(gpu the_pool_stays_bounded_under_growing_inputs);

/// Recorded work is submitted once its estimated cost passes the device's budget,
/// so that no submit runs long enough for a driver's watchdog; under the default
/// budget a chain of small ops is still one submit.
fn long_work_is_split_into_bounded_submits(dev: &Device) {
    let _serial = common::serial();
    let x = Tensor::from_slice(dev, &common::random(1000, 5), &[1000]).unwrap();
    let chain = |dev: &Device| {
        let mut y = Tensor::from_slice(dev, &common::random(1000, 5), &[1000]).unwrap();
        for _ in 0..10 {
            y = wgcnn::relu(&y).unwrap();
        }
        y
    };
    let small = common::reopen(
        dev,
        &DeviceOptions {
            submit_budget: Some(2500),
            ..DeviceOptions::default()
        },
    );
    small.sync().unwrap();
    let before = small.submit_count();
    let y = chain(&small);
    // 10 ops of 1000 each, 2 to a submit: 4 submitted before any read
    assert_eq!(small.submit_count() - before, 4, "{dev:?}");
    let want = wgcnn::reference::relu::relu(&common::random(1000, 5));
    assert_eq!(y.to_vec().unwrap(), want);
    dev.sync().unwrap();
    let before = dev.submit_count();
    let y = chain(dev);
    assert_eq!(
        dev.submit_count(),
        before,
        "{dev:?}: nothing submitted before a read"
    );
    assert_eq!(y.to_vec().unwrap(), want);
    drop(x);
}
backend_tests!(gpu long_work_is_split_into_bounded_submits);

/// One convolution over a batch larger than the submit budget is recorded in runs of
/// images that each fit it, a submit after each, with the same numbers.
fn a_long_convolution_is_split_into_bounded_submits(dev: &Device) {
    let _serial = common::serial();
    let xs = [6, 8, 16, 16];
    let x = common::random(xs.iter().product(), 41);
    let w = common::random(8 * 8 * 9, 42);
    let params = wgcnn::Conv2dParams::default().padding(1);
    let run = |dev: &Device| {
        let xt = Tensor::from_slice(dev, &x, &xs).unwrap();
        let wt = Tensor::from_slice(dev, &w, &[8, 8, 3, 3]).unwrap();
        dev.sync().unwrap();
        let before = dev.submit_count();
        let y = wgcnn::conv2d(&xt, &wt, None, &params).unwrap();
        (dev.submit_count() - before, y.to_vec().unwrap())
    };
    // one image: 8 * 16 * 16 * 8 * 9 multiply-adds + 2048 outputs = 149,504
    let small = common::reopen(
        dev,
        &DeviceOptions {
            submit_budget: Some(300_000),
            ..DeviceOptions::default()
        },
    );
    let (split, got) = run(&small);
    assert_eq!(split, 2, "{dev:?}: runs of 2 images, each its own submit");
    let (whole, want) = run(dev);
    assert_eq!(
        whole, 0,
        "{dev:?}: under the default budget, nothing before a read"
    );
    common::assert_close(&got, &want, 1e-5, 1e-5, &format!("{dev:?}"));
}
backend_tests!(gpu a_long_convolution_is_split_into_bounded_submits);
