//! ## apk-no-cache
//!
//! **What it does**: adds `--no-cache` to `apk add`.
//!
//! **Why is this bad**: `apk update` and `apk add` without `--no-cache` store the package index in
//! `/var/cache/apk`, which then ships in the layer. `apk add --no-cache` fetches a fresh index,
//! uses it and keeps nothing, so neither `apk update` nor `rm -rf /var/cache/apk/*` is needed.
//!
//! **Example**
//! ```dockerfile
//! RUN apk update && apk add curl
//! ```
//! becomes
//! ```dockerfile
//! RUN apk update && apk add --no-cache curl
//! ```
//!
//! **Fix safety**: safe: the packages come from a freshly fetched index, as after `apk update`.
//! Nothing changes when the RUN mounts a cache over `/var/cache/apk` (or `/etc/apk/cache`): there
//! the cache is meant to be kept, in the mount. Heredoc, exec-form, `ONBUILD` and Windows RUNs are
//! left alone.
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

const DATA: &str = include_str!("../../transforms/apk-no-cache.toml");
/// What this rule is: read by the registry, `dfopt rules`, `dfopt explain` and the README table.
pub const META: RuleMeta = RuleMeta {
    id: "apk-no-cache",
    summary: "`apk add` keeps no package index in the layer",
    fix: FixAvailability::Safe,
    hadolint: &["DL3019"],
    default_enabled: true,
    level: Level::Warning,
    levels: "warning (fixable waste)",
};
const ID: &str = META.id;

pub struct ApkNoCache {
    programs: Vec<String>,
    /// `programs` as few as find them all in a text (see [`consumers::fewest_hints`]).
    hints: Vec<String>,
    subcommands: Vec<String>,
    decided: Vec<LazyRegex>,
    insert: String,
    cache_mounts: Vec<String>,
}

/// `transforms/apk-no-cache.toml`; the keys left out take apk's entry in
/// `transforms/package-managers.toml`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Data {
    programs: Option<Vec<String>>,
    subcommands: Option<Vec<String>>,
    cache_mounts: Option<Vec<String>>,
    decided: Vec<LazyRegex>,
    insert: String,
}

impl ApkNoCache {
    pub fn new(settings: &Settings) -> Result<Self, String> {
        let apk = crate::model::packages::manager("apk")?;
        let data: Data = super::load(DATA, ID, settings)?;
        let programs = data.programs.unwrap_or_else(|| apk.programs.clone());
        Ok(ApkNoCache {
            hints: consumers::fewest_hints(&programs),
            programs,
            subcommands: data.subcommands.unwrap_or_else(|| apk.install.clone()),
            decided: data.decided,
            insert: data.insert,
            cache_mounts: data.cache_mounts.unwrap_or_else(|| apk.cache_paths.clone()),
        })
    }
}

impl Rule for ApkNoCache {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Context<'_>, out: &mut Vec<Finding>) {
        for run in runtext::runs_with(ctx, true) {
            // A RUN that names no apk has nothing to fix: skip its mounts.
            if !consumers::names_any(&run.rt.text, &self.hints) {
                continue;
            }
            let mounts = run.cache_mounts();
            if self
                .cache_mounts
                .iter()
                .any(|d| runtext::mount_covers(&mounts, d))
            {
                continue;
            }
            let is_prog = |e: &Effective| self.programs.contains(&e.program);
            let hits = consumers::missing_switch(
                &run.rt.text,
                &run.script.cmds,
                &self.hints,
                &is_prog,
                &self.subcommands,
                &self.decided,
            );
            for hit in hits {
                let sub = hit.shown.rsplit(' ').next().unwrap_or_default();
                let msg = format!(
                    "`apk {sub}` leaves the package index in /var/cache/apk: use `apk {sub} {}`",
                    self.insert
                );
                out.push(match hit.at {
                    Ok(word) => {
                        let f = Finding::new(ID, run.ins.span, msg);
                        match runtext::insert_after(&run.rt, word, &self.insert) {
                            Some(e) => f.with_fix(Fix::safe(vec![e])),
                            None => f,
                        }
                    }
                    Err(why) => Finding::new(ID, run.ins.span, format!("{msg} (not fixed: {why})")),
                });
            }
        }
    }
}
