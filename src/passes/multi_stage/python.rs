//! The python planner's parts: the virtualenv to copy, manylinux wheels against musl.

use super::render::kw;
use super::MultiStage;
use crate::edit::Edit;
use crate::model::context::BuildContext;
use crate::model::stage_facts::{resolve, RunCmd, StageFacts};
use crate::model::start::{basename, is_python};
use crate::passes::Context;

impl MultiStage {
    pub(super) fn python_musl(
        &self,
        bctx: &BuildContext,
        notes: &mut Vec<String>,
    ) -> Result<(), String> {
        match bctx.requirements() {
            Some(reqs) => {
                let native: Vec<String> = reqs
                    .into_iter()
                    .filter(|r| self.data.native_python.iter().any(|n| n == r))
                    .collect();
                if native.is_empty() {
                    Ok(())
                } else {
                    Err(format!(
                        "{} install manylinux (glibc) wheels in the build stage that do not import on alpine (musl); use `--final slim` or `--final distroless`",
                        native.join(", ")
                    ))
                }
            }
            None => {
                notes.push("the venv was built against glibc: packages with compiled extensions will not import on alpine (musl)".into());
                Ok(())
            }
        }
    }

    /// The virtualenv the build uses (created by dfopt when pip installs without one).
    pub(super) fn python_env(
        &self,
        ctx: &Context<'_>,
        facts: &StageFacts,
        build_edits: &mut Vec<Edit>,
    ) -> Result<Option<String>, String> {
        let doc = ctx.doc;
        for tool in ["poetry", "pipenv", "conda", "uv", "pdm", "hatch"] {
            if facts.commands(tool).next().is_some() {
                return Err(format!(
                    "the build installs with {tool}, and dfopt cannot tell where the packages go"
                ));
            }
        }
        let mut venv: Option<String> = None;
        for r in &facts.runs {
            let w = &r.words;
            let first = w.first().map(|s| basename(s)).unwrap_or("");
            let target = if is_python(first)
                && w.get(1).map(String::as_str) == Some("-m")
                && w.get(2).map(String::as_str) == Some("venv")
            {
                w[3..].iter().find(|a| !a.starts_with('-'))
            } else if first == "virtualenv" {
                w[1..].iter().find(|a| !a.starts_with('-'))
            } else {
                None
            };
            if let Some(t) = target {
                venv = Some(resolve(&r.cwd, t).ok_or("the virtualenv path uses variables")?);
            }
        }
        let pips: Vec<&RunCmd> = facts
            .runs
            .iter()
            .filter(|r| {
                let w = &r.words;
                let first = w.first().map(|s| basename(s)).unwrap_or("");
                let is_pip = first.starts_with("pip")
                    || (is_python(first)
                        && w.get(1).map(String::as_str) == Some("-m")
                        && w.get(2).map(String::as_str) == Some("pip"));
                is_pip && w.iter().any(|a| a == "install")
            })
            .collect();
        for p in &pips {
            if p.words.iter().any(|a| {
                a == "--user" || a.starts_with("--target") || a.starts_with("--prefix") || a == "-t"
            }) {
                return Err("pip installs with --user/--target/--prefix, outside a virtualenv dfopt can copy".into());
            }
        }
        if pips.is_empty() {
            return Ok(venv);
        }
        match &venv {
            Some(v) => {
                let on_path = facts
                    .env
                    .get("PATH")
                    .map(|p| p.contains(&format!("{v}/bin")))
                    .unwrap_or(false)
                    || facts
                        .env
                        .get("VIRTUAL_ENV")
                        .map(|e| e == v)
                        .unwrap_or(false);
                for p in &pips {
                    let first = p.words.first().map(String::as_str).unwrap_or("");
                    let in_venv = first.starts_with(&format!("{v}/"));
                    if !in_venv && (!on_path || first.starts_with('/')) {
                        return Err(format!(
                            "`{}` installs outside the virtualenv {v}",
                            p.words.join(" ")
                        ));
                    }
                }
                Ok(venv)
            }
            None => {
                if pips
                    .iter()
                    .any(|p| p.words.first().map(|f| f.starts_with('/')).unwrap_or(false))
                {
                    return Err("pip is called by absolute path, outside any virtualenv".into());
                }
                // Create one right after FROM: every later pip install goes into it.
                let stage_from = ctx.analysis.stages.first().map(|s| s.from).unwrap_or(0);
                let from = doc.instructions.get(stage_from).ok_or("no FROM")?;
                let nl = doc.newline();
                let lead = if doc.source[..from.full_end].ends_with('\n') {
                    ""
                } else {
                    nl
                };
                let k = |w| kw(doc, from, w);
                build_edits.push(Edit::insert(
                    from.full_end,
                    format!(
                        "{lead}{} python -m venv /opt/venv{nl}{} PATH=\"/opt/venv/bin:$PATH\"{nl}",
                        k("RUN"),
                        k("ENV")
                    ),
                ));
                Ok(Some("/opt/venv".into()))
            }
        }
    }
}
