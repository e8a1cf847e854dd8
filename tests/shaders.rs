//! Every WGSL source as compiled (the declarations written in Rust, then the file)
//! parses and validates with naga, every entry point translates to SPIR-V, MSL, HLSL
//! and GLSL (what Vulkan, Metal, DX12 and GL users get), and every uniform struct has
//! its Rust type's size.

use wgcnn::dtype::Elem;
use wgcnn::kernels::shaders::Shader;

/// Every shader in every element form: (label, form, source).
fn forms() -> impl Iterator<Item = (&'static str, Elem, &'static str)> {
    Shader::ALL.iter().flat_map(|&s| {
        Elem::ALL
            .into_iter()
            .map(move |e| (s.label_for(e), e, s.source_for(e)))
    })
}

fn validated(label: &str, source: &str) -> (naga::Module, naga::valid::ModuleInfo) {
    let m = naga::front::wgsl::parse_str(source)
        .unwrap_or_else(|e| panic!("{label}: {}", e.emit_to_string(source)));
    let info = naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::all(),
    )
    .validate(&m)
    .unwrap_or_else(|e| panic!("{label}: {e:?}"));
    (m, info)
}

#[test]
fn every_shader_parses_and_validates_in_every_element_form() {
    for (label, _, source) in forms() {
        let (m, _) = validated(label, source);
        assert!(!m.entry_points.is_empty(), "{label} has no entry point");
    }
}

#[test]
fn only_the_native_f16_form_of_a_shader_uses_f16() {
    for &shader in Shader::ALL {
        let source = shader.source_for(Elem::F32);
        assert_eq!(source, shader.source());
        let packed = shader.source_for(Elem::F16Packed);
        for (form, source) in [("f32", source), ("packed f16", packed)] {
            // no identifier `f16` in the code (its comments aside)
            let uses = source.lines().any(|l| {
                l.split("//")
                    .next()
                    .unwrap_or("")
                    .split(|c: char| !c.is_alphanumeric() && c != '_')
                    .any(|word| word == "f16")
            });
            assert!(!uses, "the {form} form of {} uses f16", shader.label());
        }
        assert!(shader.source_for(Elem::F16).starts_with("enable f16;"));
    }
}

/// Each entry point of each shader in each element form, its overrides at their
/// defaults, through every naga backend that a wgpu backend uses (GLSL but for native
/// f16, which a GL device never runs: it has no `SHADER_F16`).
#[test]
fn every_entry_point_translates_to_spirv_msl_hlsl_and_glsl() {
    use naga::back::{glsl, hlsl, msl, spv};
    let mut failures = Vec::new();
    for (label, elem, source) in forms() {
        let (m, info) = validated(label, source);
        for ep in &m.entry_points {
            let stage = ep.stage;
            let name = ep.name.clone();
            let (m, info) = naga::back::pipeline_constants::process_overrides(
                &m,
                &info,
                Some((stage, &name)),
                &naga::back::PipelineConstants::default(),
            )
            .unwrap_or_else(|e| panic!("{label} {name}: overrides: {e:?}"));
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
                if backend == "glsl" && elem == Elem::F16 {
                    continue;
                }
                if let Err(e) = result {
                    failures.push(format!("{label} {name} -> {backend}: {e}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn uniform_structs_have_their_rust_size() {
    for &shader in Shader::ALL {
        let (m, _) = validated(shader.label(), shader.source());
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
