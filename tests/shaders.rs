//! Every WGSL file parses and validates with naga on the CPU, and every uniform struct
//! has the size of its Rust mirror.

use wgcnn::shaders::Shader;

fn module(shader: Shader) -> naga::Module {
    naga::front::wgsl::parse_str(shader.source())
        .unwrap_or_else(|e| panic!("{}: {}", shader.label(), e.emit_to_string(shader.source())))
}

#[test]
fn every_shader_parses_and_validates() {
    for shader in Shader::ALL {
        let m = module(shader);
        naga::valid::Validator::new(
            naga::valid::ValidationFlags::all(),
            naga::valid::Capabilities::all(),
        )
        .validate(&m)
        .unwrap_or_else(|e| panic!("{}: {e:?}", shader.label()));
        assert!(
            !m.entry_points.is_empty(),
            "{} has no entry point",
            shader.label()
        );
    }
}

#[test]
fn uniform_mirrors_have_the_shader_struct_size() {
    for (shader, name, size) in wgcnn::ops::uniform_mirrors() {
        let m = module(shader);
        let span = m
            .types
            .iter()
            .find_map(|(_, ty)| match (&ty.name, &ty.inner) {
                (Some(n), naga::TypeInner::Struct { span, .. }) if n == name => Some(*span),
                _ => None,
            })
            .unwrap_or_else(|| panic!("{}: no struct {name}", shader.label()));
        assert_eq!(span as usize, size, "{}: {name}", shader.label());
        assert_eq!(
            size % 16,
            0,
            "{name}: uniform size must be a multiple of 16"
        );
    }
}
