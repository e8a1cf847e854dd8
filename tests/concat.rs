//! Concatenation in place: where a concatenation's parts are contiguous in its output
//! (every dimension before the concatenated one is 1, as at batch 1 along channels),
//! the steps that compute them write straight into their place and the concatenation
//! copies only the rest. The plan names those parts; a forward holds the output and
//! not the parts beside it; the values are those of the copies (tests/onnx.rs checks
//! every `concat_in_place_*` case against onnx.reference on every backend, including
//! the parts the device must still copy).
//!
//! One test in this binary, so that no other test's buffers count in its peaks.

mod common;

use std::path::PathBuf;

use wgcnn::{DType, Device, Model, Tensor};

fn case(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/onnx/{name}.onnx"))
}

fn parts(model: &Model, shape: &[usize]) -> usize {
    model.plan(&[shape.to_vec()]).unwrap().parts.len()
}

#[test]
fn a_concatenations_parts_are_computed_in_its_output() {
    let cpu = Device::cpu();
    // the parts each plan writes in place: never a graph input, a graph output, a part
    // of an earlier concatenation or one given twice; none at batch 2
    for (name, shape, placed) in [
        ("concat_in_place_parts", [1, 4, 5, 5], 4),
        ("concat_in_place_reads_a_sibling", [1, 4, 5, 5], 2),
        ("concat_in_place_shared_parts", [1, 4, 5, 5], 3),
        ("concat_in_place_output_part", [1, 4, 5, 5], 1),
        ("concat_in_place_output_view", [1, 4, 5, 5], 2),
        ("concat_in_place_residual", [1, 16, 8, 8], 1),
        ("concat_in_place_unary", [1, 4, 5, 5], 2),
        ("concat_in_place_batch2", [2, 4, 5, 5], 0),
    ] {
        let model = Model::load(&case(name), &cpu).unwrap();
        assert_eq!(parts(&model, &shape), placed, "{name}");
    }
    // the UNet of the benchmarks: both parts of its deepest concatenation (its buffer
    // held from the skip's step on, over the smaller maps below, raises no step's live
    // elements above those at the concatenation); none of the upper two, where holding
    // the buffer from either part's step would
    let unet = Model::zoo("unet", 0, &cpu).unwrap();
    let input = wgcnn::model::zoo::network("unet").unwrap().input.to_vec();
    assert_eq!(parts(&unet, &input), 2);

    // an output that is a view of a part (z = Flatten(c), c placed in y) is its own
    // copy: changing it in place leaves y as it was
    for dev in common::backends() {
        let model = Model::load(&case("concat_in_place_output_view"), dev).unwrap();
        let x = Tensor::from_slice(dev, &common::random(100, 3), &[1, 4, 5, 5]).unwrap();
        let [y, mut z] = <[Tensor; 2]>::try_from(model.forward_all(&[&x]).unwrap()).unwrap();
        let before = y.to_vec().unwrap();
        assert!(z.to_vec().unwrap().iter().any(|&v| v < 0.0));
        wgcnn::relu_(&mut z).unwrap();
        assert!(z.to_vec().unwrap().iter().all(|&v| v >= 0.0));
        assert_eq!(y.to_vec().unwrap(), before, "{}", dev.backend());
    }

    // relu(x) and sigmoid(x) of 1 MiB each into a 2 MiB concatenation (in f16, half
    // of each): a forward holds the output alone (with copies it would also hold both
    // parts, twice as much)
    let shape = [1, 64, 64, 64];
    let n: usize = shape.iter().product();
    let data = common::random(n, 7);
    let gpus: Vec<&Device> = common::backends().iter().filter(|d| !d.is_cpu()).collect();
    for (dev, dtype) in gpus
        .iter()
        .flat_map(|d| [(*d, DType::F32), (*d, DType::F16)])
    {
        let what = format!("{} {dtype:?}", dev.backend());
        let x = Tensor::from_slice_as(dev, &data, &shape, dtype).unwrap();
        let xs = x.to_vec().unwrap();
        let expected: Vec<f32> = xs
            .iter()
            .map(|&v| v.max(0.0))
            .chain(xs.iter().map(|&v| dtype.round(1.0 / (1.0 + (-v).exp()))))
            .collect();
        let model = Model::load(&case("concat_in_place_unary"), dev)
            .unwrap()
            .with_precision(dtype);
        model.forward(&x).unwrap().to_vec().unwrap();
        dev.sync().unwrap();
        dev.reset_peak_memory();
        let base = dev.memory().live_bytes;
        let y = model.forward(&x).unwrap();
        let got = y.to_vec().unwrap();
        let peak = dev.memory().peak_bytes - base;
        let out = 2 * n as u64 * dtype.size();
        assert!(
            peak <= out + out / 8,
            "{what}: peak {peak} bytes for an output of {out}"
        );
        assert_eq!((y.shape(), y.dtype()), (&[1, 128, 64, 64][..], dtype));
        // relu exactly; the sigmoid as the elementwise op computes it (within an f16
        // step where rounded)
        assert_eq!(got[..n], expected[..n], "{what}");
        let tol = if dtype == DType::F16 { 1e-3 } else { 1e-6 };
        for (i, (g, e)) in got[n..].iter().zip(&expected[n..]).enumerate() {
            assert!((g - e).abs() <= tol, "{what} [{i}]: {g} vs {e}");
        }
    }
}
