// upsample2d.wgsl: interpolate, NCHW f32. One invocation per output element (grid
// spilled into y); a chunk of planes (n*c) is bound at a time, from in_shift/out_shift.
// The source index of every output row and column comes precomputed in `maps` (the
// host applies PyTorch's float formulas), so nearest is a pure gather and exact.
// nearest:  maps = [row source (oh)] [column source (ow), from col_offset]
// bilinear: maps = 4 words per output row, then per output column (from col_offset):
//           i0, i1, bits of lambda0, bits of lambda1
//           out = l0h * (l0w * x00 + l1w * x01) + l1h * (l0w * x10 + l1w * x11)
// @binding(0) src    array<f32>      read        [planes, h, w]
// @binding(1) maps   array<u32>      read        the tables above
// @binding(2) dst    array<f32>      read_write  [planes, oh, ow]
// @binding(3) params UpsampleParams  uniform (mirror: src/ops/upsample2d.rs)

struct UpsampleParams {
    h: u32,
    w: u32,
    oh: u32,
    ow: u32,
    total: u32,
    in_shift: u32,
    out_shift: u32,
    col_offset: u32,
}

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read> maps: array<u32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
@group(0) @binding(3) var<uniform> params: UpsampleParams;

@compute @workgroup_size(256)
fn nearest(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let p = params;
    let i = gid.x + gid.y * nwg.x * 256u;
    if i >= p.total {
        return;
    }
    let ox = i % p.ow;
    let oy = (i / p.ow) % p.oh;
    let plane = i / (p.ow * p.oh);
    let sy = maps[oy];
    let sx = maps[p.col_offset + ox];
    dst[p.out_shift + i] = src[p.in_shift + (plane * p.h + sy) * p.w + sx];
}

@compute @workgroup_size(256)
fn bilinear(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let p = params;
    let i = gid.x + gid.y * nwg.x * 256u;
    if i >= p.total {
        return;
    }
    let ox = i % p.ow;
    let oy = (i / p.ow) % p.oh;
    let plane = i / (p.ow * p.oh);
    let r = oy * 4u;
    let c = p.col_offset + ox * 4u;
    let y0 = maps[r];
    let y1 = maps[r + 1u];
    let ly0 = bitcast<f32>(maps[r + 2u]);
    let ly1 = bitcast<f32>(maps[r + 3u]);
    let x0 = maps[c];
    let x1 = maps[c + 1u];
    let lx0 = bitcast<f32>(maps[c + 2u]);
    let lx1 = bitcast<f32>(maps[c + 3u]);
    let base = p.in_shift + plane * p.h * p.w;
    let top = lx0 * src[base + y0 * p.w + x0] + lx1 * src[base + y0 * p.w + x1];
    let bottom = lx0 * src[base + y1 * p.w + x0] + lx1 * src[base + y1 * p.w + x1];
    dst[p.out_shift + i] = ly0 * top + ly1 * bottom;
}
