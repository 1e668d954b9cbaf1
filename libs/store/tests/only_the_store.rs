//! The store is the only code that speaks to Redis: no production source outside `libs/store`
//! (services and libraries; tests, benchmarks and the test kit aside) reaches for the raw
//! connection or the `redis` crate.

use std::path::{Path, PathBuf};

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn no_production_code_outside_the_store_speaks_to_redis() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files = Vec::new();
    for group in ["services", "libs"] {
        let Ok(crates) = std::fs::read_dir(root.join(group)) else {
            continue;
        };
        for c in crates.flatten() {
            let name = c.file_name();
            if name == "store" || name == "testkit" {
                continue;
            }
            sources(&c.path().join("src"), &mut files);
        }
    }
    assert!(
        !files.is_empty(),
        "no sources found under {}",
        root.display()
    );
    let offenders: Vec<String> = files
        .iter()
        .filter(|f| {
            let text = std::fs::read_to_string(f).unwrap_or_default();
            text.contains(".conn()") || text.contains("redis::")
        })
        .map(|f| f.display().to_string())
        .collect();
    assert!(
        offenders.is_empty(),
        "these call Redis directly instead of a store function: {offenders:?}"
    );
}
