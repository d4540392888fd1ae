//! Fixtures for the layer-hygiene passes: each file under `tests/fixtures/hygiene/` is fixed with
//! and without `--unsafe-fixes`; the result and the findings left are snapshotted, and fixing the
//! output again must change nothing (fixed point).

use dfopt::config::Settings;
use dfopt::engine::fix_source;
use dfopt::passes::Registry;
use std::fs;
use std::path::Path;

const HYGIENE_RULES: &[&str] = &[
    "package-cache-cleanup",
    "assume-yes",
    "apt-no-install-recommends",
    "apt-get-not-apt",
    "apk-no-cache",
    "pip-no-cache-dir",
];

fn settings(unsafe_fixes: bool, only_hygiene: bool) -> Settings {
    Settings {
        unsafe_fixes,
        select: only_hygiene.then(|| HYGIENE_RULES.iter().map(|s| s.to_string()).collect()),
        ..Settings::default()
    }
}

fn render(src: &str, s: &Settings) -> String {
    let reg = match Registry::new(s) {
        Ok(r) => r,
        Err(e) => panic!("registry: {e}"),
    };
    let out = match fix_source(src, &reg, s, None) {
        Ok(o) => o,
        Err(e) => panic!("fix failed: {e}"),
    };
    // Fixed point: fixing the output changes nothing.
    let again = match fix_source(&out.fixed, &reg, s, None) {
        Ok(o) => o,
        Err(e) => panic!("second fix failed: {e}"),
    };
    assert_eq!(again.fixed, out.fixed, "not a fixed point");
    let mut text = out.fixed.clone();
    text.push_str("\n----- applied -----\n");
    for r in &out.applied {
        text.push_str(r);
        text.push('\n');
    }
    text.push_str("----- left -----\n");
    for f in &out.remaining {
        let (line, _) = out.fixed_doc.line_col(f.span.start);
        let fix = match &f.fix {
            Some(x) => format!(" [{} fix]", x.safety.as_str()),
            None => String::new(),
        };
        text.push_str(&format!("{line}: {}: {}{fix}\n", f.rule, f.message));
    }
    text
}

fn fixtures() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hygiene");
    let mut out: Vec<(String, String)> = fs::read_dir(&dir)
        .map(|d| d.flatten().map(|e| e.path()).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("Dockerfile"))
        .map(|p| {
            let name = p
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("x")
                .to_string();
            (name, fs::read_to_string(&p).unwrap_or_default())
        })
        .collect();
    out.sort();
    assert!(out.len() >= 10, "fixtures missing");
    out
}

#[test]
fn hygiene_fixtures_unsafe() {
    for (name, src) in fixtures() {
        let text = render(&src, &settings(true, true));
        insta::with_settings!({snapshot_path => "../snapshots", prepend_module_to_snapshot => false}, {
            insta::assert_snapshot!(format!("hygiene__{name}__unsafe"), text);
        });
    }
}

#[test]
fn hygiene_fixtures_safe() {
    for (name, src) in fixtures() {
        let text = render(&src, &settings(false, true));
        insta::with_settings!({snapshot_path => "../snapshots", prepend_module_to_snapshot => false}, {
            insta::assert_snapshot!(format!("hygiene__{name}__safe"), text);
        });
    }
}

/// With every rule on (chain-runs too), the fixtures still reach a fixed point.
#[test]
fn all_rules_fixed_point() {
    for (_, src) in fixtures() {
        render(&src, &settings(true, false));
        render(&src, &settings(false, false));
    }
}

/// Files that must come out byte for byte unchanged.
#[test]
fn untouched_files() {
    for name in [
        "apt_already_clean",
        "apt_cache_mount",
        "leave_alone",
        "windows",
    ] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/hygiene")
            .join(format!("{name}.Dockerfile"));
        let src = fs::read_to_string(path).unwrap_or_default();
        let s = settings(true, true);
        let reg = Registry::new(&s).unwrap_or_else(|e| panic!("{e}"));
        let out = fix_source(&src, &reg, &s, None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(out.fixed, src, "{name} changed");
    }
}
