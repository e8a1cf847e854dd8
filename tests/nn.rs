//! Whole networks: the digits CNN trained in PyTorch gives PyTorch's predictions on
//! every backend, a forward pass is one submit, hooks see any layer's output, weights
//! load by PyTorch's names with PyTorch's errors, and memory stays bounded.

#[macro_use]
mod common;

use std::sync::{Arc, Mutex};

use wgcnn::nn::{Layer, Sequential};
use wgcnn::{Device, Error, Tensor};

fn model_path() -> &'static std::path::Path {
    concat!(env!("CARGO_MANIFEST_DIR"), "/models/digits.safetensors").as_ref()
}

/// The benchmark's networks: (workload, input shape, layers).
fn workload_networks() -> Vec<(wgcnn::bench::Workload, Vec<usize>, Vec<String>)> {
    wgcnn::bench::parse_workloads(wgcnn::bench::WORKLOADS_JSON)
        .unwrap()
        .into_iter()
        .filter_map(|wl| match &wl.kind {
            wgcnn::bench::WorkloadKind::Network { input, layers } => {
                let (input, layers) = (input.clone(), layers.clone());
                Some((wl, input, layers))
            }
            _ => None,
        })
        .collect()
}

/// A workload network on `dev` with its deterministic input.
fn network_and_input(dev: &Device, layers: &[String], input: &[usize]) -> (Sequential, Tensor) {
    let net = wgcnn::bench::build_network(dev, layers).unwrap();
    let x = Tensor::from_slice(dev, &common::random(input.iter().product(), 1), input).unwrap();
    (net, x)
}

fn argmax(row: &[f32]) -> usize {
    (0..row.len())
        .max_by(|&a, &b| row[a].total_cmp(&row[b]))
        .unwrap()
}

fn the_digits_network_predicts_as_pytorch_on_every_backend(dev: &Device) {
    let _serial = common::serial();
    let (x, shape, labels, torch_logits) = common::digits_heldout();
    let model = Sequential::load(model_path(), dev).unwrap();
    let y = model
        .forward(&Tensor::from_slice(dev, &x, &shape).unwrap())
        .unwrap();
    assert_eq!(y.shape(), &[shape[0], 10]);
    let logits = y.to_vec().unwrap();
    common::assert_close(
        &logits,
        &torch_logits,
        1e-4,
        1e-4,
        &format!("logits on {dev:?}"),
    );
    let ours: Vec<usize> = logits.chunks(10).map(argmax).collect();
    let theirs: Vec<usize> = torch_logits.chunks(10).map(argmax).collect();
    assert_eq!(ours, theirs, "predictions on {dev:?}");
    let accuracy = common::accuracy(&ours, &labels);
    eprintln!("digits held-out accuracy on {dev:?}: {accuracy:.4}");
    assert!(accuracy > 0.95, "{accuracy}");
}
backend_tests!(the_digits_network_predicts_as_pytorch_on_every_backend);

fn batch_size_is_free(dev: &Device) {
    let _serial = common::serial();
    let (x, _, _, torch_logits) = common::digits_heldout();
    let model = Sequential::load(model_path(), dev).unwrap();
    let one = model
        .forward(&Tensor::from_slice(dev, &x[..64], &[1, 1, 8, 8]).unwrap())
        .unwrap();
    common::assert_close(
        &one.to_vec().unwrap(),
        &torch_logits[..10],
        1e-4,
        1e-4,
        "batch 1",
    );
    let many: Vec<f32> = x.iter().cycle().take(256 * 64).copied().collect();
    let y = model
        .forward(&Tensor::from_slice(dev, &many, &[256, 1, 8, 8]).unwrap())
        .unwrap();
    let want: Vec<f32> = torch_logits.iter().cycle().take(2560).copied().collect();
    common::assert_close(&y.to_vec().unwrap(), &want, 1e-4, 1e-4, "batch 256");
}
backend_tests!(batch_size_is_free);

fn a_forward_pass_of_each_workload_network_is_one_submit(dev: &Device) {
    let _serial = common::serial();
    for (wl, input, layers) in workload_networks() {
        {
            let (net, x) = network_and_input(dev, &layers, &input);
            dev.sync().unwrap();
            let before = dev.submit_count();
            let y = net.forward(&x).unwrap();
            assert_eq!(
                dev.submit_count(),
                before,
                "{}: recording submits nothing",
                wl.name
            );
            let gpu = y.to_vec().unwrap();
            assert_eq!(
                dev.submit_count(),
                before + 1,
                "{}: one submit on {dev:?}",
                wl.name
            );
            // and the numbers are the CPU reference's
            let (cpu_net, cpu_x) = network_and_input(&Device::cpu(), &layers, &input);
            let want = cpu_net.forward(&cpu_x).unwrap().to_vec().unwrap();
            let max = want.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            common::assert_close(&gpu, &want, 1e-4 * max + 1e-5, 0.0, &wl.name);
        }
    }
}
backend_tests!(gpu a_forward_pass_of_each_workload_network_is_one_submit);

fn peak_memory_stays_near_the_largest_layer_not_the_sum_of_all(dev: &Device) {
    let _serial = common::serial();
    for (wl, input, layers) in workload_networks() {
        {
            let (net, x) = network_and_input(dev, &layers, &input);
            dev.sync().unwrap();
            dev.reset_peak_memory();
            let base = dev.memory().live_bytes;
            let (y, acts) = net
                .forward_capture(
                    &x,
                    &(0..layers.len())
                        .map(|i| i.to_string())
                        .collect::<Vec<_>>()
                        .iter()
                        .map(String::as_str)
                        .collect::<Vec<_>>(),
                )
                .unwrap();
            let sum: u64 = acts.iter().map(|a| a.numel() as u64 * 4).sum();
            let largest_pair = std::iter::once(x.numel())
                .chain(acts.iter().map(Tensor::numel))
                .collect::<Vec<_>>()
                .windows(2)
                .map(|w| (w[0] + w[1]) as u64 * 4)
                .max()
                .unwrap();
            drop((y, acts));
            dev.sync().unwrap();
            dev.reset_peak_memory();
            let y = net.forward(&x).unwrap();
            y.to_vec().unwrap();
            let peak = dev.memory().peak_bytes - base;
            eprintln!(
                "{}: peak {:.1} MiB, largest input+output {:.1} MiB, all activations {:.1} MiB",
                wl.name,
                peak as f64 / 1048576.0,
                largest_pair as f64 / 1048576.0,
                sum as f64 / 1048576.0
            );
            assert!(
                peak < sum,
                "{}: peak {peak} is not below the sum {sum}",
                wl.name
            );
            assert!(
                peak <= largest_pair * 2,
                "{}: peak {peak} vs largest pair {largest_pair}",
                wl.name
            );
        }
    }
}
backend_tests!(gpu peak_memory_stays_near_the_largest_layer_not_the_sum_of_all);

fn hooks_see_any_layer_by_index_or_name_without_changing_the_result(dev: &Device) {
    let _serial = common::serial();
    let (x, _, _, _) = common::digits_heldout();
    let mut model = Sequential::load(model_path(), dev).unwrap();
    let input = Tensor::from_slice(dev, &x[..4 * 64], &[4, 1, 8, 8]).unwrap();
    let plain = model.forward(&input).unwrap().to_vec().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let id = model
        .register_forward_hook("1", move |name, out| {
            sink.lock().unwrap().push((
                name.to_string(),
                out.shape().to_vec(),
                out.to_vec().unwrap(),
            ))
        })
        .unwrap();
    let hooked = model.forward(&input).unwrap().to_vec().unwrap();
    common::assert_bits_eq(&hooked, &plain, "a hook changes nothing");
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    let (name, shape, conv_out) = &seen[0];
    assert_eq!((name.as_str(), &shape[..]), ("1", &[4, 16, 28, 28][..]));
    // the hook on the convolution sees it before the relu: negatives survive
    assert!(conv_out.iter().any(|v| *v < 0.0), "conv output before relu");
    assert!(model.remove_hook(id));
    // forward_capture: copies of the outputs, by name
    let (y, maps) = model.forward_capture(&input, &["2", "8"]).unwrap();
    common::assert_bits_eq(&y.to_vec().unwrap(), &plain, "capture changes nothing");
    assert_eq!(maps[0].shape(), &[4, 16, 28, 28]);
    assert!(
        maps[0].to_vec().unwrap().iter().all(|v| *v >= 0.0),
        "after relu"
    );
    common::assert_bits_eq(
        &maps[1].to_vec().unwrap(),
        &plain,
        "the last layer's output",
    );
    assert!(model.forward_capture(&input, &["classifier.9"]).is_err());
}
backend_tests!(hooks_see_any_layer_by_index_or_name_without_changing_the_result);

#[test]
fn weights_load_by_pytorch_names_with_pytorch_errors() {
    let dev = Device::cpu();
    let mut model = Sequential::load(model_path(), &dev).unwrap();
    let file = std::fs::read(model_path()).unwrap();
    let st = safetensors::SafeTensors::deserialize(&file).unwrap();
    let all: Vec<(String, safetensors::tensor::TensorView<'_>)> = st.tensors();
    let without = |skip: &str| {
        safetensors::serialize(
            all.iter()
                .filter(|(k, _)| k != skip)
                .map(|(k, v)| (k.clone(), v.clone())),
            None,
        )
        .unwrap()
    };
    model.load_state_dict(&without("nothing")).unwrap();
    let e = model.load_state_dict(&without("4.bias")).unwrap_err();
    assert!(matches!(e, Error::Weights(_)));
    assert!(
        e.to_string()
            .contains("Missing key(s) in state_dict: \"4.bias\"."),
        "{e}"
    );
    let extra = [0.0f32; 3];
    let mut with_extra: Vec<(String, safetensors::tensor::TensorView<'_>)> = all.clone();
    with_extra.push((
        "9.weight".into(),
        safetensors::tensor::TensorView::new(
            safetensors::Dtype::F32,
            vec![3],
            bytemuck::cast_slice(&extra),
        )
        .unwrap(),
    ));
    let e = model
        .load_state_dict(&safetensors::serialize(with_extra, None).unwrap())
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("Unexpected key(s) in state_dict: \"9.weight\"."),
        "{e}"
    );
    let mut misshapen: Vec<(String, safetensors::tensor::TensorView<'_>)> =
        all.iter().filter(|(k, _)| k != "8.bias").cloned().collect();
    misshapen.push((
        "8.bias".into(),
        safetensors::tensor::TensorView::new(
            safetensors::Dtype::F32,
            vec![3],
            bytemuck::cast_slice(&extra),
        )
        .unwrap(),
    ));
    let e = model
        .load_state_dict(&safetensors::serialize(misshapen, None).unwrap())
        .unwrap_err();
    assert!(e.to_string().contains("size mismatch for 8.bias: copying a param with shape torch.Size([3]) from checkpoint, the shape in current model is torch.Size([10])."), "{e}");
}

fn a_network_built_in_code_runs_like_its_layers(dev: &Device) {
    let _serial = common::serial();
    let w = Tensor::from_slice(dev, &common::random(4 * 2 * 9, 1), &[4, 2, 3, 3]).unwrap();
    let conv = wgcnn::nn::Conv2d::new(w, None, wgcnn::Conv2dParams::default().padding(1)).unwrap();
    let lw = Tensor::from_slice(dev, &common::random(3 * 4 * 9, 2), &[3, 36]).unwrap();
    let net = Sequential::new()
        .push(Layer::Conv2d(conv))
        .push(Layer::ReLU { inplace: true })
        .push(Layer::MaxPool2d(wgcnn::MaxPool2dParams::new(2)))
        .push(Layer::Flatten {
            start_dim: 1,
            end_dim: -1,
        })
        .push(Layer::Linear(wgcnn::nn::Linear {
            weight: lw,
            bias: None,
        }));
    let x = Tensor::from_slice(dev, &common::random(2 * 2 * 6 * 6, 3), &[2, 2, 6, 6]).unwrap();
    let y = net.forward(&x).unwrap();
    assert_eq!(y.shape(), &[2, 3]);
    let layers = net.layers();
    let wgcnn::nn::Layer::Conv2d(c) = &layers[0].1 else {
        unreachable!()
    };
    let wgcnn::nn::Layer::Linear(l) = &layers[4].1 else {
        unreachable!()
    };
    let step = wgcnn::relu(&c.forward(&x).unwrap()).unwrap();
    let step = wgcnn::max_pool2d(&step, &wgcnn::MaxPool2dParams::new(2))
        .unwrap()
        .reshape(&[2, 36])
        .unwrap();
    let want = l.forward(&step).unwrap().to_vec().unwrap();
    common::assert_close(&y.to_vec().unwrap(), &want, 1e-6, 1e-5, &format!("{dev:?}"));
}
backend_tests!(a_network_built_in_code_runs_like_its_layers);

#[test]
fn errors_while_loading_a_model_name_the_layer() {
    let dev = wgcnn::Device::cpu();
    let layers = [
        serde_json::json!({"op": "ReLU", "params": {}}),
        serde_json::json!({"op": "MaxPool2d", "name": "pool", "params": {"kernel_size": "big"}}),
    ];
    let e = Sequential::from_layers(&layers, Default::default(), &dev).unwrap_err();
    assert!(e.to_string().contains("(layer pool)"), "{e}");
    let layers = [serde_json::json!({"op": "Conv3d", "params": {}})];
    let e = Sequential::from_layers(&layers, Default::default(), &dev).unwrap_err();
    assert!(matches!(e, wgcnn::Error::Unsupported(_)), "{e:?}");
    assert!(e.to_string().contains("'Conv3d' (layer 0)"), "{e}");
}

/// A limit met while running a model names the layer, as a shape error does.
fn a_limit_in_a_model_names_the_layer(dev: &Device) {
    let net = Sequential::new()
        .push_named("features", Layer::ReLU { inplace: false })
        .push_named(
            "blow_up",
            Layer::Upsample(wgcnn::InterpolateParams::scale(
                100_000.0,
                wgcnn::InterpolateMode::Nearest,
            )),
        );
    let x = Tensor::from_slice(dev, &[1.0; 64], &[1, 1, 8, 8]).unwrap();
    let e = net.forward(&x).unwrap_err();
    assert!(
        matches!(&e, Error::InLayer { layer, source } if layer == "blow_up" && matches!(**source, Error::Limit { .. })),
        "{dev:?}: {e:?}"
    );
    assert!(e.to_string().ends_with("(layer blow_up)"), "{e}");
}
backend_tests!(a_limit_in_a_model_names_the_layer);
