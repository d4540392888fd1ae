//! Fixtures for the multi-stage and final-stage-base passes: each folder under
//! `tests/fixtures/multistage/` is a build context (a Dockerfile plus package.json, go.mod, …).
//! The snapshot holds the findings and the fixed file, per `--final` family.

use dfopt::config::{FinalImage, Settings};
use dfopt::passes::Registry;
use dfopt::{check_source, fix_source, Dockerfile};
use std::path::{Path, PathBuf};

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/multistage");
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("Dockerfile").is_file())
        .collect();
    v.sort();
    v
}

/// Support windows are judged on a fixed day, so the snapshots do not move with the clock.
fn settings(family: FinalImage) -> Settings {
    let mut s = Settings {
        select: Some(vec!["multi-stage".into(), "final-stage-base".into()]),
        unsafe_fixes: true,
        final_image: family,
        ..Settings::default()
    };
    s.transforms.insert(
        "images".into(),
        toml::from_str("today = \"2026-11-29\"").unwrap(),
    );
    s
}

/// Findings before, and the file after `fix --unsafe-fixes`.
fn render(dir: &Path, family: FinalImage) -> String {
    let path = dir.join("Dockerfile");
    let src = std::fs::read_to_string(&path).unwrap();
    let s = settings(family);
    let reg = Registry::new(&s).unwrap();
    let (doc, found) = check_source(&src, &reg, &s, Some(&path)).unwrap();
    let mut out = String::new();
    for f in &found {
        let (l, c) = doc.line_col(f.span.start);
        out.push_str(&format!(
            "{l}:{c} {} {}{}\n",
            f.rule,
            f.message,
            if f.fix.is_some() { " [fix]" } else { "" }
        ));
    }
    let fixed = fix_source(&src, &reg, &s, Some(&path)).unwrap();
    // A fixed point: fixing again changes nothing.
    let again = fix_source(&fixed.fixed, &reg, &s, Some(&path)).unwrap();
    assert_eq!(
        again.fixed,
        fixed.fixed,
        "{}: not a fixed point",
        dir.display()
    );
    Dockerfile::parse(&fixed.fixed).unwrap();
    if fixed.changed() {
        out.push_str("---- fixed\n");
        out.push_str(&fixed.fixed);
    } else {
        out.push_str("---- unchanged\n");
    }
    out
}

fn snap(family: FinalImage, suffix: &str, only: Option<&[&str]>) {
    for dir in fixtures() {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        if let Some(only) = only {
            if !only.contains(&name.as_str()) {
                continue;
            }
        }
        let text = render(&dir, family);
        insta::with_settings!({snapshot_path => "../snapshots", prepend_module_to_snapshot => false}, {
            insta::assert_snapshot!(format!("multistage__{name}{suffix}"), text);
        });
    }
}

#[test]
fn distroless() {
    snap(FinalImage::Distroless, "", None);
}

#[test]
fn alpine() {
    snap(
        FinalImage::Alpine,
        "__alpine",
        Some(&[
            "node-seed",
            "node-native",
            "node-npm-start",
            "python-gunicorn",
            "python-312",
            "go-static",
            "go-install",
            "java-maven",
            "final-node",
            "node-healthcheck-curl",
        ]),
    );
}

#[test]
fn slim() {
    snap(
        FinalImage::Slim,
        "__slim",
        Some(&[
            "node-seed",
            "python-312",
            "python-gunicorn",
            "final-python",
            "go-install",
            "rust-cargo",
        ]),
    );
}

#[test]
fn without_unsafe_fixes_nothing_changes() {
    let s = Settings {
        select: Some(vec!["multi-stage".into(), "final-stage-base".into()]),
        ..Settings::default()
    };
    let reg = Registry::new(&s).unwrap();
    for dir in fixtures() {
        let path = dir.join("Dockerfile");
        let src = std::fs::read_to_string(&path).unwrap();
        let out = fix_source(&src, &reg, &s, Some(&path)).unwrap();
        assert!(!out.changed(), "{}", dir.display());
    }
}

#[test]
fn catalogue_override_from_config() {
    let mut s = settings(FinalImage::Distroless);
    s.transforms.insert(
        "images".into(),
        toml::from_str(
            "today = \"2026-11-29\"\n[replace]\n\"gcr.io/distroless/nodejs22-debian13\" = \"registry.example.com/distroless/nodejs22@sha256:0123\"\n",
        )
        .unwrap(),
    );
    let reg = Registry::new(&s).unwrap();
    let dir = fixtures()
        .into_iter()
        .find(|d| d.ends_with("node-seed"))
        .unwrap();
    let path = dir.join("Dockerfile");
    let src = std::fs::read_to_string(&path).unwrap();
    let out = fix_source(&src, &reg, &s, Some(&path)).unwrap();
    assert!(out
        .fixed
        .contains("FROM registry.example.com/distroless/nodejs22@sha256:0123\n"));
}
