//! The fixtures through the command line: the set built into `wgcnn` is the
//! project's, and `wgcnn run` writes outputs that equal PyTorch's on every backend.

#[path = "../../tests/common/mod.rs"]
#[macro_use]
mod common;

use std::path::Path;
use std::process::Command;

use wgcnn::fixture::{self, Fixture};

/// The set built into the binary is tests/fixtures as it is (which the library's own
/// tests run on every backend), and `wgcnn check` with no path passes it.
#[test]
fn the_builtin_fixtures_are_the_projects_and_pass() {
    let on_disk = common::project_fixtures();
    let builtin = wgcnn_cli::builtin::fixtures().unwrap();
    assert!(
        builtin.len() >= 6,
        "the fixture set is built into the binary"
    );
    assert_eq!(builtin.len(), on_disk.len());
    // tensors compared by their bits (NaN included)
    let bits = |f: &Fixture| {
        let tensors: Vec<_> = f
            .tensors
            .iter()
            .map(|(k, t)| {
                (
                    k.clone(),
                    t.shape.clone(),
                    t.data.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                )
            })
            .collect();
        (f.name.clone(), f.op.clone(), tensors)
    };
    for (b, d) in builtin.iter().zip(&on_disk) {
        assert_eq!(bits(b), bits(d));
    }
    let dev = &common::backends()[0];
    for fx in &builtin {
        common::assert_passes(fx, dev);
    }
}

#[test]
fn wgcnn_run_writes_outputs_that_equal_pytorch() {
    let fixtures_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures");
    let mut backends: Vec<&str> = common::gpus().iter().map(|d| d.backend().name()).collect();
    backends.push("cpu");
    for backend in backends {
        let out_dir =
            std::env::temp_dir().join(format!("wgcnn-run-{backend}-{}", std::process::id()));
        let status = Command::new(env!("CARGO_BIN_EXE_wgcnn"))
            .args(["run", "--backend", backend, "--out-dir"])
            .arg(&out_dir)
            .arg(&fixtures_dir)
            .status()
            .unwrap();
        assert!(status.success(), "wgcnn run on {backend}");
        for path in fixture::collect(std::slice::from_ref(&fixtures_dir)).unwrap() {
            let fx = Fixture::load(&path).unwrap();
            let written = out_dir.join(format!("{}.safetensors", fx.name));
            if fx.expect_error {
                assert!(
                    out_dir.join(format!("{}.error", fx.name)).exists(),
                    "{}",
                    fx.name
                );
                continue;
            }
            let bytes = std::fs::read(&written).unwrap();
            let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
            let output = st.tensor("output").unwrap();
            let expected = fx.tensor("expected").unwrap();
            assert_eq!(output.shape(), &expected.shape[..], "{}", fx.name);
            let got: Vec<f32> = bytemuck::pod_collect_to_vec(output.data());
            let tol = fx.effective_tolerance();
            common::assert_close(
                &got,
                &expected.data,
                tol.atol as f32,
                tol.rtol as f32,
                &format!("{} on {backend}", fx.name),
            );
            if let Some(want) = &fx.expected_indices {
                let indices = st.tensor("indices").unwrap();
                assert_eq!(indices.dtype(), safetensors::Dtype::I64);
                let got: Vec<i64> = bytemuck::pod_collect_to_vec(indices.data());
                assert_eq!(got, want.data, "{} indices on {backend}", fx.name);
            }
        }
        std::fs::remove_dir_all(&out_dir).ok();
    }
}
