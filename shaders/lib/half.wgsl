// half.wgsl: f32 <-> f16 on the bits, so that every WGSL implementation gives the same
// result, as `half` and PyTorch's `.half()` and `.float()` do: to nearest, ties to even,
// magnitudes from 65520 on to infinity, f16 subnormals made and read, -0.0 kept, a NaN
// quiet with its sign and top payload bits. (pack2x16float and unpack2x16float leave
// rounding and out-of-range values to the implementation.) Used by convert.wgsl, by
// every kernel's packed f16 form (loads and stores) and by its native f16 form's stores
// (half_value; src/kernels/template.rs).

// The f16 bits nearest the f32 of bits `x`.
fn half_bits(x: u32) -> u32 {
    let sign = (x >> 16u) & 0x8000u;
    let a = x & 0x7fffffffu;
    if a > 0x7f800000u {
        return sign | 0x7e00u | ((a >> 13u) & 0x3ffu);
    }
    if a >= 0x477ff000u {
        // 65520 and up (and infinity): past 65504 by half an f16 step or more
        return sign | 0x7c00u;
    }
    if a >= 0x38800000u {
        // a normal f16: the exponent rebased (127 - 15 = 112), the mantissa rounded
        let m = a - 0x38000000u;
        return sign | ((m + 0xfffu + ((m >> 13u) & 1u)) >> 13u);
    }
    if a < 0x33000000u {
        // under 2^-25, half the least subnormal: zero
        return sign;
    }
    // a subnormal f16: the value in units of 2^-24, rounded
    let shift = 126u - (a >> 23u);
    let mant = (a & 0x7fffffu) | 0x800000u;
    let q = mant >> shift;
    let rem = mant & ((1u << shift) - 1u);
    let halfway = 1u << (shift - 1u);
    return sign | (q + select(0u, 1u, rem > halfway || (rem == halfway && (q & 1u) == 1u)));
}

// The f32 bits of the f16 of bits `h` (exact, but for a signaling NaN's quiet bit).
fn wide_bits(h: u32) -> u32 {
    let sign = (h & 0x8000u) << 16u;
    let e = (h >> 10u) & 0x1fu;
    let m = h & 0x3ffu;
    if e == 0x1fu {
        // infinity, or a NaN made quiet (as half's to_f32 and PyTorch do)
        return sign | 0x7f800000u | select(0u, 0x400000u, m != 0u) | (m << 13u);
    }
    if e != 0u {
        return sign | ((e + 112u) << 23u) | (m << 13u);
    }
    if m == 0u {
        return sign;
    }
    // a subnormal: m * 2^-24 with its top bit at p
    let p = 31u - countLeadingZeros(m);
    return sign | ((p + 103u) << 23u) | ((m << (23u - p)) & 0x7fffffu);
}

// Two f32 as the u32 of two f16, the first in the low half.
fn pack_half2(v: vec2<f32>) -> u32 {
    return half_bits(bitcast<u32>(v.x)) | (half_bits(bitcast<u32>(v.y)) << 16u);
}

// The two f16 of a u32 as f32, the low half first.
fn unpack_half2(p: u32) -> vec2<f32> {
    return vec2<f32>(bitcast<f32>(wide_bits(p & 0xffffu)), bitcast<f32>(wide_bits(p >> 16u)));
}

// The f16 nearest v as an f32, which converts to f16 exactly: the native f16 form's
// stores, since WGSL leaves an f32's rounding to f16 (and values past 65504) to the
// implementation. (What the implementation still decides: a NaN's payload, and
// whether it keeps f16 subnormals or flushes them to zero.)
fn half_value(v: f32) -> f32 {
    let x = bitcast<u32>(v);
    // a normal f16 below 65520 (the common case: magnitudes from 2^-14, one unsigned
    // test): the mantissa rounded to its top 10 bits, ties to even, a carry moving into
    // the exponent
    if (x & 0x7fffffffu) - 0x38800000u < 0x477ff000u - 0x38800000u {
        return bitcast<f32>((x + 0xfffu + ((x >> 13u) & 1u)) & 0xffffe000u);
    }
    return bitcast<f32>(wide_bits(half_bits(x)));
}
