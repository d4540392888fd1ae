//! Collects each pass's `//!` documentation (src/passes/<rule>.rs, or <rule>/mod.rs for a rule split
//! into a folder) so that `dfopt explain RULE` and the README show the same text as the source.
use std::fmt::Write as _;
use std::{env, fs, path::Path};

fn main() {
    println!("cargo:rerun-if-changed=src/passes");
    let mut arms = String::new();
    let mut entries: Vec<_> = fs::read_dir("src/passes")
        .map(|d| d.flatten().collect())
        .unwrap_or_default();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let mut path = entry.path();
        let Some(stem) = path
            .file_stem()
            .and_then(|s| s.to_str())
            .map(str::to_string)
        else {
            continue;
        };
        // A rule split into a folder (src/passes/<rule>/) documents itself in its mod.rs.
        if path.is_dir() {
            path = path.join("mod.rs");
        } else if stem == "mod" || path.extension().and_then(|e| e.to_str()) != Some("rs") {
            continue;
        }
        let text = fs::read_to_string(&path).unwrap_or_default();
        let doc: Vec<&str> = text
            .lines()
            .take_while(|l| l.starts_with("//!"))
            .map(|l| {
                l.strip_prefix("//! ")
                    .unwrap_or(l.trim_start_matches("//!"))
            })
            .collect();
        // Only rule modules start their documentation with `## rule-id`; helpers are not rules.
        if !doc.first().is_some_and(|l| l.starts_with("## ")) {
            continue;
        }
        let id = stem.replace('_', "-");
        let _ = writeln!(arms, "    {:?} => Some({:?}),", id, doc.join("\n"));
    }
    let out = Path::new(&env::var("OUT_DIR").expect("OUT_DIR")).join("rule_docs.rs");
    fs::write(out, format!("match id {{\n{arms}    _ => None,\n}}\n")).expect("write rule_docs.rs");
}
