//! The stage facts' reading of a RUN's commands as it was before it walked the shell tree
//! (`src/model/stage_facts/commands.rs`): `StageFacts::scan_shell` and `note_packages` verbatim,
//! over the old top-level splitter (`legacy_top_level`), kept as the oracle of
//! `tests/shell_tree_equivalence.rs` (issue 11).

use super::legacy_top_level as shell;
use dfopt::model::stage_facts::resolve;
use std::collections::BTreeMap;

/// One command as the old reading gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunCmd {
    pub words: Vec<String>,
    pub cwd: String,
    pub env: BTreeMap<String, String>,
}

/// What the old reading collected from RUN texts.
#[derive(Debug, Default)]
pub struct OldFacts {
    pub runs: Vec<RunCmd>,
    pub os_packages: Vec<String>,
    pub opaque_runs: usize,
}

impl OldFacts {
    /// Reads one RUN text run in `cwd`, as `StageFacts::scan` did.
    pub fn read(&mut self, text: &str, cwd: &str) {
        if !self.scan_shell(text, cwd) {
            self.opaque_runs += 1;
        }
    }

    /// Splits a RUN's shell text into commands, following `cd` and `export`. False when opaque.
    fn scan_shell(&mut self, text: &str, cwd: &str) -> bool {
        let mut facts = shell::ShellFacts::default();
        let Some(cmds) = shell::split_top_level(text, &mut facts) else {
            return false;
        };
        let mut cwd = cwd.to_string();
        let mut exported: BTreeMap<String, String> = BTreeMap::new();
        for c in cmds {
            let mut env = exported.clone();
            let mut words: Vec<String> = Vec::new();
            let mut leading = true;
            for w in &c.words {
                if leading {
                    if let Some((k, v)) = w.split_once('=') {
                        if !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                        {
                            env.insert(k.to_string(), unquote(v));
                            continue;
                        }
                    }
                }
                leading = false;
                words.push(unquote(w));
            }
            match words.first().map(String::as_str) {
                Some("cd") => {
                    if let Some(d) = words.get(1).and_then(|d| resolve(&cwd, d)) {
                        cwd = d;
                    }
                }
                Some("export") => {
                    for w in &words[1..] {
                        if let Some((k, v)) = w.split_once('=') {
                            exported.insert(k.to_string(), unquote(v));
                        }
                    }
                }
                _ => {}
            }
            self.note_packages(&words);
            if !words.is_empty() {
                self.runs.push(RunCmd {
                    words,
                    cwd: cwd.clone(),
                    env,
                });
            }
        }
        true
    }

    fn note_packages(&mut self, words: &[String]) {
        let Some(first) = words.first() else {
            return;
        };
        let pm = first.rsplit('/').next().unwrap_or(first);
        let verb = match pm {
            "apt-get" | "apt" | "yum" | "dnf" | "microdnf" => "install",
            "apk" => "add",
            _ => return,
        };
        let Some(pos) = words.iter().position(|w| w == verb) else {
            return;
        };
        let mut skip_next = false;
        for w in &words[pos + 1..] {
            if skip_next {
                skip_next = false;
                continue;
            }
            if w.starts_with('-') {
                // apk's `--virtual NAME` / `-t NAME` names a group, not a package.
                skip_next = pm == "apk" && (w == "--virtual" || w == "-t");
                continue;
            }
            let name = w.split(['=', '>', '<']).next().unwrap_or(w);
            if !name.is_empty() && !name.contains('$') {
                self.os_packages.push(name.to_string());
            }
        }
    }
}

fn unquote(v: &str) -> String {
    let v = v.trim();
    if v.len() >= 2
        && ((v.starts_with('"') && v.ends_with('"')) || (v.starts_with('\'') && v.ends_with('\'')))
    {
        v[1..v.len() - 1].to_string()
    } else {
        v.to_string()
    }
}
