//! Collects each pass's `//!` documentation (src/passes/<rule>.rs) so that `dfopt explain RULE`,
//! SARIF and the language server show the same text as the source, and the list of rule ids, so
//! that the configuration can check rule names without depending on the rules themselves (a test
//! in tests/architecture.rs keeps that list equal to the ids the rules declare in `META`).
use std::fmt::Write as _;
use std::{env, fs, path::Path};

fn main() {
    println!("cargo:rerun-if-changed=src/passes");
    let mut arms = String::new();
    let mut ids = String::new();
    let mut entries: Vec<_> = fs::read_dir("src/passes")
        .map(|d| d.flatten().collect())
        .unwrap_or_default();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        // A rule is `<rule>.rs`, or a folder `<rule>/mod.rs` once it grows into several files.
        let source = if path.is_dir() {
            path.join("mod.rs")
        } else if stem != "mod" && path.extension().and_then(|e| e.to_str()) == Some("rs") {
            path.clone()
        } else {
            continue;
        };
        let text = fs::read_to_string(&source).unwrap_or_default();
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
        let _ = writeln!(ids, "    {id:?},");
    }
    let out_dir = env::var("OUT_DIR").expect("OUT_DIR");
    let out = Path::new(&out_dir).join("rule_docs.rs");
    fs::write(out, format!("match id {{\n{arms}    _ => None,\n}}\n")).expect("write rule_docs.rs");
    let out = Path::new(&out_dir).join("rule_ids.rs");
    fs::write(out, format!("&[\n{ids}]\n")).expect("write rule_ids.rs");
}
