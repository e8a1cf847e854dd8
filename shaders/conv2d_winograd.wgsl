// conv2d_winograd.wgsl: 3x3 convolution, stride 1, dilation 1, groups 1, by Winograd's
// F(2x2, 3x3), NCHW f32. Each 2x2 output tile is computed from a 4x4 input tile with 16
// multiplies per channel pair instead of 36:
//   U = G g G^T (weights),  V = B^T d B (input tiles),  M = U . V summed over input
//   channels for each of the 16 positions xi (16 independent GEMMs),  Y = A^T M A.
// Tiles are numbered p = (image * th + ty) * tw4 + tx (ty from the run's first tile row
// ty0: a run is whole images, or a band of tile rows of one image), where tw4 is the tiles per row
// rounded up to 4 so that an invocation handles 4 tiles of one row as vec4 lanes; the
// tile count of a run (`tiles`) is rounded up to 8. Padding tiles hold garbage that no
// output reads.
//
// winograd_weights: one invocation per (c_out, c_in) pair writes the 16 U values, as
//   U[xi][c_out][c_in] (the GEMM shader's A) or, with packed = 1, in 64 KiB uniform
//   blocks for winograd_gemm_*: block ((row block * chunks + chunk) * 16 / xpb + xi / xpb),
//   element ((xi % xpb) * cc + ci % cc) * 16 + co % 16.
// winograd_input: one invocation per (c_in, image, ty, 4 tiles): a 4x10 input window,
//   16 vec4 stores into V[xi][c_in][tiles].
// winograd_gemm_32: M[xi][c_out][tiles] = U[xi] . V[xi] for one block of 32 output channels
//   (winograd_gemm_16: 16, for up to 16 output channels) and a chunk of input channels:
//   32 (16) channels x 8 tiles per invocation, weights read
//   from the uniform block (CPU drivers: see conv2d_packed.wgsl). The first chunk writes
//   M, later ones add to it. grid: (tiles / 512, xi of the block).
// winograd_output: one invocation per (c_out, image, ty, 4 tiles): 16 vec4 loads of M,
//   2x8 outputs, then the epilogue (bias, residual, activation:
//   shaders/lib/epilogue.wgsl). An invocation whose transform gives an inf or NaN
//   appends its index to the list of quads to fix.
// winograd_fix_args: one invocation: the workgroup counts of winograd_fix (one
//   workgroup per listed quad, in x and spilling into y, as many as the limits allow),
//   and the list emptied for the next run.
// winograd_fix: a workgroup of 16 per listed quad (or quads i, i + groups, ...): its
//   2x8 outputs again, from the direct sum of input and weights (see winograd_output).
//
// @binding(0) weight [c_out, c_in, 3, 3]         read        (winograd_weights, winograd_fix)
// @binding(1) u      U, plain or packed          read_write  (winograd_weights)
// @binding(2) params WinoParams                  uniform (declared in src/kernels/conv2d/winograd.rs)
// @binding(3) src    input images of the run      read        (winograd_input, winograd_fix)
// @binding(4) v_out  V                           read_write  (winograd_input)
// @binding(5) v_in   V                           read        (winograd_gemm_*)
// @binding(6) block  one 64 KiB block of U       uniform     (winograd_gemm_*)
// @binding(7) m_out  M                           read_write  (winograd_gemm_*)
// @binding(8) m_in   M                           read        (winograd_output)
// @binding(9) bias   [c_out]                     read        (winograd_output, winograd_fix)
// @binding(10) dst   output images of the run     read_write  (winograd_output, winograd_fix)
// @binding(11) src4  src as vec4                 read        (winograd_input4)
// @binding(12) dst4  dst as vec4                 read_write  (winograd_output, ow % 4 == 0)
// @binding(13) src2  src as vec2                 read        (winograd_input2)
// @binding(14) dst2  dst as vec2                 read_write  (winograd_output, ow % 2 == 0)
// @binding(15) fix   [quads listed, quads to fix] read_write  (winograd_output, winograd_fix_args,
//                                                             winograd_fix)
// @binding(16) fix_list  the listed quads        read_write  (winograd_output, winograd_fix)
// @binding(17) fix_groups  winograd_fix's workgroup counts (x, y, z)
//                                                read_write  (winograd_fix_args)
// @binding(20) residual  over dst's window       read        (winograd_output, winograd_fix)

const BLOCK: u32 = 16384u;

// The padding mode, fixed per pipeline (0 zeros, 1 reflect, 2 replicate, 3 circular).
override MODE: u32 = 0u;

//#data 0 weight read
@group(0) @binding(1) var<storage, read_write> u: array<f32>;
@group(0) @binding(2) var<uniform> params: WinoParams;
//#data 3 src read
@group(0) @binding(4) var<storage, read_write> v_out: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> v_in: array<vec4<f32>>;
@group(0) @binding(6) var<uniform> block: array<vec4<f32>, 4096>;
@group(0) @binding(7) var<storage, read_write> m_out: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read> m_in: array<vec4<f32>>;
//#data 9 bias read
//#data 10 dst read_write
//#data 11 src4 read vec4
//#data 12 dst4 read_write vec4
//#data 13 src2 read vec2
//#data 14 dst2 read_write vec2
@group(0) @binding(15) var<storage, read_write> fix: array<atomic<u32>>;
@group(0) @binding(16) var<storage, read_write> fix_list: array<u32>;
@group(0) @binding(17) var<storage, read_write> fix_groups: array<u32>;

// G applied to the 3 values of a row or column: (g0, (g0+g1+g2)/2, (g0-g1+g2)/2, g2).
fn g_of(a: vec3<f32>) -> vec4<f32> {
    return vec4<f32>(a.x, 0.5 * (a.x + a.y + a.z), 0.5 * (a.x - a.y + a.z), a.z);
}

fn u_index(xi: u32, co: u32, ci: u32) -> u32 {
    let p = params;
    if p.packed == 0u {
        return (xi * p.c_out + co) * p.c_in + ci;
    }
    let b = ((co / p.rows) * p.chunks + ci / p.cc) * (16u / p.xpb) + xi / p.xpb;
    return b * BLOCK + ((xi % p.xpb) * p.cc + ci % p.cc) * p.rows + co % p.rows;
}

//#entry flat winograd_weights 64 winograd_weights_at

fn winograd_weights_at(e: u32) {
    let p = params;
    let co = e / p.c_in;
    let ci = e % p.c_in;
    let k = e * 9u;
    let r0 = vec3<f32>(load_weight(k), load_weight(k + 1u), load_weight(k + 2u));
    let r1 = vec3<f32>(load_weight(k + 3u), load_weight(k + 4u), load_weight(k + 5u));
    let r2 = vec3<f32>(load_weight(k + 6u), load_weight(k + 7u), load_weight(k + 8u));
    // G g: rows of the 4x3 product, then G applied to each row
    let rows = array<vec4<f32>, 4>(
        g_of(r0),
        g_of(0.5 * (r0 + r1 + r2)),
        g_of(0.5 * (r0 - r1 + r2)),
        g_of(r2),
    );
    for (var i = 0u; i < 4u; i++) {
        let row = rows[i];
        u[u_index(i * 4u, co, ci)] = row.x;
        u[u_index(i * 4u + 1u, co, ci)] = row.y;
        u[u_index(i * 4u + 2u, co, ci)] = row.z;
        u[u_index(i * 4u + 3u, co, ci)] = row.w;
    }
}

// tap, and 0 past the padded input (a tile beyond the output), where a padding mode's
// source coordinate would leave the plane: the padded input has oh + 2 rows from -pad_t
// and ow + 2 columns from -pad_l (3x3, stride 1).
fn at(plane: u32, y: i32, x: i32) -> f32 {
    let p = params;
    let inside = y + i32(p.pad_t) < i32(p.oh) + 2 && x + i32(p.pad_l) < i32(p.ow) + 2;
    return select(0.0, tap(plane, select(0, y, inside), select(0, x, inside)), inside);
}

// B^T applied along a row of 4 tiles: the 4 transformed columns, each a vec4 over the
// tiles, from the 10 input values x0..x9 the tiles span.
struct Row {
    e0: vec4<f32>,
    e1: vec4<f32>,
    e2: vec4<f32>,
    e3: vec4<f32>,
}

// The row transform of the 4 tiles of t from row dy (0..4) of their input window,
// value by value through the padding mode.
fn input_row1(t: Quad4, dy: i32) -> Row {
    let plane = input_plane(t);
    let y = window_top(t) + dy;
    let x = i32(8u * t.txb) - i32(params.pad_l);
    let a = vec4<f32>(at(plane, y, x), at(plane, y, x + 1), at(plane, y, x + 2), at(plane, y, x + 3));
    let b = vec4<f32>(at(plane, y, x + 4), at(plane, y, x + 5), at(plane, y, x + 6), at(plane, y, x + 7));
    let c = vec4<f32>(at(plane, y, x + 8), at(plane, y, x + 9), 0.0, 0.0);
    return window_row(Quads(a, b, c, vec4<f32>(0.0)), 0u);
}

// The first element of t's input channel plane in src.
fn input_plane(t: Quad4) -> u32 {
    return params.in_shift + (t.n * params.c_in + t.c) * params.h * params.w;
}

// The first input row of t's window.
fn window_top(t: Quad4) -> i32 {
    return i32(2u * (params.ty0 + t.ty)) - i32(params.pad_t);
}

// Stores row i of B^T d B (one value per xi = 4i + j, a vec4 over the 4 tiles).
fn store_v(i: u32, at4: u32, plane4: u32, r: Row) {
    v_out[at4 + (i * 4u) * plane4] = r.e0;
    v_out[at4 + (i * 4u + 1u) * plane4] = r.e1;
    v_out[at4 + (i * 4u + 2u) * plane4] = r.e2;
    v_out[at4 + (i * 4u + 3u) * plane4] = r.e3;
}

fn sub(a: Row, b: Row) -> Row {
    return Row(a.e0 - b.e0, a.e1 - b.e1, a.e2 - b.e2, a.e3 - b.e3);
}

fn add(a: Row, b: Row) -> Row {
    return Row(a.e0 + b.e0, a.e1 + b.e1, a.e2 + b.e2, a.e3 + b.e3);
}

// An invocation of the transforms: 4 tiles of tile row ty (of the run) of image n,
// block txb of the row, channel c (input or output); `at4` is the tiles' vec4 index in
// V[0][c] or M[0][c], `e` the invocation's index in the run (quad_at's argument).
struct Quad4 {
    e: u32,
    txb: u32,
    ty: u32,
    n: u32,
    c: u32,
    at4: u32,
}

fn quad_at(e: u32) -> Quad4 {
    let p = params;
    let txb = e % p.twb;
    let ty = (e / p.twb) % p.th;
    let n = (e / (p.twb * p.th)) % p.nb;
    let c = e / (p.twb * p.th * p.nb);
    let at4 = c * p.tiles / 4u + (n * p.th + ty) * p.twb + txb;
    return Quad4(e, txb, ty, n, c, at4);
}

// B^T applied down the 4 rows (each already transformed along the row) and the 16
// results stored: at4 is the vec4 index of the 4 tiles in V[0][ci].
fn store_tiles(at4: u32, r0: Row, r1: Row, r2: Row, r3: Row) {
    let plane4 = params.c_in * params.tiles / 4u;
    store_v(0u, at4, plane4, sub(r0, r2));
    store_v(1u, at4, plane4, add(r1, r2));
    store_v(2u, at4, plane4, sub(r2, r1));
    store_v(3u, at4, plane4, sub(r1, r3));
}

// winograd_input4: winograd_input for zero padding and rows of whole vec4s (w % 4 ==
// 0): each input row of the window comes as 4 vec4 (16 columns from the quad before
// the tiles' first column), 16 loads instead of 40. PL is pad_l, fixed per pipeline so
// that the column picks are constants.
override PL: u32 = 1u;

// The row transform of the 4 tiles of t from row dy of their input window, as 4 vec4
// (16 columns from the quad before the tiles' first column).
fn input_row4(t: Quad4, dy: i32) -> Row {
    let plane4 = input_plane(t) / 4u;
    // column k of the tiles' window is column 4 - PL + k of the quads
    return window_row(quads(plane4, window_top(t) + dy, i32(2u * t.txb), 0.0, true), 4u - PL);
}

// The row transform of 4 tiles whose window's column k is column s + k (s a constant
// once the pipeline is specialised) of the quads.
fn window_row(q: Quads, s: u32) -> Row {
    let c0 = pick4(q, s, 2u);
    let c1 = pick4(q, s + 1u, 2u);
    let c2 = pick4(q, s + 2u, 2u);
    let c3 = pick4(q, s + 3u, 2u);
    return Row(c0 - c2, c1 + c2, c2 - c1, c1 - c3);
}

// winograd_input2: winograd_input for zero padding and rows of whole vec2s (w % 2 ==
// 0): each input row of the window comes as 6 vec2 (12 columns from the even column at
// or before the tiles' first one), 24 loads instead of 40. Uses PL as winograd_input4.
fn pair(row2: u32, k: i32, inside_row: bool) -> vec2<f32> {
    let inside = inside_row && k >= 0 && k < i32(params.w / 2u);
    return select(vec2<f32>(0.0), load_src2(select(0u, row2 + u32(k), inside)), inside);
}

fn input_row2(t: Quad4, dy: i32) -> Row {
    let y = window_top(t) + dy;
    let inside = y >= 0 && y < i32(params.h);
    let plane2 = input_plane(t) / 2u;
    let row2 = plane2 + u32(max(y, 0)) * (params.w / 2u);
    // the pair holding column 8 txb - PL, rounded down to even
    let k = (i32(8u * t.txb) - i32(PL)) >> 1u;
    let q0 = vec4<f32>(pair(row2, k, inside), pair(row2, k + 1, inside));
    let q1 = vec4<f32>(pair(row2, k + 2, inside), pair(row2, k + 3, inside));
    let q2 = vec4<f32>(pair(row2, k + 4, inside), pair(row2, k + 5, inside));
    // column j of the tiles' window is column j + PL % 2 of the pairs (12 columns: the
    // fourth quad is never picked)
    return window_row(Quads(q0, q1, q2, vec4<f32>(0.0)), PL % 2u);
}

// winograd_input (1), winograd_input2, winograd_input4: the window's 4 rows, each read
// by input_row{V}, transformed and stored.
//#for V,NAME in 1,winograd_input 2,winograd_input2 4,winograd_input4
//#entry flat {NAME} 64 {NAME}_at

fn {NAME}_at(e: u32) {
    let t = quad_at(e);
    store_tiles(t.at4, input_row{V}(t, 0), input_row{V}(t, 1), input_row{V}(t, 2), input_row{V}(t, 3));
}
//#end

// Writes (or adds, after the first chunk) one output channel's 8 tiles.
fn store_m(co: u32, xi: u32, first: u32, a: vec4<f32>, b: vec4<f32>) {
    let p = params;
    let c = p.m0 + co;
    if c >= p.c_out {
        return;
    }
    let i = ((xi * p.c_out + c) * p.tiles + first) / 4u;
    if (p.flags & FLAG_FIRST_CHUNK) != 0u {
        m_out[i] = a;
        m_out[i + 1u] = b;
    } else {
        m_out[i] = m_out[i] + a;
        m_out[i + 1u] = m_out[i + 1u] + b;
    }
}

// winograd_gemm_32 (_16): the transformed GEMM for CPU drivers, one block of 32 (16)
// output channels of uniform weights against 8 tiles an invocation. W: the vec4s of
// weights per input channel.
//#for R,W in 32,8 16,4
@compute @workgroup_size(64)
fn winograd_gemm_{R}(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let p = params;
    let first = gid.x * 8u;
    if first >= p.tiles {
        return;
    }
    let xl = wid.y;
    let xi = p.xi0 + xl;
    let step = p.tiles / 4u;
    let base = ((xi * p.c_in + p.ci0) * p.tiles + first) / 4u;
//#for j in 0..{W}
//#for c in x y z w
    var a{j}{c}_0 = vec4<f32>(0.0);
    var a{j}{c}_1 = vec4<f32>(0.0);
//#end
//#end
    var t = xl * p.cc * {W}u;
    for (var ci = 0u; ci < p.cn; ci++) {
        let v0 = v_in[base + ci * step];
        let v1 = v_in[base + ci * step + 1u];
//#for j in 0..{W}
        let w{j} = block[t + {j}u];
//#end
//#for j in 0..{W}
//#for c in x y z w
        a{j}{c}_0 = fma(vec4<f32>(w{j}.{c}), v0, a{j}{c}_0);
        a{j}{c}_1 = fma(vec4<f32>(w{j}.{c}), v1, a{j}{c}_1);
//#end
//#end
        t += {W}u;
    }
//#for j in 0..{W}
//#for c in x y z w
    store_m({j}u * 4u + {#c}u, xi, first, a{j}{c}_0, a{j}{c}_1);
//#end
//#end
}

//#end

// The epilogue past the bias (which the output rows already hold).
fn after_bias() -> u32 {
    return params.flags & ~FLAG_BIAS;
}

// A^T applied along a row of M for 4 tiles: (m0 + m1 + m2, m1 - m2 - m3).
struct Pair {
    a: vec4<f32>,
    b: vec4<f32>,
}

fn output_row(at4: u32, plane4: u32, i: u32) -> Pair {
    let m0 = m_in[at4 + (i * 4u) * plane4];
    let m1 = m_in[at4 + (i * 4u + 1u) * plane4];
    let m2 = m_in[at4 + (i * 4u + 2u) * plane4];
    let m3 = m_in[at4 + (i * 4u + 3u) * plane4];
    return Pair(m0 + m1 + m2, m1 - m2 - m3);
}

fn put(at: u32, x: u32, v: f32) {
    if x < params.ow {
        store_dst(at + x, epilogue(v, 0.0, at + x, after_bias()));
    }
}

fn put2(at: u32, x: u32, v: vec2<f32>) {
    if x < params.ow {
        let i = at + x;
        store_dst2(i / 2u, vec2<f32>(
            epilogue(v.x, 0.0, i, after_bias()),
            epilogue(v.y, 0.0, i + 1u, after_bias()),
        ));
    }
}

// Stores output row `oy` of 4 tiles: columns x + 2t (from r.a) and x + 2t + 1 (from r.b).
fn store_row(row: u32, oy: u32, x: u32, r: Pair, b: f32) {
    let p = params;
    if oy >= p.oh {
        return;
    }
    let a = r.a + b;
    let c = r.b + b;
    if p.ow % 4u == 0u {
        // rows of whole vec4s: the 8 columns as 2 vec4 (the second may lie past the row)
        let lo = vec4<f32>(a.x, c.x, a.y, c.y);
        let hi = vec4<f32>(a.z, c.z, a.w, c.w);
        store_dst4((row + x) / 4u, epilogue4(lo, 0.0, row + x, after_bias()));
        if x + 4u < p.ow {
            store_dst4((row + x) / 4u + 1u, epilogue4(hi, 0.0, row + x + 4u, after_bias()));
        }
        return;
    }
    if p.ow % 2u == 0u {
        // rows of whole vec2s: the 4 tiles' column pairs as vec2 (those past the row not)
        put2(row, x, vec2<f32>(a.x, c.x));
        put2(row, x + 2u, vec2<f32>(a.y, c.y));
        put2(row, x + 4u, vec2<f32>(a.z, c.z));
        put2(row, x + 6u, vec2<f32>(a.w, c.w));
        return;
    }
    put(row, x, a.x);
    put(row, x + 1u, c.x);
    put(row, x + 2u, a.y);
    put(row, x + 3u, c.y);
    put(row, x + 4u, a.z);
    put(row, x + 5u, c.z);
    put(row, x + 6u, a.w);
    put(row, x + 7u, c.w);
}

//#entry flat winograd_output 64 winograd_output_at

fn winograd_output_at(e: u32) {
    let p = params;
    let t = quad_at(e);
    let plane4 = p.c_out * p.tiles / 4u;
    let z0 = output_row(t.at4, plane4, 0u);
    let z1 = output_row(t.at4, plane4, 1u);
    let z2 = output_row(t.at4, plane4, 2u);
    let z3 = output_row(t.at4, plane4, 3u);
    var b = 0.0;
    if (p.flags & FLAG_BIAS) != 0u {
        b = load_bias(t.c);
    }
    let oy = 2u * (p.ty0 + t.ty);
    let x = 8u * t.txb;
    let plane = p.out_shift + (t.n * p.c_out + t.c) * p.oh * p.ow;
    let r0 = Pair(z0.a + z1.a + z2.a, z0.b + z1.b + z2.b);
    let r1 = Pair(z1.a - z2.a - z3.a, z1.b - z2.b - z3.b);
    store_row(plane + oy * p.ow, oy, x, r0, b);
    store_row(plane + (oy + 1u) * p.ow, oy + 1u, x, r1, b);
    // The transforms combine inputs the direct sum never does: an inf in the 4x4
    // window makes inf - inf (NaN) or inf in outputs whose 3x3 window lacks it, and
    // values near f32's limit overflow. Either leaves an inf or NaN output in the tile
    // (every entry of M reaches one of its outputs, and none turns finite again), so
    // such quads are listed for winograd_fix, which writes the direct sum over them.
    let bad = (nonfinite4(r0.a) | nonfinite4(r0.b)) | (nonfinite4(r1.a) | nonfinite4(r1.b));
    if any(bad) {
        fix_list[atomicAdd(&fix[0], 1u)] = t.e;
    }
}

// Whether each lane is inf or NaN (from the bits: no float comparison a compiler may
// assume finite).
fn nonfinite4(v: vec4<f32>) -> vec4<bool> {
    let e = vec4<u32>(0x7f800000u);
    return (bitcast<vec4<u32>>(v) & e) == e;
}

@compute @workgroup_size(1)
fn winograd_fix_args() {
    // `total` holds the workgroups per dimension
    let cap = params.total;
    let n = atomicLoad(&fix[0]);
    atomicStore(&fix[0], 0u);
    atomicStore(&fix[1], n);
    fix_groups[0] = min(n, cap);
    fix_groups[1] = min(n / cap + select(0u, 1u, n % cap != 0u), cap);
    fix_groups[2] = 1u;
}

@compute @workgroup_size(16)
fn winograd_fix(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) j: u32) {
    let p = params;
    let n = atomicLoad(&fix[1]);
    // listed quads i, i + groups, ... (more quads than workgroups past the limits)
    for (var i = wid.x + wid.y * nwg.x; i < n; i += nwg.x * nwg.y) {
        let t = quad_at(fix_list[i]);
        // output j of the quad's 2 rows of 8
        let oy = 2u * (p.ty0 + t.ty) + j / 8u;
        let ox = 8u * t.txb + j % 8u;
        if oy < p.oh && ox < p.ow {
            let at = p.out_shift + ((t.n * p.c_out + t.c) * p.oh + oy) * p.ow + ox;
            store_dst(at, epilogue(direct_sum(t.n, t.c, oy, ox), load_bias(t.c), at, p.flags));
        }
    }
}

// Output (oy, ox) of channel co of image n of the run, without bias, as the direct
// convolution sums it: input channel by input channel, 9 taps each, through the
// padding mode.
fn direct_sum(n: u32, co: u32, oy: u32, ox: u32) -> f32 {
    let p = params;
    let y = i32(oy) - i32(p.pad_t);
    let x = i32(ox) - i32(p.pad_l);
    var acc = 0.0;
    for (var ci = 0u; ci < p.c_in; ci++) {
        let plane = p.in_shift + (n * p.c_in + ci) * p.h * p.w;
        let k = (co * p.c_in + ci) * 9u;
        var s = 0.0;
        for (var ky = 0u; ky < 3u; ky++) {
            for (var kx = 0u; kx < 3u; kx++) {
                s = fma(at(plane, y + i32(ky), x + i32(kx)), load_weight(k + ky * 3u + kx), s);
            }
        }
        acc += s;
    }
    return acc;
}
