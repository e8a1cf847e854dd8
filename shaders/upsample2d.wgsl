// upsample2d.wgsl: interpolate, NCHW f32. nearest and bilinear: one invocation per
// output element; nearest4, bilinear4 and bilinear4s: 4 outputs of a row; bilinear4r:
// 2 rows of 4; nearest2x and bilinear2x (exact doubling): the 2 x 8 outputs of one
// source vec4. A chunk of planes (n*c) is bound at a time, from in_shift/out_shift.
// Source indices are computed here with PyTorch's float formulas, operation for
// operation as its CPU kernel does them in float (the host computes the scales the same
// way), so the nearest modes pick exactly PyTorch's pixels:
//   nearest        out == in: o; out == 2 in: o >> 1; else min(floor(o * scale), in - 1)
//   nearest-exact  min(floor((o + 0.5) * scale), in - 1)
//   bilinear       src = scale * o (align_corners) or max(scale * (o + 0.5) - 0.5, 0);
//                  i0 = min(floor(src), in - 1), i1 = i0 + (i0 < in - 1),
//                  l1 = clamp(src - i0, 0, 1), l0 = 1 - l1;
//                  out = l0h * (l0w * x00 + l1w * x01) + l1h * (l0w * x10 + l1w * x11)
// where scale is 1 / scale_factor when one was given, else in / out (align_corners:
// (in - 1) / (out - 1)). Reading tables instead would cost more loads than the pixels.
// nearest4 writes 4 neighbouring outputs of a row as one vec4 (ow a multiple of 4),
// loading each distinct source pixel once.
// The grid is 3-D (x output columns, or groups of 4; y output rows; z planes), so that
// no invocation divides: a CPU driver runs integer division lane by lane.
// A plane larger than a binding runs through nearest or bilinear in bands of output
// rows (rows from row0 on, read from a window whose first row is in_row0).
// @binding(0) src    array<f32>        read        [planes, h, w]
// @binding(2) dst    array<f32>        read_write  [planes, oh, ow]
// @binding(4) dst4   array<vec4<f32>>  read_write  dst as vec4 (nearest4, nearest2x,
//                                                  bilinear2x)
// @binding(5) src4   array<vec4<f32>>  read        src as vec4 (nearest2x, bilinear2x,
//                                                  bilinear4r)
// @binding(3) params UpsampleParams  uniform (declared in src/kernels/interpolate.rs)

//#data 0 src read
//#data 2 dst read_write
@group(0) @binding(3) var<uniform> params: UpsampleParams;
//#data 4 dst4 read_write vec4
//#data 5 src4 read vec4

// nearest2x: exact doubling of both axes with rows of whole vec4s: one invocation per
// source vec4 (4 pixels) writes the 2 x 8 outputs they become as 4 vec4s. total counts
// source vec4s; the grid is 1-D, spilled into y.
//#entry flat nearest2x 64 nearest2x_at

fn nearest2x_at(i: u32) {
    let p = params;
    let v = load_src4(p.in_shift / 4u + i);
    let a = v.xxyy;
    let b = v.zzww;
    // source row r = i / (w / 4) starts output row 2r, whose vec4s start at r * w
    let quads = p.w / 4u;
    let at = p.out_shift / 4u + (i / quads) * p.w + 2u * (i % quads);
    store_dst4(at, a);
    store_dst4(at + 1u, b);
    store_dst4(at + p.w / 2u, a);
    store_dst4(at + p.w / 2u + 1u, b);
}

fn nearest_source(o: u32, size: u32, scale: f32, kind: u32) -> u32 {
    if kind == 1u {
        return o;
    }
    if kind == 2u {
        return o >> 1u;
    }
    var f: f32;
    if (params.flags & FLAG_NEAREST_EXACT) != 0u {
        f = floor((f32(o) + 0.5) * scale);
    } else {
        f = floor(f32(o) * scale);
    }
    return min(u32(f), size - 1u);
}

struct Tap {
    i0: u32,
    i1: u32,
    l0: f32,
    l1: f32,
}

fn linear_source(o: u32, size: u32, scale: f32) -> Tap {
    var s: f32;
    if (params.flags & FLAG_ALIGN_CORNERS) != 0u {
        s = scale * f32(o);
    } else {
        s = max(scale * (f32(o) + 0.5) - 0.5, 0.0);
    }
    let i0 = min(u32(floor(s)), size - 1u);
    let l1 = clamp(s - f32(i0), 0.0, 1.0);
    return Tap(i0, i0 + select(0u, 1u, i0 < size - 1u), 1.0 - l1, l1);
}

//#entry pixels nearest nearest_at

fn nearest_at(gid: vec3<u32>) {
    let p = params;
    let ox = gid.x;
    let oy = p.row0 + gid.y;
    let plane = gid.z;
    let i = (plane * p.rows + gid.y) * p.ow + ox;
    let sy = nearest_source(oy, p.h, p.scale_h, p.kind_h) - p.in_row0;
    let sx = nearest_source(ox, p.w, p.scale_w, p.kind_w);
    store_dst(p.out_shift + i, load_src(p.in_shift + (plane * p.h + sy) * p.w + sx));
}

@compute @workgroup_size(8, 32, 1)
fn nearest4(@builtin(global_invocation_id) gid: vec3<u32>) {
    let p = params;
    let ox = gid.x * 4u;
    // rows doubling (kind_h 2): one invocation writes both copies of its source row
    let rows = select(1u, 2u, p.kind_h == 2u);
    let oy = gid.y * rows;
    if ox >= p.ow || oy >= p.oh {
        return;
    }
    let plane = gid.z;
    let row = p.in_shift + (plane * p.h + nearest_source(oy, p.h, p.scale_h, p.kind_h)) * p.w;
    var v: vec4<f32>;
    if p.kind_w == 2u {
        // doubling: 2 source pixels, each twice
        let a = load_src(row + (ox >> 1u));
        let b = load_src(row + (ox >> 1u) + 1u);
        v = vec4<f32>(a, a, b, b);
    } else {
        v = vec4<f32>(
            load_src(row + nearest_source(ox, p.w, p.scale_w, p.kind_w)),
            load_src(row + nearest_source(ox + 1u, p.w, p.scale_w, p.kind_w)),
            load_src(row + nearest_source(ox + 2u, p.w, p.scale_w, p.kind_w)),
            load_src(row + nearest_source(ox + 3u, p.w, p.scale_w, p.kind_w)),
        );
    }
    let at = (p.out_shift + (plane * p.oh + oy) * p.ow + ox) / 4u;
    store_dst4(at, v);
    if rows == 2u {
        store_dst4(at + p.ow / 4u, v);
    }
}

//#entry pixels bilinear bilinear_at

fn bilinear_at(gid: vec3<u32>) {
    let p = params;
    let ox = gid.x;
    let oy = p.row0 + gid.y;
    let plane = gid.z;
    let i = (plane * p.rows + gid.y) * p.ow + ox;
    let ty = linear_source(oy, p.h, p.scale_h);
    let tx = linear_source(ox, p.w, p.scale_w);
    // the base wraps below zero in a band; base + row * w (row >= in_row0) does not
    let base = p.in_shift + plane * p.h * p.w - p.in_row0 * p.w;
    let top = tx.l0 * load_src(base + ty.i0 * p.w + tx.i0) + tx.l1 * load_src(base + ty.i0 * p.w + tx.i1);
    let bottom = tx.l0 * load_src(base + ty.i1 * p.w + tx.i0) + tx.l1 * load_src(base + ty.i1 * p.w + tx.i1);
    store_dst(p.out_shift + i, ty.l0 * top + ty.l1 * bottom);
}

// bilinear4: 4 neighbouring outputs of a row as one vec4 (ow a multiple of 4) when they
// read at most 4 source columns (the host checks every group; a 2x upscale reads 3), so
// the two source rows cost 8 loads instead of 16.
fn pick4(v: vec4<f32>, k: u32) -> f32 {
    return select(select(select(v.x, v.y, k == 1u), v.z, k == 2u), v.w, k == 3u);
}

fn blend4(top: vec4<f32>, bottom: vec4<f32>, ty: Tap, tx: Tap, c0: u32) -> f32 {
    let t = tx.l0 * pick4(top, tx.i0 - c0) + tx.l1 * pick4(top, tx.i1 - c0);
    let b = tx.l0 * pick4(bottom, tx.i0 - c0) + tx.l1 * pick4(bottom, tx.i1 - c0);
    return ty.l0 * t + ty.l1 * b;
}

// The 4 outputs of row oy from column ox on, from the 8 source values they read.
fn bilinear_group(ox: u32, oy: u32, plane: u32) -> vec4<f32> {
    let p = params;
    let ty = linear_source(oy, p.h, p.scale_h);
    let t0 = linear_source(ox, p.w, p.scale_w);
    let t1 = linear_source(ox + 1u, p.w, p.scale_w);
    let t2 = linear_source(ox + 2u, p.w, p.scale_w);
    let t3 = linear_source(ox + 3u, p.w, p.scale_w);
    let c0 = t0.i0;
    let last = p.w - 1u;
    let top_row = p.in_shift + (plane * p.h + ty.i0) * p.w;
    let bottom_row = p.in_shift + (plane * p.h + ty.i1) * p.w;
    let top = vec4<f32>(load_src(top_row + c0), load_src(top_row + min(c0 + 1u, last)), load_src(top_row + min(c0 + 2u, last)), load_src(top_row + min(c0 + 3u, last)));
    let bottom = vec4<f32>(load_src(bottom_row + c0), load_src(bottom_row + min(c0 + 1u, last)), load_src(bottom_row + min(c0 + 2u, last)), load_src(bottom_row + min(c0 + 3u, last)));
    return vec4<f32>(
        blend4(top, bottom, ty, t0, c0),
        blend4(top, bottom, ty, t1, c0),
        blend4(top, bottom, ty, t2, c0),
        blend4(top, bottom, ty, t3, c0),
    );
}

// Stores the 4 outputs of a group from column ox of row oy of plane: as a vec4
// (bilinear4), or one value at a time (bilinear4s, for rows whose length is not a
// multiple of 4: the last group of a row stops at its end).
fn store_group4(ox: u32, oy: u32, plane: u32, v: vec4<f32>) {
    store_dst4((params.out_shift + (plane * params.oh + oy) * params.ow + ox) / 4u, v);
}

fn store_group4s(ox: u32, oy: u32, plane: u32, v: vec4<f32>) {
    let p = params;
    let at = p.out_shift + (plane * p.oh + oy) * p.ow + ox;
    for (var e = 0u; e < 4u; e++) {
        if ox + e < p.ow {
            store_dst(at + e, v[e]);
        }
    }
}

//#for NAME,STORE in bilinear4,store_group4 bilinear4s,store_group4s
@compute @workgroup_size(8, 32, 1)
fn {NAME}(@builtin(global_invocation_id) gid: vec3<u32>) {
    let ox = gid.x * 4u;
    if ox < params.ow && gid.y < params.oh {
        {STORE}(ox, gid.y, gid.z, bilinear_group(ox, gid.y, gid.z));
    }
}
//#end

// bilinear2x: bilinear, align_corners=False, both axes doubled with a scale of exactly
// 0.5 (so every lambda is 0.25, 0.75, 1 or 0, exact in float), rows of whole vec4s: one
// invocation per source row j and quad g writes output rows 2j, 2j + 1, columns 8g to
// 8g + 7 (4 vec4) from 3 source rows x 3 quads (9 vec4 loads). The taps and lambdas are
// linear_source's for these outputs, and the blend is bilinear's, op for op:
//   out[2k] from (k - 1, k) with (0.25, 0.75); out[0] from (0, 1) with (1, 0)
//   out[2k + 1] from (k, k + 1) with (0.75, 0.25); the last from (k, k)
// total counts source vec4s; the grid is 1-D, spilled into y.
struct Blend {
    even: vec4<f32>,
    odd: vec4<f32>,
}

fn column(a: vec4<f32>, b: vec4<f32>, c: vec4<f32>, i: u32) -> f32 {
    if i < 4u {
        return a[i];
    }
    if i < 8u {
        return b[i - 4u];
    }
    return c[i - 8u];
}

// The horizontal blends of source row `y` for the 8 outputs of quad g (columns 4g - 4
// to 4g + 7 are loaded, zeros outside).
fn blend_row(plane4: u32, y: u32, g: u32) -> Blend {
    let p = params;
    let quads = p.w / 4u;
    let row4 = plane4 + y * quads;
    let a = select(vec4<f32>(0.0), load_src4(row4 + max(g, 1u) - 1u), g > 0u);
    let b = load_src4(row4 + g);
    let c = select(vec4<f32>(0.0), load_src4(row4 + min(g + 1u, quads - 1u)), g + 1u < quads);
    let x3 = vec4<f32>(column(a, b, c, 3u), column(a, b, c, 4u), column(a, b, c, 5u), column(a, b, c, 6u));
    let x4 = vec4<f32>(column(a, b, c, 4u), column(a, b, c, 5u), column(a, b, c, 6u), column(a, b, c, 7u));
    let x5 = vec4<f32>(column(a, b, c, 5u), column(a, b, c, 6u), column(a, b, c, 7u), column(a, b, c, 8u));
    // borders: out[0] takes (x[0], x[1]) with (1, 0); the last takes (x[w-1], x[w-1])
    let first = g == 0u;
    let last = g + 1u == quads;
    let e0 = vec4<f32>(select(x3.x, x4.x, first), x3.yzw);
    let e1 = vec4<f32>(select(x4.x, x5.x, first), x4.yzw);
    let l0 = vec4<f32>(select(0.25, 1.0, first), 0.25, 0.25, 0.25);
    let l1 = vec4<f32>(select(0.75, 0.0, first), 0.75, 0.75, 0.75);
    let o1 = vec4<f32>(x5.xyz, select(x5.w, x4.w, last));
    return Blend(l0 * e0 + l1 * e1, 0.75 * x4 + 0.25 * o1);
}

//#entry flat bilinear2x 64 bilinear2x_at

fn bilinear2x_at(i: u32) {
    let p = params;
    let quads = p.w / 4u;
    let g = i % quads;
    let j = (i / quads) % p.h;
    let plane = i / (quads * p.h);
    let plane4 = p.in_shift / 4u + plane * p.h * quads;
    let up = blend_row(plane4, max(j, 1u) - 1u, g);
    let mid = blend_row(plane4, j, g);
    let down = blend_row(plane4, min(j + 1u, p.h - 1u), g);
    // row 2j: (j - 1, j) with (0.25, 0.75), or for j = 0 (0, 1) with (1, 0)
    let top = j == 0u;
    let ta = select(up.even, mid.even, top);
    let tb = select(mid.even, down.even, top);
    let tc = select(up.odd, mid.odd, top);
    let td = select(mid.odd, down.odd, top);
    let h0 = select(0.25, 1.0, top);
    let h1 = select(0.75, 0.0, top);
    let even_e = h0 * ta + h1 * tb;
    let even_o = h0 * tc + h1 * td;
    // row 2j + 1: (j, j + 1) with (0.75, 0.25) (down is row j at the last row)
    let odd_e = 0.75 * mid.even + 0.25 * down.even;
    let odd_o = 0.75 * mid.odd + 0.25 * down.odd;
    let at = p.out_shift / 4u + (plane * p.oh + 2u * j) * (p.ow / 4u) + 2u * g;
    store_dst4(at, vec4<f32>(even_e.x, even_o.x, even_e.y, even_o.y));
    store_dst4(at + 1u, vec4<f32>(even_e.z, even_o.z, even_e.w, even_o.w));
    store_dst4(at + p.ow / 4u, vec4<f32>(odd_e.x, odd_o.x, odd_e.y, odd_o.y));
    store_dst4(at + p.ow / 4u + 1u, vec4<f32>(odd_e.z, odd_o.z, odd_e.w, odd_o.w));
}

// bilinear4r: bilinear4's groups for 2 output rows per invocation, where rows are whole
// vec4s (w % 4 == 0) and both output rows read within 3 consecutive source rows (the
// host checks every pair): each source row's 4 columns come from 2 vec4 (the quad
// holding the group's first column and the next), so 3 rows cost 6 loads for 8
// outputs instead of 16. The blend is bilinear's, op for op.
// grid: (ceil(ow / 4) / 8, ceil(oh / 2) / 32, planes) workgroups of (8, 32, 1)
fn pick8(a: vec4<f32>, b: vec4<f32>, k: u32) -> f32 {
    return select(pick4(a, k), pick4(b, k - 4u), k >= 4u);
}

struct Row8 {
    a: vec4<f32>,
    b: vec4<f32>,
}

// Columns 4q .. 4q + 7 of source row y of the plane whose first vec4 is plane4.
fn row8(plane4: u32, y: u32, q: u32) -> Row8 {
    let quads = params.w / 4u;
    let row4 = plane4 + y * quads;
    return Row8(load_src4(row4 + q), select(vec4<f32>(0.0), load_src4(row4 + min(q + 1u, quads - 1u)), q + 1u < quads));
}

fn across(r: Row8, tx: Tap, c0: u32) -> f32 {
    return tx.l0 * pick8(r.a, r.b, tx.i0 - c0) + tx.l1 * pick8(r.a, r.b, tx.i1 - c0);
}

// The horizontal blends of the 3 rows for one output column.
struct Three {
    h0: f32,
    h1: f32,
    h2: f32,
}

fn three(r0: Row8, r1: Row8, r2: Row8, tx: Tap, c0: u32) -> Three {
    return Three(across(r0, tx, c0), across(r1, tx, c0), across(r2, tx, c0));
}

fn row_of(t: Three, k: u32) -> f32 {
    return select(select(t.h0, t.h1, k == 1u), t.h2, k == 2u);
}

fn down(t: Three, ty: Tap, r: u32) -> f32 {
    return ty.l0 * row_of(t, ty.i0 - r) + ty.l1 * row_of(t, ty.i1 - r);
}

fn store_group(oy: u32, ox: u32, plane: u32, v: vec4<f32>) {
    let p = params;
    let at = p.out_shift + (plane * p.oh + oy) * p.ow + ox;
    if p.ow % 4u == 0u {
        store_dst4(at / 4u, v);
        return;
    }
    for (var e = 0u; e < 4u; e++) {
        if ox + e < p.ow {
            store_dst(at + e, v[e]);
        }
    }
}

@compute @workgroup_size(8, 32, 1)
fn bilinear4r(@builtin(global_invocation_id) gid: vec3<u32>) {
    let p = params;
    let ox = gid.x * 4u;
    let oy = gid.y * 2u;
    if ox >= p.ow || oy >= p.oh {
        return;
    }
    let plane = gid.z;
    let last = p.ow - 1u;
    let t0 = linear_source(ox, p.w, p.scale_w);
    let t1 = linear_source(min(ox + 1u, last), p.w, p.scale_w);
    let t2 = linear_source(min(ox + 2u, last), p.w, p.scale_w);
    let t3 = linear_source(min(ox + 3u, last), p.w, p.scale_w);
    let q = t0.i0 / 4u;
    let c0 = q * 4u;
    let ta = linear_source(oy, p.h, p.scale_h);
    let tb = linear_source(min(oy + 1u, p.oh - 1u), p.h, p.scale_h);
    let r = ta.i0;
    let plane4 = p.in_shift / 4u + plane * p.h * (p.w / 4u);
    let r0 = row8(plane4, r, q);
    let r1 = row8(plane4, min(r + 1u, p.h - 1u), q);
    let r2 = row8(plane4, min(r + 2u, p.h - 1u), q);
    let h0 = three(r0, r1, r2, t0, c0);
    let h1 = three(r0, r1, r2, t1, c0);
    let h2 = three(r0, r1, r2, t2, c0);
    let h3 = three(r0, r1, r2, t3, c0);
    store_group(oy, ox, plane, vec4<f32>(down(h0, ta, r), down(h1, ta, r), down(h2, ta, r), down(h3, ta, r)));
    if oy + 1u < p.oh {
        store_group(oy + 1u, ox, plane, vec4<f32>(down(h0, tb, r), down(h1, tb, r), down(h2, tb, r), down(h3, tb, r)));
    }
}
