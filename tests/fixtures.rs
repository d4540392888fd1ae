//! Fixture checks over every Dockerfile under `tests/fixtures/` and `examples/`.
//!
//! `declared_fix_safety_holds_on_every_fixture`: every rule runs over every fixture (all rules
//! selected, unsafe fixes on, each `--final` family), fixes applied round by round as the engine
//! does; a fix whose safety its rule's `META.fix` does not allow fails the test. This is what keeps
//! `dfopt rules`, SARIF's `fixSafety` and the README table honest.

use dfopt::config::{FinalImage, Settings};
use dfopt::edit::apply_fixes;
use dfopt::engine::findings;
use dfopt::passes::{rule_meta, Registry};
use dfopt::Dockerfile;
use std::path::{Path, PathBuf};

/// Every file named `Dockerfile` or `*.Dockerfile` under `dir`, recursively, sorted.
fn dockerfiles(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                pending.push(path);
            } else if name == "Dockerfile" || name.ends_with(".Dockerfile") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

fn all_fixture_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = dockerfiles(&root.join("tests/fixtures"));
    files.extend(dockerfiles(&root.join("examples")));
    files
}

/// The fixes each rule emits over `source`, round after round until nothing changes, as
/// `(rule, safety)` complaints where the declaration does not allow the safety.
fn undeclared_fixes(
    path: &Path,
    source: &str,
    settings: &Settings,
    registry: &Registry,
) -> Vec<String> {
    let mut complaints = Vec::new();
    // A fixture that does not parse (the parser's own fixtures) has nothing to fix.
    let Ok(mut doc) = Dockerfile::parse(source) else {
        return complaints;
    };
    for _round in 0..16 {
        let found = findings(&doc, registry, settings, Some(path));
        for f in &found {
            let Some(fix) = &f.fix else { continue };
            let declared = rule_meta(f.rule).map(|m| m.fix);
            if !declared.is_some_and(|d| d.allows(fix.safety)) {
                let (line, col) = doc.line_col(f.span.start);
                complaints.push(format!(
                    "{}:{line}:{col}: {} emits a {} fix but declares {:?}",
                    path.display(),
                    f.rule,
                    fix.safety.as_str(),
                    declared
                ));
            }
        }
        let fixes = found
            .iter()
            .filter_map(|f| f.fix.as_ref().map(|fix| (f.rule, fix)));
        let (text, applied) = apply_fixes(&doc.source, fixes);
        if applied.is_empty() || text == doc.source {
            break;
        }
        match Dockerfile::parse(&text) {
            Ok(next) => doc = next,
            Err(_) => break,
        }
    }
    complaints
}

#[test]
fn declared_fix_safety_holds_on_every_fixture() {
    let files = all_fixture_files();
    assert!(files.len() > 50, "fixtures missing: {}", files.len());
    let mut complaints = Vec::new();
    let mut fixes_seen = 0;
    for final_image in [FinalImage::Distroless, FinalImage::Alpine, FinalImage::Slim] {
        let settings = Settings {
            select: Some(vec!["ALL".to_string()]),
            unsafe_fixes: true,
            final_image,
            ..Settings::default()
        };
        let registry = Registry::new(&settings).expect("registry");
        for path in &files {
            let source = std::fs::read_to_string(path).unwrap_or_default();
            complaints.extend(undeclared_fixes(path, &source, &settings, &registry));
            if let Ok(doc) = Dockerfile::parse(&source) {
                fixes_seen += findings(&doc, &registry, &settings, Some(path))
                    .iter()
                    .filter(|f| f.fix.is_some())
                    .count();
            }
        }
    }
    // The check means something only if the fixtures do produce fixes.
    assert!(
        fixes_seen > 100,
        "only {fixes_seen} fixes over the fixtures"
    );
    assert!(complaints.is_empty(), "{}", complaints.join("\n"));
}
