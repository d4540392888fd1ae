//! chain-runs must keep what the build does. This property test runs the original RUN commands and
//! dfopt's merged result through `/bin/sh` the way Docker does (a fresh `sh -c` per RUN, in the
//! same folder, stopping at the first failure) and compares the exit status and the files left
//! behind (names, kinds, modes, contents).

use dfopt::config::Settings;
use dfopt::passes::Registry;
use dfopt::syntax::{Dockerfile, Form, Keyword};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// Shell snippets that touch every kind of state a RUN can leave behind.
const ATOMS: &[&str] = &[
    "touch f1",
    "echo a > f2",
    "mkdir -p d1",
    "cd d1",
    "cd missing",
    "echo $V > f3",
    "V=set",
    "export V=exported",
    "set -e",
    "set -eu",
    "set +e",
    "false",
    "true",
    "exit 3",
    "exit 0",
    "umask 077",
    "touch f4",
    "f() { touch f5; }",
    "f",
    "(cd d1 && touch g1)",
    "trap 'touch f6' EXIT",
    "set -- a b; echo $# > f7",
    "test -f f1",
    "rm -f f1",
    "echo $PWD > f8",
    "exec true",
    "{ touch f9; false; }",
    "echo $(cd d1; pwd) > f10",
    "V=1 sh -c 'echo $V > f11'",
    "ls f2 | wc -l > f12",
    "if [ -f f2 ]; then cd d1; fi",
    "for x in a b; do touch l$x; done",
    "umask",
    "A=1; echo $A > f13",
];

const OPS: &[&str] = &[" && ", "; ", " || "];

fn command() -> impl Strategy<Value = String> {
    prop::collection::vec((0..ATOMS.len(), 0..OPS.len()), 1..4).prop_map(|parts| {
        let mut s = String::new();
        for (i, (a, op)) in parts.iter().enumerate() {
            if i > 0 {
                s.push_str(OPS[*op]);
            }
            s.push_str(ATOMS[*a]);
        }
        s
    })
}

type Snapshot = BTreeMap<String, (bool, u32, Vec<u8>)>;

fn snapshot(dir: &Path) -> Snapshot {
    use std::os::unix::fs::PermissionsExt;
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir").flatten() {
            let p = e.path();
            let meta = e.metadata().expect("metadata");
            let rel = p
                .strip_prefix(dir)
                .expect("prefix")
                .to_string_lossy()
                .to_string();
            // a path that records where the shell was: make it relative to the test folder
            let content = if meta.is_dir() {
                stack.push(p.clone());
                Vec::new()
            } else {
                let c = std::fs::read(&p).expect("read");
                String::from_utf8_lossy(&c)
                    .replace(&*dir.to_string_lossy(), "<root>")
                    .into_bytes()
            };
            out.insert(
                rel,
                (meta.is_dir(), meta.permissions().mode() & 0o777, content),
            );
        }
    }
    out
}

/// Runs RUN commands like Docker: a fresh `sh -c` each, stopping at the first failure.
fn run_like_docker(cmds: &[String], dir: &Path) -> (i32, Snapshot) {
    let mut status = 0;
    for c in cmds {
        let st = Command::new("/bin/sh")
            .arg("-c")
            .arg(c)
            .current_dir(dir)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .expect("spawn sh");
        status = st.code().unwrap_or(-1);
        if status != 0 {
            break;
        }
    }
    (status, snapshot(dir))
}

fn runs(doc: &Dockerfile) -> Vec<String> {
    doc.instructions
        .iter()
        .filter(|i| i.kind() == Keyword::Run && i.command.form == Form::Shell)
        .map(|i| i.command.args.clone())
        .collect()
}

fn chain_only() -> Settings {
    Settings {
        select: Some(vec!["chain-runs".into()]),
        ..Default::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn merged_runs_behave_like_separate_runs(cmds in prop::collection::vec(command(), 2..5)) {
        let mut text = String::from("FROM debian:bookworm\n");
        for c in &cmds {
            text.push_str("RUN ");
            text.push_str(c);
            text.push('\n');
        }
        let settings = chain_only();
        let registry = Registry::new(&settings).expect("registry");
        let outcome = dfopt::fix_source(&text, &registry, &settings, None).expect("fix");
        let fixed = Dockerfile::parse(&outcome.fixed).expect("output parses");
        let merged = runs(&fixed);

        let a = tempfile::tempdir().expect("tmp");
        let b = tempfile::tempdir().expect("tmp");
        let (sa, fa) = run_like_docker(&cmds, a.path());
        let (sb, fb) = run_like_docker(&merged, b.path());
        let fa: Snapshot = fa.into_iter().map(|(k, (d, m, c))| (k, (d, m, String::from_utf8_lossy(&c).replace(&*a.path().to_string_lossy(), "<root>").into_bytes()))).collect();
        let fb: Snapshot = fb.into_iter().map(|(k, (d, m, c))| (k, (d, m, String::from_utf8_lossy(&c).replace(&*b.path().to_string_lossy(), "<root>").into_bytes()))).collect();
        prop_assert_eq!(sa, sb, "exit status differs\noriginal: {:?}\nmerged: {:?}", cmds, merged);
        prop_assert_eq!(fa, fb, "files differ\noriginal: {:?}\nmerged: {:?}", cmds, merged);
        // and the fix is a fixed point
        let again = dfopt::fix_source(&outcome.fixed, &registry, &settings, None).expect("fix again");
        prop_assert_eq!(&again.fixed, &outcome.fixed);
    }
}

#[test]
fn the_property_test_would_catch_a_naive_join() {
    // Guard against a vacuous property: joining `cd d1` and `touch f4` naively with `&&` changes
    // where f4 lands, and the comparison above must see that.
    let dir_a = tempfile::tempdir().expect("tmp");
    let dir_b = tempfile::tempdir().expect("tmp");
    let cmds = vec!["mkdir -p d1 && cd d1".to_string(), "touch f4".to_string()];
    let naive = vec!["mkdir -p d1 && cd d1 && touch f4".to_string()];
    assert_ne!(
        run_like_docker(&cmds, dir_a.path()).1,
        run_like_docker(&naive, dir_b.path()).1
    );
}

#[test]
fn state_changing_and_list_commands_are_merged_not_skipped() {
    // The property above is only meaningful if merging happens for the risky shapes.
    let text =
        "FROM a\nRUN mkdir -p d1 && cd d1\nRUN touch f4 || true\nRUN set -e; false; touch f5\n";
    let settings = chain_only();
    let registry = Registry::new(&settings).expect("registry");
    let outcome = dfopt::fix_source(text, &registry, &settings, None).expect("fix");
    let fixed = Dockerfile::parse(&outcome.fixed).expect("parses");
    assert_eq!(runs(&fixed), ["( mkdir -p d1 && cd d1 )     && ( touch f4 || true )     && ( set -e; false; touch f5 )"]);
}

#[test]
fn errexit_in_the_middle_stops_the_chain() {
    let text = "FROM a\nRUN set -e; false; touch f5\nRUN touch f6\n";
    let settings = chain_only();
    let registry = Registry::new(&settings).expect("registry");
    let outcome = dfopt::fix_source(text, &registry, &settings, None).expect("fix");
    assert_eq!(outcome.fixed, text);
}
