//! Inputs of the CLI's parsers that the fuzz targets (`fuzz/`, see the README's
//! "Fuzzing") showed to panic or abort, kept as cases: each must now give a typed
//! error, never a panic.

use std::path::Path;

use wgcnn::Error;
use wgcnn::nn::Sequential;
use wgcnn_cli::picture::{Preprocess, decode_image};

fn asset(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../assets")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// image target: a model's metadata may ask for any size; resizing to 2^32 - 1 squared
/// asked the image crate for 2^64 bytes, and to 0 rows for an empty picture.
#[test]
fn resize_past_memory_or_to_nothing() {
    let png = asset("digit_3.png");
    for size in [[u32::MAX, u32::MAX], [0, 3], [3, 0], [1 << 20, 1 << 20]] {
        for channels in [1, 3] {
            let err = decode_image("digit_3.png", &png, channels, Some(size)).unwrap_err();
            // an empty size, or past the picture limit, before anything is decoded
            assert!(
                matches!(&err, Error::InvalidParam { .. } | Error::Limit { .. }),
                "{size:?}: {err}"
            );
        }
    }
    let (data, shape) = decode_image("digit_3.png", &png, 3, Some([5, 7])).unwrap();
    assert_eq!(shape, [1, 3, 5, 7]);
    assert_eq!(data.len(), 3 * 5 * 7);
}

/// Next to it: a size past u32 in a model's metadata was truncated (2^32 + 5 read as
/// 5); it is now the model file's error, and a size past u32 never reaches loading.
#[test]
fn preprocess_size_past_u32() {
    let mut net = Sequential::new();
    net.metadata.insert(
        "preprocess".into(),
        r#"{"size": [4294967301, 28], "channels": 1}"#.into(),
    );
    let err = Preprocess::of(&net).unwrap_err();
    assert!(matches!(err, Error::Format(_)), "{err}");
    let err = decode_image(
        "digit_3.png",
        &asset("digit_3.png"),
        1,
        Some([u32::MAX, 28]),
    )
    .unwrap_err();
    assert!(
        matches!(err, Error::InvalidParam { .. } | Error::Limit { .. }),
        "{err}"
    );
}

/// Channels other than 1 and 3 are an error before the picture is decoded.
#[test]
fn channels_checked_first() {
    let err = decode_image("x", b"not a picture", 2, None).unwrap_err();
    assert!(err.to_string().contains("channels must be 1 or 3"), "{err}");
}
