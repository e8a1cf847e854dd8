// pool2d.wgsl: max/avg pooling and their adaptive forms, NCHW f32. pool2d: one
// invocation per output element (grid spilled into y) of the pooling OP (OP_MAX,
// OP_AVG, OP_ADAPTIVE_MAX, OP_ADAPTIVE_AVG); avg_pool2d4: 4 outputs of a row per
// invocation; pool2d4v (OP_MAX or OP_AVG): 4 outputs from 3 vec4 per input row, for
// ROWS output rows, 2 (max) or 4 (avg), sharing their input rows. Planes (n*c) are
// independent, so a chunk of planes is bound at a time, from in_shift/out_shift.
// max_pool2d: padded cells act as -inf; a value wins if it is NaN or greater than the
// best so far (so a later NaN wins and ties keep the first), the test done on the bits
// since WGSL lets a compiler assume no NaN. The index is the flat h*w position of the
// winner; a window with nothing but -inf keeps its first in-bounds cell.
// avg_pool2d: the divisor counts the window inside the padded input
// (count_include_pad) or inside the input, unless divisor_override is set.
// adaptive pools: output cell o covers input [floor(o*I/O), ceil((o+1)*I/O)).
// @binding(0) src     array<f32>  read        [planes, h, w]
// @binding(1) dst     array<f32>  read_write  [planes, oh, ow]
// @binding(2) indices array<u32>  read_write  [planes, oh, ow] (max pools, FLAG_INDICES)
// @binding(3) params  PoolParams  uniform (declared in src/kernels/pool2d.rs)
// @binding(4) src4    src as vec4 (pool2d4v)              read
// @binding(5) dst4    dst as vec4 (pool2d4v)              read_write

//#data 0 src read
//#data 1 dst read_write
@group(0) @binding(2) var<storage, read_write> indices: array<u32>;
@group(0) @binding(3) var<uniform> params: PoolParams;

const NEG_INF_BITS: u32 = 0xff800000u;

// -inf, made at run time from its bits: a constant expression may not evaluate to an
// infinity (Tint rejects the bitcast of the constant), and a let is no constant expression.
fn neg_inf() -> f32 {
    let bits = NEG_INF_BITS;
    return bitcast<f32>(bits);
}

fn is_nan_bits(b: u32) -> bool {
    return (b & 0x7fffffffu) > 0x7f800000u;
}

// An order-preserving integer key of a non-NaN float, with -0.0 equal to +0.0.
fn order_key(b: u32) -> i32 {
    let z = select(b, 0u, b == 0x80000000u);
    return select(i32(z), i32(z ^ 0x7fffffffu), (z & 0x80000000u) != 0u);
}

struct Best {
    bits: u32,
    index: u32,
}

fn consider(best: Best, v: u32, index: u32) -> Best {
    var take = is_nan_bits(v);
    if !take && !is_nan_bits(best.bits) {
        take = order_key(v) > order_key(best.bits);
    }
    if take {
        return Best(v, index);
    }
    return best;
}

// The output element of an invocation (its linear index, which may lie past the end,
// and its column and row) and where its input plane starts.
struct Cell {
    index: u32,
    ox: u32,
    oy: u32,
    base: u32,
}

fn output_cell(i: u32) -> Cell {
    let p = params;
    let plane = i / (p.ow * p.oh);
    // in a band of rows (one plane): rows from row0 on, read from a window whose first
    // row is in_row0 (the base wraps below zero; base + y * w, y >= in_row0, does not)
    let base = p.in_shift + plane * p.h * p.w - p.in_row0 * p.w;
    return Cell(i, i % p.ow, (i / p.ow) % p.oh + p.row0, base);
}

fn finish_max(i: u32, best: Best) {
    store_dst(params.out_shift + i, bitcast<f32>(best.bits));
    if (params.flags & FLAG_INDICES) != 0u {
        indices[params.idx_shift + i] = best.index;
    }
}

// max_pool2d's winner over the window of a cell, from its first in-bounds tap
// (PyTorch steps the start by the dilation).
fn max_window(cell: Cell) -> Best {
    let p = params;
    var y0 = i32(cell.oy * p.sh) - i32(p.ph);
    var x0 = i32(cell.ox * p.sw) - i32(p.pw);
    let y1 = min(y0 + i32((p.kh - 1u) * p.dh + 1u), i32(p.h));
    let x1 = min(x0 + i32((p.kw - 1u) * p.dw + 1u), i32(p.w));
    while y0 < 0 {
        y0 += i32(p.dh);
    }
    while x0 < 0 {
        x0 += i32(p.dw);
    }
    var best = Best(NEG_INF_BITS, u32(y0) * p.w + u32(x0));
    for (var y = y0; y < y1; y += i32(p.dh)) {
        for (var x = x0; x < x1; x += i32(p.dw)) {
            let index = u32(y) * p.w + u32(x);
            best = consider(best, bitcast<u32>(load_src(cell.base + index)), index);
        }
    }
    return best;
}

// avg_pool2d of a cell: its window's sum over the input, then its average.
fn avg_window(cell: Cell) -> f32 {
    let p = params;
    // the window's rows in the padded input, then in the input
    let y_start = i32(cell.oy * p.sh) - i32(p.ph);
    let y_end = min(y_start + i32(p.kh), i32(p.h + p.ph));
    let rows = vec2<i32>(max(y_start, 0), min(y_end, i32(p.h)));
    let x_start = i32(cell.ox * p.sw) - i32(p.pw);
    let x_end = min(x_start + i32(p.kw), i32(p.w));
    var sum = 0.0;
    for (var y = rows.x; y < rows.y; y++) {
        for (var x = max(x_start, 0); x < x_end; x++) {
            sum += load_src(cell.base + u32(y) * p.w + u32(x));
        }
    }
    return average(sum, cell.ox, y_start, y_end, rows);
}

// [start, end) of adaptive output cell o of `out` over `size` input cells
fn adaptive_range(o: u32, size: u32, out: u32) -> vec2<u32> {
    return vec2<u32>((o * size) / out, ((o + 1u) * size + out - 1u) / out);
}

// The adaptive window of a cell: [y start, y end, x start, x end).
fn adaptive_window(cell: Cell) -> vec4<u32> {
    let p = params;
    return vec4<u32>(adaptive_range(cell.oy, p.h, p.oh), adaptive_range(cell.ox, p.w, p.ow));
}

fn adaptive_max(cell: Cell) -> Best {
    let r = adaptive_window(cell);
    var best = Best(NEG_INF_BITS, r.x * params.w + r.z);
    for (var y = r.x; y < r.y; y++) {
        for (var x = r.z; x < r.w; x++) {
            let index = y * params.w + x;
            best = consider(best, bitcast<u32>(load_src(cell.base + index)), index);
        }
    }
    return best;
}

fn adaptive_avg(cell: Cell) -> f32 {
    let r = adaptive_window(cell);
    var sum = 0.0;
    for (var y = r.x; y < r.y; y++) {
        for (var x = r.z; x < r.w; x++) {
            sum += load_src(cell.base + y * params.w + x);
        }
    }
    return sum / f32((r.y - r.x) * (r.w - r.z));
}

// pool2d: one output per invocation of the pooling OP (an OP_* constant).
override OP: u32 = OP_MAX;

//#entry flat pool2d 256 pool2d_at

fn pool2d_at(i: u32) {
    let cell = output_cell(i);
    let at = params.out_shift + cell.index;
    switch OP {
        case OP_MAX: {
            finish_max(cell.index, max_window(cell));
        }
        case OP_AVG: {
            store_dst(at, avg_window(cell));
        }
        case OP_ADAPTIVE_MAX: {
            finish_max(cell.index, adaptive_max(cell));
        }
        default: {
            store_dst(at, adaptive_avg(cell));
        }
    }
}

// avg_pool2d4: avg_pool2d with stride 1 along the row: an invocation computes 4
// neighbouring outputs of a row, loading each input row segment (KW + 3 values, zeros
// outside the input) once for all 4. Sums run in the same order as avg_pool2d's (rows,
// then columns); the divisors are each output's own. KW is fixed per pipeline, so the
// loops unroll and the segment stays in registers.
// grid: planes * oh * ceil(ow / 4) invocations, spilled into y
override KW: u32 = 3u;

//#entry flat avg_pool2d4 64 avg_pool2d4_at

fn avg_pool2d4_at(i: u32) {
    let p = params;
    let g = group_of(i, 1u);
    let y_start = i32(g.oy * p.sh) - i32(p.ph);
    let y_end = min(y_start + i32(p.kh), i32(p.h + p.ph));
    let rows = vec2<i32>(max(y_start, 0), min(y_end, i32(p.h)));
    let x_base = i32(g.ox0) - i32(p.pw);
    var sum = vec4<f32>(0.0);
    for (var y = rows.x; y < rows.y; y++) {
        var seg: array<f32, 10>;
        for (var t = 0u; t < KW + 3u; t++) {
            let x = x_base + i32(t);
            let inside = x >= 0 && x < i32(p.w);
            seg[t] = select(0.0, load_src(select(g.base, g.base + u32(y) * p.w + u32(x), inside)), inside);
        }
        for (var t = 0u; t < KW; t++) {
            sum += vec4<f32>(seg[t], seg[t + 1u], seg[t + 2u], seg[t + 3u]);
        }
    }
    let out = p.out_shift + (g.plane * p.oh + g.oy) * p.ow + g.ox0;
    for (var e = 0u; e < 4u; e++) {
        let ox = g.ox0 + e;
        if ox >= p.ow {
            break;
        }
        store_dst(out + e, average(sum[e], ox, y_start, y_end, rows));
    }
}

// sum / the divisor of output column ox, whose window spans rows [y_start, y_end) of
// the padded input and `rows` of the input; 0 for a window with no input cell.
fn average(sum: f32, ox: u32, y_start: i32, y_end: i32, rows: vec2<i32>) -> f32 {
    let p = params;
    let x_start = i32(ox * p.sw) - i32(p.pw);
    let x_end = min(x_start + i32(p.kw), i32(p.w + p.pw));
    let padded_count = (y_end - y_start) * (x_end - x_start);
    let cols = vec2<i32>(max(x_start, 0), min(x_end, i32(p.w)));
    var divisor = f32(max((rows.y - rows.x) * (cols.y - cols.x), 0));
    if (p.flags & FLAG_COUNT_PAD) != 0u {
        divisor = f32(padded_count);
    }
    if (p.flags & FLAG_DIVISOR) != 0u {
        divisor = f32(i32(p.divisor));
    }
    if rows.x < rows.y && cols.x < cols.y {
        return sum / divisor;
    }
    return 0.0;
}

// max_pool2d4v / avg_pool2d4v: 4 neighbouring outputs of a row per invocation, for rows
// of whole vec4s (w % 4 == 0), dilation 1 along the row and stride SW (1 or 2). Each
// input row the window touches is loaded as 3 vec4 (the quad holding the first output's
// first column SW * ox0, and one quad each side: 12 columns, the override constants
// keep every window inside them), padded quads reading -inf (max) or 0 (avg). The max
// pool considers the cells in avg_pool2d's order (rows, then columns), so NaN and ties
// resolve as in max_pool2d; no indices. Stores are a vec4 when ow % 4 == 0.
// grid: planes * oh * ceil(ow / 4) invocations, spilled into y
override PW: u32 = 1u;
override SW: u32 = 2u;

//#data 4 src4 read vec4
//#data 5 dst4 read_write vec4

// Where an invocation's 4 outputs are: column ox0, row oy, plane.
struct Group {
    ox0: u32,
    oy: u32,
    plane: u32,
    // the plane's first element in src, and the quad holding the first output's first
    // column (SW * ox0)
    base: u32,
    q: i32,
}

// The invocation's block of `rows` output rows x 4 outputs (its first row and column).
fn group_of(idx: u32, rows: u32) -> Group {
    let p = params;
    let groups = (p.ow + 3u) / 4u;
    let blocks = (p.oh + rows - 1u) / rows;
    let plane = idx / (groups * blocks);
    let base = p.in_shift + plane * p.h * p.w;
    let ox0 = (idx % groups) * 4u;
    return Group(ox0, (idx / groups) % blocks * rows, plane, base, i32(ox0 * SW / 4u));
}

fn store4(g: Group, v: vec4<f32>) {
    let p = params;
    let out = p.out_shift + (g.plane * p.oh + g.oy) * p.ow + g.ox0;
    if p.ow % 4u == 0u {
        store_dst4(out / 4u, v);
        return;
    }
    for (var e = 0u; e < 4u; e++) {
        if g.ox0 + e < p.ow {
            store_dst(out + e, v[e]);
        }
    }
}

// The winner (as bits) of a best so far without index and a next value.
fn larger(best: u32, v: f32) -> u32 {
    return consider(Best(best, 0u), bitcast<u32>(v), 0u).bits;
}

// The 4 outputs' maxima (as bits) after the window's columns of one input row,
// considered in order.
fn max_row(best: vec4<u32>, s: Quads) -> vec4<u32> {
    var b = best;
    for (var kx = 0u; kx < KW; kx++) {
        let v = pick4(s, 4u + kx - PW, SW);
        b = vec4<u32>(larger(b.x, v.x), larger(b.y, v.y), larger(b.z, v.z), larger(b.w, v.w));
    }
    return b;
}

// The 4 outputs' sums so far with the window's columns of one input row added, cell by
// cell in order (as avg_pool2d adds them).
fn add_row(sum: vec4<f32>, s: Quads) -> vec4<f32> {
    var a = sum;
    for (var kx = 0u; kx < KW; kx++) {
        a += pick4(s, 4u + kx - PW, SW);
    }
    return a;
}

// The 4 outputs' sums over the window's columns of one input row.
fn row_sum(s: Quads) -> vec4<f32> {
    return add_row(vec4<f32>(0.0), s);
}

// Stores the averages of the 4 outputs of g's row from their sums.
fn store_avg(g: Group, sum: vec4<f32>) {
    let p = params;
    if g.oy >= p.oh {
        return;
    }
    let y_start = i32(g.oy * p.sh) - i32(p.ph);
    let y_end = min(y_start + i32(p.kh), i32(p.h + p.ph));
    let rows = vec2<i32>(max(y_start, 0), min(y_end, i32(p.h)));
    store4(g, vec4<f32>(
        average(sum.x, g.ox0, y_start, y_end, rows),
        average(sum.y, g.ox0 + 1u, y_start, y_end, rows),
        average(sum.z, g.ox0 + 2u, y_start, y_end, rows),
        average(sum.w, g.ox0 + 3u, y_start, y_end, rows),
    ));
}

// g moved down by `down` output rows.
fn row_below(g: Group, down: u32) -> Group {
    return Group(g.ox0, g.oy + down, g.plane, g.base, g.q);
}

fn max_pool2d4v(g: Group) {
    let p = params;
    var best = vec4<u32>(NEG_INF_BITS);
    let y0 = i32(g.oy * p.sh) - i32(p.ph);
    for (var ky = 0u; ky < p.kh; ky++) {
        let y = y0 + i32(ky * p.dh);
        if y >= 0 && y < i32(p.h) {
            best = max_row(best, quads(g.base / 4u, y, g.q, neg_inf(), false));
        }
    }
    store4(g, bitcast<vec4<f32>>(best));
}

fn avg_pool2d4v(g: Group) {
    let p = params;
    let y_start = i32(g.oy * p.sh) - i32(p.ph);
    let y_end = min(y_start + i32(p.kh), i32(p.h + p.ph));
    var sum = vec4<f32>(0.0);
    for (var y = max(y_start, 0); y < min(y_end, i32(p.h)); y++) {
        sum = add_row(sum, quads(g.base / 4u, y, g.q, 0.0, false));
    }
    store_avg(g, sum);
}

// avg_pool2d4r: avg_pool2d4v with stride 1 down the columns too: 4 rows x 4 outputs per
// invocation, each input row loaded once (3 vec4) for the 4 output rows whose windows
// hold it: (KH + 3) * 3 loads for 16 outputs. Rows outside the input add zeros, so each
// sum still runs over its window's rows in order.
// grid: planes * ceil(oh / 4) * ceil(ow / 4) invocations, spilled into y
fn avg_pool2d4r(g: Group) {
    let y0 = i32(g.oy) - i32(params.ph);
    var a0 = vec4<f32>(0.0);
    var a1 = vec4<f32>(0.0);
    var a2 = vec4<f32>(0.0);
    var a3 = vec4<f32>(0.0);
    var r0 = row_sum(quads(g.base / 4u, y0, g.q, 0.0, false));
    var r1 = row_sum(quads(g.base / 4u, y0 + 1, g.q, 0.0, false));
    var r2 = row_sum(quads(g.base / 4u, y0 + 2, g.q, 0.0, false));
    for (var ky = 0u; ky < params.kh; ky++) {
        let r3 = row_sum(quads(g.base / 4u, y0 + i32(ky) + 3, g.q, 0.0, false));
        a0 += r0;
        a1 += r1;
        a2 += r2;
        a3 += r3;
        r0 = r1;
        r1 = r2;
        r2 = r3;
    }
    store_avg(g, a0);
    store_avg(row_below(g, 1u), a1);
    store_avg(row_below(g, 2u), a2);
    store_avg(row_below(g, 3u), a3);
}

// max_pool2d4r: max_pool2d4v for 2 output rows per invocation with dilation 1 down the
// columns: the SH + KH input rows of both windows are each loaded once (3 vec4), so a
// 3x3 stride-2 pool loads 5 rows for 8 outputs instead of 6. Each output considers its
// rows in order, as max_pool2d does.
// grid: planes * ceil(oh / 2) * ceil(ow / 4) invocations, spilled into y
fn max_pool2d4r(g: Group) {
    let p = params;
    var upper = vec4<u32>(NEG_INF_BITS);
    var lower = vec4<u32>(NEG_INF_BITS);
    let y0 = i32(g.oy * p.sh) - i32(p.ph);
    for (var r = 0u; r < p.sh + p.kh; r++) {
        let y = y0 + i32(r);
        if y < 0 || y >= i32(p.h) {
            continue;
        }
        let s = quads(g.base / 4u, y, g.q, neg_inf(), false);
        if r < p.kh {
            upper = max_row(upper, s);
        }
        if r >= p.sh && r - p.sh < p.kh {
            lower = max_row(lower, s);
        }
    }
    store4(g, bitcast<vec4<f32>>(upper));
    if g.oy + 1u < p.oh {
        store4(row_below(g, 1u), bitcast<vec4<f32>>(lower));
    }
}

// pool2d4v: the vec4 kernels, OP_MAX or OP_AVG over ROWS output rows per invocation
// (max: 1 or 2, avg: 1 or 4).
override ROWS: u32 = 1u;

//#entry flat pool2d4v 64 pool2d4v_at

fn pool2d4v_at(i: u32) {
    let g = group_of(i, ROWS);
    if OP == OP_MAX {
        if ROWS == 1u {
            max_pool2d4v(g);
        } else {
            max_pool2d4r(g);
        }
    } else if ROWS == 1u {
        avg_pool2d4v(g);
    } else {
        avg_pool2d4r(g);
    }
}
