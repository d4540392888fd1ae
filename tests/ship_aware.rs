//! Ship-aware rewriting, levels and the Markdown report.
//!
//! Fixtures: `tests/fixtures/chain-runs/ship/NAME.Dockerfile` is fixed with the default rules and
//! safe fixes, `tests/fixtures/exec-form-start/NAME.Dockerfile` with exec-form-start alone and
//! unsafe fixes; each must give `NAME.expected` byte for byte and be a fixed point.

use assert_cmd::Command;
use dfopt::config::Settings;
use dfopt::passes::Registry;
use std::path::{Path, PathBuf};

fn fixtures(folder: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(folder);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixture folder")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "Dockerfile"))
        .collect();
    files.sort();
    files
}

fn fix(input: &str, settings: &Settings) -> String {
    let registry = Registry::new(settings).expect("registry");
    let outcome = dfopt::fix_source(input, &registry, settings, None).expect("fix");
    let again = dfopt::fix_source(&outcome.fixed, &registry, settings, None).expect("fix again");
    assert_eq!(again.fixed, outcome.fixed, "not a fixed point");
    outcome.fixed
}

fn check_fixtures(folder: &str, settings: &Settings, at_least: usize) {
    let files = fixtures(folder);
    assert!(files.len() >= at_least, "{folder}: {files:?}");
    for path in files {
        let input = std::fs::read_to_string(&path).expect("read");
        let expected =
            std::fs::read_to_string(path.with_extension("expected")).expect("read .expected");
        assert_eq!(fix(&input, settings), expected, "{}", path.display());
    }
}

#[test]
fn chain_runs_and_cleanup_only_in_stages_that_ship() {
    check_fixtures("chain-runs/ship", &Settings::default(), 4);
}

#[test]
fn exec_form_start_fixtures() {
    let settings = Settings {
        select: Some(vec!["exec-form-start".into()]),
        unsafe_fixes: true,
        ..Default::default()
    };
    check_fixtures("exec-form-start", &settings, 4);
}

#[test]
fn merge_build_stages_merges_and_cleans_builders_too() {
    // `( make -C /src )`: a later member runs `make` again, and the command hash the first run
    // leaves could go stale (docs/safety-model.md).
    let input = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/chain-runs/ship/update_install_joined_in_builder.Dockerfile"),
    )
    .expect("read");
    let settings = Settings {
        merge_build_stages: true,
        ..Default::default()
    };
    let fixed = fix(&input, &settings);
    assert!(
        fixed.starts_with(
            "FROM debian:12 AS build\nRUN apt-get update \\\n    && apt-get install -y build-essential \\\n    && ( make -C /src ) \\\n    && make -C /src test \\\n    && rm -rf /var/lib/apt/lists/*\n"
        ),
        "{fixed}"
    );
}

fn dfopt(dir: &Path) -> Command {
    let mut c = Command::cargo_bin("dfopt").expect("binary");
    c.current_dir(dir);
    c
}

const BUILDER_ONLY: &str = "FROM golang:1.22 AS build\nRUN go mod download\nRUN go build -o /app\n\nFROM gcr.io/distroless/static-debian12\nCOPY --from=build /app /app\nENTRYPOINT [\"/app\"]\n";

#[test]
fn the_summary_counts_layers_removed_from_the_shipped_image_only() {
    let d = tempfile::tempdir().expect("tmp");
    std::fs::write(
        d.path().join("Dockerfile"),
        "FROM debian:12 AS build\nRUN apt-get update\nRUN apt-get install -y gcc\n\nFROM debian:12\nRUN mkdir /data\nRUN chown 1000 /data\n",
    )
    .expect("write");
    let out = dfopt(d.path())
        .args(["fix", "--isolated", "--format", "json", "Dockerfile"])
        .output()
        .expect("run");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    // Both stages lose a RUN; only the final stage's counts.
    assert_eq!(json["summary"]["runs_removed"], 1, "{json}");
    assert_eq!(
        json["files"][0]["applied"],
        serde_json::json!(["chain-runs", "chain-runs"])
    );
    // A builder whose RUNs stay apart is no finding at all: nothing to fail on.
    std::fs::write(d.path().join("Dockerfile"), BUILDER_ONLY).expect("write");
    dfopt(d.path())
        .args(["check", "--isolated", "Dockerfile"])
        .assert()
        .code(0);
    dfopt(d.path())
        .args(["check", "--isolated", "--merge-build-stages", "Dockerfile"])
        .assert()
        .code(1);
}

/// A file with one finding of each level: an error (assume-yes), a warning (chain-runs) and an
/// info (a start command that keeps its shell).
const EACH_LEVEL: &str =
    "FROM debian:12\nRUN apt-get install --no-install-recommends curl\nRUN mkdir /data\nCMD cd /data && exec ./app\n";

#[test]
fn levels_decide_the_exit_code_and_the_annotation_kinds() {
    let d = tempfile::tempdir().expect("tmp");
    std::fs::write(d.path().join("Dockerfile"), EACH_LEVEL).expect("write");
    let run = |args: &[&str]| {
        dfopt(d.path())
            .args(["check", "--isolated"])
            .args(args)
            .arg("Dockerfile")
            .output()
            .expect("run")
    };
    let text = run(&[]);
    let stdout = String::from_utf8_lossy(&text.stdout).to_string();
    assert_eq!(text.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("Dockerfile:2:1: assume-yes [error] "),
        "{stdout}"
    );
    assert!(
        stdout.contains("Dockerfile:2:1: chain-runs [warning] "),
        "{stdout}"
    );
    assert!(
        stdout.contains("Dockerfile:4:1: exec-form-start [info] "),
        "{stdout}"
    );
    assert_eq!(run(&["--fail-level", "error"]).status.code(), Some(1));
    assert_eq!(run(&["--fail-level", "never"]).status.code(), Some(0));
    // Only the info finding left: it fails nothing unless asked to.
    assert_eq!(run(&["--select", "exec-form-start"]).status.code(), Some(0));
    assert_eq!(
        run(&["--select", "exec-form-start", "--fail-level", "info"])
            .status
            .code(),
        Some(1)
    );
    // `fail-level` in dfopt.toml, overridden by the flag.
    std::fs::write(d.path().join("dfopt.toml"), "fail-level = \"error\"\n").expect("write");
    let from_config = |args: &[&str]| {
        dfopt(d.path())
            .args(["check", "--select", "chain-runs"])
            .args(args)
            .arg("Dockerfile")
            .output()
            .expect("run")
            .status
            .code()
    };
    assert_eq!(from_config(&[]), Some(0));
    assert_eq!(from_config(&["--fail-level", "warning"]), Some(1));
    std::fs::remove_file(d.path().join("dfopt.toml")).expect("rm");

    let github = String::from_utf8_lossy(&run(&["--format", "github"]).stdout).to_string();
    let kinds: Vec<&str> = github
        .lines()
        .map(|l| l.split(' ').next().unwrap_or(""))
        .collect();
    assert_eq!(kinds, ["::error", "::warning", "::notice"], "{github}");

    let sarif: serde_json::Value =
        serde_json::from_slice(&run(&["--format", "sarif"]).stdout).expect("sarif");
    let levels: Vec<(&str, &str)> = sarif["runs"][0]["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            (
                r["ruleId"].as_str().unwrap_or(""),
                r["level"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        levels,
        [
            ("assume-yes", "error"),
            ("chain-runs", "warning"),
            ("exec-form-start", "note")
        ]
    );

    let json: serde_json::Value =
        serde_json::from_slice(&run(&["--format", "json"]).stdout).expect("json");
    assert_eq!(json["files"][0]["findings"][0]["level"], "error");
    assert_eq!(
        json["summary"]["findings_by_level"],
        serde_json::json!({"info": 1, "warning": 1, "error": 1})
    );
}

#[test]
fn explain_names_the_level() {
    let d = tempfile::tempdir().expect("tmp");
    let out = dfopt(d.path())
        .args(["explain", "multi-stage"])
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("**Level**: warning; a refusal"), "{text}");
}

#[test]
fn the_markdown_report_has_its_sections_and_tables() {
    use pulldown_cmark::{Event, Parser, Tag, TagEnd};
    let d = tempfile::tempdir().expect("tmp");
    let write = |rel: &str, text: &str| {
        let p = d.path().join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    };
    write(
        "a/Dockerfile",
        "FROM debian:12\nRUN apt-get update\nRUN apt-get install -y curl\n",
    );
    write(
        "b/Dockerfile",
        "FROM node:22\nWORKDIR /app\nCOPY . .\nRUN npm ci\nCMD [\"node\", \"index.js\"]\n",
    );
    // No WORKDIR: multi-stage cannot tell which folder is the app and refuses it (an info
    // finding, listed under Refusals).
    write(
        "c/Dockerfile",
        "FROM node:22\nCOPY . .\nRUN npm ci\nCMD [\"node\", \"index.js\"]\n",
    );
    write("d/Dockerfile", "FROM {{ image }}\nRUN x\n");
    let run = || {
        dfopt(d.path())
            .args([
                "fix",
                "--isolated",
                "--select",
                "ALL",
                "--unsafe-fixes",
                "--format",
                "markdown",
                ".",
            ])
            .output()
            .expect("run")
    };
    let first = run();
    let md = String::from_utf8_lossy(&first.stdout).to_string();
    assert_eq!(
        md,
        String::from_utf8_lossy(&run().stdout),
        "two runs differ"
    );

    let mut headings: Vec<(u32, String)> = Vec::new();
    let mut tables: Vec<(usize, Vec<usize>)> = Vec::new(); // (header cells, cells per row)
    let mut heading: Option<u32> = None;
    let mut text = String::new();
    let mut cells = 0;
    for event in Parser::new_ext(&md, pulldown_cmark::Options::ENABLE_TABLES) {
        match event {
            Event::Start(Tag::Heading { level, .. }) => {
                heading = Some(level as u32);
                text.clear();
            }
            Event::End(TagEnd::Heading(_)) => {
                headings.push((heading.take().unwrap_or(0), text.clone()));
            }
            Event::Text(t) | Event::Code(t) if heading.is_some() => text.push_str(&t),
            Event::Start(Tag::Table(_)) => tables.push((0, Vec::new())),
            Event::Start(Tag::TableHead) | Event::Start(Tag::TableRow) => cells = 0,
            Event::Start(Tag::TableCell) => cells += 1,
            Event::End(TagEnd::TableHead) => {
                if let Some(t) = tables.last_mut() {
                    t.0 = cells;
                }
            }
            Event::End(TagEnd::TableRow) => {
                if let Some(t) = tables.last_mut() {
                    t.1.push(cells);
                }
            }
            _ => {}
        }
    }
    let titles: Vec<&str> = headings.iter().map(|(_, t)| t.as_str()).collect();
    assert_eq!(titles[0], "dfopt migration report", "{md}");
    for section in [
        "Fixes by rule",
        "Conversions",
        "Findings left",
        "Refusals",
        "Errors",
    ] {
        assert!(
            headings.iter().any(|(l, t)| *l == 2 && t == section),
            "no section {section}: {md}"
        );
    }
    // Fixes by rule (4 columns), conversions (3), findings left (3), errors (2).
    let widths: Vec<usize> = tables.iter().map(|t| t.0).collect();
    assert_eq!(widths, [4, 3, 3, 2], "{md}");
    for (header, rows) in &tables {
        assert!(!rows.is_empty() && rows.iter().all(|n| n == header), "{md}");
    }
    assert!(md.contains("| `chain-runs` | 1 | 1 | 1 |"), "{md}");
    assert!(md.contains("| `b/Dockerfile` | `multi-stage` |"), "{md}");
    assert!(md.contains("| `d/Dockerfile` |"), "{md}");
}
