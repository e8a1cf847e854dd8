// gemm_subgroup.wgsl: the register GEMM of gemm.wgsl for CPU drivers with subgroups of
// 8 lanes (lavapipe), where every storage load is a loop over the lanes but a subgroup
// broadcast is one shuffle. A workgroup is one subgroup and computes R rows (8, 16, 24
// or 32: gemm_sg_R) x 32 columns of C: each lane loads 4 steps of K of one row of A in
// every 8 as one vec4 and the lanes pass them round by broadcast, and each lane loads
// its own 4 adjacent columns of B as one vec4 a step. Per 4 steps of K and 8 rows: one
// load of A for 128 multiply-adds a lane, and 4 of B for all R rows (gemm_reg_*: 32
// loads for 64). The launcher checks what gemm_reg4_* needs (A's rows, B's rows and its
// column blocks whole vec4s) and that the subgroup is 8 lanes. Sums in the order of
// gemm_reg_*: K in steps of 16 apart, then into the total.
// @binding(11) a4 array<vec4<f32>>  read        weight [groups][m][k]
// @binding(12) b4 array<vec4<f32>>  read        columns, or the input (pointwise)
// @binding(2) bias array<f32>        read
// @binding(3) c    array<f32>        read_write
// @binding(4) params GemmParams     uniform (declared in src/kernels/gemm.rs)
// @binding(20) residual array<f32>  read        over c's window (RESIDUAL)
// grid: (ceil(n / 32), ceil(m / R), groups)

//#data 11 a4 read vec4
//#data 12 b4 read vec4
//#data 2 bias read
//#data 3 c read_write
@group(0) @binding(4) var<uniform> params: GemmParams;

//#for R,H in 8,1 16,2 24,3 32,4
@compute @workgroup_size(8)
fn gemm_sg_{R}(@builtin(subgroup_invocation_id) lane: u32, @builtin(workgroup_id) wid: vec3<u32>) {
    let p = params;
    let g = wid.z;
    if p.m == 0u || p.n == 0u {
        return;
    }
    // the lane within the subgroup, which the broadcasts name (the workgroup is one
    // subgroup)
    let row0 = wid.y * {R}u;
    let col = (wid.x * 8u + lane) * 4u;
    let b0 = b_cols4(g, col);
    let b_rs = p.b_rs / 4u;
//#for h in 0..{H}
    let a_row{h} = (p.a_off + g * p.a_gs + min(row0 + {h}u * 8u + lane, p.m - 1u) * p.a_rs) / 4u;
//#end
//#for h in 0..{H}
//#for l in 0..8
    var acc{h}{l} = vec4<f32>(0.0);
//#end
//#end
    let quads = p.k / 4u;
    for (var q0 = 0u; q0 < quads; q0 += 4u) {
//#for h in 0..{H}
//#for l in 0..8
        var s{h}{l} = vec4<f32>(0.0);
//#end
//#end
        for (var q = q0; q < min(q0 + 4u, quads); q++) {
            let bq = b_quad(b0, b_rs, q);
//#for h in 0..{H}
            let av{h} = load_a4(a_row{h} + q);
//#for l in 0..8
            s{h}{l} = fma4(s{h}{l}, subgroupBroadcast(av{h}, {l}u), bq);
//#end
//#end
        }
//#for h in 0..{H}
//#for l in 0..8
        acc{h}{l} += s{h}{l};
//#end
//#end
    }
//#for h in 0..{H}
//#for l in 0..8
    store_row(g, row0 + {h}u * 8u + {l}u, col, 1u, acc{h}{l});
//#end
//#end
}

//#end
