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

use super::runtext;
use super::LazyRegex;
use super::{Context, FixAvailability, Rule, RuleMeta};
use crate::config::Settings;
use crate::edit::{Level, Finding, Fix};

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
        Ok(ApkNoCache {
            programs: data.programs.unwrap_or_else(|| apk.programs.clone()),
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
            let mounts = run.cache_mounts();
            if self
                .cache_mounts
                .iter()
                .any(|d| runtext::mount_covers(&mounts, d))
            {
                continue;
            }
            let is_prog =
                |c: &crate::model::script::Cmd| self.programs.iter().any(|p| p == c.program());
            for (_, sub) in runtext::missing_switch(run, is_prog, &self.subcommands, &self.decided)
            {
                let msg = format!(
                    "`apk {}` leaves the package index in /var/cache/apk: use `apk {} {}`",
                    sub.text, sub.text, self.insert
                );
                let mut f = Finding::new(ID, run.ins.span, msg);
                if let Some(e) = runtext::insert_after(&run.rt, sub, &self.insert) {
                    f = f.with_fix(Fix::safe(vec![e]));
                }
                out.push(f);
            }
        }
    }
}
