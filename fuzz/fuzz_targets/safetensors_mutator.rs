//! A mutator for the targets whose input is a safetensors file: half of the time it
//! mutates the JSON header alone and then repairs the file (length prefix, each
//! tensor's data offsets from its dtype and shape, data of that length), so that a
//! changed shape, dtype or metadata value reaches the code behind the parser instead
//! of failing its length checks. The other half is libFuzzer's own mutation.

/// Bytes per element of a safetensors dtype.
fn dtype_size(dtype: &str) -> Option<u64> {
    Some(match dtype {
        "BOOL" | "U8" | "I8" | "F8_E5M2" | "F8_E4M3" => 1,
        "I16" | "U16" | "F16" | "BF16" => 2,
        "I32" | "U32" | "F32" => 4,
        "I64" | "U64" | "F64" => 8,
        _ => return None,
    })
}

/// The header and data of a safetensors file.
fn split(data: &[u8]) -> Option<(&[u8], &[u8])> {
    let n = u64::from_le_bytes(data.get(..8)?.try_into().ok()?);
    let end = 8usize.checked_add(usize::try_from(n).ok()?)?;
    Some((data.get(8..end)?, data.get(end..)?))
}

/// A file with `header` whose tensors' offsets are laid out anew, each tensor's data
/// taken from `old` (cycled) or zeros; `None` when the header is no object or its
/// tensors need more than `max_data` bytes.
fn repair(header: &[u8], old: &[u8], max_data: usize) -> Option<Vec<u8>> {
    let serde_json::Value::Object(mut map) = serde_json::from_slice(header).ok()? else {
        return None;
    };
    let mut data = Vec::new();
    for (key, entry) in map.iter_mut() {
        if key == "__metadata__" {
            continue;
        }
        let Some(obj) = entry.as_object_mut() else {
            continue;
        };
        let size = obj
            .get("dtype")
            .and_then(|d| d.as_str())
            .and_then(dtype_size);
        let numel = obj
            .get("shape")
            .and_then(|s| s.as_array())
            .and_then(|dims| {
                dims.iter()
                    .try_fold(1u64, |n, d| n.checked_mul(d.as_u64()?))
            });
        let (Some(size), Some(numel)) = (size, numel) else {
            continue;
        };
        let bytes = usize::try_from(numel.checked_mul(size)?).ok()?;
        if data.len() + bytes > max_data {
            return None;
        }
        let start = data.len();
        data.extend((0..bytes).map(|i| old.get(i % old.len().max(1)).copied().unwrap_or(0)));
        obj.insert(
            "data_offsets".into(),
            serde_json::json!([start, data.len()]),
        );
    }
    let header = serde_json::to_vec(&map).ok()?;
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&header);
    out.extend_from_slice(&data);
    Some(out)
}

/// Mutates `data[..size]` in place (at most `max_size` bytes); returns the new size.
pub fn mutate(data: &mut [u8], size: usize, max_size: usize, seed: u32) -> usize {
    if seed % 2 == 0 {
        if let Some((header, body)) = split(&data[..size]) {
            let (header, body) = (header.to_vec(), body.to_vec());
            let mut h = header.clone();
            h.resize(header.len() * 2 + 64, 0);
            let room = h.len();
            let n = libfuzzer_sys::fuzzer_mutate(&mut h, header.len(), room);
            h.truncate(n);
            if let Some(file) = repair(&h, &body, max_size.saturating_sub(h.len() + 8)) {
                if file.len() <= max_size {
                    data[..file.len()].copy_from_slice(&file);
                    return file.len();
                }
            }
        }
    }
    libfuzzer_sys::fuzzer_mutate(data, size, max_size)
}
