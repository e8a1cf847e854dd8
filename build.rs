//! Embeds tests/fixtures/*.safetensors into the binary, for `wgcnn check` with no path.

use std::fmt::Write;
use std::path::Path;

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "safetensors"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    let mut src = String::from(
        "/// (file stem, bytes) of every built-in fixture.\npub static BUILTIN: &[(&str, &[u8])] = &[\n",
    );
    for f in &files {
        let stem = f.file_stem().unwrap().to_string_lossy();
        writeln!(
            src,
            "    ({stem:?}, include_bytes!({:?})),",
            f.display().to_string()
        )
        .unwrap();
    }
    src.push_str("];\n");
    let out = Path::new(&std::env::var("OUT_DIR").unwrap()).join("builtin_fixtures.rs");
    std::fs::write(out, src).unwrap();
}
