//! Fixture tests for chain-runs: each `tests/fixtures/chain-runs/*.Dockerfile` is fixed with only
//! chain-runs selected; the snapshot holds the diff (or says that nothing changed), and the fix must
//! be a fixed point whose output parses.

use dfopt::config::Settings;
use dfopt::passes::Registry;

fn fix_report(input: &str) -> String {
    let settings = Settings {
        select: Some(vec!["chain-runs".into()]),
        ..Default::default()
    };
    let registry = Registry::new(&settings).expect("registry");
    let outcome = dfopt::fix_source(input, &registry, &settings, None).expect("fix");
    let again = dfopt::fix_source(&outcome.fixed, &registry, &settings, None).expect("fix again");
    assert_eq!(again.fixed, outcome.fixed, "not a fixed point");
    if !outcome.changed() {
        return "no change\n".to_string();
    }
    let diff = dfopt::diff::unified("Dockerfile", input, &outcome.fixed);
    // make CR and a missing final newline visible in the snapshot
    diff.replace('\r', "␍")
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
