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
//! `exec`). The apt lists are kept, with a finding instead, when a later `RUN` of the stage (or of a
//! stage built on it) installs or queries packages without running `apt-get update` first: it reads
//! them. Scripts that later RUNs execute are not inspected; like Debian's own images, they are
//! expected to run `apt-get update` before installing.

use super::runtext::{self, Run};
use super::LazyRegex;
use super::{FixAvailability, RuleMeta, rule_data, str_list, Context, Rule};
use crate::config::Settings;
use crate::edit::{Finding, Fix, Level, Safety};
use crate::syntax::Keyword;

const DATA: &str = include_str!("../../transforms/package-cache-cleanup.toml");
/// What this rule is: read by the registry, `dfopt rules`, `dfopt explain` and the README table.
pub const META: RuleMeta = RuleMeta {
    id: "package-cache-cleanup",
    summary: "A RUN that installs packages removes the package manager's cache in the same layer",
    fix: FixAvailability::Sometimes("unsafe for yarn"),
    hadolint: &["DL3009", "DL3032", "DL3036", "DL3040", "DL3060"],
    default_enabled: true,
};
const ID: &str = META.id;

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
    unsafe_: bool,
    what: String,
}

pub struct PackageCacheCleanup {
    managers: Vec<Manager>,
    /// Matches a RUN text that mentions a reader program (for RUNs we cannot parse).
    reader_mention: Option<LazyRegex>,
}

impl PackageCacheCleanup {
    pub fn new(settings: &Settings) -> Result<Self, String> {
        let data = rule_data(DATA, ID, settings)?;
        let list = match data.get("managers") {
            Some(toml::Value::Array(a)) => a,
            _ => return Err(format!("transforms/{ID}.toml: `managers` must be a list")),
        };
        let mut managers = Vec::new();
        for m in list {
            let t = m
                .as_table()
                .ok_or_else(|| format!("transforms/{ID}.toml: a manager must be a table"))?;
            managers.push(Manager {
                name: runtext::str_key(t, "name")?,
                programs: str_list(t, "programs")?,
                fills: str_list(t, "fills")?,
                clean: str_list(t, "clean")?,
                cleaned_by: runtext::regex_list(t, "cleaned_by")?,
                cache_mounts: str_list(t, "cache_mounts")?,
                readers: str_list(t, "readers")?,
                reader_programs: str_list(t, "reader_programs")?,
                refresh: str_list(t, "refresh")?,
                unsafe_: t.get("unsafe").and_then(|v| v.as_bool()).unwrap_or(false),
                what: runtext::str_key(t, "what")?,
            });
        }
        let progs: Vec<String> = managers
            .iter()
            .flat_map(|m| m.reader_programs.iter())
            .map(|p| regex::escape(p))
            .collect();
        let reader_mention = if progs.is_empty() {
            None
        } else {
            Some(
                super::regex(&format!(r"(^|[\s;&|(]){}(\s|$)", alt(&progs)))
                    .map_err(|e| e.to_string())?,
            )
        };
        Ok(PackageCacheCleanup {
            managers,
            reader_mention,
        })
    }
}

fn alt(items: &[String]) -> String {
    format!("({})", items.join("|"))
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

enum Later {
    /// No later RUN reads the cache.
    Free,
    /// The RUN at this (1-based) line reads it without refreshing.
    ReadAt(usize),
}

impl PackageCacheCleanup {
    /// Whether a RUN after `run` (same stage, or a stage built on it) reads `m`'s cache first.
    fn later_reader(&self, ctx: &Context<'_>, run: &Run<'_>, m: &Manager) -> Later {
        if m.readers.is_empty() {
            return Later::Free;
        }
        let doc = ctx.doc;
        for stage in runtext::stage_family(ctx, run.stage) {
            let from = if stage.from == run.stage.from {
                run.index + 1
            } else {
                stage.from + 1
            };
            for idx in from..stage.end {
                let Some(ins) = doc.instructions.get(idx) else {
                    break;
                };
                if ins.kind() != Keyword::Run && ins.effective().kind != Keyword::Run {
                    continue;
                }
                let parsed = runtext::RunText::of(doc, ins)
                    .and_then(|rt| crate::model::script::parse(&rt.text))
                    .filter(|_| ins.trigger.is_none());
                match parsed {
                    Some(script) => {
                        for c in &script.cmds {
                            if !m.reader_programs.iter().any(|p| p == c.program()) {
                                continue;
                            }
                            if c.find_arg(&m.refresh).is_some() {
                                break;
                            }
                            if c.find_arg(&m.readers).is_some() {
                                return Later::ReadAt(ins.start_line);
                            }
                        }
                    }
                    None => {
                        // Heredoc, exec form, ONBUILD or shell we do not model: assume the worst
                        // when it mentions the manager at all.
                        let text = doc.text(ins.span);
                        let mentions = self
                            .reader_mention
                            .as_ref()
                            .map(|r| r.is_match(text))
                            .unwrap_or(false);
                        if mentions {
                            return Later::ReadAt(ins.start_line);
                        }
                    }
                }
            }
        }
        Later::Free
    }
}

impl Rule for PackageCacheCleanup {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Context<'_>, out: &mut Vec<Finding>) {
        for run in runtext::runs(ctx) {
            let mounts = run.cache_mounts();
            let mut safe_cmds: Vec<String> = Vec::new();
            let mut unsafe_cmds: Vec<String> = Vec::new();
            let mut whats: Vec<&str> = Vec::new();
            for m in &self.managers {
                let is_prog = |p: &str| m.programs.iter().any(|x| x == p);
                let Some(fill) = run
                    .script
                    .cmds
                    .iter()
                    .rposition(|c| is_prog(c.program()) && c.find_arg(&m.fills).is_some())
                else {
                    continue;
                };
                if mounted(&mounts, &m.cache_mounts) {
                    continue;
                }
                let cleaned = run.script.cmds.iter().skip(fill + 1).any(|c| {
                    let line = c.line();
                    m.cleaned_by.iter().any(|r| r.is_match(&line))
                });
                if cleaned {
                    continue;
                }
                if let Later::ReadAt(line) = self.later_reader(ctx, run, m) {
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
                    let msg = if own {
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
                let sudo = run.script.cmds.get(fill).map(|c| c.sudo).unwrap_or(false);
                let target = if m.unsafe_ {
                    &mut unsafe_cmds
                } else {
                    &mut safe_cmds
                };
                for c in &m.clean {
                    target.push(if sudo { format!("sudo {c}") } else { c.clone() });
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
