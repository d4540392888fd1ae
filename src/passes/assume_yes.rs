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

use super::runtext;
use super::LazyRegex;
use super::{Context, FixAvailability, Rule, RuleMeta};
use crate::config::Settings;
use crate::edit::{Level, Finding, Fix};

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
}

/// `transforms/assume-yes.toml`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssumeYes {
    managers: Vec<Manager>,
}

impl AssumeYes {
    pub fn new(settings: &Settings) -> Result<Self, String> {
        super::load(DATA, ID, settings)
    }
}

impl Rule for AssumeYes {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Context<'_>, out: &mut Vec<Finding>) {
        for run in runtext::runs_with(ctx, true) {
            for m in &self.managers {
                let is_prog =
                    |c: &crate::model::script::Cmd| m.programs.iter().any(|p| p == c.program());
                for (c, sub) in runtext::missing_switch(run, is_prog, &m.subcommands, &m.yes) {
                    let msg = format!(
                        "`{}` may stop at a question no one answers in a build: add `{}`",
                        c.up_to(sub),
                        m.insert
                    );
                    let mut f = Finding::new(ID, run.ins.span, msg);
                    if let Some(e) = runtext::insert_after(&run.rt, sub, &m.insert) {
                        f = f.with_fix(Fix::safe(vec![e]));
                    }
                    out.push(f);
                }
            }
        }
    }
}
