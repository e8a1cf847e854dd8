//! Pictures in and out: PNG/JPEG images as NCHW tensors, the textbook 3x3 and 5x5
//! filters applied with wgcnn's conv2d, and a grid of one layer's feature maps.

use std::path::Path;

use wgcnn::nn::Sequential;
use wgcnn::{Conv2dParams, Device, Error, Padding, PaddingMode, Result, Tensor};

fn io_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Format(format!("{}: {e}", path.display()))
}

/// The most pixels a picture may have, read or written (2^28: a 16384 x 16384 grid,
/// 1 GiB of f32): checked before anything is allocated, so that a size no host holds
/// is an [`Error::Limit`], not an abort.
pub const MAX_PICTURE_PIXELS: u64 = 1 << 28;

/// Checks a picture of `h x w` pixels (`channels` each) against
/// [`MAX_PICTURE_PIXELS`] for `op`, with checked arithmetic.
pub fn check_picture(op: &'static str, h: usize, w: usize) -> Result<()> {
    let pixels = (h as u128).saturating_mul(w as u128);
    if pixels > u128::from(MAX_PICTURE_PIXELS) {
        return Err(Error::limit(
            op,
            "picture pixels",
            u64::try_from(pixels).unwrap_or(u64::MAX),
            MAX_PICTURE_PIXELS,
        ));
    }
    Ok(())
}

/// Reads an image as `[1, channels, h, w]` values in `[0, 1]` (channels 1: luma,
/// 3: RGB), optionally resized (bilinear) to `size = [h, w]`.
///
/// # Errors
/// [`Error::Io`] when the file cannot be read; as [`decode_image`].
pub fn load_image(
    path: &Path,
    channels: usize,
    size: Option<[u32; 2]>,
) -> Result<(Vec<f32>, [usize; 4])> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.display().to_string(),
        source,
    })?;
    decode_image(&path.display().to_string(), &bytes, channels, size)
}

/// As [`load_image`], from the bytes of a file called `name` (for messages); the
/// format is read from the bytes themselves.
///
/// # Errors
/// [`Error::Format`] when the bytes are not a readable PNG or JPEG;
/// [`Error::InvalidParam`] for an empty `size`, [`Error::Limit`] for one past
/// [`MAX_PICTURE_PIXELS`] (both before the bytes are decoded).
pub fn decode_image(
    name: &str,
    bytes: &[u8],
    channels: usize,
    size: Option<[u32; 2]>,
) -> Result<(Vec<f32>, [usize; 4])> {
    if channels != 1 && channels != 3 {
        return Err(Error::param(
            "load_image",
            format!("channels must be 1 or 3, got {channels}"),
        ));
    }
    if let Some([h, w]) = size {
        if h == 0 || w == 0 {
            return Err(Error::param(
                "load_image",
                format!("size must be positive, got [{h}, {w}]"),
            ));
        }
        check_picture("load_image", h as usize, w as usize)?;
    }
    let path = Path::new(name);
    let mut img = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| io_err(path, e))?
        .decode()
        .map_err(|e| io_err(path, e))?;
    if let Some([h, w]) = size {
        // the resized picture (8 bits a channel) within the limit of what the decoder
        // may allocate for a picture it reads
        let limit = image::Limits::default().max_alloc.unwrap_or(u64::MAX);
        let bytes = (u64::from(h) * u64::from(w)).saturating_mul(channels as u64);
        if h == 0 || w == 0 || bytes > limit {
            return Err(Error::param(
                "load_image",
                format!(
                    "{name}: cannot resize to {h}x{w}: a size must be positive and its picture take at most {limit} bytes"
                ),
            ));
        }
        img = img.resize_exact(w, h, image::imageops::FilterType::Triangle);
    }
    let (w, h) = (img.width() as usize, img.height() as usize);
    let data: Vec<f32> = if channels == 1 {
        img.to_luma8()
            .into_raw()
            .into_iter()
            .map(|v| f32::from(v) / 255.0)
            .collect()
    } else {
        let rgb = img.to_rgb8().into_raw();
        // interleaved RGB to planar
        (0..3)
            .flat_map(|c| {
                rgb.iter()
                    .skip(c)
                    .step_by(3)
                    .map(|&v| f32::from(v) / 255.0)
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    Ok((data, [1, channels, h, w]))
}

/// Writes planar `[channels, h, w]` values in `[0, 1]` (channels 1 or 3) as an image;
/// the format follows the extension (PNG or JPEG).
///
/// # Errors
/// [`Error::Shape`] when `data` does not hold `channels * h * w` values;
/// [`Error::Limit`] past [`MAX_PICTURE_PIXELS`]; [`Error::Format`] when the image
/// cannot be written.
pub fn save_image(path: &Path, data: &[f32], channels: usize, h: usize, w: usize) -> Result<()> {
    let op = "save_image";
    if !matches!(channels, 1 | 3) {
        return Err(Error::param(
            op,
            format!("channels must be 1 or 3, got {channels}"),
        ));
    }
    check_picture(op, h, w)?;
    // within MAX_PICTURE_PIXELS, so neither product overflows and both sides fit u32
    let plane = h * w;
    if data.len() != channels * plane {
        return Err(Error::shape(
            op,
            format!(
                "{} values do not make a picture of {channels} x {h} x {w}",
                data.len()
            ),
        ));
    }
    let px = |v: f32| (v.clamp(0.0, 1.0) * 255.0).round() as u8;
    let result = match channels {
        1 => image::GrayImage::from_raw(w as u32, h as u32, data.iter().map(|&v| px(v)).collect())
            .ok_or_else(|| io_err(path, "size mismatch"))?
            .save(path),
        3 => {
            let rgb: Vec<u8> = (0..plane)
                .flat_map(|i| (0..3).map(move |c| px(data[c * plane + i])))
                .collect();
            image::RgbImage::from_raw(w as u32, h as u32, rgb)
                .ok_or_else(|| io_err(path, "size mismatch"))?
                .save(path)
        }
        other => {
            return Err(Error::param(
                "save_image",
                format!("channels must be 1 or 3, got {other}"),
            ));
        }
    };
    result.map_err(|e| io_err(path, e))
}

/// A named textbook filter kernel (`edge`, `sobel-x`, `sobel-y`, `sharpen`, `blur`,
/// `emboss`), or one read from a text file of k*k numbers (k odd).
///
/// # Errors
/// [`Error::InvalidParam`] for an unknown name or a malformed file.
pub fn filter_kernel(name: &str) -> Result<(Vec<f32>, usize)> {
    let k3 = |v: [f32; 9]| Ok((v.to_vec(), 3));
    match name {
        "edge" => k3([-1., -1., -1., -1., 8., -1., -1., -1., -1.]),
        "sobel-x" => k3([-1., 0., 1., -2., 0., 2., -1., 0., 1.]),
        "sobel-y" => k3([-1., -2., -1., 0., 0., 0., 1., 2., 1.]),
        "sharpen" => k3([0., -1., 0., -1., 5., -1., 0., -1., 0.]),
        "emboss" => k3([-2., -1., 0., -1., 1., 1., 0., 1., 2.]),
        "blur" => {
            // 5x5 binomial (Gaussian) kernel
            let row = [1., 4., 6., 4., 1.];
            let v = row
                .iter()
                .flat_map(|a| row.iter().map(move |b| a * b / 256.0))
                .collect();
            Ok((v, 5))
        }
        file => {
            let text = std::fs::read_to_string(file).map_err(|e| {
                Error::param(
                    "filter",
                    format!("'{file}' is neither edge, sobel-x, sobel-y, sharpen, blur, emboss nor a readable kernel file: {e}"),
                )
            })?;
            parse_kernel(file, &text)
        }
    }
}

/// A kernel file's text, k*k numbers (k odd) separated by whitespace or commas, of a
/// file called `name` (for messages).
///
/// # Errors
/// [`Error::InvalidParam`] for a malformed kernel.
pub fn parse_kernel(name: &str, text: &str) -> Result<(Vec<f32>, usize)> {
    let v: Vec<f32> = text
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<f32>()
                .map_err(|e| Error::param("filter", format!("{name}: '{s}': {e}")))
        })
        .collect::<Result<_>>()?;
    let k = (v.len() as f64).sqrt() as usize;
    if k * k != v.len() || k.is_multiple_of(2) {
        return Err(Error::param(
            "filter",
            format!(
                "{name}: {} numbers do not make an odd square kernel",
                v.len()
            ),
        ));
    }
    Ok((v, k))
}

/// Applies a k x k kernel to every channel of `image [1, c, h, w]` with conv2d
/// (depthwise, `padding="same"`, replicated borders). A kernel that sums to zero
/// (edges, gradients) gives magnitudes.
///
/// # Errors
/// As [`wgcnn::conv2d`].
pub fn apply_filter(image: &Tensor, kernel: &[f32], k: usize) -> Result<Tensor> {
    let [_, c, _, _] = image.dims4("filter")?;
    let weight: Vec<f32> = (0..c).flat_map(|_| kernel.iter().copied()).collect();
    let w = Tensor::from_slice(image.device(), &weight, &[c, 1, k, k])?;
    let params = Conv2dParams {
        padding: Padding::Same,
        groups: c as i64,
        padding_mode: PaddingMode::Replicate,
        ..Conv2dParams::default()
    };
    let y = wgcnn::conv2d(image, &w, None, &params)?;
    if kernel.iter().sum::<f32>().abs() < 1e-6 {
        let data: Vec<f32> = y.to_vec()?.into_iter().map(f32::abs).collect();
        return Tensor::from_slice(image.device(), &data, y.shape());
    }
    Ok(y)
}

/// Lays the channels of `maps [1, c, h, w]` (or `[c, h, w]`) out as a grid of tiles,
/// each normalised to `[0, 1]` on its own, `scale`x enlarged, with a 1-pixel gap.
/// Returns the grey picture and its `(height, width)`.
///
/// # Errors
/// [`Error::Shape`] for another shape; [`Error::InvalidParam`] for a zero `scale`;
/// [`Error::Limit`] for a grid past [`MAX_PICTURE_PIXELS`] (before anything is
/// allocated or read back); device errors.
pub fn feature_grid(maps: &Tensor, scale: usize) -> Result<(Vec<f32>, usize, usize)> {
    let op = "featuremaps";
    let (c, h, w) = match *maps.shape() {
        [1, c, h, w] | [c, h, w] => (c, h, w),
        [1, f] => (f, 1, 1),
        _ => {
            return Err(Error::shape(
                "featuremaps",
                format!(
                    "expected one image's maps [1, c, h, w], got {:?}",
                    maps.shape()
                ),
            ));
        }
    };
    if scale == 0 {
        return Err(Error::param(op, "scale must be at least 1, got 0"));
    }
    let cols = (c as f64).sqrt().ceil().max(1.0) as usize;
    let rows = c.div_ceil(cols);
    // the grid's sides in u128, which holds these products of usizes: checked against
    // the picture limit before anything is allocated
    let side = |n: usize, tile: usize| {
        (n as u128)
            .saturating_mul((tile as u128).saturating_mul(scale as u128) + 1)
            .saturating_add(1)
    };
    let (gh, gw) = (side(rows, h), side(cols, w));
    let pixels = gh.saturating_mul(gw);
    if pixels > u128::from(MAX_PICTURE_PIXELS) {
        return Err(Error::limit(
            op,
            "picture pixels",
            u64::try_from(pixels).unwrap_or(u64::MAX),
            MAX_PICTURE_PIXELS,
        ));
    }
    // within the limit: every size below fits a usize
    let (gh, gw) = (gh as usize, gw as usize);
    let (th, tw) = (h * scale, w * scale);
    let data = maps.to_vec()?;
    let mut grid = vec![1.0f32; gh * gw];
    for ch in 0..c {
        let tile = &data[ch * h * w..(ch + 1) * h * w];
        let (lo, hi) = tile
            .iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(l, u), &v| {
                (l.min(v), u.max(v))
            });
        let span = if hi > lo { hi - lo } else { 1.0 };
        let (oy, ox) = ((ch / cols) * (th + 1) + 1, (ch % cols) * (tw + 1) + 1);
        for y in 0..th {
            for x in 0..tw {
                grid[(oy + y) * gw + ox + x] = (tile[(y / scale) * w + x / scale] - lo) / span;
            }
        }
    }
    Ok((grid, gh, gw))
}

/// The preprocessing a model file asks for (metadata `preprocess`), or the command
/// line gives: channels, input size, whether to invert (dark ink on a light page), a
/// scale, then a per-channel mean and standard deviation (`(x - mean) / std`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Preprocess {
    pub channels: usize,
    pub size: Option<[u32; 2]>,
    pub invert: bool,
    pub scale: f32,
    pub mean: [f32; 3],
    pub std: [f32; 3],
}

/// ImageNet's per-channel mean and standard deviation (torchvision's models).
pub const IMAGENET: ([f32; 3], [f32; 3]) = ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]);

impl Preprocess {
    /// From a model's metadata; RGB at the image's own size when it says nothing.
    ///
    /// # Errors
    /// [`Error::Format`] for a malformed or mistyped `preprocess` (`size` a pair of
    /// positive ints, `channels` 1 or 3, `invert` a bool, `scale` a number);
    /// [`Error::Limit`] for a `size` past [`MAX_PICTURE_PIXELS`].
    pub fn of(model: &Sequential) -> Result<Self> {
        Self::from_metadata(&model.metadata)
    }

    /// From a model file's metadata (see [`Preprocess::of`]).
    ///
    /// # Errors
    /// As [`Preprocess::of`].
    pub fn from_metadata(metadata: &std::collections::HashMap<String, String>) -> Result<Self> {
        let bad = |what: &str| Error::Format(format!("model metadata preprocess: {what}"));
        let v: serde_json::Value = match metadata.get("preprocess") {
            None => serde_json::Value::Null,
            Some(s) => serde_json::from_str(s).map_err(|e| bad(&e.to_string()))?,
        };
        let empty = serde_json::Map::new();
        let fields = match &v {
            serde_json::Value::Null => &empty,
            serde_json::Value::Object(m) => m,
            other => return Err(bad(&format!("expected a JSON object, got {other}"))),
        };
        let size = match fields.get("size") {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::Array(a)) => {
                let side = |x: &serde_json::Value| {
                    x.as_u64()
                        .and_then(|x| u32::try_from(x).ok())
                        .filter(|&x| x > 0)
                };
                match a.as_slice() {
                    [h, w] => match (side(h), side(w)) {
                        (Some(h), Some(w)) => Some([h, w]),
                        _ => {
                            return Err(bad(&format!(
                                "size must be two positive ints, got [{h}, {w}]"
                            )));
                        }
                    },
                    _ => {
                        return Err(bad(&format!(
                            "size must be [h, w], got {v}",
                            v = fields["size"]
                        )));
                    }
                }
            }
            Some(other) => return Err(bad(&format!("size must be [h, w], got {other}"))),
        };
        if let Some([h, w]) = size {
            check_picture("preprocess", h as usize, w as usize)?;
        }
        let channels = match fields.get("channels") {
            None | Some(serde_json::Value::Null) => 3,
            Some(c) => match c.as_u64() {
                Some(c @ (1 | 3)) => c as usize,
                _ => return Err(bad(&format!("channels must be 1 or 3, got {c}"))),
            },
        };
        let invert = match fields.get("invert") {
            None | Some(serde_json::Value::Null) => false,
            Some(serde_json::Value::Bool(b)) => *b,
            Some(other) => return Err(bad(&format!("invert must be a bool, got {other}"))),
        };
        let scale = match fields.get("scale") {
            None | Some(serde_json::Value::Null) => 1.0,
            Some(serde_json::Value::Number(n)) => n.as_f64().unwrap_or(f64::NAN) as f32,
            Some(other) => return Err(bad(&format!("scale must be a number, got {other}"))),
        };
        Ok(Self {
            channels,
            size,
            invert,
            scale,
            mean: [0.0; 3],
            std: [1.0; 3],
        })
    }

    /// An image file as the model's input, `[1, c, h, w]`.
    ///
    /// # Errors
    /// As [`load_image`].
    pub fn load(&self, path: &Path, device: &Device) -> Result<Tensor> {
        let (mut data, shape) = load_image(path, self.channels, self.size)?;
        let plane = shape[2] * shape[3];
        for (i, v) in data.iter_mut().enumerate() {
            let c = (i / plane.max(1)) % self.channels;
            let x = if self.invert { 1.0 - *v } else { *v } * self.scale;
            *v = (x - self.mean[c]) / self.std[c];
        }
        Tensor::from_slice(device, &data, &shape)
    }
}
