// gemm.wgsl: C = A x B (+ the epilogue) per group, f32. The kernels:
// - gemm (tiled): a workgroup computes a 64x64 block of C; each of its 16x16
//   invocations accumulates a 4x4 register block (rows ty + 16i, columns tx + 16j, so
//   stores are coalesced). K is walked in steps of 16 through two 16x64 tiles in
//   workgroup memory. For GPUs, where workgroup memory is fast and loads are not.
//   grid: (ceil(n / 64), ceil(m / 64), groups)
// - gemm_reg_64 (_16, _8; register-blocked, no workgroup memory, no barrier): an
//   invocation accumulates 4 rows x 4 columns, the columns 64 (16, 8) apart so that
//   neighbouring invocations (SIMD lanes on a CPU driver) load neighbouring B
//   elements, and A loads are the same address across lanes. Out-of-range rows and columns are clamped, so
//   the K loop has no branch, and their results are dropped. For CPU drivers
//   (lavapipe), where a workgroup runs as a loop over SIMD chunks and barriers cost.
//   grid: (ceil(n / (4 * lanes)), ceil(m / 4), groups)
// Any M, N, K: out-of-range loads read 0 (or a clamped copy) and stores are skipped.
//
// Layouts are strided so that conv2d writes NCHW directly and the pointwise path reads
// the input tensor as B. Column j of B and C splits into (image, pixel):
//   A[m, k]  = a[a_off + g*a_gs + m*a_rs + k]
//   B[k, j]  = b[b_off + g*b_gs + k*b_rs + (j / b_hw)*b_ns + j % b_hw]
//   C[m, j]  = c[c_off + g*c_gs + m*c_ms + (j / c_hw)*c_ns + j % c_hw]
//   bias[m]  = bias[bias_off + g*bias_gs + m]        (when FLAG_BIAS is set; bias[j]
//   with FLAG_BIAS_COLUMN, on the register kernels)
// The epilogue (shaders/lib/epilogue.wgsl): bias, residual[C index], activation.
// @binding(0) a      array<f32>   read        weight [groups][m][k]
// @binding(1) b      array<f32>   read        columns, or the input (pointwise)
// @binding(2) bias   array<f32>   read        [groups * m]
// @binding(3) c      array<f32>   read_write  output
// @binding(4) params GemmParams   uniform (declared in src/kernels/gemm.rs)
// @binding(20) residual array<f32> read      over c's window (RESIDUAL)
// grid: (ceil(n / 64), ceil(m / 64), groups)

//#data 0 a read
//#data 1 b read
//#data 2 bias read
//#data 3 c read_write
@group(0) @binding(4) var<uniform> params: GemmParams;

const TILE: u32 = 64u;
const TK: u32 = 16u;

// [k][m] and [k][n] tiles
var<workgroup> a_tile: array<f32, 1024>;
var<workgroup> b_tile: array<f32, 1024>;

@compute @workgroup_size(16, 16)
fn gemm(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let p = params;
    let tx = lid.x;
    let ty = lid.y;
    let l = ty * 16u + tx;
    let g = wid.z;
    let row0 = wid.y * TILE;
    let col0 = wid.x * TILE;

    // This invocation loads A rows (a_m + 16r, column a_k) and B rows (b_k + 4r, column b_n).
    let a_k = l % TK;
    let a_m = l / TK;
    let b_n = l % TILE;
    let b_k = l / TILE;
    let a_base = p.a_off + g * p.a_gs;
    let b_col = col0 + b_n;
    let b_col_ok = b_col < p.n;
    let b_base = p.b_off + g * p.b_gs + (b_col / p.b_hw) * p.b_ns + b_col % p.b_hw;

    var acc: array<vec4<f32>, 4>;
    for (var k0 = 0u; k0 < p.k; k0 += TK) {
        for (var r = 0u; r < 4u; r++) {
            let m = row0 + a_m + 16u * r;
            let ka = k0 + a_k;
            var av = 0.0;
            if m < p.m && ka < p.k {
                av = load_a(a_base + m * p.a_rs + ka);
            }
            a_tile[a_k * TILE + a_m + 16u * r] = av;
            let kb = k0 + b_k + 4u * r;
            var bv = 0.0;
            if b_col_ok && kb < p.k {
                bv = load_b(b_base + kb * p.b_rs);
            }
            b_tile[(b_k + 4u * r) * TILE + b_n] = bv;
        }
        workgroupBarrier();
        // two-level sums: each 16-deep step apart, then into the total
        var part: array<vec4<f32>, 4>;
        for (var kk = 0u; kk < TK; kk++) {
            let base = kk * TILE;
            let bv = vec4<f32>(b_tile[base + tx], b_tile[base + tx + 16u], b_tile[base + tx + 32u], b_tile[base + tx + 48u]);
            for (var i = 0u; i < 4u; i++) {
                part[i] = fma(vec4<f32>(a_tile[base + ty + 16u * i]), bv, part[i]);
            }
        }
        for (var i = 0u; i < 4u; i++) {
            acc[i] += part[i];
        }
        workgroupBarrier();
    }

    for (var i = 0u; i < 4u; i++) {
        let m = row0 + ty + 16u * i;
        if m >= p.m {
            continue;
        }
        var bias_v = 0.0;
        if (p.flags & FLAG_BIAS) != 0u {
            bias_v = load_bias(p.bias_off + g * p.bias_gs + m);
        }
        let row_base = p.c_off + g * p.c_gs + m * p.c_ms;
        for (var j = 0u; j < 4u; j++) {
            let col = col0 + tx + 16u * j;
            if col >= p.n {
                continue;
            }
            let at = row_base + (col / p.c_hw) * p.c_ns + col % p.c_hw;
            store_c(at, epilogue(acc[i][j], bias_v, at, p.flags));
        }
    }
}

// The register GEMMs' entry points, L (64, 16 or 8) invocations a workgroup, each
// column block 4 * L wide: narrower blocks for narrow products (the columns of a 7x7 map
// fill 49 of 256 columns of the widest block). gemm_reg_L loads scalars, gemm_reg4_L
// vec4s (below).
//#for L in 64 16 8
@compute @workgroup_size({L})
fn gemm_reg_{L}(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    reg_block(lid.x, wid, {L}u);
}

@compute @workgroup_size({L})
fn gemm_reg4_{L}(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    quad_block(lid.x, wid, {L}u);
}

//#end
fn reg_block(lane: u32, wid: vec3<u32>, lanes: u32) {
    let p = params;
    let g = wid.z;
    let row0 = wid.y * 4u;
    let col0 = wid.x * 4u * lanes + lane;
    if p.m == 0u || p.n == 0u {
        return;
    }
    var b_col: array<u32, 4>;
    for (var t = 0u; t < 4u; t++) {
        let col = min(col0 + lanes * t, p.n - 1u);
        b_col[t] = p.b_off + g * p.b_gs + (col / p.b_hw) * p.b_ns + col % p.b_hw;
    }
    let rows = a_rows(g, row0);
    let a0 = rows.x;
    let a1 = rows.y;
    let a2 = rows.z;
    let a3 = rows.w;
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);
    // two-level sums: 16-deep steps apart, then into the total
    for (var k0 = 0u; k0 < p.k; k0 += 16u) {
        var part0 = vec4<f32>(0.0);
        var part1 = vec4<f32>(0.0);
        var part2 = vec4<f32>(0.0);
        var part3 = vec4<f32>(0.0);
        for (var k = k0; k < min(k0 + 16u, p.k); k++) {
            let kb = k * p.b_rs;
            let bv = vec4<f32>(load_b(b_col[0] + kb), load_b(b_col[1] + kb), load_b(b_col[2] + kb), load_b(b_col[3] + kb));
            part0 = fma(vec4<f32>(load_a(a0 + k)), bv, part0);
            part1 = fma(vec4<f32>(load_a(a1 + k)), bv, part1);
            part2 = fma(vec4<f32>(load_a(a2 + k)), bv, part2);
            part3 = fma(vec4<f32>(load_a(a3 + k)), bv, part3);
        }
        acc0 += part0;
        acc1 += part1;
        acc2 += part2;
        acc3 += part3;
    }
    store_row(g, row0, col0, lanes, acc0);
    store_row(g, row0 + 1u, col0, lanes, acc1);
    store_row(g, row0 + 2u, col0, lanes, acc2);
    store_row(g, row0 + 3u, col0, lanes, acc3);
}

// gemm_reg4_64 (_16, _8): the register GEMM where A's rows, B's rows and the column
// blocks are whole vec4s (the launcher checks): an invocation owns 4 adjacent columns
// and loads them as one vec4, and loads 4 steps of K of each A row as one vec4. On a CPU
// driver every storage load is a loop over the SIMD lanes, so this is 8 loads per 4
// steps of K where gemm_reg_* makes 32.
// @binding(11) a4  a again, as vec4     read
// @binding(12) b4  b again, as vec4     read
// grid: (ceil(n / (4 * lanes)), ceil(m / 4), groups)
//#data 11 a4 read vec4
//#data 12 b4 read vec4

fn quad_block(lane: u32, wid: vec3<u32>, lanes: u32) {
    let p = params;
    let g = wid.z;
    if p.m == 0u || p.n == 0u {
        return;
    }
    let row0 = wid.y * 4u;
    // this invocation's 4 columns, clamped to the last whole group within n
    let col = (wid.x * lanes + lane) * 4u;
    let b0 = b_cols4(g, col);
    let b_rs = p.b_rs / 4u;
    let rows = a_rows(g, row0) / 4u;
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);
    let quads = p.k / 4u;
    // two-level sums: 16-deep steps apart, then into the total
    for (var q0 = 0u; q0 < quads; q0 += 4u) {
        var part0 = vec4<f32>(0.0);
        var part1 = vec4<f32>(0.0);
        var part2 = vec4<f32>(0.0);
        var part3 = vec4<f32>(0.0);
        for (var q = q0; q < min(q0 + 4u, quads); q++) {
            let bq = b_quad(b0, b_rs, q);
            part0 = fma4(part0, load_a4(rows.x + q), bq);
            part1 = fma4(part1, load_a4(rows.y + q), bq);
            part2 = fma4(part2, load_a4(rows.z + q), bq);
            part3 = fma4(part3, load_a4(rows.w + q), bq);
        }
        acc0 += part0;
        acc1 += part1;
        acc2 += part2;
        acc3 += part3;
    }
    store_row(g, row0, col, 1u, acc0);
    store_row(g, row0 + 1u, col, 1u, acc1);
    store_row(g, row0 + 2u, col, 1u, acc2);
    store_row(g, row0 + 3u, col, 1u, acc3);
}
