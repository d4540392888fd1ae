//! Fixture tests for download-cleanup and later-delete: each `tests/fixtures/layers/*.Dockerfile`
//! is fixed with only these two rules selected; the snapshot holds the findings, then the diff (or
//! says that nothing changed), and the fix must be a fixed point whose output parses.

use dfopt::config::Settings;
use dfopt::passes::Registry;

const RULES: [&str; 2] = ["download-cleanup", "later-delete"];

fn settings(unsafe_fixes: bool) -> Settings {
    Settings {
        select: Some(RULES.iter().map(|r| r.to_string()).collect()),
        unsafe_fixes,
        // The fixtures test the rules in any stage; which stages they apply to is tested in
        // tests/ship_aware.rs.
        merge_build_stages: true,
        ..Default::default()
    }
}

fn fix_with(input: &str, unsafe_fixes: bool) -> String {
    let settings = settings(unsafe_fixes);
    let registry = Registry::new(&settings).expect("registry");
    let outcome = dfopt::fix_source(input, &registry, &settings, None).expect("fix");
    let again = dfopt::fix_source(&outcome.fixed, &registry, &settings, None).expect("fix again");
    assert_eq!(again.fixed, outcome.fixed, "not a fixed point");
    outcome.fixed
}

fn findings(input: &str) -> String {
    let settings = settings(false);
    let registry = Registry::new(&settings).expect("registry");
    let (doc, found) = dfopt::check_source(input, &registry, &settings, None).expect("check");
    let mut s = String::new();
    for f in found {
        let line = doc.source[..f.span.start.min(doc.source.len())]
            .matches('\n')
            .count()
            + 1;
        let fix = if f.fix.is_some() { " [fix]" } else { "" };
        s.push_str(&format!("{line}: {}{fix}: {}\n", f.rule, f.message));
    }
    if s.is_empty() {
        s.push_str("no findings\n");
    }
    s
}

/// The findings, the diff of the safe fixes, then (when it differs) the diff with `--unsafe-fixes`.
fn fix_report(input: &str) -> String {
    let show = |fixed: &str| {
        if fixed == input {
            return "no change\n".to_string();
        }
        dfopt::diff::unified("Dockerfile", input, fixed).replace('\r', "␍")
    };
    let safe = fix_with(input, false);
    let with_unsafe = fix_with(input, true);
    let mut report = findings(input);
    report.push_str("--- fixed:\n");
    report.push_str(&show(&safe));
    if with_unsafe != safe {
        report.push_str("--- with --unsafe-fixes:\n");
        report.push_str(&show(&with_unsafe));
    }
    report
}

#[test]
fn layers_fixtures() {
    insta::with_settings!({snapshot_path => "../snapshots", prepend_module_to_snapshot => false}, {
        insta::glob!("fixtures/layers/*.Dockerfile", |path| {
            let input = std::fs::read_to_string(path).expect("read fixture");
            insta::assert_snapshot!(fix_report(&input));
        });
    });
}
