//! ## download-cleanup
//!
//! **What it does**: finds a `RUN` that downloads a file with `curl -o FILE`, `curl -O URL`,
//! `wget URL` or `wget -O FILE`, unpacks or installs it in the same `RUN` (`tar x… -f FILE`,
//! `unzip FILE`, `dpkg -i FILE`, `sh FILE`, … — the list is data in
//! `transforms/download-cleanup.toml`) and never removes it, and appends `rm -f FILE` at the end of
//! the `RUN`. It also reports a file downloaded in one `RUN` and unpacked or removed by a later
//! `RUN` of the same stage: the archive stays in the earlier layer whatever the later one does.
//!
//! **Why is this bad**: once unpacked, the archive is dead weight, and a file that is not deleted
//! in the `RUN` that created it ships in that layer for good.
//!
//! **Example**
//! ```dockerfile
//! RUN curl -fsSLo /tmp/node.tar.xz https://nodejs.org/dist/v20.0.0/node-v20.0.0-linux-x64.tar.xz \
//!     && tar -xJf /tmp/node.tar.xz -C /usr/local --strip-components=1
//! ```
//! becomes
//! ```dockerfile
//! RUN curl -fsSLo /tmp/node.tar.xz https://nodejs.org/dist/v20.0.0/node-v20.0.0-linux-x64.tar.xz \
//!     && tar -xJf /tmp/node.tar.xz -C /usr/local --strip-components=1 \
//!     && rm -f /tmp/node.tar.xz
//! ```
//!
//! **Fix safety**: safe. The fix is offered only when the file name is a literal dfopt can name
//! exactly (a `$VAR` is resolved only from a single literal assignment earlier in the same `RUN`),
//! a command of the same `RUN` after the download unpacks or installs it, no later instruction of
//! the file mentions its name, the file is not moved, (for a relative name) the script never
//! changes directory, the file is not under a `--mount` target of the RUN, and no later step can
//! read it (`src/model/consumers.rs`): no later RUN of the stage or of a stage built on it names
//! the file or a folder over it (`ls /dl`), no `COPY --from=`/`--mount=from=` of those stages
//! copies a folder holding it, and no later RUN runs something dfopt cannot see into (a script,
//! `make`, `eval`, …): then the finding says why it was not fixed. `rm -f` is appended last with `&&` (or `;` in a `set -e` script), so it runs
//! only when everything before it succeeded. Otherwise a finding explains why nothing was changed.
//! Heredoc, exec-form, `ONBUILD` and Windows `RUN`s are left alone.

use super::runtext::{self, Run};
use super::LazyRegex;
use super::{Context, FixAvailability, ProgramIndex, Rule, RuleMeta};
use crate::config::Settings;
use crate::edit::{Level, Finding, Fix};
use crate::model::consumers::{self, Effective, Probe, Use};
use crate::model::files::{
    covers, is_plain_word, literal, norm, rm_paths, DownloadCleanupData, Downloaders, Target,
    Unpacker, Unpacking, Vars,
};
use crate::model::script::Cmd;

/// What this rule is: read by the registry, `dfopt rules`, `dfopt explain` and the README table.
pub const META: RuleMeta = RuleMeta {
    id: "download-cleanup",
    summary: "A RUN that downloads and unpacks an archive deletes it in the same layer",
    fix: FixAvailability::Safe,
    hadolint: &[],
    default_enabled: true,
    level: Level::Warning,
    levels: "warning (fixable waste)",
};
const ID: &str = META.id;

pub struct DownloadCleanup {
    dl: Downloaders,
    consumers: Vec<Unpacker>,
    self_removing: Vec<String>,
    keep_flags: LazyRegex,
    keepers: Vec<String>,
    /// Every program [`DownloadCleanup::effect`] may find acting on a target besides `rm` (the
    /// self-removing decompressors, `mv`, the keepers and the unpackers): one lookup answers for
    /// most commands, which are none of them.
    acting: ProgramIndex<()>,
}

impl DownloadCleanup {
    pub fn new(settings: &Settings) -> Result<Self, String> {
        let (dl, unpacking) = DownloadCleanupData::load(settings)?.split();
        let Unpacking {
            self_removing,
            keep_flags,
            keepers,
            unpackers,
        } = unpacking;
        let acting = ProgramIndex::new(
            self_removing
                .iter()
                .chain(&keepers)
                .chain(unpackers.iter().map(|u| &u.program))
                .cloned()
                .chain(std::iter::once("mv".to_string()))
                .map(|p| (p, ())),
        );
        Ok(DownloadCleanup {
            dl,
            acting,
            consumers: unpackers,
            self_removing,
            keepers,
            keep_flags,
        })
    }

    /// Whether `cmd` names the target among its arguments.
    fn mentions(cmd: &Cmd, target: &Target, vars: &Vars) -> bool {
        cmd.args().iter().any(|w| {
            // After the last `=` (bytes: a char search cost more than the rest of the test).
            let raw = w
                .text
                .as_bytes()
                .iter()
                .rposition(|&b| b == b'=')
                .and_then(|i| w.text.get(i + 1..));
            let cands = [Some(w.text.as_str()), raw];
            cands.iter().flatten().any(|t| match target {
                Target::File(f) if is_plain_word(t) => norm(t) == norm(f),
                Target::File(f) => literal(t, vars, w.start, false)
                    .map(|l| norm(&l) == norm(f))
                    .unwrap_or(false),
                Target::Unknown(u) => *t == u,
            })
        })
    }

    /// Whether `prog` is `rm` or one of the other programs [`DownloadCleanup::effect`] may find
    /// acting on a target.
    fn may_act(&self, prog: &str) -> bool {
        prog == "rm" || self.acting.contains(prog)
    }

    /// What `cmd` does with the target: unpacks it, deletes it, or nothing.
    fn effect(&self, cmd: &Cmd, target: &Target, vars: &Vars) -> Effect {
        let prog = cmd.program();
        if prog == "rm" {
            return match target {
                Target::File(f) if rm_paths(cmd, vars).iter().any(|p| covers(p, f)) => {
                    Effect::Removes
                }
                _ => Effect::None,
            };
        }
        // Only the programs below do anything with the target: the others need not be searched for
        // it (resolving each argument's variables cost more than the rest of the rule).
        if !self.may_act(prog) || !Self::mentions(cmd, target, vars) {
            return Effect::None;
        }
        if self.self_removing.iter().any(|p| p == prog) {
            if cmd.args().iter().any(|w| self.keep_flags.is_match(&w.text)) {
                return Effect::Unpacks;
            }
            return Effect::Removes;
        }
        if prog == "mv" {
            return Effect::Moves;
        }
        if self.keepers.iter().any(|k| k == prog) {
            return Effect::Keeps;
        }
        let first_operand = cmd.args().iter().find(|w| !w.text.starts_with('-'));
        let unpacks = self.consumers.iter().any(|c| {
            let any = |r: &LazyRegex| cmd.args().iter().any(|w| r.is_match(&w.text));
            c.program == prog
                && c.needs.as_ref().map(any).unwrap_or(true)
                && !c.excludes.as_ref().map(any).unwrap_or(false)
                && (!c.script
                    || first_operand
                        .map(|w| {
                            literal(&w.text, vars, w.start, false).map(|l| match target {
                                Target::File(f) => norm(&l) == norm(f),
                                Target::Unknown(u) => w.text == *u,
                            }) == Some(true)
                        })
                        .unwrap_or(false))
        });
        if unpacks {
            Effect::Unpacks
        } else {
            Effect::None
        }
    }

    /// The first later RUN of the same stage that unpacks or removes the target.
    fn later_use(
        &self,
        memo: &super::Memo,
        runs: &[Run<'_>],
        run: &Run<'_>,
        target: &Target,
    ) -> Option<usize> {
        for r in runs {
            if r.stage.from != run.stage.from || r.index <= run.index {
                continue;
            }
            // A RUN none of whose commands may act on the target needs no variables read.
            if !r.script.cmds.iter().any(|c| self.may_act(c.program())) {
                continue;
            }
            let vars = r.vars(memo);
            if r.script.cmds.iter().any(|c| {
                matches!(
                    self.effect(c, target, vars),
                    Effect::Unpacks | Effect::Removes | Effect::Moves
                )
            }) {
                return Some(r.ins.start_line);
            }
        }
        None
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Effect {
    None,
    Unpacks,
    Removes,
    Moves,
    /// The RUN installs the file itself (`chmod +x`, `ln -s`, `cp`): it is the product.
    Keeps,
}

fn shell_quote(s: &str) -> Option<String> {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "._/:+@%=,-".contains(c))
        && !s.starts_with('-')
    {
        Some(s.to_string())
    } else if !s.contains('\'') && !s.starts_with('-') {
        Some(format!("'{s}'"))
    } else {
        None
    }
}

impl Rule for DownloadCleanup {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Context<'_>, out: &mut Vec<Finding>) {
        let runs = runtext::runs(ctx);
        for run in runs {
            // Only a RUN that runs curl or wget can download: skip the variable scan otherwise.
            if !run
                .script
                .cmds
                .iter()
                .any(|c| matches!(c.program(), "curl" | "wget"))
            {
                continue;
            }
            let vars = run.vars(ctx.memo);
            let downloads = self.dl.all(&run.script, vars);
            if downloads.is_empty() {
                continue;
            }
            let changes_dir = run
                .script
                .cmds
                .iter()
                .any(|c| matches!(c.program(), "cd" | "pushd" | "popd"));
            let mut files: Vec<String> = Vec::new();
            let mut sudo = false;
            let mut notes: Vec<String> = Vec::new();
            for d in &downloads {
                let after = run.script.cmds.iter().skip(d.cmd + 1);
                let mut unpacked = false;
                let mut gone = false;
                for c in after {
                    match self.effect(c, &d.target, vars) {
                        Effect::Unpacks => unpacked = true,
                        Effect::Removes | Effect::Moves | Effect::Keeps => gone = true,
                        Effect::None => {}
                    }
                }
                if gone {
                    continue;
                }
                let shown = d.target.shown();
                if !unpacked {
                    if let Some(line) = self.later_use(ctx.memo, runs, run, &d.target) {
                        out.push(Finding::new(
                            ID,
                            run.ins.span,
                            format!(
                                "`{shown}` is downloaded here but unpacked or removed by the RUN \
                                 on line {line}: the file stays in this layer. Download, unpack \
                                 and delete it in one RUN"
                            ),
                        ));
                    }
                    continue;
                }
                let Target::File(f) = &d.target else {
                    notes.push(format!(
                        "`{shown}` is unpacked but never removed (not fixed: its name is not a \
                         literal dfopt can resolve): add `rm -f {shown}` at the end of the RUN"
                    ));
                    continue;
                };
                if changes_dir && !f.starts_with('/') {
                    notes.push(format!(
                        "`{f}` is unpacked but never removed (not fixed: the script changes \
                         directory, so a relative name is ambiguous at its end)"
                    ));
                    continue;
                }
                let base = f.rsplit('/').next().unwrap_or(f);
                let later = ctx
                    .doc
                    .instructions
                    .iter()
                    .skip(run.index + 1)
                    .find(|i| ctx.doc.text(i.span).contains(base));
                if let Some(ins) = later {
                    notes.push(format!(
                        "`{f}` is unpacked but never removed (not fixed: line {} mentions \
                         `{base}`)",
                        ins.start_line
                    ));
                    continue;
                }
                if f.starts_with('/') && consumers::under_mount(run.ins, f) {
                    notes.push(format!(
                        "`{f}` is unpacked but never removed (not fixed: it is under a mount of \
                         this RUN, which the next build sees again)"
                    ));
                    continue;
                }
                let paths: Vec<String> = if f.starts_with('/') {
                    vec![f.clone()]
                } else {
                    Vec::new()
                };
                let removes = |e: &Effective| {
                    (e.program == "rm" && paths.iter().any(|p| e.names_path(p)))
                        .then_some(Use::Removes)
                };
                let probe = Probe {
                    paths: &paths,
                    uses: &removes,
                    mentions: std::slice::from_ref(f),
                };
                let verdict = consumers::later(ctx.doc, ctx.analysis, run.index, &probe);
                if let Some(reason) = verdict.reason(&format!("`{f}`")) {
                    notes.push(format!(
                        "`{f}` is unpacked but never removed (not fixed: {reason})"
                    ));
                    continue;
                }
                let Some(q) = shell_quote(f) else {
                    continue;
                };
                if !files.contains(&q) {
                    files.push(q);
                }
                sudo |= d.sudo;
            }
            for n in notes {
                out.push(Finding::new(ID, run.ins.span, n));
            }
            if files.is_empty() {
                continue;
            }
            let cmd = format!(
                "{}rm -f {}",
                if sudo { "sudo " } else { "" },
                files.join(" ")
            );
            let msg = format!(
                "{} stays in this layer after it is unpacked: delete it at the end of the RUN",
                files.join(", ")
            );
            match runtext::append_commands(ctx, run, std::slice::from_ref(&cmd)) {
                Some(edit) => {
                    out.push(Finding::new(ID, run.ins.span, msg).with_fix(Fix::safe(vec![edit])))
                }
                None => out.push(Finding::new(
                    ID,
                    run.ins.span,
                    format!(
                        "{msg} (not fixed: the script does not end where an added command surely \
                         runs last — a trailing `;` or `&`, a comment, or `exec`)"
                    ),
                )),
            }
        }
    }
}
