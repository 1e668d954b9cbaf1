//! Embeds every `locales/<lang>/*.ftl` file: writes `$OUT_DIR/locales.rs`, a table of
//! `(lang, file name, include_str!(path))`, so a new `.ftl` file needs no change to the code.

use std::fmt::Write as _;
use std::path::Path;
use std::{env, fs};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = Path::new(&env::var("CARGO_MANIFEST_DIR")?).join("locales");
    // A directory makes cargo rerun this script when any file under it changes, is added or removed.
    println!("cargo::rerun-if-changed={}", root.display());
    let mut files = Vec::new();
    for lang in fs::read_dir(&root)? {
        let lang = lang?.path();
        if !lang.is_dir() {
            continue;
        }
        let Some(code) = lang.file_name().and_then(|n| n.to_str()).map(str::to_owned) else {
            continue;
        };
        for file in fs::read_dir(&lang)? {
            let path = file?.path();
            if path.extension().and_then(|e| e.to_str()) == Some("ftl") {
                let name = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or_default()
                    .to_owned();
                files.push((code.clone(), name, path));
            }
        }
    }
    // Sorted, so the build is reproducible whatever order the file system lists.
    files.sort();
    let mut out = String::from("pub(crate) static FILES: &[(&str, &str, &str)] = &[\n");
    for (lang, name, path) in files {
        writeln!(
            out,
            "    ({lang:?}, {name:?}, include_str!({:?})),",
            path.display().to_string()
        )?;
    }
    out.push_str("];\n");
    fs::write(Path::new(&env::var("OUT_DIR")?).join("locales.rs"), out)?;
    Ok(())
}
