//! ## package-cache-cleanup
//!
//! **What it does**: appends the package manager's cleanup to the end of a `RUN` that fills its
//! cache: `rm -rf /var/lib/apt/lists/*` after `apt-get update`, `yum clean all`, `dnf clean all`,
//! `microdnf clean all`, `tdnf clean all`, `zypper clean --all`, `npm cache clean --force`,
//! `yarn cache clean` (the managers and their commands are data in
//! `transforms/package-cache-cleanup.toml`). It also reports an `apt-get update` that runs in a
//! `RUN` of its own, apart from the install it prepares, when other instructions stand between them.
//!
//! **Why is this bad**: a file deleted in a later layer still ships in the layer that created it.
//! Package lists and download caches are tens of megabytes the image never needs at run time, so
//! they must be removed by the same `RUN` that created them.
//!
//! **Example**
//! ```dockerfile
//! RUN apt-get update \
//!     && apt-get install -y --no-install-recommends curl
//! ```
//! becomes
//! ```dockerfile
//! RUN apt-get update \
//!     && apt-get install -y --no-install-recommends curl \
//!     && rm -rf /var/lib/apt/lists/*
//! ```
//!
//! **Fix safety**: safe, except for yarn (unsafe: a Yarn 2+ Plug'n'Play project runs from its
//! cache). The cleanup is appended last, with `&&` (or `; \` in a `set -e` script), so it runs only
//! when everything before it succeeded and the RUN's exit status is unchanged. Nothing changes when
//! the RUN already cleans up after its last install (`rm -rf /var/lib/apt/lists/*`,
//! `apt-get dist-clean`, `yum clean all`, …), when the cache is a `--mount=type=cache` or `tmpfs`
//! mount, in heredoc, exec-form, `ONBUILD` and Windows/PowerShell RUNs, and when the end of the
//! script is not a place where an added command surely runs last (trailing `;`/`&`, a comment,
//! `exec`). The cleanup is not added (a finding says why) when a later step may read the
//! cache (`src/model/consumers.rs`): a later `RUN` of the stage (or of a stage built on it) that
//! installs or queries apt packages without `apt-get update` first, runs `npm ci --offline`,
//! `npm cache verify`, `dnf -C`/`--cacheonly`, `zypper --no-refresh`, `yarn --offline`, or names a
//! path in the cache (commands are read through `sudo -u`, `sh -c`, `su -c`, `timeout`, `xargs`,
//! `env`, …); a `COPY --from=`/`--mount=from=` of those stages over the cache; and a later `RUN`
//! that runs something dfopt cannot see into (a script such as `./install.sh`, `make`, `source`,
//! `eval`). A manager run as another user (`sudo -u node npm install`) is cleaned as that user
//! (`sudo -u node npm cache clean --force`), so the cleanup removes the cache that was filled.
use super::runtext::{self, Run};
use super::LazyRegex;
use super::{Context, FixAvailability, ProgramIndex, Rule, RuleMeta};
use crate::config::Settings;
use crate::edit::{Finding, Fix, Level, Safety};
use crate::model::consumers::{self, Effective, Probe, Use, Verdict};
use crate::model::script::Cmd;

const DATA: &str = include_str!("../../transforms/package-cache-cleanup.toml");
/// What this rule is: read by the registry, `dfopt rules`, `dfopt explain` and the README table.
pub const META: RuleMeta = RuleMeta {
    id: "package-cache-cleanup",
    summary: "A RUN that installs packages removes the package manager's cache in the same layer",
    fix: FixAvailability::Sometimes("unsafe for yarn"),
    hadolint: &["DL3009", "DL3032", "DL3036", "DL3040", "DL3060"],
    default_enabled: true,
    level: Level::Warning,
    levels: "warning; error for an `apt-get update` in a RUN of its own whose install runs in a later RUN (a stale package list)",
};
const ID: &str = META.id;

/// One manager's table in `transforms/package-cache-cleanup.toml`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Manager {
    name: String,
    programs: Vec<String>,
    fills: Vec<String>,
    clean: Vec<String>,
    cleaned_by: Vec<LazyRegex>,
    cache_mounts: Vec<String>,
    readers: Vec<String>,
    reader_programs: Vec<String>,
    refresh: Vec<String>,
    /// Regexes over a later command ("program arg …") that reads the cache in any subcommand
    /// (`npm ci --offline`, `dnf -C install`).
    reads_when: Vec<LazyRegex>,
    /// Where the cache lives (`~` is the home of the user the manager runs as).
    paths: Vec<String>,
    /// Its cleanup is an unsafe fix (yarn's: a Plug'n'Play project runs from its cache).
    #[serde(rename = "unsafe", default)]
    unsafe_: bool,
    what: String,
}

/// Whether `pattern` matches `line`, ruled out first by the literals every match begins with.
/// The data's regexes are anchored at the start (`^rm\s…`), so every match begins with one of a
/// few literals (`rm`, `yum`, `dnf`); most commands a RUN runs begin with none of them, and
/// testing the first bytes costs far less than a regex search.
fn matches_line(pattern: &LazyRegex, line: &str) -> bool {
    let may = match pattern.anchored_prefixes() {
        Some(starts) => starts.iter().any(|s| line.as_bytes().starts_with(s)),
        None => true,
    };
    may && pattern.is_match(line)
}

/// Whether `pattern` may match `cmd`'s line: false only when the line surely begins with none
/// of the literals every match begins with (and then the line need not be built).
fn may_match(pattern: &LazyRegex, cmd: &Cmd) -> bool {
    match pattern.anchored_prefixes() {
        Some(starts) => starts.iter().any(|s| line_starts_with(cmd, s)),
        None => true,
    }
}

/// Whether [`Cmd::line`] begins with `prefix`, without building the line.
fn line_starts_with(cmd: &Cmd, prefix: &[u8]) -> bool {
    let mut rest = prefix;
    let pieces = std::iter::once(cmd.program())
        .chain(cmd.args().iter().flat_map(|w| [" ", w.text.as_str()]));
    for piece in pieces {
        let piece = piece.as_bytes();
        if rest.len() <= piece.len() {
            return piece.starts_with(rest);
        }
        match rest.strip_prefix(piece) {
            Some(r) => rest = r,
            None => return false,
        }
    }
    rest.is_empty()
}

/// `transforms/package-cache-cleanup.toml`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Data {
    managers: Vec<Manager>,
}

pub struct PackageCacheCleanup {
    managers: Vec<Manager>,
    /// Each manager's programs with the manager's index: a command's program is looked up once
    /// for all the managers (most commands run none of them).
    by_program: ProgramIndex<usize>,
}

impl PackageCacheCleanup {
    pub fn new(settings: &Settings) -> Result<Self, String> {
        let data: Data = super::load(DATA, ID, settings)?;
        crate::model::consumers::check_data()?;
        let by_program = ProgramIndex::new(
            data.managers
                .iter()
                .enumerate()
                .flat_map(|(i, m)| m.programs.iter().map(move |p| (p.clone(), i))),
        );
        Ok(PackageCacheCleanup {
            managers: data.managers,
            by_program,
        })
    }
}

fn mounted(targets: &[String], patterns: &[String]) -> bool {
    patterns.iter().any(|p| {
        if p.starts_with('/') {
            runtext::mount_covers(targets, p)
        } else {
            targets.iter().any(|t| t.contains(p.as_str()))
        }
    })
}

impl PackageCacheCleanup {
    /// For each manager (in the data's order), the index of the last of `cmds` that runs one of
    /// its programs with a subcommand that fills its cache; empty when no command fills one.
    fn last_fills(&self, cmds: &[Cmd]) -> Vec<Option<usize>> {
        let mut last: Vec<Option<usize>> = Vec::new();
        for (i, c) in cmds.iter().enumerate() {
            for m in self.by_program.get(c.program()) {
                let Some(manager) = self.managers.get(*m) else {
                    continue;
                };
                if c.find_arg(&manager.fills).is_some() {
                    if last.is_empty() {
                        last = vec![None; self.managers.len()];
                    }
                    if let Some(slot) = last.get_mut(*m) {
                        *slot = Some(i);
                    }
                }
            }
        }
        last
    }

    /// Whether a later step (a RUN of the stage or of a stage built on it, a copy from them)
    /// reads `m`'s cache, filled by a command running as `user`, before refreshing it.
    fn later_reader(
        &self,
        ctx: &Context<'_>,
        run: &Run<'_>,
        m: &Manager,
        user: Option<&str>,
    ) -> Verdict {
        let home = match user {
            None | Some("root") => "/root".to_string(),
            Some(u) => format!("/home/{u}"),
        };
        let paths: Vec<String> = m
            .paths
            .iter()
            .map(|p| match p.strip_prefix('~') {
                Some(rest) => format!("{home}{rest}"),
                None => p.clone(),
            })
            .collect();
        let uses = |e: &Effective| -> Option<Use> {
            let line = e.line();
            if m.cleaned_by.iter().any(|r| matches_line(r, &line)) {
                return Some(Use::Removes);
            }
            if m.reader_programs.contains(&e.program) {
                if e.args.iter().any(|a| m.refresh.contains(a)) {
                    return Some(Use::Refreshes);
                }
                if let Some(sub) = e.args.iter().find(|a| m.readers.contains(a)) {
                    return Some(Use::Reads(format!(
                        "runs `{} {sub}` without `{} update` first: it reads them",
                        e.program, m.name
                    )));
                }
            }
            if m.reads_when.iter().any(|r| matches_line(r, &line)) {
                return Some(Use::Reads(format!("runs `{line}`, which reads them")));
            }
            None
        };
        let mentions: Vec<String> = m
            .reader_programs
            .iter()
            .chain(&m.programs)
            .cloned()
            .collect();
        let probe = Probe {
            paths: &paths,
            uses: &uses,
            mentions: &mentions,
        };
        consumers::later(ctx.doc, ctx.analysis, run.index, &probe)
    }
}

/// The `sudo` words in front of `cmd`'s program (`sudo -u node`), as written, so that a cleanup
/// runs as the same user as the command that filled the cache.
fn sudo_prefix(cmd: &Cmd) -> Option<String> {
    let start = cmd
        .words
        .iter()
        .take(cmd.prog)
        .position(|w| w.text == "sudo")?;
    let mut end = start + 1;
    while let Some(o) = cmd.words.get(end).filter(|_| end < cmd.prog) {
        if !o.text.starts_with('-') {
            break;
        }
        let takes_value = matches!(o.text.as_str(), "-u" | "-g" | "-h" | "-p" | "-C");
        end += if takes_value { 2 } else { 1 };
    }
    let words: Vec<&str> = cmd
        .words
        .get(start..end.min(cmd.prog))?
        .iter()
        .map(|w| w.text.as_str())
        .collect();
    Some(words.join(" "))
}

/// The user `cmd` runs as when `sudo -u USER` picks one.
fn sudo_user(cmd: &Cmd) -> Option<String> {
    let before = cmd.words.get(..cmd.prog)?;
    let at = before.iter().position(|w| w.text == "-u")?;
    before.get(at + 1).map(|w| w.text.as_str().to_owned())
}

impl Rule for PackageCacheCleanup {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Context<'_>, out: &mut Vec<Finding>) {
        for run in runtext::runs(ctx) {
            let last_fills = self.last_fills(&run.script.cmds);
            if last_fills.is_empty() {
                continue;
            }
            let mounts = run.cache_mounts();
            let mut safe_cmds: Vec<String> = Vec::new();
            let mut unsafe_cmds: Vec<String> = Vec::new();
            let mut whats: Vec<&str> = Vec::new();
            for (m, last_fill) in self.managers.iter().zip(&last_fills) {
                let Some(fill) = *last_fill else {
                    continue;
                };
                if mounted(&mounts, &m.cache_mounts) {
                    continue;
                }
                let cleaned = run.script.cmds.iter().skip(fill + 1).any(|c| {
                    // The line is built only for a command some pattern may match, and once.
                    let mut line: Option<String> = None;
                    m.cleaned_by.iter().any(|r| {
                        may_match(r, c) && r.is_match(line.get_or_insert_with(|| c.line()))
                    })
                });
                if cleaned {
                    continue;
                }
                let fill_cmd = run.script.cmds.get(fill);
                let user = fill_cmd.and_then(sudo_user);
                let verdict = self.later_reader(ctx, run, m, user.as_deref());
                if let Verdict::Unknown { .. } = verdict {
                    let reason = verdict.reason(&m.what).unwrap_or_default();
                    out.push(Finding::new(
                        ID,
                        run.ins.span,
                        format!(
                            "{} stay in this layer: remove them at the end of the RUN that \
                             created them (not fixed: {reason})",
                            m.what
                        ),
                    ));
                    continue;
                }
                if let Verdict::Reads { line, why } = &verdict {
                    let line = *line;
                    let by_install = why.contains(&format!("without `{} update`", m.name));
                    let own = !run.script.cmds.iter().skip(fill + 1).any(|c| {
                        m.reader_programs.iter().any(|p| p == c.program())
                            && c.find_arg(&m.readers).is_some()
                    });
                    // Whether that RUN comes right after this one: then chain-runs joins them,
                    // and "other instructions separate them" would be wrong.
                    let adjacent = ctx
                        .doc
                        .instructions
                        .get(run.index + 1)
                        .is_some_and(|next| next.start_line == line);
                    let msg = if !by_install {
                        format!(
                            "{} stay in this layer: remove them at the end of the RUN that \
                             created them (not fixed: {})",
                            m.what,
                            verdict.reason(&m.what).unwrap_or_default()
                        )
                    } else if own {
                        format!(
                            "`{} update` runs in a layer of its own; the install that needs it runs \
                             in the RUN on line {line}: {} ship in this layer and go stale in the \
                             build cache. Move the update into that RUN ({})",
                            m.name,
                            m.what,
                            if adjacent {
                                "it comes right after this one: chain-runs joins them"
                            } else {
                                "dfopt cannot join RUNs that other instructions separate"
                            }
                        )
                    } else {
                        format!(
                            "{} stay in this layer, but the RUN on line {line} still reads them \
                             (it installs without `{} update`): run the update there and clean \
                             up in each RUN",
                            m.what, m.name
                        )
                    };
                    // An update cached apart from its install is a build bug, not only waste.
                    let level = if own { Level::Error } else { Level::Warning };
                    out.push(Finding::new(ID, run.ins.span, msg).with_level(level));
                    continue;
                }
                let prefix = fill_cmd.and_then(sudo_prefix);
                let target = if m.unsafe_ {
                    &mut unsafe_cmds
                } else {
                    &mut safe_cmds
                };
                for c in &m.clean {
                    target.push(match &prefix {
                        Some(p) => format!("{p} {c}"),
                        None => c.clone(),
                    });
                }
                whats.push(&m.what);
            }
            if whats.is_empty() {
                continue;
            }
            let msg = format!(
                "{} stay in this layer: remove them at the end of the RUN that created them",
                whats.join(", ")
            );
            let mut emitted = false;
            for (cmds, safety) in [(&safe_cmds, Safety::Safe), (&unsafe_cmds, Safety::Unsafe)] {
                if cmds.is_empty() {
                    continue;
                }
                if let Some(edit) = runtext::append_commands(ctx, run, cmds) {
                    let fix = match safety {
                        Safety::Safe => Fix::safe(vec![edit]),
                        Safety::Unsafe => Fix::unsafe_(vec![edit]),
                    };
                    out.push(Finding::new(ID, run.ins.span, msg.clone()).with_fix(fix));
                    emitted = true;
                }
            }
            if !emitted {
                out.push(Finding::new(
                    ID,
                    run.ins.span,
                    format!(
                        "{msg} (not fixed: the script does not end where an added command surely \
                         runs last — a trailing `;` or `&`, a comment, or `exec`)"
                    ),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmds(text: &str) -> Vec<Cmd> {
        crate::model::script::parse(text)
            .unwrap_or_else(|| panic!("no script for {text}"))
            .cmds
    }

    #[test]
    fn anchored_patterns_have_their_first_literals() {
        let prefixes = |p: &str| {
            let r = crate::rule_data::regex(p).unwrap_or_else(|e| panic!("{e}"));
            r.anchored_prefixes().map(<[Vec<u8>]>::to_vec)
        };
        let starts = prefixes(r"^(yum|dnf)\s(.*\s)?(-C|--cacheonly)(\s|$)");
        let mut starts = starts.unwrap_or_else(|| panic!("no literals"));
        starts.sort();
        assert_eq!(starts, vec![b"dnf".to_vec(), b"yum".to_vec()]);
        // Not anchored, or anchored per line: every line is searched.
        assert_eq!(prefixes(r"yum\s+clean"), None);
        assert_eq!(prefixes(r"(?m)^yum\s+clean"), None);
        assert_eq!(prefixes(r"^yum|dnf clean"), None);
    }

    #[test]
    fn line_prefix_spans_words() {
        let c = cmds("apt-get -y clean");
        let c = c.first().unwrap_or_else(|| panic!("no command"));
        assert_eq!(c.line(), "apt-get -y clean");
        for prefix in ["", "apt", "apt-get", "apt-get ", "apt-get -y c", "apt-get -y clean"] {
            assert!(line_starts_with(c, prefix.as_bytes()), "{prefix}");
        }
        for prefix in ["apt ", "apt-get  ", "apt-get -y clean ", "yum", "apt-get -n"] {
            assert!(!line_starts_with(c, prefix.as_bytes()), "{prefix}");
        }
    }

    /// The cheap test never rules out a command the regex matches, and the regex still decides.
    #[test]
    fn cheap_test_agrees_with_the_regex() {
        let data: Data =
            crate::rule_data::load(DATA, ID, &Settings::default()).unwrap_or_else(|e| panic!("{e}"));
        let script = "rm -rf /var/lib/apt/lists/* && rm -r /var/lib/apt && apt-get dist-clean \
             && find /var/lib/apt/lists -type f -delete && yum clean all && dnf -y clean all \
             && microdnf clean all && rm -rf /var/cache/yum/* && tdnf clean all && zypper cc \
             && npm cache clean --force && rm -rf /root/.npm && yarn cache clean \
             && rm -rf /usr/local/share/.cache/yarn && yum -C install x && dnf --cacheonly list \
             && npm ci --offline && yarn install --prefer-offline && zypper --no-refresh in x \
             && rmdir /x && yumdownloader y && echo rm -rf /var/lib/apt/lists";
        let mut matched = 0;
        for m in &data.managers {
            for p in m.cleaned_by.iter().chain(&m.reads_when) {
                for c in &cmds(script) {
                    let line = c.line();
                    let by_regex = p.is_match(&line);
                    assert_eq!(matches_line(p, &line), by_regex, "{p:?} on {line}");
                    assert!(may_match(p, c) || !by_regex, "{p:?} on {line}");
                    matched += usize::from(by_regex);
                }
            }
        }
        assert!(matched >= 20, "only {matched} matches: the lines no longer exercise the data");
    }
}
