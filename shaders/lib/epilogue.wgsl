// The epilogue of every kernel that ends a convolution or a product, in the order the
// separate ops would run: the bias (FLAG_BIAS of the shader's `params.flags`), then a
// residual tensor of the output's shape (RESIDUAL: read at the output's own index from
// binding 20, which the launcher binds over the output's window, or over a stand-in
// that is never read), then the activation ACT: 0 none, 1 relu, 2 relu6 (clamp to
// [0, 6]), 3 hardswish, 4 silu (x * sigmoid(x)), each computed as its elementwise op
// computes it, NaN passed through, so a fused call gives the unfused ops' numbers.
// ACT and RESIDUAL are fixed per pipeline, so a kernel carries only its own epilogue.
// Needs math.wgsl and activation.wgsl.

override ACT: u32 = 0u;
override RESIDUAL: u32 = 0u;

//#data 20 residual read

fn activate(v: f32) -> f32 {
    var r = v;
    switch ACT {
        case 1u: {
            return relu_f32(v);
        }
        case 2u: {
            r = clampf(v, 0.0, 6.0);
        }
        case 3u: {
            r = hardswish(v);
        }
        case 4u: {
            // Mul(x, Sigmoid(x)): the sigmoid passes NaN through, as its kernel does
            r = v * select(sigmoid(v), v, is_nan(v));
        }
        default: {}
    }
    return select(r, v, is_nan(v));
}

// The finished output at `at` of a sum `v` whose output channel's bias is `bias_v`
// (read by the caller; used only with FLAG_BIAS in `flags`).
fn epilogue(v: f32, bias_v: f32, at: u32, flags: u32) -> f32 {
    var r = v;
    if (flags & FLAG_BIAS) != 0u {
        r += bias_v;
    }
    if RESIDUAL != 0u {
        r += load_residual(at);
    }
    return activate(r);
}

// epilogue of 4 neighbouring outputs of one channel, from `at` on.
fn epilogue4(v: vec4<f32>, bias_v: f32, at: u32, flags: u32) -> vec4<f32> {
    return vec4<f32>(
        epilogue(v.x, bias_v, at, flags),
        epilogue(v.y, bias_v, at + 1u, flags),
        epilogue(v.z, bias_v, at + 2u, flags),
        epilogue(v.w, bias_v, at + 3u, flags),
    );
}
