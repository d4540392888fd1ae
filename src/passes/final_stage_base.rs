//! ## final-stage-base
//!
//! **What it does**: in a file that is already multi-stage, a final stage that only copies files and
//! sets metadata (no RUN) on a heavy image (`node:20`, `python:3.12`, `eclipse-temurin:21-jdk`, or
//! `ubuntu`/`debian`/`golang` running a binary built in an earlier stage) gets the matching small
//! base from the image catalogue: distroless by default, `--final alpine` or `--final slim`. CMD and
//! ENTRYPOINT are rewritten for the image's own ENTRYPOINT (`CMD ["node", "dist/main.js"]` becomes
//! `CMD ["dist/main.js"]` on distroless nodejs), and `--chown`/USER names the new image lacks become
//! its non-root user.
//!
//! **Why is this bad**: the final stage is what ships. A full `node:20` or `ubuntu` under a copied
//! app adds hundreds of megabytes, a shell and a package manager that nothing uses.
//!
//! **Example**
//! ```dockerfile
//! FROM golang:1.22 AS build
//! WORKDIR /src
//! COPY . .
//! RUN CGO_ENABLED=0 go build -o /out/app .
//!
//! FROM ubuntu:24.04
//! COPY --from=build /out/app /usr/local/bin/app
//! CMD ["app"]
//! ```
//! becomes
//! ```dockerfile
//! FROM gcr.io/distroless/static-debian12:nonroot
//! ```
//! for the last stage.
//!
//! **Fix safety**: unsafe. The new base has no shell or package manager (distroless) or musl
//! (alpine), and the app runs as a non-root user. Python stages are moved to `python:<v>-slim` or
//! `-alpine` only: packages copied into python's `/usr/local` do not load in distroless python3.
//! A binary whose linking dfopt cannot tell, a shell-form CMD with shell features, a HEALTHCHECK that
//! needs curl or a shell: a finding, no fix.

use super::{FixAvailability, RuleMeta, Context, Rule};
use crate::config::{FinalImage, Settings};
use crate::edit::{Level, Edit, Finding, Fix};
use crate::model::context::BuildContext;
use crate::model::images::{self, Catalogue, Choice, ImageRef, Native, Runtime};
use crate::model::runtime_data::RuntimeData;
use crate::model::stage_facts::{resolve, StageFacts};
use crate::model::start::{
    check_healthcheck, effective_argv, java_jar, java_start, json_array, node_args, python_args,
    StartOut,
};
use crate::syntax::{Dockerfile, Form, Keyword, Span};

const DATA: &str = include_str!("../../transforms/final-stage-base.toml");
/// What this rule is: read by the registry, `dfopt rules`, `dfopt explain` and the README table.
pub const META: RuleMeta = RuleMeta {
    id: "final-stage-base",
    summary: "The final stage only copies files but runs on a heavy image",
    fix: FixAvailability::Unsafe,
    hadolint: &[],
    default_enabled: true,
    level: Level::Warning,
    levels: "warning; a refusal (\"dfopt does not guess: …\") is info and never fails CI by default",
};
const ID: &str = META.id;

/// `transforms/final-stage-base.toml`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Data {
    /// Generic distribution images a final stage may use to run a binary.
    distro_images: Vec<String>,
}

pub struct FinalStageBase {
    data: RuntimeData,
    cat: Catalogue,
    distros: Vec<String>,
}

impl FinalStageBase {
    pub fn new(settings: &Settings) -> Result<Self, String> {
        let d: Data = super::load(DATA, ID, settings)?;
        Ok(FinalStageBase {
            data: RuntimeData::load(settings)?,
            cat: Catalogue::load(settings)?,
            distros: d.distro_images,
        })
    }
}

/// What the final stage runs on, as far as the base image tells.
enum Kind {
    Interp(Runtime, String),
    /// A distribution or a compiler image running a copied binary.
    Binary,
}

impl Rule for FinalStageBase {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Context<'_>, out: &mut Vec<Finding>) {
        let a = ctx.analysis;
        if a.stages.len() < 2 {
            return;
        }
        let Some(stage) = a.stages.last() else { return };
        if stage.windows || stage.parent.is_some() {
            return;
        }
        let doc = ctx.doc;
        let Some(from) = doc.instructions.get(stage.from) else {
            return;
        };
        let Some(img) = ImageRef::parse(&stage.base) else {
            return;
        };
        let tag = img.tag_lower();
        if tag.contains("alpine")
            || tag.contains("slim")
            || img.repo.contains("distroless")
            || img.name == "scratch"
        {
            return;
        }
        // Only COPY and metadata: nothing that needs the base image's tools.
        let only_copies = (stage.from + 1..stage.end).all(|i| {
            doc.instructions
                .get(i)
                .map(|ins| match ins.kind() {
                    Keyword::Run | Keyword::Shell | Keyword::Onbuild | Keyword::Unknown => false,
                    Keyword::Add => !ins.command.args.contains("://"),
                    _ => true,
                })
                .unwrap_or(false)
        });
        if !only_copies {
            return;
        }
        let kind = match self.data.runtime_of(&img) {
            Some(rt @ (Runtime::Node | Runtime::Python | Runtime::Java)) => {
                match images::version_of(rt, &img) {
                    Some(v) => Kind::Interp(rt, v),
                    None => return,
                }
            }
            Some(Runtime::Go | Runtime::Rust) => Kind::Binary,
            None if self.distros.contains(&img.name) && img.is_official() => Kind::Binary,
            None => return,
        };
        let facts = StageFacts::scan_with(doc, stage.from, stage.end, "/", ctx.memo);
        let span = from.span;
        match self.plan(ctx, stage.from, stage.end, &kind, &facts) {
            Ok((edits, choice)) => {
                let mut msg = format!(
                    "the final stage only copies files onto `{}`: run it on `{}`",
                    stage.base, choice.image
                );
                if let Some(n) = &choice.note {
                    msg.push_str("; ");
                    msg.push_str(n);
                }
                out.push(Finding::new(ID, span, msg).with_fix(Fix::unsafe_(edits)));
            }
            Err(why) => out.push(Finding::new(
                ID,
                span,
                format!("the final stage only copies files onto `{}`, a heavy image, but dfopt does not guess a smaller one: {why}", stage.base),
            )
            // A refusal is advice: it names what dfopt would need.
            .with_level(Level::Info)),
        }
    }
}

impl FinalStageBase {
    fn plan(
        &self,
        ctx: &Context<'_>,
        from_idx: usize,
        end: usize,
        kind: &Kind,
        facts: &StageFacts,
    ) -> Result<(Vec<Edit>, Choice), String> {
        let doc = ctx.doc;
        let family = ctx.settings.final_image;
        let bctx = BuildContext::new(ctx.path);
        let explicit_root = facts
            .user
            .as_ref()
            .map(|(_, u)| matches!(u.split(':').next().unwrap_or(u), "root" | "0"))
            .unwrap_or(false);
        let argv = effective_argv(doc, facts.start.entrypoint, facts.start.cmd)?;
        let (choice, start) = match kind {
            Kind::Interp(rt, v) => {
                if *rt == Runtime::Python && family == FinalImage::Distroless {
                    return Err(format!(
                        "packages copied into python:{v}'s /usr/local do not load in distroless python3 (Debian's Python in /usr); `--final slim` gives python:{v}-slim"
                    ));
                }
                if family == FinalImage::Alpine {
                    return Err("files built on glibc in earlier stages may not run on alpine (musl); use `--final slim` or `--final distroless`".into());
                }
                let choice = self.cat.for_runtime(*rt, v, family, explicit_root)?;
                let start = if choice.interpreter_entrypoint {
                    match rt {
                        Runtime::Node => StartOut::Exec {
                            entrypoint: None,
                            cmd: Some(node_args(&argv, &bctx)?),
                        },
                        Runtime::Python => StartOut::Exec {
                            entrypoint: None,
                            cmd: Some(python_args(&argv, &self.data)?),
                        },
                        _ => {
                            let (jar, opts, args) = java_jar(&argv)?;
                            java_start(jar, opts, args)
                        }
                    }
                } else {
                    StartOut::Verbatim
                };
                (choice, start)
            }
            Kind::Binary => {
                let native = self.binary_linking(ctx, facts, &argv)?;
                let choice = self.cat.for_native(native, family, explicit_root)?;
                let all_exec = [facts.start.entrypoint, facts.start.cmd]
                    .iter()
                    .flatten()
                    .filter_map(|i| doc.instructions.get(*i))
                    .all(|i| matches!(i.command.form, Form::Exec(_)));
                let start = if all_exec || choice.has_shell {
                    StartOut::Verbatim
                } else if facts.start.entrypoint.is_some() {
                    StartOut::Exec {
                        entrypoint: Some(argv.clone()),
                        cmd: None,
                    }
                } else {
                    StartOut::Exec {
                        entrypoint: None,
                        cmd: Some(argv.clone()),
                    }
                };
                (choice, start)
            }
        };
        if let Some(h) = facts.healthcheck.and_then(|i| doc.instructions.get(i)) {
            check_healthcheck(h, &choice, &self.data)?;
        }
        let mut edits = Vec::new();
        let from = doc.instructions.get(from_idx).ok_or("no FROM")?;
        let args = doc.text(from.command.args_span);
        let word_len = args.split_whitespace().next().map(str::len).unwrap_or(0);
        edits.push(Edit::replace(
            Span::new(
                from.command.args_span.start,
                from.command.args_span.start + word_len,
            ),
            choice.image.clone(),
        ));
        // Users the new image lacks.
        if family == FinalImage::Distroless {
            let named = |u: &str| {
                u.split(':')
                    .any(|p| !p.is_empty() && !p.chars().all(|c| c.is_ascii_digit()) && p != "root")
            };
            for i in from_idx + 1..end {
                let Some(ins) = doc.instructions.get(i) else {
                    continue;
                };
                if let Some(f) = ins.command.flag("chown") {
                    if f.value().map(named).unwrap_or(false) {
                        edits.push(Edit::replace(f.span, "--chown=65532:65532"));
                    }
                }
                if ins.kind() == Keyword::User && named(ins.command.args.trim()) {
                    edits.push(Edit::replace(ins.command.args_span, "65532:65532"));
                }
            }
        }
        if let StartOut::Exec { entrypoint, cmd } = &start {
            let nl = doc.newline();
            let kwc = |w: &str| {
                if from.command.keyword.chars().all(|c| c.is_ascii_lowercase()) {
                    w.to_ascii_lowercase()
                } else {
                    w.to_string()
                }
            };
            let mut new_text = String::new();
            if let Some(e) = entrypoint {
                new_text.push_str(&format!("{} {}", kwc("ENTRYPOINT"), json_array(e)));
            }
            if let Some(c) = cmd {
                if !new_text.is_empty() {
                    new_text.push_str(nl);
                }
                new_text.push_str(&format!("{} {}", kwc("CMD"), json_array(c)));
            }
            // The later of ENTRYPOINT/CMD takes the new text; the other goes.
            let mut idxs: Vec<usize> = [facts.start.entrypoint, facts.start.cmd]
                .into_iter()
                .flatten()
                .collect();
            // a CMD before an ENTRYPOINT was reset by it: it stays as it is
            idxs.sort();
            let Some(last) = idxs.pop() else {
                return Err("no CMD".into());
            };
            for i in idxs {
                if let Some(ins) = doc.instructions.get(i) {
                    edits.push(Edit::delete(Span::new(ins.line_start, ins.full_end)));
                }
            }
            let ins = doc.instructions.get(last).ok_or("no CMD")?;
            edits.push(Edit::replace(ins.span, new_text));
        }
        Ok((edits, choice))
    }

    /// How the binary the final stage runs links, from the stage that built it.
    fn binary_linking(
        &self,
        ctx: &Context<'_>,
        facts: &StageFacts,
        argv: &[String],
    ) -> Result<Native, String> {
        let doc = ctx.doc;
        let prog = argv.first().ok_or("CMD is empty")?;
        let cwd = facts.final_workdir.clone().unwrap_or_else(|| "/".into());
        let target = if prog.contains('/') {
            resolve(&cwd, prog)
        } else {
            None
        };
        let stage = ctx.analysis.stages.last().ok_or("no stage")?;
        // Find the COPY --from that put the program there.
        let mut source: Option<(String, String)> = None;
        for i in stage.from + 1..stage.end {
            let Some(ins) = doc.instructions.get(i) else {
                continue;
            };
            if ins.kind() != Keyword::Copy {
                continue;
            }
            let Some(from) = ins.command.flag("from").and_then(|f| f.value()) else {
                continue;
            };
            let words: Vec<String> = match &ins.command.form {
                Form::Exec(a) => a.clone(),
                _ => ins
                    .command
                    .args
                    .split_whitespace()
                    .map(str::to_string)
                    .collect(),
            };
            let [src, dst] = words.as_slice() else {
                continue;
            };
            let Some(d) = resolve(&cwd, dst) else {
                continue;
            };
            let base = src.rsplit('/').next().unwrap_or(src);
            let lands = |p: &str| p == d || (dst.ends_with('/') && p == format!("{d}/{base}"));
            let hit = match &target {
                Some(t) => lands(t),
                None => {
                    ["/usr/local/bin", "/usr/bin", "/bin", "/app", "/"]
                        .iter()
                        .any(|dir| lands(&format!("{}/{prog}", dir.trim_end_matches('/'))))
                        || (d.ends_with(&format!("/{prog}")))
                }
            };
            if hit {
                source = Some((from.to_ascii_lowercase(), src.clone()));
            }
        }
        let (from_stage, _src) =
            source.ok_or_else(|| format!("dfopt cannot tell which copied file `{prog}` is"))?;
        let built = ctx
            .analysis
            .stages
            .iter()
            .find(|s| {
                s.alias.as_deref() == Some(from_stage.as_str())
                    || from_stage.parse::<usize>().ok()
                        == ctx.analysis.stages.iter().position(|x| x.from == s.from)
            })
            .ok_or_else(|| {
                format!("`{prog}` comes from `{from_stage}`, not a stage of this file")
            })?;
        let bimg = ImageRef::parse(&built.base).ok_or("the build stage's image uses variables")?;
        let bfacts = StageFacts::scan_with(doc, built.from, built.end, "/go", ctx.memo);
        let alpine = bimg.tag_lower().contains("alpine");
        match self.data.runtime_of(&bimg) {
            Some(Runtime::Go) => {
                let cgo0 = bfacts
                    .env
                    .get("CGO_ENABLED")
                    .map(|v| v == "0")
                    .unwrap_or(false)
                    || bfacts
                        .commands("go")
                        .any(|r| bfacts.env_value(r, "CGO_ENABLED") == Some("0"));
                if cgo0 {
                    Ok(Native::Static)
                } else if alpine {
                    Err("the Go binary is built on alpine with cgo possible (musl): set CGO_ENABLED=0".into())
                } else {
                    Ok(Native::Base)
                }
            }
            Some(Runtime::Rust) => {
                if alpine
                    || bfacts
                        .commands("cargo")
                        .any(|r| r.words.iter().any(|w| w.contains("musl")))
                {
                    Ok(Native::Static)
                } else {
                    Ok(Native::Cc)
                }
            }
            _ => Err(format!(
                "`{prog}` is built on `{}`, and dfopt cannot tell how it links",
                built.base
            )),
        }
    }
}

#[allow(dead_code)]
fn _doc(_: &Dockerfile) {}
