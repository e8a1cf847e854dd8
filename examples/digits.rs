//! Runs the digits CNN (trained in PyTorch by scripts/train_digits.py) on the held-out
//! images, on the best device, and reports its accuracy.
//!
//!     cargo run --release --example digits

use wgcnn::nn::Sequential;
use wgcnn::{Device, Tensor};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let device = Device::best()?;
    let model = Sequential::load("models/digits.safetensors".as_ref(), &device)?;

    // 360 held-out 8x8 images with their labels
    let bytes = std::fs::read("tests/data/digits_heldout.safetensors")?;
    let data = safetensors::SafeTensors::deserialize(&bytes)?;
    let images = data.tensor("input")?;
    let pixels: Vec<f32> = bytemuck::pod_collect_to_vec(images.data());
    let labels: Vec<f32> = bytemuck::pod_collect_to_vec(data.tensor("labels")?.data());

    let x = Tensor::from_slice(&device, &pixels, images.shape())?;
    let logits = model.forward(&x)?.to_vec()?; // one submit for the whole network
    let correct = logits
        .chunks(10)
        .zip(&labels)
        .filter(|&(row, &label)| {
            let best = (0..10).max_by(|&a, &b| row[a].total_cmp(&row[b])).unwrap();
            best as f32 == label
        })
        .count();
    println!(
        "{} on {}: {correct}/{} held-out digits right ({:.1}%)",
        device.name(),
        device.backend(),
        labels.len(),
        100.0 * correct as f64 / labels.len() as f64
    );
    Ok(())
}
