//! Compile every `presets/*.toml` into the binary: a new experiment is one new file.

use std::fmt::Write;

fn main() {
    println!("cargo:rerun-if-changed=presets");
    let mut names: Vec<String> = std::fs::read_dir("presets")
        .expect("presets/ directory")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".toml"))
        .collect();
    names.sort();
    let mut out = String::from("pub const PRESETS: &[(&str, &str)] = &[\n");
    for n in names {
        let stem = n.trim_end_matches(".toml");
        writeln!(out, "    ({stem:?}, include_str!(concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/presets/{n}\"))),").unwrap();
    }
    out.push_str("];\n");
    let dest = std::path::Path::new(&std::env::var("OUT_DIR").unwrap()).join("presets.rs");
    std::fs::write(dest, out).unwrap();
}
