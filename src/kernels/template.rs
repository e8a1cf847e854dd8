//! The directives of the WGSL sources, carried out when a source is composed. `//#for`:
//! a loop unrolled, so that a kernel that must keep its sums in named registers (on a
//! CPU driver a dynamically indexed array lives in memory, one lane at a time) is
//! written once rather than as 32 copies of a line.
//!
//! ```text
//! //#for j in 0..8
//! //#for c in x y z w
//!     a{j}{c} = fma(vec4<f32>(w{j}.{c}), v0, a{j}{c});
//! //#end
//! //#end
//! ```
//!
//! `//#for VAR in A..B` repeats the lines up to its `//#end` for the integers `A` to
//! `B - 1`, `//#for VAR in WORD WORD ..` for each word, and `//#for A,B in 16,4 32,8`
//! for each pair (a value for each variable, side by side); inside, `{VAR}` is the value and
//! `{#VAR}` its position (from 0), in the lines and in the heads of inner loops. Loops
//! nest. Lines outside a loop pass through as they are, so a source without directives
//! is unchanged.
//!
//! `//#data BINDING NAME read|read_write [vec2|vec4]` declares a storage binding of
//! tensor elements, and the functions a kernel reads and writes it through, always in
//! f32: `load_NAME(i)` and (read_write) `store_NAME(i, v)`, of scalars or vectors. How
//! they hold the elements is the source's [`Elem`]: `array<f32>`, `array<f16>`
//! (widened on load, rounded on the bits before each store, since WGSL leaves an f32's
//! rounding to f16 to the implementation), or f16 packed two to a u32 (converted on the
//! bits by `shaders/lib/half.wgsl`, the same on every implementation; a vec2 is a u32,
//! a vec4 a `vec2<u32>`, and a scalar store sets its half of the u32 with two atomics,
//! so that the invocations writing its two halves do not race). So one source is the
//! kernel for every element type.
//!
//! `//#entry flat NAME SIZE BODY [UNIFORM]` writes the entry point NAME of a 1-D grid of
//! SIZE-invocation workgroups (a number, or an override constant) spilled into y: it
//! calls `BODY(i)` for the invocation's index `i` below `UNIFORM.total` (`params` unless
//! given). `//#entry pixels NAME BODY` writes one of an (8, 32, 1) grid of columns, rows
//! and planes: it calls `BODY(gid)` for the columns below `params.ow` and the rows below
//! `params.rows`. So an entry point's bounds test is written once, here.

use crate::dtype::Elem;

/// `source` in the element form `elem`: every `//#data` binding declared, every
/// `//#for` loop unrolled, and `enable f16;` first where the form loads f16.
pub(crate) fn compose(source: &str, elem: Elem) -> String {
    let mut out = String::with_capacity(source.len() + 1024);
    if elem == Elem::F16 {
        out.push_str("enable f16;\n");
    }
    // the f16 forms convert to f16 on the bits, the same on every implementation
    if elem != Elem::F32 && source.contains("//#data ") {
        out.push_str(include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/shaders/lib/half.wgsl"
        )));
    }
    for line in source.lines() {
        let directive = line.trim_start();
        if let Some(spec) = directive.strip_prefix("//#data ") {
            out.push_str(&data_binding(spec, elem));
        } else if let Some(spec) = directive.strip_prefix("//#entry ") {
            out.push_str(&entry_point(spec));
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    expand(&out)
}

/// The entry point of `//#entry flat NAME SIZE BODY [UNIFORM]` or
/// `//#entry pixels NAME BODY`.
///
/// # Panics
/// On a malformed directive (the sources are the crate's own).
fn entry_point(spec: &str) -> String {
    let words: Vec<&str> = spec.split_whitespace().collect();
    match words[..] {
        ["flat", name, size, body, ref uniform @ ..] if uniform.len() <= 1 => {
            let uniform = uniform.first().unwrap_or(&"params");
            // a number is a u32 literal; otherwise an override constant, a u32
            let factor = match size.parse::<u32>() {
                Ok(n) => format!("{n}u"),
                Err(_) => size.to_string(),
            };
            format!(
                "@compute @workgroup_size({size})\n\
                 fn {name}(@builtin(global_invocation_id) gid: vec3<u32>, \
                 @builtin(num_workgroups) nwg: vec3<u32>) {{\n\
                 \x20   let i = gid.x + gid.y * nwg.x * {factor};\n\
                 \x20   if i < {uniform}.total {{\n\
                 \x20       {body}(i);\n\
                 \x20   }}\n\
                 }}\n"
            )
        }
        ["pixels", name, body] => format!(
            "@compute @workgroup_size(8, 32, 1)\n\
             fn {name}(@builtin(global_invocation_id) gid: vec3<u32>) {{\n\
             \x20   if gid.x < params.ow && gid.y < params.rows {{\n\
             \x20       {body}(gid);\n\
             \x20   }}\n\
             }}\n"
        ),
        _ => panic!(
            "//#entry {spec}: expected `flat NAME SIZE BODY [UNIFORM]` or `pixels NAME BODY`"
        ),
    }
}

/// The declaration and accessors of `//#data BINDING NAME ACCESS [vec4]`.
///
/// # Panics
/// On a malformed directive (the sources are the crate's own).
fn data_binding(spec: &str, elem: Elem) -> String {
    let words: Vec<&str> = spec.split_whitespace().collect();
    let (binding, name, access, width) = match words.as_slice() {
        [b, n, a] => (*b, *n, *a, 1),
        [b, n, a, "vec2"] => (*b, *n, *a, 2),
        [b, n, a, "vec4"] => (*b, *n, *a, 4),
        _ => panic!("//#data {spec}: expected `BINDING NAME read|read_write [vec2|vec4]`"),
    };
    let write = match access {
        "read" => false,
        "read_write" => true,
        _ => panic!("//#data {spec}: the access is read or read_write"),
    };
    let vec = |t: &str| match width {
        1 => t.to_string(),
        w => format!("vec{w}<{t}>"),
    };
    let ty = vec("f32");
    // (storage element, load expression, store statement) in `i` and `v`
    let (stored, load, store) = match (elem, width, write) {
        (Elem::F32, ..) => (ty.clone(), format!("{name}[i]"), format!("{name}[i] = v;")),
        // stores through half_value: WGSL leaves f32 -> f16's rounding, and values
        // past 65504, to the implementation
        (Elem::F16, ..) => {
            let lanes: Vec<String> = match width {
                1 => vec!["half_value(v)".into()],
                w => "xyzw"[..w]
                    .chars()
                    .map(|c| format!("half_value(v.{c})"))
                    .collect(),
            };
            let store = format!("{name}[i] = {}({ty}({}));", vec("f16"), lanes.join(", "));
            (vec("f16"), format!("{ty}({name}[i])"), store)
        }
        (Elem::F16Packed, 4, _) => (
            "vec2<u32>".into(),
            format!("vec4<f32>(unpack_half2({name}[i].x), unpack_half2({name}[i].y))"),
            format!("{name}[i] = vec2<u32>(pack_half2(v.xy), pack_half2(v.zw));"),
        ),
        (Elem::F16Packed, 2, _) => (
            "u32".into(),
            format!("unpack_half2({name}[i])"),
            format!("{name}[i] = pack_half2(v);"),
        ),
        (Elem::F16Packed, _, false) => (
            "u32".into(),
            format!("unpack_half2({name}[i >> 1u])[i & 1u]"),
            String::new(),
        ),
        (Elem::F16Packed, _, true) => (
            "atomic<u32>".into(),
            format!("unpack_half2(atomicLoad(&{name}[i >> 1u]))[i & 1u]"),
            format!(
                "let s = (i & 1u) * 16u;\n    \
                 atomicAnd(&{name}[i >> 1u], ~(0xffffu << s));\n    \
                 atomicOr(&{name}[i >> 1u], half_bits(bitcast<u32>(v)) << s);"
            ),
        ),
    };
    let mut out = format!(
        "@group(0) @binding({binding}) var<storage, {access}> {name}: array<{stored}>;\n\
         fn load_{name}(i: u32) -> {ty} {{\n    return {load};\n}}\n"
    );
    if write {
        out.push_str(&format!(
            "fn store_{name}(i: u32, v: {ty}) {{\n    {store}\n}}\n"
        ));
    }
    out
}

/// `source` with every `//#for` loop unrolled.
///
/// # Panics
/// On a malformed directive or an unbalanced `//#end`: the sources are the crate's
/// own, and `tests/shaders.rs` expands every one of them.
pub(crate) fn expand(source: &str) -> String {
    if !source.contains("//#") {
        return source.to_string();
    }
    let lines: Vec<&str> = source.lines().collect();
    let mut out = String::with_capacity(source.len() * 2);
    let end = expand_lines(&lines, &[], &mut out);
    assert_eq!(end, lines.len(), "an //#end without its //#for");
    out
}

/// Expands `lines` from the start up to an unmatched `//#end` (or the end), with the
/// enclosing loops' bindings, into `out`; returns how many lines it consumed (not
/// counting that `//#end`).
fn expand_lines(lines: &[&str], bound: &[(String, String, usize)], out: &mut String) -> usize {
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let directive = line.trim_start();
        if directive.starts_with("//#end") {
            return i;
        }
        if let Some(head) = directive.strip_prefix("//#for ") {
            let (vars, values) = parse_for(&substitute(head, bound));
            let body = &lines[i + 1..];
            let mut used = 0;
            for (k, value) in values.iter().enumerate() {
                let mut inner = bound.to_vec();
                let parts: Vec<&str> = value.split(',').collect();
                assert_eq!(
                    parts.len(),
                    vars.len(),
                    "//#for {head}: '{value}' does not give every variable a value"
                );
                for (var, part) in vars.iter().zip(parts) {
                    inner.push((var.clone(), part.to_string(), k));
                }
                used = expand_lines(body, &inner, out);
            }
            if values.is_empty() {
                used = expand_lines(body, bound, &mut String::new());
            }
            assert!(used < body.len(), "//#for {head} has no //#end");
            i += used + 2;
            continue;
        }
        assert!(
            !directive.starts_with("//#"),
            "unknown directive: {directive}"
        );
        out.push_str(&substitute(line, bound));
        out.push('\n');
        i += 1;
    }
    i
}

/// The variables and the values of `VAR in A..B`, `VAR in WORD WORD ..` or
/// `VAR,VAR in WORD,WORD WORD,WORD ..` (a value for each variable, side by side).
fn parse_for(head: &str) -> (Vec<String>, Vec<String>) {
    let (var, range) = head
        .split_once(" in ")
        .unwrap_or_else(|| panic!("//#for {head}: expected `VAR in ..`"));
    let range = range.trim();
    let values = match range.split_once("..") {
        Some((a, b)) => {
            let bound = |s: &str| -> usize {
                s.trim()
                    .parse()
                    .unwrap_or_else(|_| panic!("//#for {head}: bounds must be integers"))
            };
            (bound(a)..bound(b)).map(|v| v.to_string()).collect()
        }
        None => range.split_whitespace().map(str::to_string).collect(),
    };
    let vars = var.split(',').map(|v| v.trim().to_string()).collect();
    (vars, values)
}

/// `line` with `{VAR}` and `{#VAR}` of every bound variable replaced.
fn substitute(line: &str, bound: &[(String, String, usize)]) -> String {
    let mut line = line.to_string();
    for (var, value, index) in bound.iter().rev() {
        line = line
            .replace(&format!("{{{var}}}"), value)
            .replace(&format!("{{#{var}}}"), &index.to_string());
    }
    line
}

#[cfg(test)]
mod tests {
    use super::expand;

    #[test]
    fn a_source_without_directives_is_unchanged() {
        let src = "fn f() -> f32 {\n    return 1.0;\n}\n";
        assert_eq!(expand(src), src);
    }

    #[test]
    fn loops_unroll_nested_with_values_and_positions() {
        let src = "a\n  //#for j in 0..2\n  //#for c in x y\n  s{j}{c} = w{j}.{c} + {#c};\n  //#end\n  //#end\nb\n";
        assert_eq!(
            expand(src),
            "a\n  s0x = w0.x + 0;\n  s0y = w0.y + 1;\n  s1x = w1.x + 0;\n  s1y = w1.y + 1;\nb\n"
        );
    }

    #[test]
    fn an_inner_loop_takes_its_bounds_from_an_outer_one() {
        let src = "//#for n in 1 2\n//#for i in 0..{n}\nv{n}_{i}\n//#end\n//#end\n";
        assert_eq!(expand(src), "v1_0\nv2_0\nv2_1\n");
    }

    #[test]
    fn variables_side_by_side_take_their_values_together() {
        let src = "//#for R,W in 16,4 32,8\nf{R}: {W} at {#R}\n//#end\n";
        assert_eq!(expand(src), "f16: 4 at 0\nf32: 8 at 1\n");
    }

    #[test]
    fn an_empty_range_writes_nothing() {
        assert_eq!(expand("//#for i in 0..0\nx{i}\n//#end\ny\n"), "y\n");
    }

    #[test]
    #[should_panic(expected = "no //#end")]
    fn a_loop_without_its_end_is_refused() {
        expand("//#for i in 0..2\nx{i}\n");
    }

    #[test]
    #[should_panic(expected = "without its //#for")]
    fn an_end_without_its_loop_is_refused() {
        expand("x\n//#end\n");
    }
}
