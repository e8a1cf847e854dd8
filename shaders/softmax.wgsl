// softmax.wgsl: torch.softmax over one dim of an f32 tensor seen as
// [rows, len, inner]. softmax_rows (inner == 1, long rows): one workgroup of 256 per
// row, the maximum and the sum reduced in workgroup memory. softmax_cols: one
// invocation per (row, inner) column, three passes along it. The maximum is
// subtracted before exp; a NaN anywhere along a column makes it all NaN, as in
// PyTorch (NaN is tested on the bits: WGSL lets a compiler assume no NaN).
// @binding(0) src    array<f32>     read        [rows, len, inner] (from shift)
// @binding(1) dst    array<f32>     read_write  the same
// @binding(2) params SoftmaxParams  uniform (declared in src/kernels/softmax.rs)

//#data 0 src read
//#data 1 dst read_write
@group(0) @binding(2) var<uniform> params: SoftmaxParams;

const WG: u32 = 256u;

var<workgroup> red: array<f32, 256>;

// -inf and NaN, made at run time from their bits: a constant expression may not
// evaluate to either (Tint rejects the bitcast of a constant), and a let is none.
fn from_bits(b: u32) -> f32 {
    let bits = b;
    return bitcast<f32>(bits);
}

// max that propagates NaN
fn nan_max(a: f32, b: f32) -> f32 {
    return select(max(a, b), from_bits(0x7fc00000u), is_nan(a) || is_nan(b));
}

@compute @workgroup_size(256)
fn softmax_rows(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let p = params;
    // the grid spills past 65535 workgroups into y; uniform per workgroup
    let row = wid.x + wid.y * nwg.x;
    if row >= p.rows {
        return;
    }
    let base = p.shift + row * p.len;
    var m = from_bits(0xff800000u);
    for (var k = lid; k < p.len; k += WG) {
        m = nan_max(m, load_src(base + k));
    }
    red[lid] = m;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        if lid < s {
            red[lid] = nan_max(red[lid], red[lid + s]);
        }
        workgroupBarrier();
    }
    m = red[0];
    workgroupBarrier();
    var sum = 0.0;
    for (var k = lid; k < p.len; k += WG) {
        sum += exp_neg(load_src(base + k) - m);
    }
    red[lid] = sum;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        if lid < s {
            red[lid] = red[lid] + red[lid + s];
        }
        workgroupBarrier();
    }
    sum = red[0];
    for (var k = lid; k < p.len; k += WG) {
        store_dst(base + k, exp_neg(load_src(base + k) - m) / sum);
    }
}

@compute @workgroup_size(256)
fn softmax_cols(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let p = params;
    let i = gid.x + gid.y * nwg.x * WG;
    if i >= p.rows * p.inner {
        return;
    }
    let row = i / p.inner;
    let base = p.shift + row * p.len * p.inner + i % p.inner;
    var m = from_bits(0xff800000u);
    for (var k = 0u; k < p.len; k++) {
        m = nan_max(m, load_src(base + k * p.inner));
    }
    var sum = 0.0;
    for (var k = 0u; k < p.len; k++) {
        sum += exp_neg(load_src(base + k * p.inner) - m);
    }
    for (var k = 0u; k < p.len; k++) {
        let at = base + k * p.inner;
        store_dst(at, exp_neg(load_src(at) - m) / sum);
    }
}
