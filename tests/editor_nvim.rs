//! A real editor on `dfopt server`: headless Neovim (tests/nvim/fix_all.lua) attaches the server to
//! a Dockerfile, waits for its diagnostics, applies the `source.fixAll.dfopt` code action the way
//! Neovim applies any edit, and writes the buffer. The file must then equal what
//! `dfopt fix --write` makes of a copy: the server's UTF-16 positions, as a real client reads them,
//! on text with non-ASCII characters and with CRLF line ends.
//!
//! Needs `nvim` (0.7 or later; `scripts/setup-test-deps-editor.sh` installs Debian's). Without it
//! the test says why and passes, unless `DFOPT_EDITOR_TEST=1` (as CI sets), where it fails.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[path = "support/editor_samples.rs"]
mod editor_samples;
use editor_samples::{SEED, UNICODE};

fn nvim_available() -> bool {
    Command::new("nvim")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// `dfopt fix --write` on `path` (plus `args`).
fn cli_fix(path: &Path, args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_dfopt"))
        .args(["fix", "--write", "--quiet"])
        .args(args)
        .arg(path)
        .output()
        .expect("run dfopt fix");
    assert!(out.status.success(), "{out:?}");
}

/// Runs Neovim on `dir/name` with the fix-all script; returns the script's result line.
fn nvim_fix_all(dir: &Path, name: &str, init_options: &str) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/nvim/fix_all.lua");
    let result = dir.join("nvim-result.txt");
    let mut child = Command::new("nvim")
        .args(["--headless", "--clean", "-n", name, "-c"])
        .arg(format!("luafile {}", script.display()))
        .current_dir(dir)
        .env("DFOPT_BIN", env!("CARGO_BIN_EXE_dfopt"))
        .env("DFOPT_NVIM_RESULT", &result)
        .env("DFOPT_INIT_OPTIONS", init_options)
        // Keep Neovim's state files out of the user's home.
        .env("XDG_STATE_HOME", dir.join("state"))
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("XDG_CACHE_HOME", dir.join("cache"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start nvim");
    let deadline = Instant::now() + Duration::from_secs(90);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for nvim") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("nvim did not finish within 90 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let line = std::fs::read_to_string(&result).unwrap_or_default();
    assert!(
        status.success() && line.starts_with("ok "),
        "nvim failed ({status}): {line}"
    );
    line
}

#[test]
fn neovim_fix_all_writes_what_dfopt_fix_writes() {
    if !nvim_available() {
        assert!(
            std::env::var("DFOPT_EDITOR_TEST").as_deref() != Ok("1"),
            "DFOPT_EDITOR_TEST=1 but `nvim` is not on PATH: run scripts/setup-test-deps-editor.sh"
        );
        eprintln!(
            "editor_nvim: `nvim` is not installed, so the Neovim test did not run \
             (scripts/setup-test-deps-editor.sh installs it; DFOPT_EDITOR_TEST=1 makes this a failure)"
        );
        return;
    }
    let crlf = UNICODE.replace('\n', "\r\n");
    let cases: [(&str, &str, &str, &[&str]); 4] = [
        ("Dockerfile", UNICODE, "{}", &[]),
        ("Dockerfile", &crlf, "{}", &[]),
        (
            "api.Dockerfile",
            &crlf,
            r#"{"unsafeFixes": true}"#,
            &["--unsafe-fixes"],
        ),
        (
            "Dockerfile",
            SEED,
            r#"{"unsafeFixes": true}"#,
            &["--unsafe-fixes"],
        ),
    ];
    for (name, text, options, flags) in cases {
        let dir = tempfile::tempdir().expect("tmp");
        let edited = dir.path().join(name);
        std::fs::write(&edited, text).expect("write");
        let expected_dir = tempfile::tempdir().expect("tmp");
        let expected = expected_dir.path().join(name);
        std::fs::write(&expected, text).expect("write");
        cli_fix(&expected, flags);

        let line = nvim_fix_all(dir.path(), name, options);
        let got = std::fs::read_to_string(&edited).expect("read");
        let want = std::fs::read_to_string(&expected).expect("read");
        assert_ne!(want, text, "the sample has fixes");
        assert_eq!(got, want, "{name} with {options}: {line}");
    }
}
