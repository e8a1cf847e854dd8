//! The GEMM kernel alone (`matmul`) at awkward sizes against a host matmul.

#[macro_use]
mod common;

use wgcnn::Device;

use wgcnn::{Error, Tensor};

/// `matmul` of random `[m, k]` and `[k, n]` matrices (seeds `seeds`) on `dev` against
/// the host's.
fn check_matmul(dev: &Device, (m, k, n): (usize, usize, usize), seeds: [u64; 2], what: &str) {
    let a = common::random(m * k, seeds[0]);
    let b = common::random(k * n, seeds[1]);
    let want = wgcnn::reference::gemm::matmul(&a, &b, m, k, n);
    let ta = Tensor::from_slice(dev, &a, &[m, k]).unwrap();
    let tb = Tensor::from_slice(dev, &b, &[k, n]).unwrap();
    let c = wgcnn::matmul(&ta, &tb).unwrap();
    assert_eq!(c.shape(), &[m, n]);
    common::assert_close(&c.to_vec().unwrap(), &want, 1e-5, 1e-4, what);
}

fn matmul_matches_the_host_at_awkward_sizes(dev: &Device) {
    // 1, primes, one past the 64-wide tile and the 16-deep K step, and no K at all.
    let sizes = [
        (1, 1, 1),
        (1, 7, 1),
        (3, 5, 7),
        (13, 17, 19),
        (64, 16, 64),
        (65, 17, 65),
        (63, 129, 67),
        (1, 300, 2),
        (130, 1, 70),
        // an empty inner dimension: all zeros
        (3, 0, 4),
    ];
    for (i, &(m, k, n)) in sizes.iter().enumerate() {
        let seeds = [10 + i as u64, 20 + i as u64];
        check_matmul(dev, (m, k, n), seeds, &format!("{m}x{k}x{n} on {dev:?}"));
    }
}
backend_tests!(matmul_matches_the_host_at_awkward_sizes);

fn matmul_of_mismatched_shapes_is_pytorchs_error(dev: &Device) {
    let a = Tensor::zeros(dev, &[2, 3]).unwrap();
    let b = Tensor::zeros(dev, &[4, 5]).unwrap();
    let err = wgcnn::matmul(&a, &b).unwrap_err();
    assert!(matches!(err, Error::Shape { .. }));
    assert!(
        err.to_string()
            .contains("mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)"),
        "{err}"
    );
}
backend_tests!(matmul_of_mismatched_shapes_is_pytorchs_error);

fn linear_of_a_few_rows_matches_the_host_on_every_gemm_variant(dev: &Device) {
    // below 32 rows the register GEMMs compute it transposed, the bias per column
    let sizes = [
        (1, 512, 1000),
        (1, 1, 1),
        (3, 5, 7),
        (31, 64, 10),
        (32, 17, 9),
    ];
    for gemm in [
        wgcnn::GemmVariant::Tiled,
        wgcnn::GemmVariant::Register,
        wgcnn::GemmVariant::Subgroup,
    ] {
        let options = wgcnn::DeviceOptions::default().with(wgcnn::Lowerings {
            gemm: Some(gemm),
            ..Default::default()
        });
        let dev = &common::reopen(dev, &options);
        for (i, &(n, k, m)) in sizes.iter().enumerate() {
            let x = common::random(n * k, 30 + i as u64);
            let w = common::random(m * k, 40 + i as u64);
            let b = common::random(m, 50 + i as u64);
            for bias in [None, Some(&b[..])] {
                let want = wgcnn::reference::gemm::linear(&x, &w, bias, n, k, m);
                let tx = Tensor::from_slice(dev, &x, &[n, k]).unwrap();
                let tw = Tensor::from_slice(dev, &w, &[m, k]).unwrap();
                let tb = bias.map(|b| Tensor::from_slice(dev, b, &[m]).unwrap());
                let y = wgcnn::linear(&tx, &tw, tb.as_ref()).unwrap();
                assert_eq!(y.shape(), &[n, m]);
                common::assert_close(
                    &y.to_vec().unwrap(),
                    &want,
                    1e-5,
                    1e-4,
                    &format!(
                        "{n}x{k} -> {m} ({gemm:?}, bias {}) on {dev:?}",
                        bias.is_some()
                    ),
                );
            }
        }
    }
}
backend_tests!(gpu linear_of_a_few_rows_matches_the_host_on_every_gemm_variant);

fn every_gemm_variant_keeps_within_few_workgroups_per_dimension(dev: &Device) {
    // the narrow and subgroup blocks would need more workgroups than the device has:
    // the widest register block runs instead
    for (gemm, groups) in [
        (wgcnn::GemmVariant::Register, 2),
        (wgcnn::GemmVariant::Subgroup, 2),
        // im2col's 72 rows of the 3x3 (9 workgroups of 8) within 9 a dimension
        (wgcnn::GemmVariant::Subgroup, 9),
    ] {
        let options = wgcnn::DeviceOptions {
            max_workgroups_per_dim: Some(groups),
            ..Default::default()
        }
        .with(wgcnn::Lowerings {
            gemm: Some(gemm),
            conv2d: Some(wgcnn::Conv2dAlgo::Im2col),
            ..Default::default()
        });
        let dev = &common::reopen(dev, &options);
        check_matmul(dev, (8, 8, 144), [60, 61], &format!("matmul ({gemm:?})"));
        let kernels: &[[usize; 4]] = if groups == 2 {
            &[[8, 8, 1, 1]]
        } else {
            &[[8, 8, 1, 1], [8, 8, 3, 3]]
        };
        for &ws in kernels {
            let xs = [1, 8, 12, 12];
            let x = common::random(xs.iter().product(), 62);
            let w = common::random(ws.iter().product(), 63);
            let p = wgcnn::Conv2dParams::default().padding(ws[2] as i64 / 2);
            let run = |d: &Device| {
                let tx = Tensor::from_slice(d, &x, &xs).unwrap();
                let tw = Tensor::from_slice(d, &w, &ws).unwrap();
                wgcnn::conv2d(&tx, &tw, None, &p).unwrap().to_vec().unwrap()
            };
            let want = run(&Device::cpu());
            common::assert_close(&run(dev), &want, 1e-5, 1e-4, &format!("{ws:?} ({gemm:?})"));
        }
    }
}
backend_tests!(gpu every_gemm_variant_keeps_within_few_workgroups_per_dimension);
