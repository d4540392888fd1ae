//! Fixture tests for chain-runs: each `tests/fixtures/chain-runs/*.Dockerfile` is fixed with only
//! chain-runs selected; the snapshot holds the diff (or says that nothing changed), and the fix must
//! be a fixed point whose output parses.

use dfopt::config::Settings;
use dfopt::passes::Registry;

fn fix_with(input: &str, unsafe_fixes: bool) -> String {
    let settings = Settings {
        select: Some(vec!["chain-runs".into()]),
        unsafe_fixes,
        // These fixtures test how RUNs are joined, in any stage; which stages are joined at all
        // is tested in tests/ship_aware.rs.
        merge_build_stages: true,
        ..Default::default()
    };
    let registry = Registry::new(&settings).expect("registry");
    let outcome = dfopt::fix_source(input, &registry, &settings, None).expect("fix");
    let again = dfopt::fix_source(&outcome.fixed, &registry, &settings, None).expect("fix again");
    assert_eq!(again.fixed, outcome.fixed, "not a fixed point");
    outcome.fixed
}

/// The diff of the safe fixes, then (when it differs) the diff with `--unsafe-fixes`.
fn fix_report(input: &str) -> String {
    let show = |fixed: &str| {
        if fixed == input {
            return "no change\n".to_string();
        }
        // make CR visible in the snapshot
        dfopt::diff::unified("Dockerfile", input, fixed).replace('\r', "␍")
    };
    let safe = fix_with(input, false);
    let with_unsafe = fix_with(input, true);
    let mut report = show(&safe);
    if with_unsafe != safe {
        report.push_str("--- with --unsafe-fixes:\n");
        report.push_str(&show(&with_unsafe));
    }
    report
}

#[test]
fn chain_runs_fixtures() {
    insta::with_settings!({snapshot_path => "../snapshots", prepend_module_to_snapshot => false}, {
        insta::glob!("fixtures/chain-runs/*.Dockerfile", |path| {
            let input = std::fs::read_to_string(path).expect("read fixture");
            insta::assert_snapshot!(fix_report(&input));
        });
    });
}
