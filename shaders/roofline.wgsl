// roofline.wgsl: what the adapter can do at most, measured with the project's own
// kernels (wgcnn bench --roofline).
// fma_peak:  8 independent vec4 FMA chains per invocation, `iterations` steps each
//            (64 multiply-adds per step), so latency hides behind the other chains.
// copy_vec4: dst[i] = src[i], one vec4 per invocation (grid spilled into y).
// @binding(0) src    array<vec4<f32>>  read
// @binding(1) dst    array<vec4<f32>>  read_write
// @binding(2) params RoofParams        uniform (declared in src/kernels/roofline.rs)

@group(0) @binding(0) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> dst: array<vec4<f32>>;
@group(0) @binding(2) var<uniform> params: RoofParams;

@compute @workgroup_size(64)
fn fma_peak(@builtin(global_invocation_id) gid: vec3<u32>) {
    let seed = f32(gid.x) * 1e-6;
    var a0 = vec4<f32>(seed);
    var a1 = vec4<f32>(seed + 1.0);
    var a2 = vec4<f32>(seed + 2.0);
    var a3 = vec4<f32>(seed + 3.0);
    var a4 = vec4<f32>(seed + 4.0);
    var a5 = vec4<f32>(seed + 5.0);
    var a6 = vec4<f32>(seed + 6.0);
    var a7 = vec4<f32>(seed + 7.0);
    let m = vec4<f32>(0.999);
    let c = vec4<f32>(0.001);
    for (var i = 0u; i < params.count; i++) {
        a0 = fma(a0, m, c);
        a1 = fma(a1, m, c);
        a2 = fma(a2, m, c);
        a3 = fma(a3, m, c);
        a4 = fma(a4, m, c);
        a5 = fma(a5, m, c);
        a6 = fma(a6, m, c);
        a7 = fma(a7, m, c);
    }
    dst[gid.x] = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7;
}

@compute @workgroup_size(256)
fn copy_vec4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if i < params.count {
        dst[i] = src[i];
    }
}
