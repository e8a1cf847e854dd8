//! Inputs that the fuzz targets (`fuzz/`, see the README's "Fuzzing") found to panic,
//! abort or run without bound, kept as cases: each must now give a typed error (or a
//! result), never a panic.

use wgcnn::bench::{WorkloadKind, parse_workloads, prepare_workload};
use wgcnn::{Device, Error};

/// kwargs target: a workload without `input` panicked indexing the JSON object.
#[test]
fn workload_without_input() {
    let err = parse_workloads(r#"{"conv2d": [{"name": "x"}]}"#).unwrap_err();
    assert!(
        matches!(&err, Error::Format(m) if m.contains("expected a list of sizes")),
        "{err}"
    );
}

/// A conv2d workload with a bias and a weight of no dimensions panicked taking the
/// weight's first size for the bias.
#[test]
fn workload_bias_of_empty_weight() {
    let workloads = parse_workloads(
        r#"{"conv2d": [{"name": "x", "input": [1, 1, 3, 3], "weight": [], "bias": true}]}"#,
    )
    .unwrap();
    let WorkloadKind::Op { inputs, .. } = &workloads[0].kind else {
        panic!("an op workload");
    };
    assert_eq!(inputs[2], None);
    let err = prepare_workload(&Device::cpu(), &workloads[0]).err().unwrap();
    assert!(matches!(err, Error::Shape { op: "conv2d", .. }), "{err}");
}
