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

#[test]
fn every_file_in_shaders_is_registered() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/shaders");
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|f| f.ends_with(".wgsl"))
        .collect();
    files.sort();
    let mut registered: Vec<String> = Shader::ALL.iter().map(|s| s.label().to_string()).collect();
    registered.sort();
    assert_eq!(files, registered);
    let mirrored: std::collections::HashSet<_> =
        wgcnn::ops::uniform_mirrors().iter().map(|m| m.0).collect();
    for shader in Shader::ALL {
        assert!(
            mirrored.contains(&shader),
            "{} has no uniform mirror listed",
            shader.label()
        );
    }
}
