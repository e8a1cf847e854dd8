// Shared math, written before the files that list it in the shader table
// (src/kernels/shaders.rs, `libs`).

fn is_nan(v: f32) -> bool {
    return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u;
}

// exp(v) for v <= 0 (NaN passes through): Cephes' expf, a few ulp; below -104 the
// result underflows to 0 (or a denormal).
fn exp_neg(v: f32) -> f32 {
    let t = max(v, -104.0);
    let n = round(t * 1.44269504088896341);
    let r = t - n * 0.693359375 - n * -2.12194440e-4;
    let z = r * r;
    let p = (((((1.9875691500e-4 * r + 1.3981999507e-3) * r + 8.3334519073e-3) * r
        + 4.1665795894e-2) * r + 1.6666665459e-1) * r + 5.0000001201e-1) * z + r + 1.0;
    return select(ldexp(p, i32(n)), v, is_nan(v));
}
