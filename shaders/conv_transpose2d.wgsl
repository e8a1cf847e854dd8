// conv_transpose2d.wgsl: transposed 2-D convolution, NCHW f32, as a gather.
// pack_weights:     repacks the weights [c_in, mg, kh, kw] as vec4s of 4 neighbouring
//                   output channels, [c_in, kh * kw, blocks] (channels past mg zero),
//                   so that a tap's weights for 4 channels are one load.
//                   grid: c_in * kh * kw * blocks invocations, spilled into y
// conv_transpose2d: one invocation computes one output pixel for NB blocks of 4 output
//                   channels of one group. For each tap (ky, kx), the full (unpadded)
//                   output row oy + pad_h is reached from input row
//                   iy = (oy + pad_h - ky * dil_h) / stride_h when that division is
//                   exact and iy < h (likewise for columns); with dilation 1 only every
//                   stride-th tap can be, and only those are visited. Blocks past the
//                   group's last are clamped (so the tap loop has no branch on them)
//                   and not stored. Sums are two-level (per input channel, then in
//                   total); bias (FLAG_BIAS) is added at the end.
//                   grid: n * groups * ceil(blocks / NB) * oh * ow invocations (pixel
//                   fastest), spilled into y
// @binding(0) src    array<f32>            read        input images of the run, from in_shift
// @binding(1) weight array<f32>            read        [c_in, mg, kh, kw] (pack_weights)
// @binding(2) bias   array<f32>            read        [c_out]
// @binding(3) dst    array<f32>            read_write  output images of the run, from out_shift
// @binding(4) params ConvTransposeParams   uniform (declared in src/kernels/conv_transpose2d.rs)
// @binding(5) wpack  array<vec4<f32>>      read        packed weights (conv_transpose2d)
// @binding(6) wpack_out array<vec4<f32>>   read_write  packed weights (pack_weights)

//#data 0 src read
//#data 1 weight read
//#data 2 bias read
//#data 3 dst read_write
@group(0) @binding(4) var<uniform> params: ConvTransposeParams;
@group(0) @binding(5) var<storage, read> wpack: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> wpack_out: array<vec4<f32>>;

const WG: u32 = 64u;

// Blocks of 4 output channels per invocation: 1, 2 or 4.
override NB: u32 = 4u;

//#entry flat pack_weights 64 pack_weights_at

fn pack_weights_at(idx: u32) {
    let p = params;
    let khw = p.kh * p.kw;
    let b = idx % p.blocks;
    let t = (idx / p.blocks) % khw;
    let ci = idx / (p.blocks * khw);
    var v = vec4<f32>(0.0);
    for (var j = 0u; j < 4u; j++) {
        let m = b * 4u + j;
        if m < p.mg {
            v[j] = load_weight((ci * p.mg + m) * khw + t);
        }
    }
    wpack_out[idx] = v;
}

fn store(image: u32, g: u32, b: u32, pix: u32, acc: vec4<f32>) {
    let p = params;
    if b >= p.blocks {
        return;
    }
    let ohw = p.oh * p.ow;
    for (var j = 0u; j < 4u; j++) {
        let m = b * 4u + j;
        if m >= p.mg {
            return;
        }
        let co = g * p.mg + m;
        var v = acc[j];
        if (p.flags & FLAG_BIAS) != 0u {
            v += load_bias(co);
        }
        store_dst(p.out_shift + (image * p.c_out + co) * ohw + pix, v);
    }
}

//#entry flat conv_transpose2d 64 conv_transpose2d_at

fn conv_transpose2d_at(idx: u32) {
    let p = params;
    let ohw = p.oh * p.ow;
    let pix = idx % ohw;
    let rest = idx / ohw;
    let per_group = (p.blocks + NB - 1u) / NB;
    let slot = rest % (p.groups * per_group);
    let image = rest / (p.groups * per_group);
    let g = slot / per_group;
    let b0 = (slot % per_group) * NB;
    // the invocation's blocks, clamped to the last
    let last = p.blocks - 1u;
    let o1 = min(b0 + 1u, last) - b0;
    let o2 = min(b0 + 2u, last) - b0;
    let o3 = min(b0 + 3u, last) - b0;
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
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);
    for (var c = 0u; c < p.cg; c++) {
        let ci = g * p.cg + c;
        let plane = p.in_shift + (image * p.c_in + ci) * p.h * p.w;
        let wrow = ci * khw;
        var part0 = vec4<f32>(0.0);
        var part1 = vec4<f32>(0.0);
        var part2 = vec4<f32>(0.0);
        var part3 = vec4<f32>(0.0);
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
                let xv = vec4<f32>(load_src(plane + iy * p.w + ix));
                let wi = (wrow + ky * p.kw + kx) * p.blocks + b0;
                part0 = fma(wpack[wi], xv, part0);
                if NB > 1u {
                    part1 = fma(wpack[wi + o1], xv, part1);
                }
                if NB > 2u {
                    part2 = fma(wpack[wi + o2], xv, part2);
                    part3 = fma(wpack[wi + o3], xv, part3);
                }
            }
        }
        acc0 += part0;
        acc1 += part1;
        acc2 += part2;
        acc3 += part3;
    }
    store(image, g, b0, pix, acc0);
    if NB > 1u {
        store(image, g, b0 + 1u, pix, acc1);
    }
    if NB > 2u {
        store(image, g, b0 + 2u, pix, acc2);
        store(image, g, b0 + 3u, pix, acc3);
    }
}
