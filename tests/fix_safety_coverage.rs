//! The other half of `declared_fix_safety_holds_on_every_fixture` (tests/fixtures.rs): that test
//! fails when a rule emits a fix its declaration (`META.fix`) does not allow, which a rule emitting
//! no fix at all passes. Here every kind of fix a rule declares must be seen over the fixtures: a
//! `Safe` or `Unsafe` rule emits at least one fix of that safety, a `Sometimes` rule both, so
//! `dfopt rules`, `dfopt explain`, SARIF and the README table never advertise a fix no fixture
//! shows.

use dfopt::config::{FinalImage, Settings};
use dfopt::edit::Safety;
use dfopt::engine::findings;
use dfopt::passes::{FixAvailability, Registry, RULES};
use dfopt::Dockerfile;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Every file named `Dockerfile` or `*.Dockerfile` under `dir`, recursively.
fn dockerfiles(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            dockerfiles(&path, found);
        } else if name == "Dockerfile" || name.ends_with(".Dockerfile") {
            found.push(path);
        }
    }
}

#[test]
fn every_declared_fix_safety_is_seen_on_the_fixtures() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    dockerfiles(&root.join("tests/fixtures"), &mut files);
    dockerfiles(&root.join("examples"), &mut files);
    assert!(files.len() > 50, "fixtures missing: {}", files.len());
    let mut seen: BTreeSet<(&str, &str)> = BTreeSet::new();
    for final_image in [FinalImage::Distroless, FinalImage::Alpine, FinalImage::Slim] {
        let settings = Settings {
            select: Some(vec!["ALL".to_string()]),
            unsafe_fixes: true,
            final_image,
            merge_build_stages: true,
            ..Settings::default()
        };
        let registry = Registry::new(&settings).expect("registry");
        for path in &files {
            let source = std::fs::read_to_string(path).unwrap_or_default();
            let Ok(doc) = Dockerfile::parse(&source) else {
                continue;
            };
            for f in findings(&doc, &registry, &settings, Some(path)) {
                if let Some(fix) = &f.fix {
                    seen.insert((f.rule, fix.safety.as_str()));
                }
            }
        }
    }
    let mut missing = Vec::new();
    for meta in RULES {
        let declared: &[Safety] = match meta.fix {
            FixAvailability::None => &[],
            FixAvailability::Safe => &[Safety::Safe],
            FixAvailability::Unsafe => &[Safety::Unsafe],
            FixAvailability::Sometimes(_) => &[Safety::Safe, Safety::Unsafe],
        };
        for safety in declared {
            if !seen.contains(&(meta.id, safety.as_str())) {
                missing.push(format!(
                    "{} declares {:?} but no fixture gets a {} fix from it",
                    meta.id,
                    meta.fix,
                    safety.as_str()
                ));
            }
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}
