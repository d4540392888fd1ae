//! `dfopt check --select eol-base-image` on a fixture, judged on a fixed day set in dfopt.toml.

use assert_cmd::Command;
use std::fs;

const FIXTURE: &str = include_str!("fixtures/eol-base-image/Dockerfile");

fn check(today: &str) -> (Option<i32>, String) {
    let d = tempfile::tempdir().expect("tmp");
    fs::write(d.path().join("Dockerfile"), FIXTURE).expect("write");
    fs::write(
        d.path().join("dfopt.toml"),
        format!("[transforms.eol-base-image]\ntoday = \"{today}\"\n"),
    )
    .expect("write config");
    let out = Command::cargo_bin("dfopt")
        .expect("binary")
        .current_dir(d.path())
        .args(["check", "--select", "eol-base-image", "Dockerfile"])
        .output()
        .expect("run");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn reports_each_from_past_its_end_of_life_on_the_configured_day() {
    let (code, stdout) = check("2026-11-29");
    assert_eq!(code, Some(1), "{stdout}");
    let lines: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains("eol-base-image"))
        .collect();
    let at: Vec<&str> = lines
        .iter()
        .map(|l| l.split(": eol-base-image").next().unwrap_or(""))
        .collect();
    // node:${NODE_VERSION}-alpine (14), python:3.8, openjdk, distroless nodejs18-debian12; not
    // the stage name, golang 1.26, python 3.13, node:lts or temurin 21.
    assert_eq!(
        at,
        [
            "Dockerfile:5:1",
            "Dockerfile:14:1",
            "Dockerfile:15:1",
            "Dockerfile:16:1"
        ],
        "{stdout}"
    );
    assert!(lines[0].contains("Node.js 14") && lines[0].contains("2023-04-30"));
    assert!(lines[2].contains("no longer published"));
}

#[test]
fn the_same_file_was_partly_supported_on_an_earlier_day() {
    // On 2024-01-01 Python 3.8 and Node.js 18 were still supported and distroless still updated
    // its Debian 12 images; Node.js 14 had ended and the openjdk image was deprecated.
    let (code, stdout) = check("2024-01-01");
    assert_eq!(code, Some(1), "{stdout}");
    let at: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains("eol-base-image"))
        .map(|l| l.split(": eol-base-image").next().unwrap_or(""))
        .collect();
    assert_eq!(at, ["Dockerfile:5:1", "Dockerfile:15:1"], "{stdout}");
    assert!(stdout.contains("Node.js 14"), "{stdout}");
}

#[test]
fn it_is_off_unless_selected() {
    let d = tempfile::tempdir().expect("tmp");
    fs::write(d.path().join("Dockerfile"), FIXTURE).expect("write");
    let out = Command::cargo_bin("dfopt")
        .expect("binary")
        .current_dir(d.path())
        .args(["check", "--isolated", "Dockerfile"])
        .output()
        .expect("run");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("eol-base-image"));
}
