// elementwise.wgsl: the unary activations, the broadcast binary arithmetic ops and
// inference batch_norm, NCHW f32. One invocation per element (unary, binary,
// batch_norm) or per vec4 (unary4, binary4: same-shape operands, length a multiple
// of 4; binary4b: broadcast operands walking a multiple-of-4 innermost dim with
// stride 1 or 0; batch_norm4: planes of a multiple of 4). The launchers walk tensors in chunks that fit one storage binding.
// Every unary op passes a NaN input through (tested on the bits: WGSL lets a
// compiler assume no NaN in float comparisons); exp is computed here (Cephes' expf)
// so sigmoid and tanh are accurate to a few ulp on every driver and never overflow.
// @binding(0)  x      array<f32>        read        unary input, binary a, batch_norm input
// @binding(1)  y      array<f32>        read        binary b
// @binding(2)  dst    array<f32>        read_write
// @binding(3)  x4     array<vec4<f32>>  read
// @binding(4)  y4     array<vec4<f32>>  read
// @binding(5)  dst4   array<vec4<f32>>  read_write
// @binding(6)  uparams UnaryParams      uniform (declared in src/kernels/elementwise.rs)
// @binding(7)  bparams BinaryParams     uniform
// @binding(8)  nparams BatchNormParams  uniform
// @binding(9)  mean   array<f32>        read [c]
// @binding(10) var_   array<f32>        read [c]
// @binding(11) weight array<f32>        read [c] (mean's buffer when absent)
// @binding(12) bias   array<f32>        read [c] (mean's buffer when absent)

//#data 0 x read
//#data 1 y read
//#data 2 dst read_write
//#data 3 x4 read vec4
//#data 4 y4 read vec4
//#data 5 dst4 read_write vec4
@group(0) @binding(6) var<uniform> uparams: UnaryParams;
@group(0) @binding(7) var<uniform> bparams: BinaryParams;
@group(0) @binding(8) var<uniform> nparams: BatchNormParams;
//#data 9 mean read
//#data 10 var_ read
//#data 11 weight read
//#data 12 bias read

const WG: u32 = 256u;

// Linear invocation id; the grid spills past 65535 workgroups into y.
fn linear_id(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.x + gid.y * nwg.x * WG;
}

fn tanh_(v: f32) -> f32 {
    let a = abs(v);
    if a < 0.625 {
        // Cephes' tanhf polynomial: no cancellation near 0; tanh(-0.0) is -0.0
        let z = v * v;
        let p = ((((-5.70498872745e-3 * z + 2.06390887954e-2) * z - 5.37397155531e-2) * z
            + 1.33314422036e-1) * z - 3.33332819422e-1) * z * v + v;
        return select(p, v, v == 0.0);
    }
    let t = exp_neg(-2.0 * a);
    let r = (1.0 - t) / (1.0 + t);
    return select(r, -r, v < 0.0);
}

fn unary_op(v: f32) -> f32 {
    let p = uparams;
    var r: f32;
    switch p.op {
        case OP_LEAKY_RELU: {
            r = select(v * p.alpha, v, v > 0.0);
        }
        case OP_CLAMP: {
            r = clampf(v, p.alpha, p.beta);
        }
        case OP_SIGMOID: {
            r = sigmoid(v);
        }
        case OP_HARDSIGMOID: {
            r = clampf(p.alpha * v + p.beta, 0.0, 1.0);
        }
        case OP_HARDSWISH: {
            r = hardswish(v);
        }
        case OP_TANH: {
            r = tanh_(v);
        }
        default: {
            r = v;
        }
    }
    return select(r, v, is_nan(v));
}

@compute @workgroup_size(256)
fn unary(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if i < uparams.len {
        store_dst(i, unary_op(load_x(i)));
    }
}

@compute @workgroup_size(256)
fn unary4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if i < uparams.len {
        let v = load_x4(i);
        store_dst4(i, vec4<f32>(unary_op(v.x), unary_op(v.y), unary_op(v.z), unary_op(v.w)));
    }
}

fn binary_op4(a: vec4<f32>, b: vec4<f32>) -> vec4<f32> {
    switch bparams.op {
        case OP_ADD: {
            return a + b;
        }
        case OP_SUB: {
            return a - b;
        }
        case OP_MUL: {
            return a * b;
        }
        default: {
            return a / b;
        }
    }
}

fn binary_op(a: f32, b: f32) -> f32 {
    return binary_op4(vec4<f32>(a), vec4<f32>(b)).x;
}

// The flat index into each operand of broadcast output `o`: its coordinates,
// innermost dim last (shape5), each times the operand's stride (0 where broadcast).
fn broadcast_source(o: u32) -> vec2<u32> {
    let p = bparams;
    var rem = o;
    var ia = 0u;
    var ib = 0u;
//#for d in 5 4 3 2 1
    let c{d} = rem % p.shape{d};
    rem = rem / p.shape{d};
    ia += c{d} * p.a_stride{d};
    ib += c{d} * p.b_stride{d};
//#end
    // the outermost dim takes what is left
    ia += rem * p.a_stride0;
    ib += rem * p.b_stride0;
    return vec2<u32>(ia - p.a_base, ib - p.b_base);
}

@compute @workgroup_size(256)
fn binary(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let p = bparams;
    let i = linear_id(gid, nwg);
    if i >= p.len {
        return;
    }
    let at = broadcast_source(p.start + i);
    store_dst(p.out_shift + i, binary_op(load_x(at.x), load_y(at.y)));
}

// Broadcast operands whose innermost dim (a multiple of 4) each walks with stride 1
// (read as a vec4) or 0 (one value, splat): 4 outputs per invocation.
@compute @workgroup_size(256)
fn binary4b(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let p = bparams;
    let i = linear_id(gid, nwg);
    if i >= p.len {
        return;
    }
    let at = broadcast_source(p.start + 4u * i);
    var a = vec4<f32>(load_x(at.x));
    if p.a_stride5 == 1u {
        a = load_x4(at.x / 4u);
    }
    var b = vec4<f32>(load_y(at.y));
    if p.b_stride5 == 1u {
        b = load_y4(at.y / 4u);
    }
    store_dst4((p.out_shift / 4u) + i, binary_op4(a, b));
}

// Same-shape operands, 4 elements per invocation.
@compute @workgroup_size(256)
fn binary4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if i < bparams.len {
        store_dst4(i, binary_op4(load_x4(i), load_y4(i)));
    }
}

// Inference batch_norm as PyTorch computes it: alpha = weight / sqrt(var + eps),
// beta = bias - mean * alpha, y = x * alpha + beta.
fn affine(ch: u32) -> vec2<f32> {
    let p = nparams;
    var alpha = 1.0 / sqrt(load_var_(ch) + p.eps);
    if (p.flags & FLAG_WEIGHT) != 0u {
        alpha = alpha * load_weight(ch);
    }
    var beta = -load_mean(ch) * alpha;
    if (p.flags & FLAG_BIAS) != 0u {
        beta = load_bias(ch) + beta;
    }
    return vec2<f32>(alpha, beta);
}

@compute @workgroup_size(256)
fn batch_norm(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let p = nparams;
    let i = linear_id(gid, nwg);
    if i >= p.len {
        return;
    }
    let t = affine(((p.start + i) / p.inner) % p.c);
    store_dst(i, load_x(i) * t.x + t.y);
}

// batch_norm with inner % 4 == 0: 4 elements of one channel per invocation.
@compute @workgroup_size(256)
fn batch_norm4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let p = nparams;
    let i = linear_id(gid, nwg);
    if i >= p.len {
        return;
    }
    let t = affine(((p.start + 4u * i) / p.inner) % p.c);
    store_dst4(i, load_x4(i) * t.x + t.y);
}
