//! The device layer: selection, typed errors that leave the device usable, the buffer
//! pool, and one submit per chain of ops.

#[macro_use]
mod common;

use wgcnn::{BackendKind, Device, DeviceOptions, Error, Tensor};

backend_tests! {
    gpu fn every_gpu_backend_is_found_and_named(dev) {
        let _serial = common::serial();
        assert_ne!(dev.backend(), BackendKind::Cpu);
        assert!(!dev.name().is_empty());
        let again = Device::new(&DeviceOptions::backend(dev.backend())).unwrap();
        assert_eq!(again.backend(), dev.backend());
        assert!(common::backends().last().unwrap().is_cpu());
    }
}

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

backend_tests! {
    fn a_data_length_that_disagrees_with_the_shape_is_a_shape_error(dev) {
        let _serial = common::serial();
        {
            let err = Tensor::from_slice(dev, &[1.0; 5], &[2, 3]).unwrap_err();
            assert!(matches!(err, Error::Shape { .. }), "{err}");
            assert!(
                err.to_string()
                    .contains("shape '[2, 3]' is invalid for input of size 5")
            );
        }
    }
}

backend_tests! {
    gpu fn a_buffer_past_the_limit_is_an_error_and_the_device_still_works(dev) {
        let _serial = common::serial();
        {
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
    }
}

backend_tests! {
    gpu fn a_loop_of_ops_allocates_no_buffer_after_the_first_pass(dev) {
        let _serial = common::serial();
        {
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
    }
}

backend_tests! {
    gpu fn a_chain_of_ops_is_one_submit(dev) {
        let _serial = common::serial();
        {
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
    }
}

backend_tests! {
    fn tensors_move_between_devices(dev) {
        let _serial = common::serial();
        let data = common::random(33, 9);
        {
            let x = Tensor::from_slice(dev, &data, &[3, 11]).unwrap();
            let back = x.to_device(&Device::cpu()).unwrap();
            assert_eq!(back.to_vec().unwrap(), data);
            assert_eq!(back.shape(), &[3, 11]);
        }
    }
}
