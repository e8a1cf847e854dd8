// gemm.wgsl: C = A x B (+ bias, relu) per group, f32. Two variants, same bindings:
// - gemm (tiled): a workgroup computes a 64x64 block of C; each of its 16x16
//   invocations accumulates a 4x4 register block (rows ty + 16i, columns tx + 16j, so
//   stores are coalesced). K is walked in steps of 16 through two 16x64 tiles in
//   workgroup memory. For GPUs, where workgroup memory is fast and loads are not.
//   grid: (ceil(n / 64), ceil(m / 64), groups)
// - gemm_reg (register-blocked, no workgroup memory, no barrier): an invocation
//   accumulates 4 rows x 4 columns, the columns 64 apart so that neighbouring
//   invocations (SIMD lanes on a CPU driver) load neighbouring B elements, and A loads
//   are the same address across lanes. Out-of-range rows and columns are clamped, so
//   the K loop has no branch, and their results are dropped. For CPU drivers
//   (lavapipe), where a workgroup runs as a loop over SIMD chunks and barriers cost.
//   grid: (ceil(n / 256), ceil(m / 4), groups)
// Any M, N, K: out-of-range loads read 0 (or a clamped copy) and stores are skipped.
//
// Layouts are strided so that conv2d writes NCHW directly and the pointwise path reads
// the input tensor as B. Column j of B and C splits into (image, pixel):
//   A[m, k]  = a[a_off + g*a_gs + m*a_rs + k]
//   B[k, j]  = b[b_off + g*b_gs + k*b_rs + (j / b_hw)*b_ns + j % b_hw]
//   C[m, j]  = c[c_off + g*c_gs + m*c_ms + (j / c_hw)*c_ns + j % c_hw]
//   bias[m]  = bias[bias_off + g*bias_gs + m]        (when FLAG_BIAS is set)
// The epilogue (shaders/lib/epilogue.wgsl): bias, residual[C index], activation.
// @binding(0) a      array<f32>   read        weight [groups][m][k]
// @binding(1) b      array<f32>   read        columns, or the input (pointwise)
// @binding(2) bias   array<f32>   read        [groups * m]
// @binding(3) c      array<f32>   read_write  output
// @binding(4) params GemmParams   uniform (declared in src/kernels/gemm.rs)
// @binding(20) residual array<f32> read      over c's window (RESIDUAL)
// grid: (ceil(n / 64), ceil(m / 64), groups)

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;
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
                av = a[a_base + m * p.a_rs + ka];
            }
            a_tile[a_k * TILE + a_m + 16u * r] = av;
            let kb = k0 + b_k + 4u * r;
            var bv = 0.0;
            if b_col_ok && kb < p.k {
                bv = b[b_base + kb * p.b_rs];
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
            bias_v = bias[p.bias_off + g * p.bias_gs + m];
        }
        let row_base = p.c_off + g * p.c_gs + m * p.c_ms;
        for (var j = 0u; j < 4u; j++) {
            let col = col0 + tx + 16u * j;
            if col >= p.n {
                continue;
            }
            let at = row_base + (col / p.c_hw) * p.c_ns + col % p.c_hw;
            c[at] = epilogue(acc[i][j], bias_v, at, p.flags);
        }
    }
}

fn store(g: u32, m: u32, col: u32, v: f32) {
    let p = params;
    var bias_v = 0.0;
    if (p.flags & FLAG_BIAS) != 0u {
        bias_v = bias[p.bias_off + g * p.bias_gs + m];
    }
    let at = p.c_off + g * p.c_gs + m * p.c_ms + (col / p.c_hw) * p.c_ns + col % p.c_hw;
    c[at] = epilogue(v, bias_v, at, p.flags);
}

@compute @workgroup_size(64)
fn gemm_reg(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let p = params;
    let g = wid.z;
    let row0 = wid.y * 4u;
    let col0 = wid.x * 256u + lid.x;
    if p.m == 0u || p.n == 0u {
        return;
    }
    var b_col: array<u32, 4>;
    for (var t = 0u; t < 4u; t++) {
        let col = min(col0 + 64u * t, p.n - 1u);
        b_col[t] = p.b_off + g * p.b_gs + (col / p.b_hw) * p.b_ns + col % p.b_hw;
    }
    let a_base = p.a_off + g * p.a_gs;
    let a0 = a_base + min(row0, p.m - 1u) * p.a_rs;
    let a1 = a_base + min(row0 + 1u, p.m - 1u) * p.a_rs;
    let a2 = a_base + min(row0 + 2u, p.m - 1u) * p.a_rs;
    let a3 = a_base + min(row0 + 3u, p.m - 1u) * p.a_rs;
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
            let bv = vec4<f32>(b[b_col[0] + kb], b[b_col[1] + kb], b[b_col[2] + kb], b[b_col[3] + kb]);
            part0 = fma(vec4<f32>(a[a0 + k]), bv, part0);
            part1 = fma(vec4<f32>(a[a1 + k]), bv, part1);
            part2 = fma(vec4<f32>(a[a2 + k]), bv, part2);
            part3 = fma(vec4<f32>(a[a3 + k]), bv, part3);
        }
        acc0 += part0;
        acc1 += part1;
        acc2 += part2;
        acc3 += part3;
    }
    let accs = array<vec4<f32>, 4>(acc0, acc1, acc2, acc3);
    for (var i = 0u; i < 4u; i++) {
        let m = row0 + i;
        if m >= p.m {
            break;
        }
        for (var t = 0u; t < 4u; t++) {
            let col = col0 + 64u * t;
            if col < p.n {
                store(g, m, col, accs[i][t]);
            }
        }
    }
}
