//! ## apt-no-install-recommends
//!
//! **What it does**: adds `--no-install-recommends` to `apt-get install` (and `apt install`).
//!
//! **Why is this bad**: by default apt also installs every package the requested ones merely
//! *recommend*: documentation, optional tools, often hundreds of megabytes the image never uses.
//!
//! **Example**
//! ```dockerfile
//! RUN apt-get update && apt-get install -y python3
//! ```
//! becomes
//! ```dockerfile
//! RUN apt-get update && apt-get install -y --no-install-recommends python3
//! ```
//!
//! **Fix safety**: unsafe: it changes the set of installed packages, and the application may use
//! one that was only recommended (for example `ca-certificates` after `curl`). Add what it needs
//! by name. Commands that already decide (`--no-install-recommends`, `--install-recommends`,
//! `-o APT::Install-Recommends=…`) are left alone, as are heredoc, exec-form, `ONBUILD` and Windows
//! RUNs.

use super::runtext;
use super::LazyRegex;
use super::{Context, FixAvailability, Rule, RuleMeta};
use crate::config::Settings;
use crate::edit::{Level, Finding, Fix};

const DATA: &str = include_str!("../../transforms/apt-no-install-recommends.toml");
/// What this rule is: read by the registry, `dfopt rules`, `dfopt explain` and the README table.
pub const META: RuleMeta = RuleMeta {
    id: "apt-no-install-recommends",
    summary: "`apt-get install` installs only what it is asked for",
    fix: FixAvailability::Unsafe,
    hadolint: &["DL3015"],
    default_enabled: true,
    level: Level::Warning,
    levels: "warning (fixable waste)",
};
const ID: &str = META.id;

pub struct AptNoInstallRecommends {
    programs: Vec<String>,
    subcommands: Vec<String>,
    decided: Vec<LazyRegex>,
    insert: String,
}

/// `transforms/apt-no-install-recommends.toml`; the keys left out take apt's entry in
/// `transforms/package-managers.toml`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Data {
    programs: Option<Vec<String>>,
    subcommands: Option<Vec<String>>,
    decided: Vec<LazyRegex>,
    insert: String,
}

impl AptNoInstallRecommends {
    pub fn new(settings: &Settings) -> Result<Self, String> {
        let apt = crate::model::packages::manager("apt")?;
        let data: Data = super::load(DATA, ID, settings)?;
        Ok(AptNoInstallRecommends {
            programs: data.programs.unwrap_or_else(|| apt.programs.clone()),
            subcommands: data.subcommands.unwrap_or_else(|| apt.install.clone()),
            decided: data.decided,
            insert: data.insert,
        })
    }
}

impl Rule for AptNoInstallRecommends {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Context<'_>, out: &mut Vec<Finding>) {
        for run in runtext::runs_with(ctx, true) {
            let is_prog =
                |c: &crate::model::script::Cmd| self.programs.iter().any(|p| p == c.program());
            for (c, sub) in runtext::missing_switch(run, is_prog, &self.subcommands, &self.decided)
            {
                let msg = format!(
                    "`{}` also installs recommended packages: add `{}` and name what is needed",
                    c.up_to(sub),
                    self.insert
                );
                let mut f = Finding::new(ID, run.ins.span, msg);
                if let Some(e) = runtext::insert_after(&run.rt, sub, &self.insert) {
                    f = f.with_fix(Fix::unsafe_(vec![e]));
                }
                out.push(f);
            }
        }
    }
}
