// convert.wgsl: f32 <-> f16 storage (Tensor::to_dtype), on the bits, so that every WGSL
// implementation gives the same result: rounding to nearest, ties to even, as PyTorch's
// `.half()` does (magnitudes from 65520 on become infinity, f16 subnormals are made and
// read, -0.0 stays -0.0, a NaN stays a quiet NaN of its sign and top payload bits,
// either way),
// where pack2x16float's rounding and out-of-range results are the implementation's.
// f32 data is bound as u32 too: no float is loaded, so none is flushed or quietened.
// Two f16 share a u32, the first in its low half (the bytes of an array<f16>).
// @binding(0) wide    array<u32>  read        [len]            f32 bits in (to_f16)
// @binding(1) narrow  array<u32>  read_write  [(len + 1) / 2]  f16 pairs out (to_f16)
// @binding(2) pairs   array<u32>  read        [(len + 1) / 2]  f16 pairs in (to_f32)
// @binding(3) wide_out array<u32>  read_write  [len]            f32 bits out (to_f32)
// @binding(4) params  ConvertParams uniform (declared in src/kernels/convert.rs)

@group(0) @binding(0) var<storage, read> wide: array<u32>;
@group(0) @binding(1) var<storage, read_write> narrow: array<u32>;
@group(0) @binding(2) var<storage, read> pairs: array<u32>;
@group(0) @binding(3) var<storage, read_write> wide_out: array<u32>;
@group(0) @binding(4) var<uniform> params: ConvertParams;

const WG: u32 = 256u;

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

// Linear invocation id; the grid spills past 65535 workgroups into y.
fn linear_id(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.x + gid.y * nwg.x * WG;
}

// One invocation per pair of elements; an odd last element pairs with +0.0.
@compute @workgroup_size(256)
fn to_f16(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if 2u * i >= params.len {
        return;
    }
    var hi = 0u;
    if 2u * i + 1u < params.len {
        hi = half_bits(wide[2u * i + 1u]);
    }
    narrow[i] = half_bits(wide[2u * i]) | (hi << 16u);
}

// One invocation per element.
@compute @workgroup_size(256)
fn to_f32(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if i < params.len {
        wide_out[i] = wide_bits((pairs[i / 2u] >> (16u * (i & 1u))) & 0xffffu);
    }
}
