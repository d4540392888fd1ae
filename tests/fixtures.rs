//! One fixture harness for every rule (ruff's model).
//!
//! `tests/fixtures/<rule>/<case>.Dockerfile`, or `<rule>/<case>/Dockerfile` when the case needs a
//! build context beside it, optionally with `<rule>/<case>.toml` of settings:
//!
//! ```toml
//! select = ["multi-stage", "final-stage-base"]  # default: the folder's rule; ["default"] for the default set
//! final = "distroless"                          # the --final family
//! [transforms.images]                           # [transforms.<rule>] overrides, as in dfopt.toml
//! [[variant]]                                   # more runs of the same file, each a section of the snapshot
//! name = "alpine"
//! final = "alpine"
//! ```
//!
//! Each case has one snapshot, `tests/fixtures/<rule>/snapshots/<case>.snap`: the findings
//! (`line:col rule: message [safety fix]`), the unified diff of `fix`, and the diff of `fix
//! --unsafe-fixes` when it differs. Every fix must reach a fixed point whose output parses.
//! A case whose settings the rules refuse (an unknown key) snapshots the error.
//!
//! `declared_fix_safety_holds_on_every_fixture`: every rule runs over every fixture (all rules
//! selected, unsafe fixes on, each `--final` family), fixes applied round by round as the engine
//! does; a fix whose safety its rule's `META.fix` does not allow fails the test. This is what keeps
//! `dfopt rules`, SARIF's `fixSafety` and the README table honest.
//!
//! New or changed snapshots: `INSTA_UPDATE=always cargo test --test fixtures`, then review the
//! `.snap` files in `git diff`.

use dfopt::config::{FinalImage, Settings};
use dfopt::edit::apply_fixes;
use dfopt::engine::findings;
use dfopt::passes::{rule_meta, Registry, RULES};
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

/// Also: with every rule selected, fixing each fixture reaches a fixed point.
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
            merge_build_stages: true,
            ..Settings::default()
        };
        let registry = Registry::new(&settings).expect("registry");
        for path in &files {
            let source = std::fs::read_to_string(path).unwrap_or_default();
            complaints.extend(undeclared_fixes(path, &source, &settings, &registry));
            // With every rule on at once, fixing still reaches a fixed point.
            if let Ok(outcome) = dfopt::fix_source(&source, &registry, &settings, Some(path)) {
                let again = dfopt::fix_source(&outcome.fixed, &registry, &settings, Some(path))
                    .unwrap_or_else(|e| panic!("{}: {}", path.display(), e.diagnostic("fixed")));
                assert_eq!(
                    again.fixed,
                    outcome.fixed,
                    "{}: not a fixed point",
                    path.display()
                );
            }
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

/// A case's settings file (`<case>.toml`).
#[derive(serde::Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
struct CaseSettings {
    select: Option<Vec<String>>,
    #[serde(rename = "final")]
    final_image: Option<FinalImage>,
    #[serde(default)]
    transforms: std::collections::BTreeMap<String, toml::Table>,
    #[serde(default)]
    variant: Vec<Variant>,
}

/// Another run of the same fixture, its settings over the case's.
#[derive(serde::Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct Variant {
    name: String,
    select: Option<Vec<String>>,
    #[serde(rename = "final")]
    final_image: Option<FinalImage>,
    #[serde(default)]
    transforms: std::collections::BTreeMap<String, toml::Table>,
}

/// One fixture: its rule folder, case name, the Dockerfile and the settings beside it.
struct Case {
    rule: String,
    name: String,
    dockerfile: PathBuf,
    settings: CaseSettings,
}

fn fixtures_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Every case of every rule folder, sorted by rule then case.
fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for meta in RULES {
        let folder = fixtures_root().join(meta.id);
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let file_name = entry.file_name().to_string_lossy().into_owned();
            let (name, dockerfile) = if path.is_dir() && path.join("Dockerfile").is_file() {
                (file_name, path.join("Dockerfile"))
            } else if let Some(stem) = file_name.strip_suffix(".Dockerfile") {
                (stem.to_string(), path.clone())
            } else {
                continue;
            };
            let toml_path = folder.join(format!("{name}.toml"));
            let settings = match std::fs::read_to_string(&toml_path) {
                Ok(text) => {
                    toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", toml_path.display()))
                }
                Err(_) => CaseSettings::default(),
            };
            cases.push(Case {
                rule: meta.id.to_string(),
                name,
                dockerfile,
                settings,
            });
        }
    }
    cases.sort_by(|a, b| (&a.rule, &a.name).cmp(&(&b.rule, &b.name)));
    cases
}

/// The engine settings for one run of a case.
fn engine_settings(
    rule: &str,
    select: &Option<Vec<String>>,
    final_image: Option<FinalImage>,
    transforms: &std::collections::BTreeMap<String, toml::Table>,
    unsafe_fixes: bool,
) -> Settings {
    let select = match select {
        Some(list) if list.iter().any(|r| r == "default") && list.len() == 1 => None,
        Some(list) => Some(list.clone()),
        None => Some(vec![rule.to_string()]),
    };
    // Support windows are judged on a fixed day, so the snapshots do not move with the clock.
    let mut transforms = transforms.clone();
    transforms
        .entry("images".to_string())
        .or_default()
        .entry("today")
        .or_insert_with(|| toml::Value::String("2026-11-29".to_string()));
    Settings {
        select,
        unsafe_fixes,
        final_image: final_image.unwrap_or_default(),
        transforms,
        // Fixtures show each rule's mechanics in every stage, shipping or not; which stages a rule
        // leaves alone because they do not ship is tested in tests/ship_aware.rs.
        merge_build_stages: true,
        ..Settings::default()
    }
}

/// The diff of fixing `source` under `settings`, or "no change"; the fix must be a fixed point.
fn fix_diff(path: &Path, source: &str, settings: &Settings) -> String {
    let registry = match Registry::new(settings) {
        Ok(r) => r,
        Err(e) => return format!("rules refused the settings: {e}\n"),
    };
    let outcome = match dfopt::fix_source(source, &registry, settings, Some(path)) {
        Ok(o) => o,
        Err(e) => return format!("{}\n", e.diagnostic("Dockerfile")),
    };
    let again =
        dfopt::fix_source(&outcome.fixed, &registry, settings, Some(path)).unwrap_or_else(|e| {
            panic!(
                "{}: fixed text: {}",
                path.display(),
                e.diagnostic("Dockerfile")
            )
        });
    assert_eq!(
        again.fixed,
        outcome.fixed,
        "{}: not a fixed point",
        path.display()
    );
    if outcome.fixed == source {
        return "no change\n".to_string();
    }
    // CR made visible: a snapshot would not show it.
    dfopt::diff::unified("Dockerfile", source, &outcome.fixed).replace('\r', "␍")
}

/// Findings, then the diff of `fix`, then the diff of `fix --unsafe-fixes` when it differs.
fn render_run(path: &Path, source: &str, safe: &Settings) -> String {
    let mut text = String::from("----- findings -----\n");
    match Registry::new(safe) {
        Err(e) => {
            text.push_str(&format!("rules refused the settings: {e}\n"));
            return text;
        }
        Ok(registry) => match dfopt::check_source(source, &registry, safe, Some(path)) {
            Err(e) => text.push_str(&format!("{}\n", e.diagnostic("Dockerfile"))),
            Ok((doc, found)) => {
                if found.is_empty() {
                    text.push_str("none\n");
                }
                for f in &found {
                    let (line, col) = doc.line_col(f.span.start);
                    let fix = match &f.fix {
                        Some(fix) => format!(" [{} fix]", fix.safety.as_str()),
                        None => String::new(),
                    };
                    text.push_str(&format!("{line}:{col} {}: {}{fix}\n", f.rule, f.message));
                }
            }
        },
    }
    text.push_str("----- fix -----\n");
    let safe_diff = fix_diff(path, source, safe);
    text.push_str(&safe_diff);
    let with_unsafe = Settings {
        unsafe_fixes: true,
        ..safe.clone()
    };
    let unsafe_diff = fix_diff(path, source, &with_unsafe);
    if unsafe_diff != safe_diff {
        text.push_str("----- fix --unsafe-fixes -----\n");
        text.push_str(&unsafe_diff);
    }
    text
}

fn render_case(case: &Case) -> String {
    let source = std::fs::read_to_string(&case.dockerfile).expect("read fixture");
    let s = &case.settings;
    let base = engine_settings(&case.rule, &s.select, s.final_image, &s.transforms, false);
    if s.variant.is_empty() {
        return render_run(&case.dockerfile, &source, &base);
    }
    let mut text = String::from("===== base =====\n");
    text.push_str(&render_run(&case.dockerfile, &source, &base));
    for v in &s.variant {
        let mut transforms = s.transforms.clone();
        transforms.extend(v.transforms.clone());
        let select = v.select.clone().or_else(|| s.select.clone());
        let settings = engine_settings(
            &case.rule,
            &select,
            v.final_image.or(s.final_image),
            &transforms,
            false,
        );
        text.push_str(&format!("===== {} =====\n", v.name));
        text.push_str(&render_run(&case.dockerfile, &source, &settings));
    }
    text
}

#[test]
fn fixtures() {
    let cases = cases();
    assert!(cases.len() >= 68, "fixtures missing: {}", cases.len());
    for case in &cases {
        let text = render_case(case);
        let snapshots = fixtures_root().join(&case.rule).join("snapshots");
        insta::with_settings!({
            snapshot_path => snapshots,
            prepend_module_to_snapshot => false,
            input_file => &case.dockerfile,
            omit_expression => true,
        }, {
            insta::assert_snapshot!(case.name.clone(), text);
        });
    }
}

/// Every fixture folder is a rule's: a misspelt folder would silently test nothing.
#[test]
fn every_fixture_folder_names_a_rule() {
    let Ok(entries) = std::fs::read_dir(fixtures_root()) else {
        panic!("no tests/fixtures");
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        // The parser's fixtures belong to tests/parser.rs.
        if name == "parser" {
            continue;
        }
        assert!(
            rule_meta(&name).is_some(),
            "tests/fixtures/{name} is not a rule"
        );
    }
}
