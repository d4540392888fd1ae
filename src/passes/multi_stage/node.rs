//! The node planner's parts: how the runtime stage starts the app (node itself, or npm where
//! package.json needs it), native modules against musl, pruning dev dependencies, global installs.

use super::render::kw;
use super::MultiStage;
use crate::config::FinalImage;
use crate::edit::Edit;
use crate::model::context::BuildContext;
use crate::model::images::Choice;
use crate::model::stage_facts::{RunCmd, StageFacts};
use crate::model::start::{
    basename, effective_argv, node_args, package_script, package_script_text, refuse_dev_script,
    script_needs_dev_dependency, script_program, StartOut,
};
use crate::passes::Context;
use crate::shell;
use crate::syntax::{Form, Keyword};

impl MultiStage {
    /// How the runtime stage starts a node app. An image whose ENTRYPOINT is node gets node's
    /// arguments (a package script resolved through package.json, refused when npm itself is
    /// needed: hooks, `npm_package_*` variables, a script that is not plain `node file.js`); an
    /// image with npm keeps the command as written, and the note says what that keeps.
    pub(super) fn node_start(
        &self,
        argv: Result<Vec<String>, String>,
        bctx: &BuildContext,
        choice: &Choice,
        notes: &mut Vec<String>,
    ) -> Result<StartOut, String> {
        if let Ok(words) = &argv {
            refuse_dev_script(words, bctx)?;
        }
        if choice.interpreter_entrypoint {
            return Ok(StartOut::Exec {
                entrypoint: None,
                cmd: Some(node_args(&argv?, bctx)?),
            });
        }
        let Ok(words) = &argv else {
            return Ok(StartOut::Verbatim);
        };
        let Some(script) = package_script(words) else {
            return Ok(StartOut::Verbatim);
        };
        let manager = words.first().map(|w| basename(w)).unwrap_or("npm");
        // The official node images carry npm and yarn; pnpm only through corepack.
        if manager == "pnpm" {
            return Err(format!(
                "CMD runs `{}`, and {} has no pnpm (corepack would fetch it at start)",
                words.join(" "),
                choice.image
            ));
        }
        let mut note = format!(
            "`{}` still starts the app on {}, which has {manager}",
            words.join(" "),
            choice.image
        );
        if package_script_text(words, bctx).is_some() {
            note.push_str(&format!(
                ": package.json's pre{script}/post{script} hooks and `npm_package_*` variables work as before"
            ));
        }
        if let Some(program) = script_needs_dev_dependency(words, bctx) {
            note.push_str(&format!(
                "; dev dependencies are kept, because the `{script}` script runs `{program}`, which package.json lists in devDependencies"
            ));
        }
        if let Some((_, text)) = package_script_text(words, bctx) {
            if script_program(&text).as_deref() == Some("next") {
                note.push_str("; `next start` reads `.next` and node_modules, both copied with the app folder");
            }
        }
        notes.push(note);
        Ok(StartOut::Verbatim)
    }

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
        // The start script runs a tool from devDependencies (`serve -s dist`): pruning would
        // remove it.
        let argv = effective_argv(doc, facts.start.entrypoint, facts.start.cmd).ok()?;
        if script_needs_dev_dependency(&argv, bctx).is_some() {
            return None;
        }
        let app = facts.final_workdir.clone()?;
        // A floating tag (`node:lts`) runs a current npm, which knows `--omit=dev`.
        let major: u32 = version.and_then(|v| v.parse().ok()).unwrap_or(22);
        // Each folder a development install ran in (`npm ci`, then `cd client && npm ci`) is
        // pruned in that folder, with the package manager that installed there, unless its
        // package.json (read from the build context) has no devDependencies.
        let mut folders: Vec<(String, String)> = Vec::new();
        for r in installs.iter().filter(|r| !production(r)) {
            let cmd = match r.words.first().map(|s| basename(s)) {
                Some("yarn") => {
                    "yarn install --production --ignore-scripts --prefer-offline".to_string()
                }
                Some("pnpm") => "pnpm prune --prod".to_string(),
                _ if major < 15 => "npm prune --production".to_string(),
                _ => "npm prune --omit=dev".to_string(),
            };
            match folders.iter_mut().find(|(cwd, _)| *cwd == *r.cwd) {
                Some(f) => f.1 = cmd,
                None => folders.push((r.cwd.to_string(), cmd)),
            }
        }
        folders.retain(|(cwd, _)| has_dev_dependencies(bctx, &app, cwd));
        if folders.is_empty() {
            return None;
        }
        let stage = ctx.analysis.stages.first()?;
        let moved = self.moved(doc, stage.from, stage.end, facts);
        let last_kept = (stage.from..stage.end).rev().find(|i| !moved.contains(i))?;
        let ins = doc.instructions.get(last_kept)?;
        if ins.kind() == Keyword::Run && ins.heredocs.is_empty() && ins.command.form == Form::Shell
        {
            let f = shell::analyse(&ins.command.args);
            if f.parsed && !f.has_comment && !f.has_background && !f.trailing_separator {
                // Every WORKDIR is kept and comes before this RUN, so it starts in the stage's
                // last WORKDIR; a `cd` in it leaves the prune somewhere else.
                let moves = f
                    .commands
                    .iter()
                    .any(|c| matches!(c.as_str(), "cd" | "pushd" | "popd"));
                let starts_in = (!moves).then_some(app.as_str());
                return Some(Edit::insert(
                    ins.command.args_span.end,
                    format!(" && {}", prune_chain(&folders, starts_in)),
                ));
            }
        }
        let cmd = prune_chain(&folders, Some(&app));
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

/// The prune commands for each folder, with a `cd` where the shell is not already there.
fn prune_chain(folders: &[(String, String)], starts_in: Option<&str>) -> String {
    let mut here = starts_in.map(str::to_string);
    let mut parts = Vec::new();
    for (cwd, cmd) in folders {
        if here.as_deref() != Some(cwd.as_str()) {
            parts.push(format!("cd {}", shell_word(cwd)));
            here = Some(cwd.clone());
        }
        parts.push(cmd.clone());
    }
    parts.join(" && ")
}

/// A path as one shell word.
fn shell_word(path: &str) -> String {
    if path
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+@".contains(c))
    {
        path.to_string()
    } else {
        format!("'{}'", path.replace('\'', "'\\''"))
    }
}

/// Whether the folder `cwd` may hold dev dependencies: its package.json in the build context (the
/// app folder `app` is the context's root) lists some, or cannot be read.
fn has_dev_dependencies(bctx: &BuildContext, app: &str, cwd: &str) -> bool {
    let rel = if cwd == app {
        Some(String::new())
    } else {
        cwd.strip_prefix(app)
            .and_then(|r| r.strip_prefix('/'))
            .map(|r| format!("{r}/"))
    };
    let Some(pkg) = rel
        .and_then(|r| bctx.read(&format!("{r}package.json")))
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
    else {
        return true;
    };
    pkg.get("devDependencies")
        .and_then(|d| d.as_object())
        .map(|d| !d.is_empty())
        .unwrap_or(false)
}

