// gemm_subgroup.wgsl: the register GEMM of gemm.wgsl for CPU drivers with subgroups of
// 8 lanes (lavapipe), where every storage load is a loop over the lanes but a subgroup
// broadcast is one shuffle. A workgroup is one subgroup and computes 8 rows x 32
// columns of C: each lane loads 4 steps of K of its own row of A as one vec4 and the
// lanes pass them round by broadcast, and each lane loads its own 4 adjacent columns
// of B as one vec4 a step. Per 4 steps of K: 5 loads for 128 multiply-adds a lane
// (gemm_reg: 32 for 64). The launcher checks what gemm_reg4 needs (A's rows, B's rows
// and its column blocks whole vec4s) and that the subgroup is 8 lanes. Sums in the
// order of gemm_reg: K in steps of 16 apart, then into the total.
// @binding(11) a4 array<vec4<f32>>  read        weight [groups][m][k]
// @binding(12) b4 array<vec4<f32>>  read        columns, or the input (pointwise)
// @binding(2) bias array<f32>        read
// @binding(3) c    array<f32>        read_write
// @binding(4) params GemmParams     uniform (declared in src/kernels/gemm.rs)
// @binding(20) residual array<f32>  read        over c's window (RESIDUAL)
// grid: (ceil(n / 32), ceil(m / 8), groups)

@group(0) @binding(11) var<storage, read> a4: array<vec4<f32>>;
@group(0) @binding(12) var<storage, read> b4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;
@group(0) @binding(4) var<uniform> params: GemmParams;

@compute @workgroup_size(8)
fn gemm_sg(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let p = params;
    let g = wid.z;
    if p.m == 0u || p.n == 0u {
        return;
    }
    let lane = lid.x;
    let row0 = wid.y * 8u;
    let col = (wid.x * 8u + lane) * 4u;
    let colc = min(col, (p.n - 1u) / 4u * 4u);
    let b0 = (p.b_off + g * p.b_gs + (colc / p.b_hw) * p.b_ns + colc % p.b_hw) / 4u;
    let b_rs = p.b_rs / 4u;
    let a_row = (p.a_off + g * p.a_gs + min(row0 + lane, p.m - 1u) * p.a_rs) / 4u;
    var acc: array<vec4<f32>, 8>;
    let quads = p.k / 4u;
    for (var q0 = 0u; q0 < quads; q0 += 4u) {
        var s0 = vec4<f32>(0.0);
        var s1 = vec4<f32>(0.0);
        var s2 = vec4<f32>(0.0);
        var s3 = vec4<f32>(0.0);
        var s4 = vec4<f32>(0.0);
        var s5 = vec4<f32>(0.0);
        var s6 = vec4<f32>(0.0);
        var s7 = vec4<f32>(0.0);
        for (var q = q0; q < min(q0 + 4u, quads); q++) {
            let kb = b0 + 4u * q * b_rs;
            let x0 = b4[kb];
            let x1 = b4[kb + b_rs];
            let x2 = b4[kb + 2u * b_rs];
            let x3 = b4[kb + 3u * b_rs];
            let av = a4[a_row + q];
            s0 = fma4(s0, subgroupBroadcast(av, 0u), x0, x1, x2, x3);
            s1 = fma4(s1, subgroupBroadcast(av, 1u), x0, x1, x2, x3);
            s2 = fma4(s2, subgroupBroadcast(av, 2u), x0, x1, x2, x3);
            s3 = fma4(s3, subgroupBroadcast(av, 3u), x0, x1, x2, x3);
            s4 = fma4(s4, subgroupBroadcast(av, 4u), x0, x1, x2, x3);
            s5 = fma4(s5, subgroupBroadcast(av, 5u), x0, x1, x2, x3);
            s6 = fma4(s6, subgroupBroadcast(av, 6u), x0, x1, x2, x3);
            s7 = fma4(s7, subgroupBroadcast(av, 7u), x0, x1, x2, x3);
        }
        acc[0] += s0;
        acc[1] += s1;
        acc[2] += s2;
        acc[3] += s3;
        acc[4] += s4;
        acc[5] += s5;
        acc[6] += s6;
        acc[7] += s7;
    }
    for (var i = 0u; i < 8u; i++) {
        store_row(g, row0 + i, col, 1u, acc[i]);
    }
}
