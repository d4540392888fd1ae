//! ## assume-yes
//!
//! **What it does**: adds `-y` to package-manager commands that may stop and ask a question:
//! `apt-get install`, `yum install`, `dnf install`, `zypper install` and the other subcommands
//! listed in `transforms/assume-yes.toml`.
//!
//! **Why is this bad**: a build has no one to answer `Do you want to continue? [Y/n]`. Without
//! `-y` the command reads end-of-file and aborts as soon as it needs to confirm anything (an extra
//! dependency, a removal), so the build works or fails depending on the package set of the day.
//!
//! **Example**
//! ```dockerfile
//! RUN apt-get update && apt-get install curl
//! ```
//! becomes
//! ```dockerfile
//! RUN apt-get update && apt-get install -y curl
//! ```
//!
//! **Fix safety**: safe: `-y` only answers the confirmation that a build cannot answer. Commands
//! that already answer it (`-y`, `--yes`, `--assume-yes`, `-qq`, `-o APT::Get::Assume-Yes=true`,
//! `zypper -n`) are left alone, as are heredoc, exec-form, `ONBUILD` and Windows RUNs. microdnf is
//! not changed: it never prompts, and old releases reject `-y`.
//!
//! Commands are found the way the consumer model (`src/model/consumers.rs`) reads them, through
//! wrappers: `sudo -u U`, `env`, `timeout`, `nice`, `xargs`, … Such a command is fixed in place (the
//! switch goes right after its subcommand). One that runs inside a quoted script (`sh -c "…"`,
//! `su -c '…'`) or behind something dfopt does not read (`eval "…"`) is reported, with the reason,
//! and not fixed.

use super::runtext;
use super::LazyRegex;
use super::{Context, FixAvailability, Rule, RuleMeta};
use crate::config::Settings;
use crate::edit::{Finding, Fix, Level};
use crate::model::consumers::{self, Effective};

const DATA: &str = include_str!("../../transforms/assume-yes.toml");
/// What this rule is: read by the registry, `dfopt rules`, `dfopt explain` and the README table.
pub const META: RuleMeta = RuleMeta {
    id: "assume-yes",
    summary: "Package-manager commands that may prompt get `-y`",
    fix: FixAvailability::Safe,
    hadolint: &["DL3014", "DL3030", "DL3034", "DL3038"],
    default_enabled: true,
    level: Level::Error,
    levels: "error (a prompt aborts a non-interactive build)",
};
const ID: &str = META.id;

/// One manager's table in `transforms/assume-yes.toml`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Manager {
    programs: Vec<String>,
    subcommands: Vec<String>,
    yes: Vec<LazyRegex>,
    insert: String,
    /// `programs` as few as find them all in a text (see [`consumers::fewest_hints`]).
    #[serde(skip)]
    hints: Vec<String>,
}

/// `transforms/assume-yes.toml`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssumeYes {
    managers: Vec<Manager>,
}

impl AssumeYes {
    pub fn new(settings: &Settings) -> Result<Self, String> {
        let mut rule: AssumeYes = super::load(DATA, ID, settings)?;
        for m in &mut rule.managers {
            m.hints = consumers::fewest_hints(&m.programs);
        }
        Ok(rule)
    }
}

impl Rule for AssumeYes {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Context<'_>, out: &mut Vec<Finding>) {
        for run in runtext::runs_with(ctx, true) {
            for m in &self.managers {
                let is_prog = |e: &Effective| m.programs.contains(&e.program);
                let hits = consumers::missing_switch(
                    &run.rt.text,
                    &run.script.cmds,
                    &m.hints,
                    &is_prog,
                    &m.subcommands,
                    &m.yes,
                );
                for hit in hits {
                    let msg = format!(
                        "`{}` may stop at a question no one answers in a build: add `{}`",
                        hit.shown, m.insert
                    );
                    out.push(match hit.at {
                        Ok(sub) => {
                            let f = Finding::new(ID, run.ins.span, msg);
                            match runtext::insert_after(&run.rt, sub, &m.insert) {
                                Some(e) => f.with_fix(Fix::safe(vec![e])),
                                None => f,
                            }
                        }
                        Err(why) => {
                            Finding::new(ID, run.ins.span, format!("{msg} (not fixed: {why})"))
                        }
                    });
                }
            }
        }
    }
}
