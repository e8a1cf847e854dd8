// padding.wgsl: where a padded coordinate reads, by padding mode (conv2d.wgsl,
// conv2d_packed.wgsl, conv2d_winograd.wgsl, im2col.wgsl).

// The source coordinate of padded coordinate i on an axis of `size`, or -1 for a zero:
// mode 0 zeros, 1 reflect (no edge repeat), 2 replicate (clamp), 3 circular (wrap).
fn source_coord(i: i32, size: i32, mode: u32) -> i32 {
    if i >= 0 && i < size {
        return i;
    }
    switch mode {
        case 1u: {
            return select(2 * (size - 1) - i, -i, i < 0);
        }
        case 2u: {
            return clamp(i, 0, size - 1);
        }
        case 3u: {
            return select(i - size, i + size, i < 0);
        }
        default: {
            return -1;
        }
    }
}
