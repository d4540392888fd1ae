//! ## pip-no-cache-dir
//!
//! **What it does**: adds `--no-cache-dir` to `pip install` (`pip3 install`,
//! `python3 -m pip install`, `/venv/bin/pip install`, …).
//!
//! **Why is this bad**: pip keeps every wheel it downloads or builds in `~/.cache/pip`. In an
//! image that cache is never used again, yet it ships in the layer, often tens of megabytes.
//!
//! **Example**
//! ```dockerfile
//! RUN pip install -r requirements.txt
//! ```
//! becomes
//! ```dockerfile
//! RUN pip install --no-cache-dir -r requirements.txt
//! ```
//!
//! **Fix safety**: safe: the same packages are installed; only the cache is not written. Nothing
//! changes when the stage (or a stage it is built on) sets `PIP_NO_CACHE_DIR` with `ENV` or `ARG`,
//! when the RUN sets it itself, when the command picks a cache with `--cache-dir`, when the RUN
//! mounts a cache over pip's cache directory (`--mount=type=cache,target=/root/.cache/pip`: the cache
//! is meant to be kept, in the mount), for `pipx` and `pipenv`, and in heredoc, exec-form, `ONBUILD`
//! and Windows RUNs.
//!
//! Commands are found the way the consumer model (`src/model/consumers.rs`) reads them, through
//! wrappers: `sudo -u U`, `env`, `timeout`, `nice`, `xargs`, … Such a command is fixed in place (the
//! switch goes right after its subcommand). One that runs inside a quoted script (`sh -c "…"`,
//! `su -c '…'`) or behind something dfopt does not read (`eval "…"`) is reported, with the reason,
//! and not fixed.

use super::runtext::{self, Run};
use super::LazyRegex;
use super::{Context, FixAvailability, Rule, RuleMeta};
use crate::config::Settings;
use crate::edit::{Level, Finding, Fix};
use crate::model::consumers::{self, Effective};

/// Only commands whose program contains one of these are resolved (`pip_program` names pip,
/// `python_program` python).
const PIP_HINTS: &[&str] = &["pip", "python"];
use crate::syntax::Keyword;

const DATA: &str = include_str!("../../transforms/pip-no-cache-dir.toml");
/// What this rule is: read by the registry, `dfopt rules`, `dfopt explain` and the README table.
pub const META: RuleMeta = RuleMeta {
    id: "pip-no-cache-dir",
    summary: "`pip install` keeps no download cache in the layer",
    fix: FixAvailability::Safe,
    hadolint: &["DL3042"],
    default_enabled: true,
    level: Level::Warning,
    levels: "warning (fixable waste)",
};
const ID: &str = META.id;

pub struct PipNoCacheDir {
    data: Data,
    /// `ENV`/`ARG` that sets `env_var`.
    env_set: LazyRegex,
    /// `env_var=`, as a RUN assigns it.
    env_assignment: String,
}

/// `transforms/pip-no-cache-dir.toml`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Data {
    pip_program: LazyRegex,
    python_program: LazyRegex,
    subcommands: Vec<String>,
    decided: Vec<LazyRegex>,
    insert: String,
    cache_mounts: Vec<String>,
    env_var: String,
}

impl PipNoCacheDir {
    pub fn new(settings: &Settings) -> Result<Self, String> {
        let data: Data = super::load(DATA, ID, settings)?;
        let env_set = super::regex(&format!(r"(^|\s){}(=|\s|$)", regex::escape(&data.env_var)))
            .map_err(|e| e.to_string())?;
        Ok(PipNoCacheDir {
            env_assignment: format!("{}=", data.env_var),
            data,
            env_set,
        })
    }

    /// Whether a command (as the model resolves it) runs pip: `pip…` itself, or `python… -m pip`.
    fn is_pip(&self, e: &Effective) -> bool {
        if self.data.pip_program.is_match(&e.program) {
            return true;
        }
        self.data.python_program.is_match(&e.program)
            && e.args.windows(2).any(|w| w[0] == "-m" && w[1] == "pip")
    }

    /// `ENV`/`ARG` of the variable in the RUN's stage (or the stages it is built on) before it.
    fn stage_sets_env(&self, ctx: &Context<'_>, run: &Run<'_>) -> bool {
        let stages = &ctx.analysis.stages;
        let mut stage = Some(run.stage);
        let mut upto = run.index;
        while let Some(s) = stage {
            for idx in s.from + 1..upto.min(s.end) {
                if let Some(ins) = ctx.doc.instructions.get(idx) {
                    if matches!(ins.kind(), Keyword::Env | Keyword::Arg)
                        && self.env_set.is_match(&ins.command.args)
                    {
                        return true;
                    }
                }
            }
            stage = s.parent.and_then(|p| stages.get(p));
            upto = stage.map(|p| p.end).unwrap_or(0);
        }
        false
    }
}

impl Rule for PipNoCacheDir {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Context<'_>, out: &mut Vec<Finding>) {
        for run in runtext::runs_with(ctx, true) {
            // A RUN that names neither pip nor python has nothing to fix: skip its mounts.
            if !consumers::names_any(&run.rt.text, PIP_HINTS) {
                continue;
            }
            let mounts = run.cache_mounts();
            if mounts
                .iter()
                .any(|t| self.data.cache_mounts.iter().any(|m| t.contains(m.as_str())))
            {
                continue;
            }
            if run.rt.text.contains(&self.env_assignment) {
                continue;
            }
            let hits = consumers::missing_switch(
                &run.rt.text,
                &run.script.cmds,
                PIP_HINTS,
                &|e| self.is_pip(e),
                &self.data.subcommands,
                &self.data.decided,
            );
            if hits.is_empty() || self.stage_sets_env(ctx, run) {
                continue;
            }
            for hit in hits {
                let msg = format!(
                    "`{}` keeps its download cache in the layer: add `{}`",
                    hit.shown, self.data.insert
                );
                out.push(match hit.at {
                    Ok(sub) => {
                        let f = Finding::new(ID, run.ins.span, msg);
                        match runtext::insert_after(&run.rt, sub, &self.data.insert) {
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
