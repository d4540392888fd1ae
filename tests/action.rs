//! The GitHub Action (action.yml) must pass its inputs to the shell as data, never as script text.
//!
//! GitHub substitutes `${{ }}` expressions into a step's `run:` text before bash reads it, so an
//! input such as a file name `$(touch pwned)` would run as code on the runner. These tests read the
//! `run:` scripts out of action.yml, check that none contains `${{`, and execute the "Run dfopt"
//! script with hostile inputs and a stand-in `dfopt` that records the arguments it receives.

use std::path::Path;
use std::process::Command;

/// The `run:` scripts of action.yml, by step name. A small reader for the one layout the file uses
/// (`- name:` then `run: |` with an indented block, or `run: <one line>`), so the test needs no YAML
/// crate; a step it cannot read makes the test fail, not pass.
fn run_scripts() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("action.yml"))
        .expect("action.yml");
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut name = String::new();
    let mut i = 0;
    while i < lines.len() {
        let t = lines[i].trim_start();
        if let Some(n) = t.strip_prefix("- name:") {
            name = n.trim().to_string();
        } else if let Some(rest) = t.strip_prefix("run:") {
            let rest = rest.trim();
            if rest == "|" {
                let indent = lines[i].len() - t.len();
                let mut body = String::new();
                i += 1;
                while i < lines.len() {
                    let l = lines[i];
                    let ind = l.len() - l.trim_start().len();
                    if !l.trim().is_empty() && ind <= indent {
                        break;
                    }
                    body.push_str(l.get(indent + 2..).unwrap_or(""));
                    body.push('\n');
                    i += 1;
                }
                out.push((name.clone(), body));
                continue;
            }
            out.push((name.clone(), rest.to_string()));
        }
        i += 1;
    }
    out
}

#[test]
fn no_expression_is_substituted_into_a_script() {
    let scripts = run_scripts();
    assert_eq!(
        scripts.len(),
        2,
        "expected two run steps, found {scripts:?}"
    );
    for (name, body) in &scripts {
        assert!(
            !body.contains("${{"),
            "step `{name}` interpolates an expression into its script: {body}"
        );
    }
}

#[test]
fn hostile_inputs_stay_literal_arguments() {
    let (_, script) = run_scripts()
        .into_iter()
        .find(|(n, _)| n == "Run dfopt")
        .expect("a `Run dfopt` step");
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).expect("mkdir");
    // A stand-in dfopt that writes each argument on its own line.
    let record = dir.path().join("args.txt");
    let stub = bin.join("dfopt");
    std::fs::write(
        &stub,
        format!(
            "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > '{}'\n",
            record.display()
        ),
    )
    .expect("stub");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&stub, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let marker = dir.path().join("pwned");
    let hostile_path = format!("$(touch {})", marker.display());
    let status = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(dir.path())
        .env(
            "PATH",
            format!(
                "{}:{}",
                bin.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .env("DFOPT_ARGS", "check --format github `touch x` *")
        .env(
            "DFOPT_PATHS",
            format!("{hostile_path}\n-rf\nsub dir/Dockerfile\n"),
        )
        .status()
        .expect("bash");
    assert!(status.success());
    assert!(!marker.exists(), "an input ran as a command");
    assert!(!dir.path().join("x").exists(), "an input ran as a command");
    let got = std::fs::read_to_string(&record).expect("stub ran");
    let want = [
        "check",
        "--format",
        "github",
        "`touch",
        "x`",
        "*",
        "--",
        hostile_path.as_str(),
        "-rf",
        "sub dir/Dockerfile",
    ]
    .join("\n")
        + "\n";
    assert_eq!(got, want);
}
