//! A 10,000-file synthetic monorepo (`scripts/gen-monorepo.py`): nested `dfopt.toml` files,
//! .gitignore'd and hidden folders, inline suppressions. The run must find exactly the visible
//! files, honour the config that governs each file and every suppression comment, and `--shard`
//! runs must partition it. Configuration semantics are re-derived here independently of dfopt:
//! the nearest `dfopt.toml` up the tree governs a file.

use assert_cmd::Command;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const FILES: usize = 10_000;

fn generate(out: &Path) -> bool {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/gen-monorepo.py");
    match std::process::Command::new("python3")
        .arg(script)
        .args(["--files", &FILES.to_string(), "--seed", "7", "--out"])
        .arg(out)
        .output()
    {
        Ok(o) if o.status.success() => true,
        Ok(o) => panic!("generator failed: {}", String::from_utf8_lossy(&o.stderr)),
        Err(e) => {
            eprintln!("skipped: python3 not available ({e})");
            false
        }
    }
}

fn check_json(root: &Path, extra: &[&str]) -> serde_json::Value {
    let out = Command::cargo_bin("dfopt")
        .expect("binary")
        .current_dir(root)
        .args(["check", "--quiet", "--format", "json"])
        .args(extra)
        .output()
        .expect("run dfopt");
    assert!(
        matches!(out.status.code(), Some(0) | Some(1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json")
}

/// The rules a config file selects / ignores (None: not set).
#[derive(Debug, Clone, Default)]
struct Cfg {
    select: Option<Vec<String>>,
    ignore: Option<Vec<String>>,
}

fn nearest_config(
    root: &Path,
    file: &Path,
    cache: &mut BTreeMap<PathBuf, Option<Cfg>>,
) -> Option<Cfg> {
    let mut dir = root.join(file).parent().map(Path::to_path_buf);
    while let Some(d) = dir {
        if !d.starts_with(root) {
            return None;
        }
        if let Some(c) = cache.get(&d) {
            if c.is_some() {
                return c.clone();
            }
        } else {
            let p = d.join("dfopt.toml");
            let c = std::fs::read_to_string(&p).ok().map(|t| {
                let v: toml::Table = toml::from_str(&t).expect("generated config parses");
                let list = |k: &str| {
                    v.get(k).and_then(|x| x.as_array()).map(|a| {
                        a.iter()
                            .filter_map(|s| s.as_str().map(str::to_string))
                            .collect()
                    })
                };
                Cfg {
                    select: list("select"),
                    ignore: list("ignore"),
                }
            });
            cache.insert(d.clone(), c.clone());
            if c.is_some() {
                return c;
            }
        }
        dir = d.parent().map(Path::to_path_buf);
    }
    None
}

#[test]
fn a_ten_thousand_file_monorepo_honours_configs_suppressions_and_shards() {
    let tmp = tempfile::tempdir().expect("tmp");
    let root = tmp.path().join("mono");
    if !generate(&root) {
        return;
    }
    let whole = check_json(&root, &[]);
    let files = whole["files"].as_array().expect("files");
    assert_eq!(
        files.len(),
        FILES,
        "exactly the visible Dockerfiles (gitignored and hidden ones skipped)"
    );
    assert!(
        files.iter().all(|f| f["error"].is_null()),
        "no file is refused"
    );

    let mut cache = BTreeMap::new();
    let (mut ignored_checked, mut selected_checked, mut pragmas_checked) = (0, 0, 0);
    for f in files {
        let path = f["path"].as_str().expect("path");
        let rules: BTreeSet<&str> = f["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .filter_map(|x| x["rule"].as_str())
            .collect();
        let cfg =
            nearest_config(&root, Path::new(path), &mut cache).expect("the root has a dfopt.toml");
        if cfg
            .ignore
            .as_ref()
            .is_some_and(|i| i.iter().any(|r| r == "chain-runs"))
        {
            assert!(
                !rules.contains("chain-runs"),
                "{path}: chain-runs is ignored by its dfopt.toml"
            );
            ignored_checked += 1;
        }
        if let Some(sel) = &cfg.select {
            if !sel.iter().any(|r| r.eq_ignore_ascii_case("all")) {
                assert!(
                    rules.iter().all(|r| sel.iter().any(|s| s == r)),
                    "{path}: only {sel:?} may run, got {rules:?}"
                );
                selected_checked += 1;
            }
        }
        // A suppression comment right above a RUN: no chain-runs finding may start at that RUN.
        let text = std::fs::read_to_string(root.join(path)).expect("read");
        let lines: Vec<&str> = text.lines().collect();
        for (i, l) in lines.iter().enumerate() {
            let t = l.trim();
            if t == "# dfopt: ignore=chain-runs" || t == "# hadolint ignore=DL3059" {
                let target = (i + 1..lines.len())
                    .find(|&j| !lines[j].trim_start().starts_with('#'))
                    .map(|j| j + 1);
                if let Some(line) = target {
                    let hit = f["findings"]
                        .as_array()
                        .expect("findings")
                        .iter()
                        .any(|x| x["rule"] == "chain-runs" && x["line"] == line);
                    assert!(!hit, "{path}:{line}: suppressed RUN still reported");
                    pragmas_checked += 1;
                }
            }
        }
    }
    assert!(ignored_checked > 100 && selected_checked > 1000 && pragmas_checked > 100, "the tree exercises configs and suppressions: {ignored_checked} {selected_checked} {pragmas_checked}");

    // --shard K/N: disjoint, and together the whole run
    let mut union: Vec<String> = Vec::new();
    for k in 1..=4 {
        let part = check_json(&root, &["--shard", &format!("{k}/4")]);
        union.extend(
            part["files"]
                .as_array()
                .expect("files")
                .iter()
                .map(|f| f.to_string()),
        );
    }
    union.sort();
    let mut all: Vec<String> = files.iter().map(|f| f.to_string()).collect();
    all.sort();
    assert_eq!(
        union, all,
        "the shards' results together equal the whole run"
    );
}
