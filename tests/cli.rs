//! End-to-end tests of the `dfopt` binary.

use assert_cmd::Command;
use std::fs;
use std::path::Path;

const NEEDS_FIX: &str = "FROM debian:bookworm\nRUN mkdir -p /app\nRUN touch /app/ready\n";
const FIXED: &str = "FROM debian:bookworm\nRUN mkdir -p /app \\\n    && touch /app/ready\n";
/// Nothing to fix, with every byte a careless rewriter would disturb.
const CLEAN_TRICKY: &str = "\u{feff}# a comment   \r\nFROM debian:bookworm\r\n\tRUN echo a  \\\r\n\t\t# inner comment\r\n\t\t&& echo b   \r\n\r\nCMD [\"x\"]";

fn dfopt(dir: &Path) -> Command {
    let mut c = Command::cargo_bin("dfopt").expect("binary");
    c.current_dir(dir);
    c
}

fn write(dir: &Path, rel: &str, text: &str) {
    let p = dir.join(rel);
    fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    fs::write(p, text).expect("write");
}

fn read(dir: &Path, rel: &str) -> String {
    fs::read_to_string(dir.join(rel)).expect("read")
}

#[test]
fn dry_run_prints_a_diff_git_apply_takes_and_write_matches_it() {
    let a = tempfile::tempdir().expect("tmp");
    let b = tempfile::tempdir().expect("tmp");
    for d in [a.path(), b.path()] {
        write(d, "svc/api/Dockerfile", NEEDS_FIX);
        write(
            d,
            "svc/web/Dockerfile.prod",
            "FROM node:18\r\nRUN make deps\r\nRUN make build\r\n",
        );
        write(d, "svc/clean/Dockerfile", CLEAN_TRICKY);
        write(
            d,
            "tools/x.dockerfile",
            "FROM a\nRUN echo 1\n# why\nRUN echo 2",
        );
        write(d, "README.md", "not a Dockerfile");
    }
    let out = dfopt(a.path()).args(["fix"]).output().expect("run");
    assert_eq!(out.status.code(), Some(0));
    let diff = String::from_utf8(out.stdout).expect("utf8");
    assert!(
        diff.contains("--- a/svc/api/Dockerfile\n+++ b/svc/api/Dockerfile\n"),
        "{diff}"
    );
    assert!(
        !diff.contains("svc/clean"),
        "a clean file must not appear: {diff}"
    );
    fs::write(a.path().join("fix.patch"), &diff).expect("write patch");
    let git = std::process::Command::new("git")
        .args(["apply", "--whitespace=nowarn", "fix.patch"])
        .current_dir(a.path())
        .output()
        .expect("git apply");
    assert!(
        git.status.success(),
        "git apply failed: {}",
        String::from_utf8_lossy(&git.stderr)
    );

    let out = dfopt(b.path())
        .args(["fix", "--write"])
        .output()
        .expect("run");
    assert!(out.stdout.is_empty(), "--write prints no diff unless asked");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("fixed svc/api/Dockerfile (chain-runs)"),
        "{stderr}"
    );
    for rel in [
        "svc/api/Dockerfile",
        "svc/web/Dockerfile.prod",
        "svc/clean/Dockerfile",
        "tools/x.dockerfile",
    ] {
        assert_eq!(
            read(a.path(), rel),
            read(b.path(), rel),
            "{rel}: git apply of the dry run differs from --write"
        );
    }
    assert_eq!(read(b.path(), "svc/api/Dockerfile"), FIXED);
    assert_eq!(
        fs::read(b.path().join("svc/clean/Dockerfile")).expect("read"),
        CLEAN_TRICKY.as_bytes()
    );
    assert_eq!(
        read(b.path(), "svc/web/Dockerfile.prod"),
        // `make deps` may create executables while the shell has `make` hashed: wrapped
        // (docs/safety-model.md, the command hash).
        "FROM node:18\r\nRUN ( make deps ) \\\r\n    && make build\r\n"
    );
    // fixed point: nothing left to do
    dfopt(b.path()).args(["fix", "--check"]).assert().code(0);
}

#[test]
fn check_modes_and_exit_codes() {
    let d = tempfile::tempdir().expect("tmp");
    write(d.path(), "Dockerfile", NEEDS_FIX);
    let out = dfopt(d.path())
        .args(["fix", "--check", "Dockerfile"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        read(d.path(), "Dockerfile"),
        NEEDS_FIX,
        "--check must not write"
    );
    let out = dfopt(d.path())
        .args(["check", "Dockerfile"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Dockerfile:2:1: chain-runs [warning] 2 consecutive RUN instructions (lines 2-3) can be one layer [fix]\n"
    );
    write(d.path(), "Dockerfile", FIXED);
    dfopt(d.path())
        .args(["check", "Dockerfile"])
        .assert()
        .code(0);
    dfopt(d.path())
        .args(["fix", "--check", "Dockerfile"])
        .assert()
        .code(0);
    dfopt(d.path())
        .args(["check", "--select", "no-such-rule"])
        .assert()
        .code(2);
}

#[test]
fn bad_input_is_reported_with_a_location_and_the_rest_is_still_processed() {
    let d = tempfile::tempdir().expect("tmp");
    write(d.path(), "a/Dockerfile", NEEDS_FIX);
    fs::create_dir_all(d.path().join("b")).expect("mkdir");
    fs::write(d.path().join("b/Dockerfile"), b"FROM a\nRUN \x00\x01\x02\n").expect("write");
    fs::create_dir_all(d.path().join("c")).expect("mkdir");
    fs::write(
        d.path().join("c/Dockerfile"),
        b"FROM a\nRUN echo \xff\xfe\n",
    )
    .expect("write");
    write(
        d.path(),
        "e/Dockerfile",
        "FROM a\nRUN <<EOF\necho never ends\n",
    );
    fs::create_dir_all(d.path().join("f/Dockerfile")).expect("mkdir");
    write(d.path(), "g/Dockerfile", NEEDS_FIX);
    let out = dfopt(d.path())
        .args(["fix", "--write", ".", "missing/Dockerfile"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    for expected in [
        "b/Dockerfile:2:5: error: binary file (NUL byte)",
        "c/Dockerfile:2:10: error: invalid UTF-8",
        "e/Dockerfile:2:1: error: unterminated heredoc <<EOF",
        "missing/Dockerfile:1:1: error: no such file or directory",
    ] {
        assert!(err.contains(expected), "missing `{expected}` in:\n{err}");
    }
    assert!(!err.contains("panicked"));
    assert!(
        !err.contains("f/Dockerfile"),
        "a folder is walked, never a file to process: {err}"
    );
    assert_eq!(
        read(d.path(), "a/Dockerfile"),
        FIXED,
        "other files are still fixed"
    );
    assert_eq!(read(d.path(), "g/Dockerfile"), FIXED);
    assert_eq!(
        fs::read(d.path().join("c/Dockerfile")).expect("read"),
        b"FROM a\nRUN echo \xff\xfe\n"
    );
}

#[test]
fn a_bad_regex_in_the_config_is_an_error_before_any_file_is_touched() {
    // Rule regexes compile on first use, but their syntax is checked when the rules are built:
    // a typo in dfopt.toml must stop the run with a message, not quietly match nothing.
    let d = tempfile::tempdir().expect("tmp");
    write(d.path(), "Dockerfile", NEEDS_FIX);
    write(
        d.path(),
        "dfopt.toml",
        "[transforms.pip-no-cache-dir]\npip_program = '^pip(['\n",
    );
    let out = dfopt(d.path())
        .args(["fix", "--write", "."])
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("`pip_program`"), "{err}");
    assert_eq!(read(d.path(), "Dockerfile"), NEEDS_FIX, "nothing written");
    // A valid override is used: with `pip3` no longer a pip program, nothing is added to it.
    let pip = "FROM python:3.12\nRUN pip3 install flask\n";
    write(d.path(), "Dockerfile", pip);
    write(
        d.path(),
        "dfopt.toml",
        "[transforms.pip-no-cache-dir]\npip_program = '^pip$'\n",
    );
    let out = dfopt(d.path())
        .args(["fix", "--select", "pip-no-cache-dir", "."])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0));
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    write(d.path(), "dfopt.toml", "");
    let out = dfopt(d.path())
        .args(["fix", "--select", "pip-no-cache-dir", "."])
        .output()
        .expect("run");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("pip3 install --no-cache-dir flask"),
        "the default data does treat pip3 as pip"
    );
}

#[test]
fn every_file_is_processed_whatever_order_the_pipeline_finishes_in() {
    // Debug builds size the pipeline from `DFOPT_TEST_PIPELINE` (files per batch, batches in
    // flight). With one batch in flight, every batch is printed before the next is handed out: a
    // run once stopped there after the first file and left the others unprocessed.
    let d = tempfile::tempdir().expect("tmp");
    let n = 7;
    for i in 0..n {
        write(d.path(), &format!("s{i}/Dockerfile"), NEEDS_FIX);
    }
    for sizes in ["1,1", "1,2", "2,1", "3,2", "16,32"] {
        let out = dfopt(d.path())
            .env("DFOPT_TEST_PIPELINE", sizes)
            .timeout(std::time::Duration::from_secs(60))
            .args(["fix", "--format", "json", "."])
            .output()
            .expect("run");
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        let files = json["files"].as_array().expect("files");
        let paths: Vec<&str> = files.iter().filter_map(|f| f["path"].as_str()).collect();
        let want: Vec<String> = (0..n).map(|i| format!("s{i}/Dockerfile")).collect();
        assert_eq!(paths, want, "sizes {sizes}");
    }
}

#[test]
#[cfg_attr(
    not(debug_assertions),
    ignore = "needs the DFOPT_TEST_PANIC hook, which only debug builds have"
)]
fn a_panic_is_reported_for_its_file_and_the_run_goes_on() {
    // Debug builds panic on demand (see `DFOPT_TEST_PANIC` in src/cli.rs). The panic must not
    // take the run down (rayon would re-raise it on the main thread): the file gets an error line,
    // exit code 2, and the other file is still fixed.
    let d = tempfile::tempdir().expect("tmp");
    write(d.path(), "a/Dockerfile", NEEDS_FIX);
    let boom = format!("# DFOPT-TEST-PANIC\n{NEEDS_FIX}");
    write(d.path(), "b/Dockerfile", &boom);
    let out = dfopt(d.path())
        .env("DFOPT_TEST_PANIC", "1")
        .timeout(std::time::Duration::from_secs(60))
        .args(["fix", "--write", "."])
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr:\n{err}");
    assert!(
        err.contains("b/Dockerfile:1:1: error: internal: dfopt panicked (test panic requested"),
        "{err}"
    );
    assert_eq!(read(d.path(), "a/Dockerfile"), FIXED);
    assert_eq!(read(d.path(), "b/Dockerfile"), boom, "left untouched");
}

#[cfg(unix)]
#[test]
fn write_is_atomic_keeps_mode_and_refuses_read_only_files_and_symlinks() {
    use std::os::unix::fs::PermissionsExt;
    let d = tempfile::tempdir().expect("tmp");
    write(d.path(), "exec/Dockerfile", NEEDS_FIX);
    fs::set_permissions(
        d.path().join("exec/Dockerfile"),
        fs::Permissions::from_mode(0o640),
    )
    .expect("chmod");
    write(d.path(), "ro/Dockerfile", NEEDS_FIX);
    fs::set_permissions(
        d.path().join("ro/Dockerfile"),
        fs::Permissions::from_mode(0o444),
    )
    .expect("chmod");
    write(d.path(), "real/Dockerfile", NEEDS_FIX);
    std::os::unix::fs::symlink(
        d.path().join("real/Dockerfile"),
        d.path().join("link.Dockerfile"),
    )
    .expect("symlink");
    // a temporary file left by a killed run is cleaned up
    write(d.path(), "exec/.dfopt-tmp-4294967294-stale0", "partial");
    let out = dfopt(d.path())
        .args([
            "fix",
            "--write",
            "exec/Dockerfile",
            "ro/Dockerfile",
            "link.Dockerfile",
        ])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("ro/Dockerfile:1:1: error: read-only file"),
        "{err}"
    );
    assert!(
        err.contains("link.Dockerfile:1:1: error: is a symlink"),
        "{err}"
    );
    assert_eq!(read(d.path(), "exec/Dockerfile"), FIXED);
    let mode = fs::metadata(d.path().join("exec/Dockerfile"))
        .expect("meta")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o640);
    assert_eq!(read(d.path(), "ro/Dockerfile"), NEEDS_FIX);
    assert_eq!(
        read(d.path(), "real/Dockerfile"),
        NEEDS_FIX,
        "not written through the symlink"
    );
    assert!(fs::symlink_metadata(d.path().join("link.Dockerfile"))
        .expect("meta")
        .file_type()
        .is_symlink());
    let leftovers: Vec<_> = fs::read_dir(d.path().join("exec"))
        .expect("ls")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".dfopt-tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn stdin_gives_a_diff_or_the_fixed_text() {
    let d = tempfile::tempdir().expect("tmp");
    let out = dfopt(d.path())
        .args(["fix", "-"])
        .write_stdin(NEEDS_FIX)
        .output()
        .expect("run");
    assert!(String::from_utf8_lossy(&out.stdout).contains("+++ b/Dockerfile"));
    let out = dfopt(d.path())
        .args(["fix", "--write", "-"])
        .write_stdin(NEEDS_FIX)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout), FIXED);
    // bad input on stdin: an error, and the input comes back untouched
    let out = dfopt(d.path())
        .args(["fix", "--write", "-"])
        .write_stdin("FROM a\nRUN <<EOF\n")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn config_files_suppressions_and_per_file_ignores_are_honoured() {
    let d = tempfile::tempdir().expect("tmp");
    write(
        d.path(),
        "dfopt.toml",
        "[per-file-ignores]\n\"legacy/**\" = [\"chain-runs\"]\n",
    );
    write(d.path(), "app/Dockerfile", NEEDS_FIX);
    write(d.path(), "legacy/old/Dockerfile", NEEDS_FIX);
    write(
        d.path(),
        "team/dfopt.toml",
        "extend = \"../dfopt.toml\"\nignore = [\"chain-runs\"]\n",
    );
    write(d.path(), "team/svc/Dockerfile", NEEDS_FIX);
    write(
        d.path(),
        "pragma/Dockerfile",
        "FROM a\n# dfopt: ignore=chain-runs\nRUN echo 1\nRUN echo 2\n",
    );
    write(
        d.path(),
        "hadolint/Dockerfile",
        "FROM a\n# hadolint ignore=DL3059\nRUN echo 1\nRUN echo 2\n",
    );
    write(
        d.path(),
        "skip/Dockerfile",
        "# dfopt: skip-file\nFROM a\nRUN echo 1\nRUN echo 2\n",
    );
    let out = dfopt(d.path())
        .args(["fix", "--write"])
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(read(d.path(), "app/Dockerfile"), FIXED);
    for untouched in ["legacy/old/Dockerfile", "team/svc/Dockerfile"] {
        assert_eq!(read(d.path(), untouched), NEEDS_FIX, "{untouched}");
    }
    assert!(read(d.path(), "pragma/Dockerfile").contains("RUN echo 1\nRUN echo 2"));
    assert!(read(d.path(), "hadolint/Dockerfile").contains("RUN echo 1\nRUN echo 2"));
    assert!(read(d.path(), "skip/Dockerfile").contains("RUN echo 1\nRUN echo 2"));
    // --isolated ignores config files
    dfopt(d.path())
        .args(["fix", "--check", "--isolated", "team/svc/Dockerfile"])
        .assert()
        .code(1);
    // bad config: file, line and key
    write(
        d.path(),
        "team/dfopt.toml",
        "extend = \"../dfopt.toml\"\nselect = [\"chain-runs\"]\ncolour = true\n",
    );
    let out = dfopt(d.path())
        .args(["check", "team"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("team/dfopt.toml:3:1: error: unknown field `colour`"),
        "{err}"
    );
}

#[test]
fn shards_partition_the_run() {
    let d = tempfile::tempdir().expect("tmp");
    for i in 0..40 {
        write(d.path(), &format!("s{i}/Dockerfile"), NEEDS_FIX);
    }
    let whole = dfopt(d.path())
        .args(["fix", "-q"])
        .output()
        .expect("run")
        .stdout;
    let mut parts = Vec::new();
    for k in 1..=3 {
        let out = dfopt(d.path())
            .args(["fix", "-q", "--shard", &format!("{k}/3")])
            .output()
            .expect("run");
        assert!(!out.stdout.is_empty(), "shard {k} empty");
        parts.push(String::from_utf8(out.stdout).expect("utf8"));
    }
    let split = |s: &str| -> Vec<String> {
        let mut v: Vec<String> = s
            .split("diff --git ")
            .filter(|x| !x.is_empty())
            .map(str::to_string)
            .collect();
        v.sort();
        v
    };
    let mut union: Vec<String> = parts.iter().flat_map(|p| split(p)).collect();
    union.sort();
    assert_eq!(union, split(&String::from_utf8(whole).expect("utf8")));
}

#[test]
fn json_sarif_and_github_outputs() {
    let d = tempfile::tempdir().expect("tmp");
    write(d.path(), "Dockerfile", NEEDS_FIX);
    let out = dfopt(d.path())
        .args(["check", "--format", "json"])
        .output()
        .expect("run");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["files"][0]["findings"][0]["rule"], "chain-runs");
    assert_eq!(v["files"][0]["findings"][0]["fix"]["safety"], "safe");
    assert_eq!(v["summary"]["files"], 1);
    let out = dfopt(d.path())
        .args(["fix", "--format", "json"])
        .output()
        .expect("run");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert!(v["files"][0]["diff"]
        .as_str()
        .expect("diff")
        .contains("+++ b/Dockerfile"));
    assert_eq!(v["files"][0]["applied"][0], "chain-runs");
    let out = dfopt(d.path())
        .args(["check", "--format", "sarif"])
        .output()
        .expect("run");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("sarif");
    assert_eq!(v["version"], "2.1.0");
    let run = &v["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "dfopt");
    assert!(run["tool"]["driver"]["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .any(|r| r["id"] == "chain-runs"));
    let res = &run["results"][0];
    assert_eq!(res["ruleId"], "chain-runs");
    assert_eq!(
        res["locations"][0]["physicalLocation"]["region"]["startLine"],
        2
    );
    assert_eq!(
        res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "Dockerfile"
    );
    let out = dfopt(d.path())
        .args(["check", "--format", "github"])
        .output()
        .expect("run");
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("::warning file=Dockerfile,line=2,col=1,")
    );
}

#[test]
fn rules_explain_init_completions_and_man() {
    let d = tempfile::tempdir().expect("tmp");
    let out = dfopt(d.path()).arg("rules").output().expect("run");
    assert!(String::from_utf8_lossy(&out.stdout).contains("chain-runs"));
    let out = dfopt(d.path())
        .args(["explain", "chain-runs"])
        .output()
        .expect("run");
    let doc = String::from_utf8_lossy(&out.stdout);
    assert!(doc.contains("**Fix safety**"), "{doc}");
    dfopt(d.path()).args(["explain", "nope"]).assert().code(2);
    dfopt(d.path()).arg("init").assert().code(0);
    assert!(read(d.path(), "dfopt.toml").contains("final = \"distroless\""));
    dfopt(d.path()).arg("init").assert().code(2);
    write(d.path(), "Dockerfile", NEEDS_FIX);
    dfopt(d.path()).args(["check"]).assert().code(1); // the written default config is valid
    let out = dfopt(d.path())
        .args(["completions", "bash"])
        .output()
        .expect("run");
    assert!(String::from_utf8_lossy(&out.stdout).contains("dfopt"));
    let out = dfopt(d.path()).arg("man").output().expect("run");
    assert!(String::from_utf8_lossy(&out.stdout).contains(".TH dfopt"));
}

#[test]
fn an_image_mirror_in_the_config_reaches_the_rewrite() {
    // `[transforms.images]` is the table the default config suggests for a registry mirror: it is
    // shared data, not a rule, and must be accepted and used.
    let d = tempfile::tempdir().expect("tmp");
    write(
        d.path(),
        "dfopt.toml",
        "[transforms.images.replace]\n\"gcr.io/distroless/static-debian13\" = \"mirror.example/static\"\n",
    );
    write(
        d.path(),
        "Dockerfile",
        "FROM golang:1.25\nWORKDIR /app\nCOPY . .\nRUN CGO_ENABLED=0 go build -o /app/server .\nCMD [\"/app/server\"]\n",
    );
    let out = dfopt(d.path())
        .args([
            "fix",
            "--unsafe-fixes",
            "--select",
            "multi-stage",
            "Dockerfile",
        ])
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stdout.contains("+FROM mirror.example/static:nonroot"),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(!stdout.contains("gcr.io/distroless/static"), "{stdout}");
}
