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
        // The fixtures test what each rule adds, in any stage; which stages get cleanup at all is
        // tested in tests/ship_aware.rs.
        merge_build_stages: true,
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

/// The keys apk-no-cache and apt-no-install-recommends take from `transforms/package-managers.toml`
/// can still be overridden under `[transforms.<rule>]`, and an unknown key is still refused.
#[test]
fn package_manager_defaults_stay_overridable() {
    let src = "FROM alpine\nRUN apk add curl\nRUN apt-get install -y git\n";
    let with = |rule: &str, key: &str, list: &[&str]| {
        let mut s = settings(false, true);
        let values = list
            .iter()
            .map(|v| toml::Value::String(v.to_string()))
            .collect();
        let mut table = toml::Table::new();
        table.insert(key.to_string(), toml::Value::Array(values));
        s.transforms.insert(rule.to_string(), table);
        s
    };
    let fixed = |s: &Settings| render(src, s);
    let plain = fixed(&settings(false, true));
    assert!(plain.contains("apk add --no-cache curl"), "{plain}");
    // apk's programs overridden: `apk` is no longer one of them.
    let other = fixed(&with("apk-no-cache", "programs", &["apk-tools"]));
    assert!(other.contains("RUN apk add curl\n"), "{other}");
    // apk's cache mounts overridden is accepted.
    let mounts = with("apk-no-cache", "cache_mounts", &["/somewhere"]);
    assert!(fixed(&mounts).contains("apk add --no-cache curl"));
    // apt's install subcommands overridden: `install` is no longer one.
    let mut unsafe_plain = settings(true, true);
    unsafe_plain.select = Some(vec!["apt-no-install-recommends".to_string()]);
    let plain = fixed(&unsafe_plain);
    assert!(
        plain.contains("apt-get install --no-install-recommends -y git\n"),
        "{plain}"
    );
    let mut s = with("apt-no-install-recommends", "subcommands", &["reinstall"]);
    s.unsafe_fixes = true;
    s.select = unsafe_plain.select.clone();
    let other = fixed(&s);
    assert!(other.contains("apt-get install -y git\n"), "{other}");
    let bad = with("apk-no-cache", "no_such_key", &["x"]);
    assert!(Registry::new(&bad).is_err());
}
