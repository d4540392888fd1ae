//! ## later-delete
//!
//! **What it does**: reports a `RUN` whose commands only delete files (`rm -rf PATHS`, `rm -f …`)
//! that an earlier `RUN` of the same stage created: a file it downloaded with `curl`/`wget`, a
//! directory it cloned with `git clone`, or the caches package managers fill (`/var/lib/apt/lists`
//! after `apt-get update`, `/var/cache/zypp` after `zypper install`, …; the managers' facts are
//! `transforms/package-managers.toml`, the other creators `transforms/later-delete.toml`). Paths match literally, by a
//! parent directory, or by a `*`/`?` glob. The finding names the line of the earlier `RUN`.
//!
//! **Why is this bad**: image layers only add. Deleting a file in a later layer hides it but its
//! bytes still ship in the layer that created it, so the deleting `RUN` frees nothing and adds a
//! layer of its own. The deletion belongs at the end of the `RUN` that created the file.
//!
//! **Example**
//! ```dockerfile
//! RUN curl -fsSLo /tmp/app.tgz https://example.com/app.tgz && tar -xzf /tmp/app.tgz -C /opt
//! WORKDIR /opt/app
//! RUN rm -f /tmp/app.tgz
//! ```
//! is reported at the last line: move `rm -f /tmp/app.tgz` to the end of the first `RUN`.
//!
//! **Fix safety**: report only. Moving a deletion across other instructions may change what
//! they see, so dfopt does not do it. Two consecutive `RUN`s are not reported (`chain-runs` joins
//! them), nor paths under a `--mount=type=cache`/`tmpfs` mount, nor relative paths, nor heredoc,
//! exec-form, `ONBUILD` and Windows `RUN`s.

use crate::edit::Level;
use super::runtext::{self, Run};
use super::{Context, FixAvailability, Rule, RuleMeta};
use crate::config::Settings;
use crate::edit::Finding;
use crate::model::files::{covers, literal, rm_paths, Downloaders, Target, Vars};

const DATA: &str = include_str!("../../transforms/later-delete.toml");
/// What this rule is: read by the registry, `dfopt rules`, `dfopt explain` and the README table.
pub const META: RuleMeta = RuleMeta {
    id: "later-delete",
    summary: "A RUN that only deletes what an earlier RUN created frees nothing",
    fix: FixAvailability::None,
    hadolint: &[],
    default_enabled: true,
    level: Level::Warning,
    levels: "warning (fixable waste)",
};
const ID: &str = META.id;

/// One creator's table in `transforms/later-delete.toml`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Creator {
    program: String,
    subcommands: Vec<String>,
    paths: Vec<String>,
    what: String,
}

/// `transforms/later-delete.toml`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Data {
    creators: Vec<Creator>,
}

pub struct LaterDelete {
    dl: Downloaders,
    creators: Vec<Creator>,
}

impl LaterDelete {
    pub fn new(settings: &Settings) -> Result<Self, String> {
        let Data { mut creators } = super::load(DATA, ID, settings)?;
        for m in crate::model::packages::managers()? {
            for program in &m.programs {
                if !m.update.is_empty() && !m.list_paths.is_empty() {
                    creators.push(Creator {
                        program: program.clone(),
                        subcommands: m.update.clone(),
                        paths: m.list_paths.clone(),
                        what: format!("the {} package lists", m.name),
                    });
                }
                creators.push(Creator {
                    program: program.clone(),
                    subcommands: m.fills.clone(),
                    paths: m.cache_paths.clone(),
                    what: format!("{}'s package cache", m.name),
                });
            }
        }
        Ok(LaterDelete {
            dl: Downloaders::from_settings(settings)?,
            creators,
        })
    }

    /// The absolute paths `run` leaves in its layer, with what they are.
    fn created(&self, run: &Run<'_>, vars: &Vars) -> Vec<(String, String)> {
        let mut made: Vec<(usize, String, String)> = Vec::new();
        for d in self.dl.all(&run.script, vars) {
            if let Target::File(f) = d.target {
                made.push((d.cmd, f.clone(), format!("`{f}` (downloaded)")));
            }
        }
        for (i, c) in run.script.cmds.iter().enumerate() {
            for cr in &self.creators {
                if cr.program == c.program()
                    && (cr.subcommands.is_empty() || c.find_arg(&cr.subcommands).is_some())
                {
                    for p in &cr.paths {
                        made.push((i, p.clone(), cr.what.clone()));
                    }
                }
            }
            if c.program() == "git" && c.subcommand().map(|w| w.text.as_str()) == Some("clone") {
                let pos: Vec<_> = c
                    .args()
                    .iter()
                    .skip_while(|w| w.text != "clone")
                    .skip(1)
                    .filter(|w| !w.text.starts_with('-'))
                    .collect();
                // `git clone [opts] URL DIR`: only the plain form without valued options.
                let valued = c.args().iter().any(|w| {
                    matches!(
                        w.text.as_str(),
                        "-b" | "--branch"
                            | "-o"
                            | "--origin"
                            | "--depth"
                            | "-c"
                            | "--config"
                            | "--reference"
                            | "--separate-git-dir"
                            | "-u"
                            | "--upload-pack"
                            | "--template"
                            | "-j"
                            | "--jobs"
                            | "--filter"
                    )
                });
                if let (false, [_, dir]) = (valued, pos.as_slice()) {
                    if let Some(d) = literal(&dir.text, vars, dir.start, false) {
                        made.push((i, d.clone(), format!("`{d}` (cloned)")));
                    }
                }
            }
        }
        let mounts = run.cache_mounts();
        made.into_iter()
            .filter(|(i, p, _)| {
                p.starts_with('/')
                    && !runtext::mount_covers(&mounts, p)
                    && !run
                        .script
                        .cmds
                        .iter()
                        .skip(i + 1)
                        .any(|c| rm_paths(c, vars).iter().any(|r| covers(r, p)))
            })
            .map(|(_, p, w)| (p, w))
            .collect()
    }
}

/// The RUN runs `rm` and nothing else that leaves a trace (`set`, `true`).
fn only_deletes(run: &Run<'_>) -> bool {
    run.script.cmds.iter().any(|c| c.program() == "rm")
        && run
            .script
            .cmds
            .iter()
            .all(|c| matches!(c.program(), "rm" | "set" | "true"))
}

struct Made {
    path: String,
    what: String,
    index: usize,
    line: usize,
}

impl Rule for LaterDelete {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Context<'_>, out: &mut Vec<Finding>) {
        let runs = runtext::runs(ctx);
        // Only a RUN that does nothing but delete can be reported; most files have none, and then
        // what earlier RUNs created need not be worked out.
        if !runs.iter().skip(1).any(only_deletes) {
            return;
        }
        let mut stage_from = usize::MAX;
        let mut made: Vec<Made> = Vec::new();
        for run in runs {
            if run.stage.from != stage_from {
                stage_from = run.stage.from;
                made.clear();
            }
            let vars = run.vars(ctx.memo);
            let deleted: Vec<String> = run
                .script
                .cmds
                .iter()
                .flat_map(|c| rm_paths(c, vars))
                .collect();
            let only_rm = only_deletes(run);
            let mounts = run.cache_mounts();
            if only_rm {
                let hits: Vec<&Made> = made
                    .iter()
                    .filter(|m| {
                        m.index + 1 != run.index
                            && !runtext::mount_covers(&mounts, &m.path)
                            && deleted.iter().any(|d| covers(d, &m.path))
                    })
                    .collect();
                if !hits.is_empty() {
                    let mut parts: Vec<(usize, Vec<&str>)> = Vec::new();
                    for h in &hits {
                        match parts.iter_mut().find(|(l, _)| *l == h.line) {
                            Some((_, w)) if !w.contains(&h.what.as_str()) => w.push(&h.what),
                            Some(_) => {}
                            None => parts.push((h.line, vec![h.what.as_str()])),
                        }
                    }
                    let named = parts
                        .iter()
                        .map(|(l, w)| format!("{} came from the RUN on line {l}", w.join(", ")))
                        .collect::<Vec<_>>()
                        .join("; ");
                    let (those, that) = if parts.len() > 1 {
                        ("those layers", "the RUN that created them")
                    } else {
                        ("that layer", "that RUN")
                    };
                    out.push(Finding::new(
                        ID,
                        run.ins.span,
                        format!(
                            "this RUN only deletes files, which frees nothing: {named}, and their \
                             bytes stay in {those}. Move the deletion to the end of {that}"
                        ),
                    ));
                }
            }
            made.retain(|m| !deleted.iter().any(|d| covers(d, &m.path)));
            for (path, what) in self.created(run, vars) {
                made.push(Made {
                    path,
                    what,
                    index: run.index,
                    line: run.ins.start_line,
                });
            }
        }
    }
}
