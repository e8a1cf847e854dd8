//! Every WGSL source as compiled (the declarations written in Rust, then the file)
//! parses and validates with naga, every entry point translates to SPIR-V, MSL, HLSL
//! and GLSL (what Vulkan, Metal, DX12 and GL users get), and every uniform struct has
//! its Rust type's size.

use wgcnn::kernels::shaders::Shader;

fn module(shader: Shader) -> naga::Module {
    naga::front::wgsl::parse_str(shader.source())
        .unwrap_or_else(|e| panic!("{}: {}", shader.label(), e.emit_to_string(shader.source())))
}

fn validated(shader: Shader) -> (naga::Module, naga::valid::ModuleInfo) {
    let m = module(shader);
    let info = naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::all(),
    )
    .validate(&m)
    .unwrap_or_else(|e| panic!("{}: {e:?}", shader.label()));
    (m, info)
}

#[test]
fn every_shader_parses_and_validates() {
    for &shader in Shader::ALL {
        let (m, _) = validated(shader);
        assert!(
            !m.entry_points.is_empty(),
            "{} has no entry point",
            shader.label()
        );
    }
}

/// Each entry point of each shader, its overrides at their defaults, through every
/// naga backend that a wgpu backend uses.
#[test]
fn every_entry_point_translates_to_spirv_msl_hlsl_and_glsl() {
    use naga::back::{glsl, hlsl, msl, spv};
    let mut failures = Vec::new();
    for &shader in Shader::ALL {
        let (m, info) = validated(shader);
        for ep in &m.entry_points {
            let stage = ep.stage;
            let name = ep.name.clone();
            let (m, info) = naga::back::pipeline_constants::process_overrides(
                &m,
                &info,
                Some((stage, &name)),
                &naga::back::PipelineConstants::default(),
            )
            .unwrap_or_else(|e| panic!("{} {name}: overrides: {e:?}", shader.label()));
            let spirv = spv::write_vec(
                &m,
                &info,
                &spv::Options::default(),
                Some(&spv::PipelineOptions {
                    shader_stage: stage,
                    entry_point: name.clone(),
                }),
            )
            .map(drop)
            .map_err(|e| format!("{e:?}"));
            let metal = msl::write_string(
                &m,
                &info,
                &msl::Options::default(),
                &msl::PipelineOptions {
                    entry_point: Some((stage, name.clone())),
                    ..msl::PipelineOptions::default()
                },
            )
            .map(drop)
            .map_err(|e| format!("{e:?}"));
            let hlsl_options = hlsl::Options::default();
            let hlsl_pipeline = hlsl::PipelineOptions {
                entry_point: Some((stage, name.clone())),
            };
            let mut out = String::new();
            let dx = hlsl::Writer::new(&mut out, &hlsl_options, &hlsl_pipeline)
                .write(&m, &info, None)
                .map(drop)
                .map_err(|e| format!("{e:?}"));
            let glsl_options = glsl::Options::default();
            let glsl_pipeline = glsl::PipelineOptions {
                shader_stage: stage,
                entry_point: name.clone(),
                multiview: None,
            };
            let mut out = String::new();
            let gl = glsl::Writer::new(
                &mut out,
                &m,
                &info,
                &glsl_options,
                &glsl_pipeline,
                naga::proc::BoundsCheckPolicies::default(),
            )
            .and_then(|mut w| w.write())
            .map(drop)
            .map_err(|e| format!("{e:?}"));
            for (backend, result) in [("spirv", spirv), ("msl", metal), ("hlsl", dx), ("glsl", gl)]
            {
                if let Err(e) = result {
                    failures.push(format!("{} {name} -> {backend}: {e}", shader.label()));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn uniform_structs_have_their_rust_size() {
    for &shader in Shader::ALL {
        let m = module(shader);
        for (name, size) in shader.uniforms() {
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
}

#[test]
fn every_file_in_shaders_is_registered_and_declares_no_uniform_of_its_own() {
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
    for &shader in Shader::ALL {
        assert!(
            !shader.uniforms().is_empty(),
            "{} has no uniform declared in Rust",
            shader.label()
        );
        for (name, _) in shader.uniforms() {
            assert!(
                !shader.file().contains(&format!("struct {name} ")),
                "{} declares {name} itself: it is written from Rust",
                shader.label()
            );
        }
    }
}
