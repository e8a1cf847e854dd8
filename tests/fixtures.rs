//! The PyTorch fixtures: every case of tests/fixtures passes on every backend, and the
//! judge catches wrong answers.

#[macro_use]
mod common;

use wgcnn::Device;

use wgcnn::fixture::Verdict;

fn every_fixture_passes_on_every_backend(dev: &Device) {
    let fixtures = common::project_fixtures();
    assert!(fixtures.len() >= 6, "the fixture set is in tests/fixtures");
    for fx in &fixtures {
        common::assert_passes(fx, dev);
    }
}
backend_tests!(every_fixture_passes_on_every_backend);

#[test]
fn the_judge_fails_a_wrong_answer_and_an_unknown_op() {
    let dev = &common::backends()[0];
    let mut fx = common::project_fixtures()
        .into_iter()
        .find(|f| f.name == "relu_4d")
        .unwrap();
    fx.tensors.get_mut("expected").unwrap().data[5] += 1e-3;
    let out = fx.check(dev);
    assert_eq!(out.verdict, Verdict::Fail);
    assert!((out.max_abs_err - 1e-3).abs() < 1e-6, "{}", out.max_abs_err);

    fx.op = "conv3d".into();
    assert_eq!(fx.check(dev).verdict, Verdict::Unsupported);

    fx.op = "relu".into();
    fx.expect_error = true;
    assert_eq!(
        fx.check(dev).verdict,
        Verdict::Fail,
        "an expected error must happen"
    );
}
