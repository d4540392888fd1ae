//! The node planner's parts: native modules against musl, pruning dev dependencies, global installs.

use super::render::kw;
use super::MultiStage;
use crate::config::FinalImage;
use crate::edit::Edit;
use crate::model::context::BuildContext;
use crate::model::images::Choice;
use crate::model::stage_facts::{RunCmd, StageFacts};
use crate::model::start::basename;
use crate::passes::Context;
use crate::shell;
use crate::syntax::{Form, Keyword};

impl MultiStage {
    pub(super) fn node_musl(
        &self,
        bctx: &BuildContext,
        choice: &Choice,
        build_alpine: bool,
        notes: &mut Vec<String>,
    ) -> Result<(), String> {
        let to_musl = choice.family == FinalImage::Alpine && !build_alpine;
        let to_glibc = choice.family != FinalImage::Alpine && build_alpine;
        if !to_musl && !to_glibc {
            return Ok(());
        }
        let Some(pkg) = bctx.package_json() else {
            notes.push(format!(
                "node_modules built on {} run on {}: check for native modules (bcrypt, sharp, …)",
                if to_musl { "glibc" } else { "musl" },
                if to_musl { "musl" } else { "glibc" }
            ));
            return Ok(());
        };
        let mut native = Vec::new();
        for key in ["dependencies", "optionalDependencies"] {
            if let Some(deps) = pkg.get(key).and_then(|d| d.as_object()) {
                for name in deps.keys() {
                    if self.data.native_node.iter().any(|n| n == name) {
                        native.push(name.clone());
                    }
                }
            }
        }
        if native.is_empty() {
            return Ok(());
        }
        Err(format!(
            "native modules ({}) compiled in the {} build stage would not load on {} ({}); use `--final {}`",
            native.join(", "),
            if to_musl { "glibc" } else { "musl (alpine)" },
            choice.image,
            if to_musl { "musl" } else { "glibc" },
            if to_musl { "distroless` or `--final slim" } else { "alpine" }
        ))
    }

    /// `npm prune --omit=dev` (or the yarn/pnpm equivalent) at the end of the build stage, when dev
    /// dependencies may be installed.
    pub(super) fn node_prune(
        &self,
        ctx: &Context<'_>,
        facts: &StageFacts,
        bctx: &BuildContext,
        version: Option<&str>,
    ) -> Option<Edit> {
        let doc = ctx.doc;
        let installs: Vec<&RunCmd> = facts
            .runs
            .iter()
            .filter(|r| {
                let w = &r.words;
                match w.first().map(|s| basename(s)) {
                    Some("npm") => {
                        matches!(w.get(1).map(String::as_str), Some("install" | "i" | "ci"))
                    }
                    Some("yarn") => w.len() == 1 || w.get(1).map(String::as_str) == Some("install"),
                    Some("pnpm") => matches!(w.get(1).map(String::as_str), Some("install" | "i")),
                    _ => false,
                }
            })
            .collect();
        let last = installs.last()?;
        let production = |r: &RunCmd| {
            r.words.iter().any(|a| {
                a == "--production"
                    || a == "--omit=dev"
                    || a == "--only=production"
                    || a == "--only=prod"
                    || a == "--prod"
            }) || facts.env_value(r, "NODE_ENV") == Some("production")
        };
        if installs.iter().all(|r| production(r)) {
            return None;
        }
        if let Some(pkg) = bctx.package_json() {
            let dev = pkg
                .get("devDependencies")
                .and_then(|d| d.as_object())
                .map(|d| !d.is_empty())
                .unwrap_or(false);
            if !dev {
                return None;
            }
        }
        // A floating tag (`node:lts`) runs a current npm, which knows `--omit=dev`.
        let major: u32 = version.and_then(|v| v.parse().ok()).unwrap_or(22);
        let cmd = match last.words.first().map(|s| basename(s)) {
            Some("yarn") => {
                "yarn install --production --ignore-scripts --prefer-offline".to_string()
            }
            Some("pnpm") => "pnpm prune --prod".to_string(),
            _ if major < 15 => "npm prune --production".to_string(),
            _ => "npm prune --omit=dev".to_string(),
        };
        let stage = ctx.analysis.stages.first()?;
        let moved = self.moved(doc, stage.from, stage.end, facts);
        let last_kept = (stage.from..stage.end).rev().find(|i| !moved.contains(i))?;
        let ins = doc.instructions.get(last_kept)?;
        if ins.kind() == Keyword::Run && ins.heredocs.is_empty() && ins.command.form == Form::Shell
        {
            let f = shell::analyse(&ins.command.args);
            if f.parsed && !f.has_comment && !f.has_background && !f.trailing_separator {
                return Some(Edit::insert(
                    ins.command.args_span.end,
                    format!(" && {cmd}"),
                ));
            }
        }
        let from = doc.instructions.get(stage.from)?;
        let nl = doc.newline();
        let lead = if doc.source[..ins.full_end].ends_with('\n') {
            ""
        } else {
            nl
        };
        Some(Edit::insert(
            ins.full_end,
            format!("{lead}{} {cmd}{nl}", kw(doc, from, "RUN")),
        ))
    }
}

pub(super) fn is_global_npm(r: &RunCmd) -> bool {
    let w = &r.words;
    let first = w.first().map(|s| basename(s)).unwrap_or("");
    (first == "npm" && w.iter().any(|a| a == "-g" || a == "--global"))
        || (first == "yarn" && w.get(1).map(String::as_str) == Some("global"))
}
