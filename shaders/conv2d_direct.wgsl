// conv2d_direct.wgsl: direct 2-D convolution, NCHW f32, one invocation per output
// element (grid spilled into y): the loop runs over the cg*kh*kw taps of its group.
// Serves depthwise convolutions (cg = 1), where a GEMM has nothing to share.
// Padded coordinates map by padding mode as in im2col.wgsl; bias (flags & 1) and relu
// (flags & 2, on the bits as in relu.wgsl) are applied at the end.
// @binding(0) src    array<f32>    read        input images of the chunk, from in_shift
// @binding(1) weight array<f32>    read        [c_out, cg, kh, kw]
// @binding(2) bias   array<f32>    read        [c_out]
// @binding(3) dst    array<f32>    read_write  output images of the chunk, from out_shift
// @binding(4) params DirectParams  uniform (mirror: src/ops/conv2d.rs)

struct DirectParams {
    c: u32,
    h: u32,
    w: u32,
    cg: u32,
    kh: u32,
    kw: u32,
    stride_h: u32,
    stride_w: u32,
    pad_t: u32,
    pad_l: u32,
    dil_h: u32,
    dil_w: u32,
    oh: u32,
    ow: u32,
    c_out: u32,
    mg: u32,
    total: u32,
    flags: u32,
    mode: u32,
    in_shift: u32,
    out_shift: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> dst: array<f32>;
@group(0) @binding(4) var<uniform> params: DirectParams;

fn source_coord(i: i32, size: i32, mode: u32) -> i32 {
    if i >= 0 && i < size {
        return i;
    }
    switch mode {
        case 1u: {
            return select(2 * (size - 1) - i, -i, i < 0);
        }
        case 2u: {
            return clamp(i, 0, size - 1);
        }
        case 3u: {
            return select(i - size, i + size, i < 0);
        }
        default: {
            return -1;
        }
    }
}

fn relu_f32(v: f32) -> f32 {
    let bits = bitcast<u32>(v);
    let nan = (bits & 0x7fffffffu) > 0x7f800000u;
    return select(v, 0.0, bits > 0x80000000u && !nan);
}

@compute @workgroup_size(256)
fn conv2d_direct(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let p = params;
    let idx = gid.x + gid.y * nwg.x * 256u;
    if idx >= p.total {
        return;
    }
    let ox = idx % p.ow;
    let oy = (idx / p.ow) % p.oh;
    let co = (idx / (p.ow * p.oh)) % p.c_out;
    let image = idx / (p.ow * p.oh * p.c_out);
    let g = co / p.mg;
    // two-level sums (per input channel, then in total) bound the rounding
    var acc = 0.0;
    for (var ci = 0u; ci < p.cg; ci++) {
        var part = 0.0;
        let plane = p.in_shift + (image * p.c + g * p.cg + ci) * p.h * p.w;
        let wbase = (co * p.cg + ci) * p.kh * p.kw;
        for (var ky = 0u; ky < p.kh; ky++) {
            let ih = source_coord(i32(oy * p.stride_h + ky * p.dil_h) - i32(p.pad_t), i32(p.h), p.mode);
            if ih < 0 {
                continue;
            }
            for (var kx = 0u; kx < p.kw; kx++) {
                let iw = source_coord(i32(ox * p.stride_w + kx * p.dil_w) - i32(p.pad_l), i32(p.w), p.mode);
                if iw < 0 {
                    continue;
                }
                part = fma(weight[wbase + ky * p.kw + kx], src[plane + u32(ih) * p.w + u32(iw)], part);
            }
        }
        acc += part;
    }
    if (p.flags & 1u) != 0u {
        acc += bias[co];
    }
    if (p.flags & 2u) != 0u {
        acc = relu_f32(acc);
    }
    dst[p.out_shift + idx] = acc;
}
