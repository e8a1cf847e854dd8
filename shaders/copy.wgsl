// copy.wgsl: the strided copy that permute, slice and cat run, on the bits of the
// data (bound as u32, so every value, NaN payloads included, moves unchanged):
// strided_copy for f32, strided_copy16 for f16 (two to a u32, the first in the low
// half, either f16 form), which sets its half of the destination word with two atomics
// so that the invocations writing the two halves do not race. One
// invocation per element of a piece of up to 6 dimensions (size0 outermost, size5
// innermost): for its index i, dst[dst_base + sum(i_k * dst_stride_k)] =
// src[src_base + sum(i_k * src_stride_k)]. Strides are signed (a slice walking
// backwards); the sums are taken in wrapping u32 arithmetic, exact because every
// address lies within its binding (the launcher checks).
// @binding(0) src    array<u32>   read        the piece's source window
// @binding(1) dst    array<u32>   read_write  the piece's destination window
// @binding(2) params CopyParams   uniform (declared in src/kernels/copy.rs)
// @binding(3) dst16  array<atomic<u32>>  read_write  the destination window (f16)

@group(0) @binding(0) var<storage, read> src: array<u32>;
@group(0) @binding(1) var<storage, read_write> dst: array<u32>;
@group(0) @binding(2) var<uniform> params: CopyParams;
@group(0) @binding(3) var<storage, read_write> dst16: array<atomic<u32>>;

const WG: u32 = 256u;

// The offset of index component `i` along a dimension of signed `stride`.
fn dim_offset(i: u32, stride: i32) -> u32 {
    return i * bitcast<u32>(stride);
}

// The source and destination elements of the invocation, and 1 (0 where it has none).
fn element(gid: vec3<u32>, nwg: vec3<u32>) -> vec3<u32> {
    let p = params;
    let idx = gid.x + gid.y * nwg.x * WG;
    if idx >= p.total {
        return vec3<u32>(0u);
    }
    var rest = idx;
    let i5 = rest % p.size5;
    rest /= p.size5;
    let i4 = rest % p.size4;
    rest /= p.size4;
    let i3 = rest % p.size3;
    rest /= p.size3;
    let i2 = rest % p.size2;
    rest /= p.size2;
    let i1 = rest % p.size1;
    let i0 = rest / p.size1;
    let s = p.src_base + dim_offset(i0, p.src_stride0) + dim_offset(i1, p.src_stride1) + dim_offset(i2, p.src_stride2)
        + dim_offset(i3, p.src_stride3) + dim_offset(i4, p.src_stride4) + dim_offset(i5, p.src_stride5);
    let d = p.dst_base + dim_offset(i0, p.dst_stride0) + dim_offset(i1, p.dst_stride1) + dim_offset(i2, p.dst_stride2)
        + dim_offset(i3, p.dst_stride3) + dim_offset(i4, p.dst_stride4) + dim_offset(i5, p.dst_stride5);
    return vec3<u32>(s, d, 1u);
}

@compute @workgroup_size(256)
fn strided_copy(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let at = element(gid, nwg);
    if at.z != 0u {
        dst[at.y] = src[at.x];
    }
}

@compute @workgroup_size(256)
fn strided_copy16(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let at = element(gid, nwg);
    if at.z == 0u {
        return;
    }
    let bits = (src[at.x >> 1u] >> ((at.x & 1u) * 16u)) & 0xffffu;
    let shift = (at.y & 1u) * 16u;
    atomicAnd(&dst16[at.y >> 1u], ~(0xffffu << shift));
    atomicOr(&dst16[at.y >> 1u], bits << shift);
}
