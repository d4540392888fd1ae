//! The python planner's parts: the resolved set of packages (requirement files through their
//! includes, lock files, the `pip install` line), the virtualenv or user base to copy, manylinux
//! wheels against musl, OS libraries behind native modules, and data tools write into `$HOME`
//! at build time. What dfopt knows about packages is `transforms/python-packages.toml`.

use super::render::kw;
use super::MultiStage;
use crate::config::FinalImage;
use crate::edit::Edit;
use crate::model::context::{join_relative, parse_requirement, BuildContext, PythonRequirements};
use crate::model::images::Choice;
use crate::model::stage_facts::{resolve, within, RunCmd, StageFacts};
use crate::model::start::{basename, is_python, python_args, StartOut};
use crate::passes::Context;
use std::collections::BTreeMap;
use std::sync::OnceLock;

const DATA: &str = include_str!("../../../transforms/python-packages.toml");

/// A compiled module that links OS libraries at run time.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct NativeLibs {
    debian: Vec<String>,
    /// `always` (no Linux wheel) or `source` (only a `--no-binary` build links them).
    when: String,
    #[serde(default)]
    unless: Vec<String>,
    #[serde(default)]
    unless_extras: Vec<String>,
    #[allow(dead_code)] // documentation in the data, kept next to what it supports
    source: String,
}

/// A build-time tool that writes data into the home folder.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct HomeData {
    tool: String,
    #[serde(default)]
    module: Option<String>,
    #[serde(default)]
    programs: Vec<String>,
    #[serde(default)]
    subcommand: Option<String>,
    #[serde(default)]
    code: Vec<String>,
    home: String,
    env: String,
    #[serde(default)]
    dir_options: Vec<String>,
    copy: bool,
    #[serde(default)]
    reason: Option<String>,
    #[allow(dead_code)] // documentation in the data, kept next to what it supports
    source: String,
}

/// `transforms/python-packages.toml`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PythonKnowledge {
    compiled: Vec<String>,
    pure_fallback: Vec<String>,
    depends_on: BTreeMap<String, Vec<String>>,
    native_libs: BTreeMap<String, NativeLibs>,
    home_data: Vec<HomeData>,
}

fn knowledge() -> Result<&'static PythonKnowledge, String> {
    static K: OnceLock<Result<PythonKnowledge, String>> = OnceLock::new();
    K.get_or_init(|| read(DATA)).as_ref().map_err(Clone::clone)
}

fn read(text: &str) -> Result<PythonKnowledge, String> {
    toml::from_str(text).map_err(|e| format!("transforms/python-packages.toml: {e}"))
}

/// Reads `text` as the data file is read (`passes::DATA_FILES`: every data file's reader).
pub(crate) fn read_text(text: &str) -> Result<(), String> {
    read(text).map(drop)
}

/// What the python planner adds to the runtime stage.
pub(super) struct PythonParts {
    pub copies: Vec<String>,
    /// Folders copied to another place (a build user's home to the runtime user's).
    pub relocated: Vec<(String, String)>,
    pub extra_env: Vec<String>,
    /// Replaces the runtime stage's install RUN (it then also installs the libraries below).
    pub runtime_install: Option<String>,
    pub build_edits: Vec<Edit>,
    pub notes: Vec<String>,
    pub start: StartOut,
}

/// Where the build installs packages.
struct PyEnv {
    /// The virtualenv, and whether dfopt creates it.
    venv: Option<(String, bool)>,
    /// `pip install --user`: the user base it installs into.
    user_base: Option<String>,
}

/// Options of `pip install` that take a value (the next word unless written `--opt=value`).
const PIP_VALUE_OPTIONS: &[&str] = &[
    "-r", "--requirement", "-c", "--constraint", "-e", "--editable", "-i", "--index-url",
    "--extra-index-url", "-f", "--find-links", "-t", "--target", "--prefix", "--root",
    "--no-binary", "--only-binary", "--platform", "--python-version", "--implementation", "--abi",
    "--trusted-host", "--cache-dir", "--src", "--upgrade-strategy", "--progress-bar", "--log",
    "--proxy", "--retries", "--timeout", "--exists-action", "--cert", "--client-cert",
    "--global-option", "--config-settings", "-C", "--report", "--root-user-action", "--python",
    "--use-feature", "--use-deprecated", "--group", "--hash",
];

/// A `pip install` line read: requirement files (as written), packages, `.`/`-e .`, and the
/// `--no-binary` values.
#[derive(Default)]
struct PipLine {
    files: Vec<String>,
    packages: Vec<String>,
    project: bool,
    editable: bool,
    no_binary: Vec<String>,
}

fn read_pip_line(words: &[String]) -> PipLine {
    let mut out = PipLine::default();
    let Some(at) = words.iter().position(|w| w == "install") else {
        return out;
    };
    let mut i = at + 1;
    while let Some(w) = words.get(i) {
        i += 1;
        let (opt, inline) = match w.split_once('=') {
            Some((o, v)) if o.starts_with('-') => (o, Some(v.to_string())),
            _ => (w.as_str(), None),
        };
        if opt.starts_with('-') {
            if !PIP_VALUE_OPTIONS.contains(&opt) {
                continue;
            }
            let value = match inline {
                Some(v) => v,
                None => {
                    i += 1;
                    words.get(i - 1).cloned().unwrap_or_default()
                }
            };
            match opt {
                "-r" | "--requirement" => out.files.push(value),
                "-e" | "--editable" => {
                    out.editable = true;
                    if matches!(value.as_str(), "." | "./") {
                        out.project = true;
                    } else if parse_requirement(&value).is_some() {
                        out.packages.push(value);
                    }
                }
                "--no-binary" => out
                    .no_binary
                    .extend(value.split(',').map(|v| v.trim().to_ascii_lowercase())),
                _ => {}
            }
        } else if matches!(w.as_str(), "." | "./") {
            out.project = true;
        } else if !w.contains('/') && parse_requirement(w).is_some() {
            out.packages.push(w.clone());
        }
    }
    out
}

fn is_pip_install(r: &RunCmd) -> bool {
    let w = &r.words;
    let first = w.first().map(|s| basename(s)).unwrap_or("");
    let is_pip = first.starts_with("pip")
        || (is_python(first)
            && w.get(1).map(String::as_str) == Some("-m")
            && w.get(2).map(String::as_str) == Some("pip"));
    is_pip && w.iter().any(|a| a == "install")
}

/// The build context file a path in the image came from, as far as dfopt can tell: the same
/// path relative to the app folder, the path as written, or the file name at the context root.
fn context_file(bctx: &BuildContext, cwd: &str, written: &str, app: &str) -> Option<String> {
    let mut candidates = Vec::new();
    if let Some(abs) = resolve(cwd, written) {
        if let Some(rel) = abs.strip_prefix(&format!("{}/", app.trim_end_matches('/'))) {
            candidates.push(rel.to_string());
        }
    }
    candidates.extend(join_relative("", written));
    candidates.push(basename(written).to_string());
    candidates.into_iter().find(|c| bctx.has_file(c))
}

/// The user whose home a build RUN writes into (`/root` unless a RUN follows a non-root USER).
fn build_home(facts: &StageFacts) -> Option<String> {
    if let Some(h) = facts.env.get("HOME") {
        return Some(h.clone());
    }
    match &facts.user {
        Some((_, u)) if facts.run_after_user => {
            matches!(u.split(':').next().unwrap_or(u), "root" | "0").then(|| "/root".into())
        }
        _ => Some("/root".into()),
    }
}

/// The runtime user's home, as the runtime stage sets the user up (see `runtime_user`):
/// distroless `nonroot`, the `app` user a slim/alpine stage creates, the original named user,
/// or root. `Err` names a user whose home dfopt cannot tell.
fn runtime_home(facts: &StageFacts, choice: &Choice) -> Result<String, String> {
    let orig = facts.user.as_ref().map(|(_, u)| u.as_str());
    let name = orig.map(|u| u.split(':').next().unwrap_or(u));
    match name {
        Some("root" | "0") => Ok("/root".into()),
        Some(n) if n.chars().all(|c| c.is_ascii_digit()) => Err(format!(
            "the runtime user {n} has no home dfopt can tell"
        )),
        Some(_) if choice.family == FinalImage::Distroless => Ok("/home/nonroot".into()),
        Some(n) => Ok(format!("/home/{n}")),
        None if choice.family == FinalImage::Distroless => Ok("/home/nonroot".into()),
        None => Ok("/home/app".into()),
    }
}

impl MultiStage {
    /// The python part of the runtime stage: what to copy, the environment, the start command.
    pub(super) fn plan_python(
        &self,
        ctx: &Context<'_>,
        (facts, bctx): (&StageFacts, &BuildContext),
        choice: &Choice,
        build_alpine: bool,
        argv: &Result<Vec<String>, String>,
        app: &str,
    ) -> Result<PythonParts, String> {
        let k = knowledge()?;
        let family = choice.family;
        if build_alpine && family != FinalImage::Alpine {
            return Err(
                "the build image is alpine (musl): packages built in it need `--final alpine`"
                    .into(),
            );
        }
        let mut parts = PythonParts {
            copies: Vec::new(),
            relocated: Vec::new(),
            extra_env: Vec::new(),
            runtime_install: None,
            build_edits: Vec::new(),
            notes: Vec::new(),
            start: StartOut::Verbatim,
        };
        let lines: Vec<(&RunCmd, PipLine)> = facts
            .runs
            .iter()
            .filter(|r| is_pip_install(r))
            .map(|r| (r, read_pip_line(&r.words)))
            .collect();
        let reqs = self.python_resolved(bctx, &lines, app);
        let env = self.python_env(ctx, facts, &mut parts.build_edits)?;
        let home = runtime_home(facts, choice);
        if let Some((v, created)) = &env.venv {
            self.python_venv(facts, choice, &lines, (v, *created), &mut parts)?;
        }
        if let Some(base) = &env.user_base {
            let home = home.clone()?;
            let dst = format!("{home}/.local");
            parts.relocated.push((base.clone(), dst.clone()));
            parts.extra_env.push(format!("ENV PYTHONUSERBASE={dst}"));
            if choice.has_shell {
                parts.extra_env.push(format!("ENV PATH=\"{dst}/bin:$PATH\""));
            }
            parts.notes.push(format!(
                "`pip install --user` put the packages in {base}: they are copied to {dst}, in the runtime user's home, and PYTHONUSERBASE names it"
            ));
        }
        if family == FinalImage::Alpine && !build_alpine {
            self.python_musl(k, &reqs, &mut parts.notes)?;
        }
        self.python_native_libs(ctx, k, &reqs, facts, &lines, choice, &mut parts)?;
        self.python_home_data(k, facts, app, &home, &mut parts)?;
        parts.start = if choice.interpreter_entrypoint {
            StartOut::Exec {
                entrypoint: None,
                cmd: Some(python_args(argv.as_ref().map_err(Clone::clone)?, &self.data)?),
            }
        } else {
            StartOut::Verbatim
        };
        Ok(parts)
    }

    /// The resolved set: the files and packages the `pip install` lines name, or
    /// requirements.txt when there is no pip line to read.
    fn python_resolved(
        &self,
        bctx: &BuildContext,
        lines: &[(&RunCmd, PipLine)],
        app: &str,
    ) -> PythonRequirements {
        let mut files = Vec::new();
        let mut missing = Vec::new();
        let mut packages = Vec::new();
        let mut project = false;
        for (r, l) in lines {
            for f in &l.files {
                match context_file(bctx, &r.cwd, f, app) {
                    Some(c) => files.push(c),
                    None => missing.push(f.clone()),
                }
            }
            packages.extend(l.packages.iter().cloned());
            project |= l.project;
        }
        let mut reqs = bctx.python_requirements(&files, &packages, project);
        reqs.missing.extend(missing);
        reqs
    }

    /// The resolved set with the compiled packages well-known ones pull in (when no lock file
    /// lists them): each name with the top-level package that brought it.
    fn closure(k: &PythonKnowledge, reqs: &PythonRequirements) -> Vec<(String, Option<String>)> {
        let mut out: Vec<(String, Option<String>)> =
            reqs.packages.iter().map(|p| (p.name.clone(), None)).collect();
        if reqs.locked {
            return out;
        }
        let mut i = 0;
        while i < out.len() && out.len() < 512 {
            let (name, via) = out[i].clone();
            let mut keys = vec![name.clone()];
            if let Some(p) = reqs.packages.iter().find(|p| p.name == name) {
                keys.extend(p.extras.iter().map(|e| format!("{name}[{e}]")));
            }
            for key in keys {
                for dep in k.depends_on.get(&key).into_iter().flatten() {
                    if !out.iter().any(|(n, _)| n == dep) {
                        out.push((dep.clone(), Some(via.clone().unwrap_or_else(|| name.clone()))));
                    }
                }
            }
            i += 1;
        }
        out
    }

    /// Manylinux (glibc) wheels built in the build stage do not import on alpine (musl).
    fn python_musl(
        &self,
        k: &PythonKnowledge,
        reqs: &PythonRequirements,
        notes: &mut Vec<String>,
    ) -> Result<(), String> {
        if reqs.is_unknown() {
            notes.push("the venv was built against glibc: packages with compiled extensions will not import on alpine (musl)".into());
            return Ok(());
        }
        let compiled = |n: &str| {
            (self.data.native_python.iter().any(|c| c == n) || k.compiled.iter().any(|c| c == n))
                && !k.pure_fallback.iter().any(|c| c == n)
        };
        let native: Vec<String> = Self::closure(k, reqs)
            .into_iter()
            .filter(|(n, _)| compiled(n))
            .map(|(n, via)| match via {
                Some(v) => format!("{n} (via {v})"),
                None => n,
            })
            .collect();
        if !native.is_empty() {
            return Err(format!(
                "{} install manylinux (glibc) wheels in the build stage that do not import on alpine (musl); use `--final slim` or `--final distroless`",
                native.join(", ")
            ));
        }
        if !reqs.missing.is_empty() {
            notes.push(format!(
                "dfopt could not read {}: packages with compiled extensions there would not import on alpine (musl)",
                reqs.missing.join(", ")
            ));
        }
        Ok(())
    }

    /// OS libraries compiled modules link at run time: installed in a slim runtime stage in one
    /// clean RUN; distroless (no package manager) and alpine (other names, musl) are refused.
    #[allow(clippy::too_many_arguments)]
    fn python_native_libs(
        &self,
        ctx: &Context<'_>,
        k: &PythonKnowledge,
        reqs: &PythonRequirements,
        facts: &StageFacts,
        lines: &[(&RunCmd, PipLine)],
        choice: &Choice,
        parts: &mut PythonParts,
    ) -> Result<(), String> {
        let closure = Self::closure(k, reqs);
        let no_binary_all = facts
            .env
            .get("PIP_NO_BINARY")
            .map(|v| v.to_ascii_lowercase())
            .into_iter()
            .chain(lines.iter().flat_map(|(_, l)| l.no_binary.iter().cloned()))
            .collect::<Vec<String>>();
        let mut libs: Vec<String> = Vec::new();
        let mut why: Vec<String> = Vec::new();
        for (pkg, need) in &k.native_libs {
            if !closure.iter().any(|(n, _)| n == pkg) {
                continue;
            }
            let from_source = need.when == "always"
                || no_binary_all.iter().any(|v| {
                    v.split(',')
                        .any(|x| x == ":all:" || crate::model::context::normalize_package(x) == *pkg)
                });
            let extras = reqs
                .packages
                .iter()
                .find(|p| p.name == *pkg)
                .map(|p| p.extras.clone())
                .unwrap_or_default();
            let supplied = need.unless.iter().any(|u| reqs.contains(u))
                || need.unless_extras.iter().any(|e| extras.contains(e));
            if !from_source || supplied {
                continue;
            }
            why.push(format!("{pkg} links {}", need.debian.join(", ")));
            for l in &need.debian {
                if !libs.contains(l) {
                    libs.push(l.clone());
                }
            }
        }
        if libs.is_empty() {
            return Ok(());
        }
        let short = &why;
        match choice.family {
            FinalImage::Distroless => {
                return Err(format!(
                    "{} at run time, and {} has no package manager to install {}",
                    short.join("; "),
                    choice.image,
                    if libs.len() == 1 { "it" } else { "them" }
                ))
            }
            FinalImage::Alpine => {
                return Err(format!(
                    "{} at run time; dfopt knows the Debian packages for {}, not alpine's",
                    short.join("; "),
                    if libs.len() == 1 { "it" } else { "them" }
                ))
            }
            FinalImage::Slim => {}
        }
        // The build's own run-time packages (pinned: plan_interpreted refused any other) are
        // installed again in the same RUN.
        let mut all: Vec<String> = self.runtime_packages(facts);
        for l in &libs {
            if !all.iter().any(|a| a.split('=').next() == Some(l.as_str())) {
                all.push(l.clone());
            }
        }
        let doc = ctx.doc;
        let run = ctx
            .analysis
            .stages
            .first()
            .and_then(|s| doc.instructions.get(s.from))
            .map(|from| kw(doc, from, "RUN"))
            .unwrap_or_else(|| "RUN".to_string());
        parts.runtime_install = Some(format!(
            "{run} apt-get update && apt-get install -y --no-install-recommends {} && rm -rf /var/lib/apt/lists/*",
            all.join(" ")
        ));
        parts.notes.push(format!(
            "installs {} in the runtime image ({})",
            libs.join(", "),
            short.join("; ")
        ));
        Ok(())
    }

    /// Data that build-time tools write into the build user's home (nltk corpora, model
    /// caches): copied to the runtime user's home, with the tool's variable naming it; or
    /// refused with the reason.
    fn python_home_data(
        &self,
        k: &PythonKnowledge,
        facts: &StageFacts,
        app: &str,
        home: &Result<String, String>,
        parts: &mut PythonParts,
    ) -> Result<(), String> {
        for r in &facts.runs {
            let w = &r.words;
            let first = w.first().map(|s| basename(s)).unwrap_or("");
            let arg = |i: usize| w.get(i).map(String::as_str);
            for d in &k.home_data {
                let by_module = is_python(first)
                    && arg(1) == Some("-m")
                    && d.module.as_deref().is_some_and(|m| arg(2) == Some(m))
                    && d.subcommand.as_deref().map_or(true, |s| arg(3) == Some(s));
                let by_program = d.programs.iter().any(|p| p == first)
                    && d.subcommand.as_deref().map_or(true, |s| arg(1) == Some(s));
                let code = (is_python(first) && arg(1) == Some("-c"))
                    .then(|| arg(2).unwrap_or(""))
                    .filter(|c| d.code.iter().any(|p| c.contains(p.as_str())));
                if !(by_module || by_program || code.is_some()) {
                    continue;
                }
                if !d.copy {
                    return Err(d.reason.clone().unwrap_or_else(|| {
                        format!("{} writes data at build time that dfopt cannot carry", d.tool)
                    }));
                }
                if let Some(c) = code {
                    if ["download_dir", "cache_dir", "local_dir"]
                        .iter()
                        .any(|o| c.contains(o))
                    {
                        return Err(format!(
                            "`{}` downloads {} data into a folder its code names, and dfopt cannot tell which",
                            w.join(" "),
                            d.tool
                        ));
                    }
                }
                // A folder named on the command line, else by the tool's variable, else the
                // tool's default in the build user's home.
                let option_dir = w.iter().enumerate().find_map(|(i, a)| {
                    d.dir_options.iter().find_map(|o| {
                        if a == o {
                            w.get(i + 1).cloned()
                        } else {
                            a.strip_prefix(&format!("{o}=")).map(str::to_string)
                        }
                    })
                });
                let by_option = option_dir.is_some();
                let named = option_dir.or_else(|| facts.env_value(r, &d.env).map(str::to_string));
                let src = match named {
                    Some(n) => resolve(&r.cwd, &n).ok_or_else(|| {
                        format!("{} writes its data to `{n}`, which uses variables", d.tool)
                    })?,
                    None => {
                        let h = build_home(facts).ok_or_else(|| {
                            format!(
                                "{} writes its data into the home of the build's USER, which dfopt cannot tell",
                                d.tool
                            )
                        })?;
                        format!("{}/{}", h.trim_end_matches('/'), d.home)
                    }
                };
                if within(&src, app) || parts.copies.iter().any(|c| within(&src, c)) {
                    continue;
                }
                let in_home = within(&src, "/root") || within(&src, "/home");
                if in_home && by_option {
                    // The app may name that path itself; the runtime user cannot read /root.
                    return Err(format!(
                        "`{}` writes {} data into {src}, in the build user's home: the runtime user cannot read it there, and the app may name that path",
                        w.join(" "),
                        d.tool
                    ));
                }
                if !in_home {
                    // Outside any home: readable by every user where it is.
                    if !parts.copies.contains(&src) {
                        parts.copies.push(src.clone());
                        parts.notes.push(format!(
                            "{} data written at build time in {src} is copied",
                            d.tool
                        ));
                    }
                    continue;
                }
                let home = home.clone().map_err(|e| {
                    format!("{} writes its data into {src} at build time, and {e}", d.tool)
                })?;
                let build_h = build_home(facts).unwrap_or_else(|| "/root".into());
                let rel = src
                    .strip_prefix(&format!("{}/", build_h.trim_end_matches('/')))
                    .map(str::to_string)
                    .unwrap_or_else(|| d.home.clone());
                let dst = format!("{home}/{rel}");
                if parts.relocated.iter().any(|(s, _)| *s == src) {
                    continue;
                }
                parts.relocated.push((src.clone(), dst.clone()));
                parts.extra_env.push(format!("ENV {}={dst}", d.env));
                parts.notes.push(format!(
                    "{} data the build wrote into {src} is copied to {dst}, the runtime user's home, and {} names it",
                    d.tool, d.env
                ));
            }
        }
        Ok(())
    }

    /// The virtualenv in the runtime stage. Its `bin/python` links the interpreter that made
    /// it (`/usr/local/bin/python3` in the official images), and its console scripts name that
    /// path: the official slim image has it; distroless has only `/usr/bin/python3.13`, so
    /// there the image's own interpreter runs the app with the venv's site-packages on
    /// PYTHONPATH (console scripts become `-m module`), and only site-packages is copied.
    fn python_venv(
        &self,
        facts: &StageFacts,
        choice: &Choice,
        lines: &[(&RunCmd, PipLine)],
        (v, created): (&str, bool),
        parts: &mut PythonParts,
    ) -> Result<(), String> {
        // The interpreter that made the venv: the official images' is in /usr/local/bin.
        for r in &facts.runs {
            let w = &r.words;
            let first = w.first().map(String::as_str).unwrap_or("");
            let makes_venv = (is_python(first)
                && w.get(1).map(String::as_str) == Some("-m")
                && w.get(2).map(String::as_str) == Some("venv"))
                || basename(first) == "virtualenv";
            let python_opt = w
                .iter()
                .position(|a| a == "-p" || a == "--python")
                .and_then(|i| w.get(i + 1))
                .map(String::as_str);
            let interp = if basename(first) == "virtualenv" {
                python_opt.unwrap_or("python3")
            } else {
                first
            };
            if makes_venv && interp.starts_with('/') && !interp.starts_with("/usr/local/bin/") {
                // The same reason for every family, so the ladder reports it once.
                return Err(format!(
                    "the virtualenv is made by {interp}, not by the build image's python in /usr/local/bin: its `bin/python` and scripts name an interpreter no runtime image has at that path"
                ));
            }
        }
        match &choice.python {
            Some(py) => {
                if lines.iter().any(|(_, l)| l.editable) {
                    return Err(format!(
                        "`pip install -e` puts a .pth file in the venv, which {} (its own python3 with the venv's site-packages on PYTHONPATH) does not read",
                        choice.image
                    ));
                }
                let site = format!("{v}/lib/python{py}/site-packages");
                parts.copies.push(site.clone());
                parts.extra_env.push(format!(
                    "ENV PYTHONPATH={site}{}",
                    if facts.env.contains_key("PYTHONPATH") {
                        ":$PYTHONPATH"
                    } else {
                        ""
                    }
                ));
                parts.notes.push(format!(
                    "only the venv's site-packages is copied: the image's python3 runs the app with {site} on PYTHONPATH (the venv's bin/python links /usr/local/bin/python3, which {} does not have)",
                    choice.image
                ));
            }
            None => {
                parts.copies.push(v.to_string());
                if created {
                    parts.extra_env.push(format!("ENV PATH=\"{v}/bin:$PATH\""));
                }
            }
        }
        Ok(())
    }

    /// Where pip installs: a virtualenv (dfopt creates one at /opt/venv when pip installs
    /// without one), or the user base of `pip install --user`.
    fn python_env(
        &self,
        ctx: &Context<'_>,
        facts: &StageFacts,
        build_edits: &mut Vec<Edit>,
    ) -> Result<PyEnv, String> {
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
                let mut skip = false;
                w[1..].iter().find(|a| {
                    let keep = !skip && !a.starts_with('-');
                    skip = matches!(a.as_str(), "-p" | "--python");
                    keep
                })
            } else {
                None
            };
            if let Some(t) = target {
                venv = Some(resolve(&r.cwd, t).ok_or("the virtualenv path uses variables")?);
            }
        }
        let pips: Vec<&RunCmd> = facts.runs.iter().filter(|r| is_pip_install(r)).collect();
        for p in &pips {
            if p.words.iter().any(|a| {
                a.starts_with("--target")
                    || a.starts_with("--prefix")
                    || a == "-t"
                    || (a.starts_with("--root") && !a.starts_with("--root-user-action"))
            }) {
                return Err("pip installs with --target/--prefix/--root, outside a virtualenv dfopt can copy".into());
            }
        }
        let user = pips.iter().filter(|p| p.words.iter().any(|a| a == "--user")).count();
        if user > 0 {
            if user < pips.len() || venv.is_some() {
                return Err("pip installs both with --user and without it (or in a virtualenv), and dfopt cannot tell which packages the app imports from where".into());
            }
            let base = match pips.iter().find_map(|p| facts.env_value(p, "PYTHONUSERBASE")) {
                Some(b) => resolve("/", b).ok_or("PYTHONUSERBASE uses variables")?,
                None => format!(
                    "{}/.local",
                    build_home(facts)
                        .ok_or("pip installs --user into the home of the build's USER, which dfopt cannot tell")?
                        .trim_end_matches('/')
                ),
            };
            return Ok(PyEnv {
                venv: None,
                user_base: Some(base),
            });
        }
        if pips.is_empty() {
            return Ok(PyEnv {
                venv: venv.map(|v| (v, false)),
                user_base: None,
            });
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
                Ok(PyEnv {
                    venv: Some((v.clone(), false)),
                    user_base: None,
                })
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
                Ok(PyEnv {
                    venv: Some(("/opt/venv".into(), true)),
                    user_base: None,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn the_built_in_python_knowledge_parses() {
        let k = knowledge().expect("transforms/python-packages.toml");
        assert!(k.native_libs.contains_key("psycopg2"));
        assert!(k.depends_on["pandas"].contains(&"numpy".to_string()));
        assert!(k.home_data.iter().any(|d| d.tool == "nltk"));
    }

    #[test]
    fn a_pip_line_names_files_packages_and_no_binary() {
        let l = read_pip_line(&words(
            "pip install --no-cache-dir -r req/prod.txt --index-url https://x psycopg2 numpy==2.1 --no-binary=lxml .",
        ));
        assert_eq!(l.files, vec!["req/prod.txt"]);
        assert_eq!(l.packages, vec!["psycopg2", "numpy==2.1"]);
        assert_eq!(l.no_binary, vec!["lxml"]);
        assert!(l.project);
        assert!(!l.editable);
        let e = read_pip_line(&words("python -m pip install -e ."));
        assert!(e.project && e.editable);
    }
}
