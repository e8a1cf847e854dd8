// The activations, as the elementwise kernels compute them and the conv epilogue
// applies them (so a fused activation gives the separate op's numbers). Needs
// math.wgsl.

// torch.relu on the bits: negative numbers (not NaN, not -0.0) become 0.
fn relu_f32(v: f32) -> f32 {
    let bits = bitcast<u32>(v);
    let nan = (bits & 0x7fffffffu) > 0x7f800000u;
    return select(v, 0.0, bits > 0x80000000u && !nan);
}

// a < b for numbers (not NaN), on the bits: a compiler may turn a float compare and
// select into min/max, which need not keep -0.0 (llvmpipe does not)
fn less(a: f32, b: f32) -> bool {
    let ua = bitcast<u32>(a);
    let ub = bitcast<u32>(b);
    // a key ordered as the numbers are (-0.0 just below +0.0)
    let ka = select(ua | 0x80000000u, ~ua, (ua & 0x80000000u) != 0u);
    let kb = select(ub | 0x80000000u, ~ub, (ub & 0x80000000u) != 0u);
    let zeros = ((ua | ub) & 0x7fffffffu) == 0u;
    return ka < kb && !zeros;
}

// torch.clamp of a number: a bound wins only when strictly past it (-0.0 stays -0.0
// with min 0), and max wins when min > max.
fn clampf(v: f32, lo: f32, hi: f32) -> f32 {
    let low = select(v, lo, less(v, lo));
    return select(low, hi, less(hi, low));
}

fn sigmoid(v: f32) -> f32 {
    // exp of -|v| only: no overflow
    let e = exp_neg(-abs(v));
    let s = 1.0 / (1.0 + e);
    return select(e * s, s, v >= 0.0);
}

fn hardswish(v: f32) -> f32 {
    return v * clampf(v + 3.0, 0.0, 6.0) / 6.0;
}
