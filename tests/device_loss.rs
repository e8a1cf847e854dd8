//! A lost device (a driver reset, a removed GPU; simulated by destroying the wgpu
//! device) gives `Error::DeviceLost` on every later call, never a panic or a hang, and
//! a new `Device` for the same adapter works. In a test binary of its own, since the
//! devices of one adapter share one wgpu device within a process.

#[macro_use]
mod common;

use wgcnn::{Device, DeviceOptions, Error, MaxPool2dParams, Tensor};

fn a_lost_device_reports_the_loss_and_a_new_one_works(dev: &Device) {
    let dev = common::reopen(dev, &DeviceOptions::default());
    let x = Tensor::from_slice(&dev, &common::random(64, 1), &[1, 1, 8, 8]).unwrap();
    let pending = wgcnn::relu(&x).unwrap();
    dev.debug_lose();
    let lost = |r: Result<(), Error>, what: &str| match r {
        Err(Error::DeviceLost(_)) => {}
        other => panic!("{dev:?} {what}: {other:?}"),
    };
    lost(
        pending.to_vec().map(drop),
        "reading work recorded before the loss",
    );
    lost(x.to_vec().map(drop), "reading a tensor");
    lost(wgcnn::relu(&x).map(drop), "an op");
    lost(
        wgcnn::max_pool2d(&x, &MaxPool2dParams::new(2)).map(drop),
        "another op",
    );
    lost(
        Tensor::from_slice(&dev, &[1.0; 4], &[4]).map(drop),
        "an upload",
    );
    lost(Tensor::zeros(&dev, &[4]).map(drop), "zeros");
    lost(dev.sync(), "sync");
    drop((x, pending));
    // the adapter again: a fresh device
    let again = Device::new(&DeviceOptions::backend(dev.backend())).unwrap();
    let y = Tensor::from_slice(&again, &[-1.0, 2.0], &[2]).unwrap();
    assert_eq!(wgcnn::relu(&y).unwrap().to_vec().unwrap(), [0.0, 2.0]);
    // and the lost one still says so
    lost(dev.sync(), "sync after a new device");
}
backend_tests!(gpu a_lost_device_reports_the_loss_and_a_new_one_works);
