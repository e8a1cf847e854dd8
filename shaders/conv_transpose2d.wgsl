// conv_transpose2d.wgsl: transposed 2-D convolution, NCHW f32, as a gather: one
// invocation computes one output pixel for 4 output channels of one group. For each
// tap (ky, kx), the full (unpadded) output row oy + pad_h is reached from input row
// iy = (oy + pad_h - ky * dil_h) / stride_h when that division is exact and iy < h
// (likewise for columns); the value is multiplied by the 4 channels' weights
// [ci, m, ky, kx]. Channels past the group's last are clamped (so the tap loop has no
// branch on them) and not stored. Sums are two-level (per input channel, then in
// total); bias (FLAG_BIAS) is added at the end.
// grid: n * groups * blocks * oh * ow invocations (pixel fastest), spilled into y
// @binding(0) src    array<f32>            read        input images of the run, from in_shift
// @binding(1) weight array<f32>            read        [c_in, mg, kh, kw]
// @binding(2) bias   array<f32>            read        [c_out]
// @binding(3) dst    array<f32>            read_write  output images of the run, from out_shift
// @binding(4) params ConvTransposeParams   uniform (declared in src/kernels/conv_transpose2d.rs)

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> dst: array<f32>;
@group(0) @binding(4) var<uniform> params: ConvTransposeParams;

const WG: u32 = 64u;

@compute @workgroup_size(64)
fn conv_transpose2d(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let p = params;
    let idx = gid.x + gid.y * nwg.x * WG;
    if idx >= p.total {
        return;
    }
    let ohw = p.oh * p.ow;
    let pix = idx % ohw;
    let rest = idx / ohw;
    let blocks = p.groups * p.blocks;
    let block = rest % blocks;
    let image = rest / blocks;
    let g = block / p.blocks;
    let m0 = (block % p.blocks) * 4u;
    // the pixel's coordinates in the full output (before the padding is cut)
    let ty = pix / p.ow + p.pad_h;
    let tx = pix % p.ow + p.pad_w;
    let khw = p.kh * p.kw;
    // with dilation 1 only the taps k = t (mod stride) reach the pixel: start at the
    // first and step by the stride (other dilations try every tap)
    let ky0 = select(0u, ty % p.stride_h, p.dil_h == 1u);
    let ky_step = select(1u, p.stride_h, p.dil_h == 1u);
    let kx0 = select(0u, tx % p.stride_w, p.dil_w == 1u);
    let kx_step = select(1u, p.stride_w, p.dil_w == 1u);
    let last = p.mg - 1u;
    var acc = vec4<f32>(0.0);
    for (var c = 0u; c < p.cg; c++) {
        let ci = g * p.cg + c;
        let plane = p.in_shift + (image * p.c_in + ci) * p.h * p.w;
        // the 4 channels' filters for this input channel, clamped into the group
        let row = ci * p.mg;
        let r0 = (row + min(m0, last)) * khw;
        let r1 = (row + min(m0 + 1u, last)) * khw;
        let r2 = (row + min(m0 + 2u, last)) * khw;
        let r3 = (row + min(m0 + 3u, last)) * khw;
        var part = vec4<f32>(0.0);
        for (var ky = ky0; ky < p.kh; ky += ky_step) {
            let dy = ky * p.dil_h;
            // taps only grow with ky: none further reaches this row
            if dy > ty {
                break;
            }
            let sy = ty - dy;
            let iy = sy / p.stride_h;
            if iy * p.stride_h != sy || iy >= p.h {
                continue;
            }
            for (var kx = kx0; kx < p.kw; kx += kx_step) {
                let dx = kx * p.dil_w;
                if dx > tx {
                    break;
                }
                let sx = tx - dx;
                let ix = sx / p.stride_w;
                if ix * p.stride_w != sx || ix >= p.w {
                    continue;
                }
                let x = src[plane + iy * p.w + ix];
                let t = ky * p.kw + kx;
                part = fma(vec4<f32>(weight[r0 + t], weight[r1 + t], weight[r2 + t], weight[r3 + t]), vec4<f32>(x), part);
            }
        }
        acc += part;
    }
    let out = p.out_shift + (image * p.c_out + g * p.mg) * ohw + pix;
    for (var j = 0u; j < 4u; j++) {
        let m = m0 + j;
        if m >= p.mg {
            break;
        }
        var v = acc[j];
        if (p.flags & FLAG_BIAS) != 0u {
            v += bias[g * p.mg + m];
        }
        dst[out + m * ohw] = v;
    }
}
