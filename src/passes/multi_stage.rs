//! ## multi-stage
//!
//! **What it does**: turns a single-stage Dockerfile built on a language's build image (node, golang,
//! rust, maven/gradle/JDK, python) into two stages: the original steps become `FROM <image> AS build`,
//! and a new runtime stage on a small image (distroless by default; `--final alpine|slim`) copies only
//! what runs: the app folder with production dependencies (node), the binary (go, rust), the jar
//! (java), the virtualenv and the app folder (python). WORKDIR, runtime ENV, EXPOSE, LABEL, USER,
//! VOLUME, STOPSIGNAL and HEALTHCHECK move to the runtime stage; CMD/ENTRYPOINT are written in exec
//! form for the runtime image (`CMD ["node", "index.js"]` becomes `CMD ["index.js"]` on distroless
//! nodejs, whose ENTRYPOINT is node; `npm start` is resolved through package.json).
//!
//! **Why is this bad**: a build image carries compilers, package managers, headers, dev dependencies
//! and caches the app never uses at run time: hundreds of megabytes to pull and to scan, and a shell
//! and tools for an attacker. The node hello-world of the seed article goes from 745.7 MB on `node:18`
//! to about 116 MB on distroless nodejs.
//!
//! **Example**
//! ```dockerfile
//! FROM node:18
//! WORKDIR /app
//! COPY . .
//! RUN npm install
//! EXPOSE 3000
//! CMD ["node", "index.js"]
//! ```
//! becomes
//! ```dockerfile
//! FROM node:18 AS build
//! WORKDIR /app
//! COPY . .
//! RUN npm install
//!
//! FROM gcr.io/distroless/nodejs18-debian12:nonroot
//! WORKDIR /app
//! COPY --from=build /app /app
//! EXPOSE 3000
//! CMD ["index.js"]
//! ```
//!
//! **Fix safety**: unsafe. The runtime image has no shell and no package manager (distroless) or a
//! different C library (alpine), the app runs as a non-root user, and only the inferred artefacts are
//! copied: files the build writes elsewhere are gone. dfopt does not guess: when it cannot tell what
//! to copy or how to start the app, when the app needs OS packages at run time (`apt-get install
//! ffmpeg`, `curl` in a HEALTHCHECK), when a shell-form HEALTHCHECK would need a shell, when Python
//! versions differ, or when native modules meet musl, it reports why (and which `--final` would work)
//! without a fix. The build context beside the Dockerfile (package.json, go.mod, Cargo.toml,
//! requirements.txt) is read when it is there. Images come from `transforms/images.toml`,
//! overridable under `[transforms.images]`.

use super::{rule_data, str_list, Context, Rule};
use crate::config::{FinalImage, Settings};
use crate::edit::{Edit, Finding, Fix, Safety};
use crate::model::context::BuildContext;
use crate::model::images::{self, Catalogue, Choice, ImageRef, Native, Runtime};
use crate::model::stage_facts::{env_pairs, resolve, var_refs, within, RunCmd, StageFacts};
use crate::model::start::{argv_of, json_array, plain_words};
use crate::shell;
use crate::syntax::{Dockerfile, Form, Instruction, Keyword, Span};

const DATA: &str = include_str!("../../transforms/multi-stage.toml");
const ID: &str = "multi-stage";

/// The tunable data of the multi-stage passes.
pub struct Data {
    pub images: Vec<(Runtime, Vec<String>)>,
    pub build_only: Vec<String>,
    pub build_only_suffixes: Vec<String>,
    pub build_env: Vec<String>,
    pub asset_dirs: Vec<String>,
    pub native_node: Vec<String>,
    pub native_python: Vec<String>,
    pub python_modules: Vec<(String, String)>,
    pub shell_tools: Vec<String>,
}

impl Data {
    pub fn load(settings: &Settings) -> Result<Data, String> {
        let d = rule_data(DATA, ID, settings)?;
        let python_modules = match d.get("python_modules") {
            Some(toml::Value::Table(t)) => t
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect(),
            _ => return Err("`python_modules` must be a table of strings".into()),
        };
        Ok(Data {
            images: vec![
                (Runtime::Node, str_list(&d, "node_images")?),
                (Runtime::Go, str_list(&d, "go_images")?),
                (Runtime::Rust, str_list(&d, "rust_images")?),
                (Runtime::Java, str_list(&d, "java_images")?),
                (Runtime::Python, str_list(&d, "python_images")?),
            ],
            build_only: str_list(&d, "build_only_packages")?,
            build_only_suffixes: str_list(&d, "build_only_suffixes")?,
            build_env: str_list(&d, "build_env")?,
            asset_dirs: str_list(&d, "asset_dirs")?,
            native_node: str_list(&d, "native_node_modules")?,
            native_python: str_list(&d, "native_python_packages")?,
            python_modules,
            shell_tools: str_list(&d, "shell_tools")?,
        })
    }

    pub fn runtime_of(&self, img: &ImageRef) -> Option<Runtime> {
        self.images
            .iter()
            .find(|(_, names)| names.contains(&img.name))
            .map(|(rt, _)| *rt)
    }

    fn build_only_pkg(&self, p: &str) -> bool {
        self.build_only.iter().any(|b| b == p)
            || self
                .build_only_suffixes
                .iter()
                .any(|s| p.ends_with(s.as_str()))
    }
}

pub struct MultiStage {
    data: Data,
    cat: Catalogue,
}

impl MultiStage {
    pub fn new(settings: &Settings) -> Result<Self, String> {
        Ok(MultiStage {
            data: Data::load(settings)?,
            cat: Catalogue::load(settings)?,
        })
    }
}

/// How the runtime stage starts the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartOut {
    /// CMD/ENTRYPOINT move unchanged.
    Verbatim,
    /// New exec-form instructions.
    Exec {
        entrypoint: Option<Vec<String>>,
        cmd: Option<Vec<String>>,
    },
}

/// The effective command line: ENTRYPOINT + CMD as argv, when dfopt can read it without a shell.
pub fn effective_argv(
    doc: &Dockerfile,
    ep: Option<usize>,
    cmd: Option<usize>,
) -> Result<Vec<String>, String> {
    let get = |i: Option<usize>| i.and_then(|i| doc.instructions.get(i));
    match (get(ep), get(cmd)) {
        (None, None) => {
            Err("there is no CMD or ENTRYPOINT, so the build image's default command runs".into())
        }
        (Some(e), c) => {
            let mut argv = match &e.command.form {
                Form::Exec(a) => a.clone(),
                _ => {
                    return plain_words(&e.command.args).ok_or_else(|| {
                        "the shell-form ENTRYPOINT uses shell features and the runtime image has no shell".into()
                    })
                }
            };
            if let Some(c) = c {
                match &c.command.form {
                    Form::Exec(a) => argv.extend(a.iter().cloned()),
                    Form::Empty => {}
                    Form::Shell => {
                        return Err("a shell-form CMD after an exec-form ENTRYPOINT is passed to it as `/bin/sh -c …`, which the runtime image cannot run".into())
                    }
                }
            }
            Ok(argv)
        }
        (None, Some(c)) => argv_of(c).ok_or_else(|| {
            format!(
                "the shell-form CMD `{}` uses shell features and the runtime image has no shell",
                c.command.args.trim()
            )
        }),
    }
}

fn basename(s: &str) -> &str {
    s.rsplit('/').next().unwrap_or(s)
}

fn is_python(s: &str) -> bool {
    let b = basename(s);
    b == "python"
        || b.strip_prefix("python")
            .map(|r| r.chars().all(|c| c.is_ascii_digit() || c == '.'))
            .unwrap_or(false)
}

/// `npm start`, `npm run x`, `yarn start`, `pnpm run x`: the script name.
fn package_script(argv: &[String]) -> Option<String> {
    let pm = basename(argv.first()?);
    if !matches!(pm, "npm" | "yarn" | "pnpm") {
        return None;
    }
    match argv.get(1).map(String::as_str) {
        Some("start") if argv.len() == 2 => Some("start".into()),
        Some("run") | Some("run-script") if argv.len() == 3 => argv.get(2).cloned(),
        Some(s) if pm == "yarn" && argv.len() == 2 && !s.starts_with('-') => Some(s.to_string()),
        _ => None,
    }
}

/// A node command line as arguments for the node binary (distroless nodejs's ENTRYPOINT).
pub fn node_args(argv: &[String], ctx: &BuildContext) -> Result<Vec<String>, String> {
    let first = argv.first().map(String::as_str).unwrap_or("");
    if matches!(basename(first), "node" | "nodejs") {
        let rest = argv[1..].to_vec();
        if rest.is_empty() {
            return Err("CMD starts node without a script".into());
        }
        return Ok(rest);
    }
    if let Some(script) = package_script(argv) {
        let pkg = ctx.package_json().ok_or_else(|| {
            format!(
                "CMD runs `{}` and there is no readable package.json in the build context to resolve the script; distroless has no npm (`--final alpine` or `--final slim` keep npm)",
                argv.join(" ")
            )
        })?;
        let text = pkg
            .get("scripts")
            .and_then(|s| s.get(&script))
            .and_then(|v| v.as_str())
            .map(str::to_string);
        let text = match text {
            Some(t) => t,
            None if script == "start" && ctx.read("server.js").is_some() => "node server.js".into(),
            None => return Err(format!("package.json has no `{script}` script")),
        };
        let words = plain_words(&text).ok_or_else(|| {
            format!("the `{script}` script `{text}` uses shell features; distroless has no shell or npm (`--final alpine` keeps them)")
        })?;
        return node_args(&words, ctx).map_err(|_| {
            format!("the `{script}` script `{text}` does not start node directly; distroless runs only node (`--final alpine` keeps npm)")
        });
    }
    // The node image's entrypoint runs `node` for a first argument that is a script or an option.
    if first.ends_with(".js")
        || first.ends_with(".mjs")
        || first.ends_with(".cjs")
        || first.starts_with('-')
    {
        return Ok(argv.to_vec());
    }
    Err(format!(
        "CMD runs `{first}`, and distroless nodejs runs only node; `--final alpine` or `--final slim` keep a shell and npm"
    ))
}

/// A python command line as arguments for distroless python3's ENTRYPOINT.
pub fn python_args(argv: &[String], data: &Data) -> Result<Vec<String>, String> {
    let first = argv.first().map(String::as_str).unwrap_or("");
    if is_python(first) {
        let rest = argv[1..].to_vec();
        if rest.is_empty() {
            return Err("CMD starts python without a script".into());
        }
        return Ok(rest);
    }
    if let Some((_, m)) = data
        .python_modules
        .iter()
        .find(|(s, _)| s == basename(first))
    {
        let mut out = vec!["-m".to_string(), m.clone()];
        out.extend(argv[1..].iter().cloned());
        return Ok(out);
    }
    Err(format!(
        "CMD runs `{first}`, and distroless python3 runs only python (its ENTRYPOINT); `--final slim` keeps the venv's scripts on PATH"
    ))
}

/// `java [opts] -jar X [args]` → (jar, opts, args).
/// How a distroless java image (ENTRYPOINT `java -jar`) starts `jar`: JVM options need an
/// ENTRYPOINT of their own, the jar and its arguments go in CMD.
pub fn java_start(jar: String, opts: Vec<String>, args: Vec<String>) -> StartOut {
    let mut cmd = vec![jar];
    cmd.extend(args);
    let entrypoint = (!opts.is_empty()).then(|| {
        let mut ep = vec!["/usr/bin/java".to_string()];
        ep.extend(opts);
        ep.push("-jar".into());
        ep
    });
    StartOut::Exec {
        entrypoint,
        cmd: Some(cmd),
    }
}

pub fn java_jar(argv: &[String]) -> Result<(String, Vec<String>, Vec<String>), String> {
    let first = argv.first().map(String::as_str).unwrap_or("");
    if basename(first) != "java" {
        return Err(format!(
            "CMD runs `{first}`, not `java -jar`: dfopt cannot tell which jar to copy"
        ));
    }
    let i = argv
        .iter()
        .position(|a| a == "-jar")
        .ok_or("CMD runs java without -jar: dfopt cannot tell which files the classpath needs")?;
    let jar = argv.get(i + 1).cloned().ok_or("`java -jar` names no jar")?;
    if jar.contains(['*', '$']) {
        return Err(format!(
            "the jar `{jar}` is a pattern: dfopt cannot tell which file it is"
        ));
    }
    Ok((jar, argv[1..i].to_vec(), argv[i + 2..].to_vec()))
}

/// Checks a HEALTHCHECK against the runtime image.
pub fn check_healthcheck(ins: &Instruction, choice: &Choice, data: &Data) -> Result<(), String> {
    let args = ins.command.args.trim();
    if args.eq_ignore_ascii_case("none") {
        return Ok(());
    }
    let shell_form = !matches!(ins.command.form, Form::Exec(_));
    let tools: Vec<String> = match &ins.command.form {
        Form::Exec(a) => a
            .first()
            .map(|w| vec![basename(w).to_string()])
            .unwrap_or_default(),
        _ => args
            .split(|c: char| c.is_whitespace() || ";&|()".contains(c))
            .map(|w| basename(w).to_string())
            .collect(),
    };
    for t in tools {
        if !data.shell_tools.contains(&t) {
            continue;
        }
        // busybox in alpine has wget, sh and nc.
        if choice.family == FinalImage::Alpine && matches!(t.as_str(), "wget" | "sh" | "nc") {
            continue;
        }
        if choice.family == FinalImage::Slim && matches!(t.as_str(), "sh" | "bash") {
            continue;
        }
        return Err(format!(
            "the HEALTHCHECK runs `{t}`, which {} does not have: check health with the app's own runtime (e.g. a small script run by the interpreter) or install `{t}` in a final stage you write",
            choice.image
        ));
    }
    if shell_form && !choice.has_shell {
        let example = if choice.image.contains("python") {
            "[\"python3\", \"healthcheck.py\"]"
        } else if choice.image.contains("node") {
            "[\"/nodejs/bin/node\", \"healthcheck.js\"]"
        } else {
            "[\"/app/healthcheck\"]"
        };
        return Err(format!(
            "the HEALTHCHECK is in shell form and {} has no shell: write it in exec form with a program the image has (e.g. `HEALTHCHECK CMD {example}`), or use `--final alpine`",
            choice.image
        ));
    }
    Ok(())
}

/// The runtime stage being built.
struct Plan {
    choice: Choice,
    /// Absolute paths copied to the same place.
    copies: Vec<String>,
    chown: Option<String>,
    /// Lines to create the runtime user (alpine/slim).
    user_setup: Option<String>,
    /// USER line for the runtime stage: `Some(None)` drops the original, `Some(Some(x))` replaces it.
    user_line: Option<Option<String>>,
    extra_env: Vec<String>,
    start: StartOut,
    build_edits: Vec<Edit>,
    notes: Vec<String>,
}

fn kw(doc: &Dockerfile, from: &Instruction, word: &str) -> String {
    let _ = doc;
    if from.command.keyword.chars().all(|c| c.is_ascii_lowercase()) {
        word.to_ascii_lowercase()
    } else {
        word.to_string()
    }
}

/// Resolves `$VAR`/`${VAR}` in a FROM image from the global ARG defaults.
fn resolve_base(doc: &Dockerfile, preamble_end: usize, base: &str) -> String {
    if !base.contains('$') {
        return base.to_string();
    }
    let mut out = base.to_string();
    for ins in doc.instructions.iter().take(preamble_end) {
        if ins.kind() != Keyword::Arg {
            continue;
        }
        for (k, v) in env_pairs(ins, doc.escape) {
            if v.is_empty() {
                continue;
            }
            out = out
                .replace(&format!("${{{k}}}"), &v)
                .replace(&format!("${k}"), &v);
        }
    }
    out
}

impl Rule for MultiStage {
    fn id(&self) -> &'static str {
        ID
    }
    fn summary(&self) -> &'static str {
        "A single-stage build image ships compilers and dev dependencies: build in one stage, run in a small one"
    }
    fn fix_safety(&self) -> Option<Safety> {
        Some(Safety::Unsafe)
    }

    fn check(&self, ctx: &Context<'_>, out: &mut Vec<Finding>) {
        let a = ctx.analysis;
        let [stage] = a.stages.as_slice() else {
            return;
        };
        if stage.windows || !stage.shell.is_posix() {
            return;
        }
        let doc = ctx.doc;
        let Some(from) = doc.instructions.get(stage.from) else {
            return;
        };
        let base = resolve_base(doc, a.preamble_end, &stage.base);
        let Some(img) = ImageRef::parse(&base) else {
            return;
        };
        let mut rt = self.data.runtime_of(&img);
        // A JRE image is already a runtime image: nothing to build there.
        if rt == Some(Runtime::Java) && img.tag_lower().contains("jre") {
            rt = None;
        }
        // On any other base only a static Go or Rust binary is moved: without a RUN that could
        // build one there is nothing to do, and the stage need not be scanned.
        if rt.is_none() && !might_build_static_binary(doc, stage.from, stage.end) {
            return;
        }
        let default_wd = if rt == Some(Runtime::Go) { "/go" } else { "/" };
        let facts = StageFacts::scan(doc, stage.from, stage.end, default_wd);
        let bctx = BuildContext::new(ctx.path);
        let result = match rt {
            Some(rt) => self.plan(ctx, &img, rt, &facts, &bctx),
            None => {
                // Any other base: only a static Go binary is certain enough to move.
                match self.native_artefact(doc, &facts, &bctx, None) {
                    Ok((_, Native::Static, _)) => self.plan_native(ctx, &img, &facts, &bctx, None),
                    _ => return,
                }
            }
        };
        let span = from.span;
        match result {
            Ok(plan) => {
                let (edits, copied) = self.edits(ctx, from, &facts, &plan);
                let mut msg = format!(
                    "single-stage build on `{base}` ships its build tools: build in a `build` stage and run on `{}`, copying {}",
                    plan.choice.image,
                    copied
                );
                for n in &plan.notes {
                    msg.push_str("; ");
                    msg.push_str(n);
                }
                out.push(Finding::new(ID, span, msg).with_fix(Fix::unsafe_(edits)));
            }
            Err(why) => out.push(Finding::new(
                ID,
                span,
                format!("single-stage build on `{base}` could be split into build and runtime stages, but dfopt does not guess: {why}"),
            )),
        }
    }
}

/// Whether a RUN of instructions `from..end` may run `go build`/`go install` or a musl
/// `cargo build` (a cheap, conservative text test: [`MultiStage::native_artefact`] decides).
fn might_build_static_binary(doc: &Dockerfile, from: usize, end: usize) -> bool {
    doc.instructions
        .get(from..end)
        .unwrap_or(&[])
        .iter()
        .filter(|i| i.effective().kind == Keyword::Run)
        .map(|i| doc.text(i.span))
        .any(|t| {
            (t.contains("go") && (t.contains("build") || t.contains("install")))
                || (t.contains("cargo") && t.contains("musl"))
        })
}

impl MultiStage {
    fn plan(
        &self,
        ctx: &Context<'_>,
        img: &ImageRef,
        rt: Runtime,
        facts: &StageFacts,
        bctx: &BuildContext,
    ) -> Result<Plan, String> {
        self.common_refusals(facts)?;
        match rt {
            Runtime::Go | Runtime::Rust => self.plan_native(ctx, img, facts, bctx, Some(rt)),
            Runtime::Node | Runtime::Python | Runtime::Java => {
                let version = images::version_of(rt, img).ok_or_else(|| {
                    format!(
                        "`{}` names no {} version, so the runtime image cannot match it: pin one (e.g. {})",
                        img.repo,
                        rt.name(),
                        match rt {
                            Runtime::Node => "node:22",
                            Runtime::Python => "python:3.11",
                            _ => "eclipse-temurin:21-jdk",
                        }
                    )
                })?;
                self.plan_interpreted(ctx, img, rt, &version, facts, bctx)
            }
        }
    }

    fn common_refusals(&self, facts: &StageFacts) -> Result<(), String> {
        if facts.onbuild {
            return Err("the image declares ONBUILD triggers for images built on it".into());
        }
        if facts.opaque_runs > 0 {
            return Err("a RUN command is too complex for dfopt to follow".into());
        }
        Ok(())
    }

    /// OS packages the build installs that the app may need at run time.
    fn runtime_packages(&self, facts: &StageFacts) -> Vec<String> {
        let mut v: Vec<String> = facts
            .os_packages
            .iter()
            .filter(|p| !self.data.build_only_pkg(p))
            .cloned()
            .collect();
        v.dedup();
        v
    }

    fn refuse_packages(&self, pkgs: &[String], slim: &str, alpine: &str) -> String {
        let apk: Vec<String> = pkgs.iter().map(|p| images::apk_name(p)).collect();
        format!(
            "the build installs {} with the OS package manager, and the app may use {} at run time; distroless has no package manager: a final stage you write on `{slim}` (`apt-get install {}`) or `{alpine}` (`apk add {}`) would carry {}",
            pkgs.join(", "),
            if pkgs.len() == 1 { "it" } else { "them" },
            pkgs.join(" "),
            apk.join(" "),
            if pkgs.len() == 1 { "it" } else { "them" },
        )
    }

    fn runtime_user(
        &self,
        facts: &StageFacts,
        choice: &mut Choice,
        rt: Option<Runtime>,
        notes: &mut Vec<String>,
    ) -> (Option<String>, Option<Option<String>>, Option<String>) {
        // (chown owner, USER line override, user setup RUN)
        let orig = facts.user.as_ref().map(|(_, u)| u.clone());
        let is_root = |u: &str| matches!(u.split(':').next().unwrap_or(u), "root" | "0");
        let numeric = |u: &str| {
            u.split(':')
                .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
        };
        let low_port = facts.exposed.iter().any(|p| *p < 1024);
        match choice.family {
            FinalImage::Distroless => match orig.as_deref() {
                Some(u) if is_root(u) => (None, None, None),
                Some(u) if numeric(u) => (Some(u.to_string()), None, None),
                Some(u) => {
                    notes.push(format!("USER {u} does not exist in distroless: the image's `nonroot` user (65532) runs the app"));
                    (Some("65532:65532".into()), Some(None), None)
                }
                None => {
                    if low_port {
                        notes.push("the app now runs as uid 65532: binding a port below 1024 needs Docker 20.10+ (or the NET_BIND_SERVICE capability)".into());
                    }
                    (Some("65532:65532".into()), None, None)
                }
            },
            FinalImage::Alpine | FinalImage::Slim => match orig.as_deref() {
                Some(u) if is_root(u) || numeric(u) => {
                    (Some(u.to_string()).filter(|u| !is_root(u)), None, None)
                }
                Some(u) if rt == Some(Runtime::Node) && u == "node" => {
                    (Some("node:node".into()), None, None)
                }
                Some(u) => {
                    let name = u.split(':').next().unwrap_or(u).to_string();
                    (
                        Some(format!("{name}:{name}")),
                        None,
                        Some(self.create_user(choice, &name, None)),
                    )
                }
                // Numeric ids (hadolint DL3066): `node` is 1000:1000 in the node images.
                None if rt == Some(Runtime::Node) => {
                    choice.nonroot = true;
                    (
                        Some("1000:1000".into()),
                        Some(Some("1000:1000".into())),
                        None,
                    )
                }
                None => {
                    choice.nonroot = true;
                    (
                        Some("10001:10001".into()),
                        Some(Some("10001:10001".into())),
                        Some(self.create_user(choice, "app", Some(10001))),
                    )
                }
            },
        }
    }

    fn create_user(&self, choice: &Choice, name: &str, id: Option<u32>) -> String {
        let (g, u) = match id {
            Some(n) if choice.family == FinalImage::Alpine => {
                (format!(" -g {n}"), format!(" -u {n}"))
            }
            Some(n) => (format!(" --gid {n}"), format!(" --uid {n}")),
            None => (String::new(), String::new()),
        };
        if choice.family == FinalImage::Alpine {
            format!("RUN addgroup -S{g} {name} && adduser -S{u} -G {name} {name}")
        } else {
            format!("RUN groupadd --system{g} {name} && useradd --system --no-log-init{u} --gid {name} --no-create-home {name}")
        }
    }

    fn plan_interpreted(
        &self,
        ctx: &Context<'_>,
        img: &ImageRef,
        rt: Runtime,
        version: &str,
        facts: &StageFacts,
        bctx: &BuildContext,
    ) -> Result<Plan, String> {
        let doc = ctx.doc;
        let family = ctx.settings.final_image;
        let explicit_root = facts
            .user
            .as_ref()
            .map(|(_, u)| matches!(u.split(':').next().unwrap_or(u), "root" | "0"))
            .unwrap_or(false);
        let mut choice = self.cat.for_runtime(rt, version, family, explicit_root)?;
        let slim = self
            .cat
            .for_runtime(rt, version, FinalImage::Slim, false)
            .map(|c| c.image)
            .unwrap_or_default();
        let alpine = self
            .cat
            .for_runtime(rt, version, FinalImage::Alpine, false)
            .map(|c| c.image)
            .unwrap_or_default();
        let pkgs = self.runtime_packages(facts);
        if !pkgs.is_empty() {
            return Err(self.refuse_packages(&pkgs, &slim, &alpine));
        }
        let build_alpine = img.tag_lower().contains("alpine");
        let mut notes: Vec<String> = choice.note.iter().cloned().collect();
        if let Some(h) = facts.healthcheck.and_then(|i| doc.instructions.get(i)) {
            check_healthcheck(h, &choice, &self.data)?;
        }
        let argv = effective_argv(doc, facts.start.entrypoint, facts.start.cmd)?;
        let mut copies: Vec<String> = Vec::new();
        let mut extra_env = Vec::new();
        let mut build_edits = Vec::new();
        let start;
        let app = facts
            .final_workdir
            .clone()
            .filter(|w| w != "/" && facts.has_workdir);
        match rt {
            Runtime::Node | Runtime::Python => {
                let app = app.ok_or_else(|| {
                    "there is no WORKDIR, so dfopt cannot tell which folder holds the app"
                        .to_string()
                })?;
                copies.push(app.clone());
                if rt == Runtime::Node {
                    if facts.runs.iter().any(is_global_npm) {
                        return Err("the build installs global npm packages, which live outside the app folder".into());
                    }
                    self.node_musl(bctx, &choice, build_alpine, &mut notes)?;
                    start = if choice.interpreter_entrypoint {
                        StartOut::Exec {
                            entrypoint: None,
                            cmd: Some(node_args(&argv, bctx)?),
                        }
                    } else {
                        StartOut::Verbatim
                    };
                    if let Some(e) = self.node_prune(ctx, facts, bctx, version) {
                        build_edits.push(e);
                    }
                } else {
                    if build_alpine && family != FinalImage::Alpine {
                        return Err("the build image is alpine (musl): packages built in it need `--final alpine`".into());
                    }
                    let venv = self.python_env(ctx, facts, &mut build_edits)?;
                    if let Some(v) = &venv {
                        copies.push(v.clone());
                        let created = !build_edits.is_empty();
                        match (&choice.python, created) {
                            (Some(py), _) => extra_env.push(format!(
                                "ENV PYTHONPATH={v}/lib/python{py}/site-packages{}",
                                if facts.env.contains_key("PYTHONPATH") {
                                    ":$PYTHONPATH"
                                } else {
                                    ""
                                }
                            )),
                            (None, true) => extra_env.push(format!("ENV PATH=\"{v}/bin:$PATH\"")),
                            _ => {}
                        }
                    }
                    if family == FinalImage::Alpine && !build_alpine {
                        self.python_musl(bctx, &mut notes)?;
                    }
                    start = if choice.interpreter_entrypoint {
                        StartOut::Exec {
                            entrypoint: None,
                            cmd: Some(python_args(&argv, &self.data)?),
                        }
                    } else {
                        StartOut::Verbatim
                    };
                }
                for d in &facts.copy_dests {
                    if !copies.iter().any(|c| within(d, c)) {
                        copies.push(d.clone());
                    }
                }
                let outside = facts.writes_outside(&copies);
                if !outside.is_empty() {
                    return Err(format!(
                        "RUN writes {} outside the app folder, and dfopt cannot tell whether the app needs {} at run time",
                        outside.join(", "),
                        if outside.len() == 1 { "it" } else { "them" }
                    ));
                }
            }
            Runtime::Java => {
                let (jar, opts, args) = java_jar(&argv)?;
                let cwd = facts.final_workdir.clone().unwrap_or_else(|| "/".into());
                let path = resolve(&cwd, &jar).ok_or("the jar path uses variables")?;
                copies.push(path);
                if family == FinalImage::Alpine && !build_alpine {
                    notes.push(
                        "a jar with native libraries (JNI) built for glibc may not load on alpine"
                            .into(),
                    );
                }
                start = if choice.interpreter_entrypoint {
                    java_start(jar, opts, args)
                } else {
                    StartOut::Verbatim
                };
                notes.push(
                    "only the jar is copied: files it reads beside it must be copied by hand"
                        .into(),
                );
            }
            Runtime::Go | Runtime::Rust => {
                return Err("internal: a compiled runtime reached the interpreter plan".into())
            }
        }
        let (chown_owner, user_line, user_setup) =
            self.runtime_user(facts, &mut choice, Some(rt), &mut notes);
        let app_dir = copies.first().cloned().unwrap_or_default();
        let chown = chown_owner.filter(|_| rt != Runtime::Java && facts.writable_in(&app_dir));
        Ok(Plan {
            choice,
            copies,
            chown,
            user_setup,
            user_line,
            extra_env,
            start,
            build_edits,
            notes,
        })
    }

    fn node_musl(
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

    fn python_musl(&self, bctx: &BuildContext, notes: &mut Vec<String>) -> Result<(), String> {
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
    fn python_env(
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

    /// `npm prune --omit=dev` (or the yarn/pnpm equivalent) at the end of the build stage, when dev
    /// dependencies may be installed.
    fn node_prune(
        &self,
        ctx: &Context<'_>,
        facts: &StageFacts,
        bctx: &BuildContext,
        version: &str,
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
        let major: u32 = version.parse().unwrap_or(18);
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

    /// The program CMD runs, where the build put it, and how it links.
    fn native_artefact(
        &self,
        doc: &Dockerfile,
        facts: &StageFacts,
        bctx: &BuildContext,
        rt: Option<Runtime>,
    ) -> Result<(String, Native, Vec<String>), String> {
        let argv = effective_argv(doc, facts.start.entrypoint, facts.start.cmd)?;
        let prog = argv.first().cloned().ok_or("CMD is empty")?;
        let cwd = facts.final_workdir.clone().unwrap_or_else(|| "/".into());
        // Files the build produces, in order: path -> how it links.
        let mut produced: Vec<(String, Native)> = Vec::new();
        for r in &facts.runs {
            let w = &r.words;
            let first = w.first().map(|s| basename(s)).unwrap_or("");
            if first == "go" && matches!(w.get(1).map(String::as_str), Some("build" | "install")) {
                let cgo0 = facts.env_value(r, "CGO_ENABLED") == Some("0")
                    || w.iter().any(|a| a.contains("-static"));
                let native = if cgo0 { Native::Static } else { Native::Base };
                let pkg = w[2..]
                    .iter()
                    .enumerate()
                    .filter(|(i, a)| !a.starts_with('-') && !is_flag_value(&w[2..], *i))
                    .map(|(_, a)| a.clone())
                    .next_back();
                let default_name = match pkg.as_deref() {
                    None | Some(".") => bctx.go_module_name(),
                    Some(p) if p.starts_with("./") || p.starts_with('/') => {
                        let b = basename(p.trim_end_matches("/...").trim_end_matches('/'));
                        (b != "." && !b.ends_with(".go"))
                            .then(|| b.to_string())
                            .or_else(|| bctx.go_module_name())
                    }
                    Some(p) if p.ends_with(".go") => Some(p.trim_end_matches(".go").to_string()),
                    Some(_) => None,
                };
                let out = w
                    .windows(2)
                    .find(|p| p[0] == "-o")
                    .map(|p| p[1].clone())
                    .or_else(|| {
                        w.iter()
                            .find_map(|a| a.strip_prefix("-o=").map(str::to_string))
                    });
                let path = if w[1] == "install" {
                    default_name.map(|n| format!("/go/bin/{n}"))
                } else {
                    match out {
                        Some(o) if o.ends_with('/') => {
                            default_name.and_then(|n| resolve(&r.cwd, &format!("{o}{n}")))
                        }
                        Some(o) => resolve(&r.cwd, &o),
                        None => default_name.and_then(|n| resolve(&r.cwd, &n)),
                    }
                };
                if let Some(p) = path {
                    produced.push((p, native));
                }
            } else if first == "cargo"
                && matches!(w.get(1).map(String::as_str), Some("build" | "install"))
            {
                let target = w
                    .windows(2)
                    .find(|p| p[0] == "--target")
                    .map(|p| p[1].clone());
                let native = if target
                    .as_deref()
                    .map(|t| t.contains("musl"))
                    .unwrap_or(false)
                {
                    Native::Static
                } else {
                    Native::Cc
                };
                let names: Vec<String> =
                    match w.windows(2).find(|p| p[0] == "--bin").map(|p| p[1].clone()) {
                        Some(b) => vec![b],
                        None => bctx.cargo_bins().unwrap_or_default(),
                    };
                if w[1] == "install" {
                    let root = facts
                        .env
                        .get("CARGO_HOME")
                        .cloned()
                        .unwrap_or_else(|| "/usr/local/cargo".into());
                    for n in names {
                        produced.push((format!("{root}/bin/{n}"), native));
                    }
                } else if w.iter().any(|a| a == "--release" || a == "-r") {
                    let tdir = facts
                        .env_value(r, "CARGO_TARGET_DIR")
                        .map(str::to_string)
                        .unwrap_or_else(|| "target".into());
                    let sub = match &target {
                        Some(t) => format!("{t}/release"),
                        None => "release".into(),
                    };
                    for n in names {
                        if let Some(p) = resolve(&r.cwd, &format!("{tdir}/{sub}/{n}")) {
                            produced.push((p, native));
                        }
                    }
                }
            } else if matches!(first, "cp" | "mv" | "install") {
                let args: Vec<&String> = w[1..].iter().filter(|a| !a.starts_with('-')).collect();
                if let [src, dst] = args.as_slice() {
                    let (Some(s), Some(d)) = (resolve(&r.cwd, src), resolve(&r.cwd, dst)) else {
                        continue;
                    };
                    if let Some(n) = produced.iter().find(|(p, _)| *p == s).map(|(_, n)| *n) {
                        let d = if dst.ends_with('/')
                            || matches!(d.as_str(), "/usr/local/bin" | "/usr/bin" | "/bin" | "/app")
                        {
                            format!("{d}/{}", basename(&s))
                        } else {
                            d
                        };
                        produced.push((d, n));
                    }
                }
            }
        }
        let candidates: Vec<String> = if prog.contains('/') {
            resolve(&cwd, &prog).into_iter().collect()
        } else {
            [
                "/usr/local/sbin",
                "/usr/local/bin",
                "/usr/sbin",
                "/usr/bin",
                "/sbin",
                "/bin",
                "/go/bin",
                "/usr/local/cargo/bin",
            ]
            .iter()
            .map(|d| format!("{d}/{prog}"))
            .collect()
        };
        let found = candidates
            .iter()
            .find_map(|c| produced.iter().rev().find(|(p, _)| p == c).cloned());
        let Some((path, native)) = found else {
            return Err(format!(
                "CMD runs `{prog}`, and dfopt cannot tell which {} output that is",
                match rt {
                    Some(Runtime::Rust) => "`cargo build --release`",
                    _ => "`go build -o …`",
                }
            ));
        };
        Ok((path, native, argv))
    }

    fn plan_native(
        &self,
        ctx: &Context<'_>,
        img: &ImageRef,
        facts: &StageFacts,
        bctx: &BuildContext,
        rt: Option<Runtime>,
    ) -> Result<Plan, String> {
        let doc = ctx.doc;
        let family = ctx.settings.final_image;
        let (path, mut native, argv) = self.native_artefact(doc, facts, bctx, rt)?;
        let build_alpine = img.tag_lower().contains("alpine");
        if build_alpine && native != Native::Static {
            if rt == Some(Runtime::Rust) {
                native = Native::Static; // rust on alpine targets musl and links statically
            } else if family != FinalImage::Alpine {
                return Err("the binary is built on alpine (musl) with cgo possible: set CGO_ENABLED=0 or use `--final alpine`".into());
            }
        }
        let explicit_root = facts
            .user
            .as_ref()
            .map(|(_, u)| matches!(u.split(':').next().unwrap_or(u), "root" | "0"))
            .unwrap_or(false);
        let mut choice = if build_alpine && family == FinalImage::Alpine {
            self.cat.for_native(Native::Static, family, explicit_root)?
        } else {
            self.cat.for_native(native, family, explicit_root)?
        };
        let pkgs = self.runtime_packages(facts);
        if !pkgs.is_empty() {
            let slim = self
                .cat
                .for_native(Native::Base, FinalImage::Slim, false)
                .map(|c| c.image)
                .unwrap_or_default();
            let alpine = self
                .cat
                .for_native(Native::Static, FinalImage::Alpine, false)
                .map(|c| c.image)
                .unwrap_or_default();
            return Err(self.refuse_packages(&pkgs, &slim, &alpine));
        }
        if let Some(h) = facts.healthcheck.and_then(|i| doc.instructions.get(i)) {
            check_healthcheck(h, &choice, &self.data)?;
        }
        let mut notes: Vec<String> = choice.note.iter().cloned().collect();
        let mut copies = vec![path.clone()];
        // Asset folders the program may read relative to its working directory.
        if let Some(wd) = facts.final_workdir.as_ref().filter(|_| facts.has_workdir) {
            for d in &self.data.asset_dirs {
                let p = format!("{}/{d}", wd.trim_end_matches('/'));
                let copied = facts.copy_dests.iter().any(|c| c == wd || within(&p, c));
                if bctx.has_dir(d) && copied && !within(&path, &p) {
                    copies.push(p);
                }
            }
        }
        if copies.len() == 1 {
            notes.push(
                "only the binary is copied: files it reads at run time must be copied by hand"
                    .into(),
            );
        }
        // Exec form for a shell-less image; a bare program name resolved to where it was built.
        let all_exec = [facts.start.entrypoint, facts.start.cmd]
            .iter()
            .flatten()
            .filter_map(|i| doc.instructions.get(*i))
            .all(|i| matches!(i.command.form, Form::Exec(_)));
        let on_path = !argv[0].contains('/')
            && [
                "/usr/local/bin",
                "/usr/bin",
                "/bin",
                "/usr/local/sbin",
                "/usr/sbin",
                "/sbin",
            ]
            .iter()
            .any(|d| within(&path, d));
        let start = if choice.has_shell || (all_exec && (argv[0].contains('/') || on_path)) {
            StartOut::Verbatim
        } else {
            let mut argv = argv.clone();
            if !argv[0].contains('/') && !on_path {
                argv[0] = path.clone();
            }
            if facts.start.entrypoint.is_some() {
                StartOut::Exec {
                    entrypoint: Some(argv),
                    cmd: None,
                }
            } else {
                StartOut::Exec {
                    entrypoint: None,
                    cmd: Some(argv),
                }
            }
        };
        let (chown, user_line, user_setup) = self.runtime_user(facts, &mut choice, rt, &mut notes);
        let _ = chown;
        Ok(Plan {
            choice,
            copies,
            chown: None,
            user_setup,
            user_line,
            extra_env: Vec::new(),
            start,
            build_edits: Vec::new(),
            notes,
        })
    }

    /// Instructions that move from the build stage to the runtime stage.
    fn moved(&self, doc: &Dockerfile, from: usize, end: usize, facts: &StageFacts) -> Vec<usize> {
        (from + 1..end)
            .filter(|i| {
                doc.instructions
                    .get(*i)
                    .map(|ins| match ins.kind() {
                        Keyword::Cmd
                        | Keyword::Entrypoint
                        | Keyword::Expose
                        | Keyword::Healthcheck
                        | Keyword::Stopsignal
                        | Keyword::Label
                        | Keyword::Maintainer
                        | Keyword::Volume => true,
                        Keyword::User => {
                            !facts.run_after_user
                                && facts.user.as_ref().map(|(u, _)| u == i).unwrap_or(false)
                        }
                        _ => false,
                    })
                    .unwrap_or(false)
            })
            .collect()
    }

    fn edits(
        &self,
        ctx: &Context<'_>,
        from: &Instruction,
        facts: &StageFacts,
        plan: &Plan,
    ) -> (Vec<Edit>, String) {
        let doc = ctx.doc;
        let nl = doc.newline();
        let k = |w: &str| kw(doc, from, w);
        let Some(stage) = ctx.analysis.stages.first() else {
            return (Vec::new(), String::new());
        };
        let mut edits: Vec<Edit> = Vec::new();
        // 1. name the build stage
        let alias = match &stage.alias {
            Some(a) => a.clone(),
            None => {
                edits.push(Edit::insert(
                    from.command.args_span.end,
                    format!(" {} build", k("AS")),
                ));
                "build".to_string()
            }
        };
        edits.extend(plan.build_edits.iter().cloned());
        // 2. move runtime metadata out of the build stage
        let moved = self.moved(doc, stage.from, stage.end, facts);
        let mut blocks: Vec<(usize, String)> = Vec::new();
        for &i in &moved {
            let Some(ins) = doc.instructions.get(i) else {
                continue;
            };
            let prev_end = i
                .checked_sub(1)
                .and_then(|p| doc.instructions.get(p))
                .map(|p| p.full_end)
                .unwrap_or(0);
            let start = block_start(doc, ins, prev_end);
            // Blank lines before the block go with it (they separated it from what stays).
            let mut del_start = start;
            let before = doc.source.get(prev_end..start).unwrap_or("");
            if !before.is_empty() && before.trim().is_empty() {
                del_start = prev_end;
            }
            edits.push(Edit::delete(Span::new(del_start, ins.full_end)));
            let comments = doc
                .source
                .get(start..ins.line_start)
                .unwrap_or("")
                .to_string();
            blocks.push((
                i,
                format!(
                    "{comments}{}",
                    doc.text(Span::new(ins.line_start, ins.span.end))
                ),
            ));
        }
        // 3. the runtime stage
        let mut body: Vec<String> = Vec::new();
        body.push(format!("{} {}", k("FROM"), plan.choice.image));
        // variables the carried text needs
        let mut carried_env: Vec<String> = Vec::new();
        for &i in &facts.env_ins {
            let Some(ins) = doc.instructions.get(i) else {
                continue;
            };
            let keys = env_pairs(ins, doc.escape);
            if keys
                .iter()
                .all(|(k, _)| self.data.build_env.iter().any(|b| b == k))
            {
                continue;
            }
            carried_env.push(
                doc.text(Span::new(ins.line_start, ins.span.end))
                    .to_string(),
            );
        }
        let mut text_for_vars: String = carried_env.join("\n");
        for (_, b) in &blocks {
            text_for_vars.push('\n');
            text_for_vars.push_str(b);
        }
        let refs = var_refs(&text_for_vars);
        let mut args_lines: Vec<String> = Vec::new();
        for (i, names) in &facts.arg_ins {
            if names.iter().any(|n| refs.contains(n)) {
                if let Some(ins) = doc.instructions.get(*i) {
                    args_lines.push(
                        doc.text(Span::new(ins.line_start, ins.span.end))
                            .to_string(),
                    );
                }
            }
        }
        let local: Vec<&String> = facts.arg_ins.iter().flat_map(|(_, n)| n).collect();
        for ins in doc.instructions.iter().take(ctx.analysis.preamble_end) {
            if ins.kind() == Keyword::Arg {
                for (name, _) in env_pairs(ins, doc.escape) {
                    if refs.contains(&name) && !local.contains(&&name) {
                        args_lines.push(format!("{} {name}", k("ARG")));
                    }
                }
            }
        }
        body.extend(args_lines);
        body.extend(carried_env);
        body.extend(
            plan.extra_env
                .iter()
                .map(|e| e.replacen("ENV", &k("ENV"), 1)),
        );
        // The build image's own working directory (golang's /go) counts too: relative paths in
        // CMD depend on it.
        if let Some(wd) = facts
            .final_workdir
            .as_ref()
            .filter(|w| facts.has_workdir || *w != "/")
        {
            body.push(format!("{} {wd}", k("WORKDIR")));
        }
        if let Some(u) = &plan.user_setup {
            body.push(u.replacen("RUN", &k("RUN"), 1));
        }
        for c in &plan.copies {
            let chown = match &plan.chown {
                Some(o) if c == plan.copies.first().unwrap_or(c) => format!(" --chown={o}"),
                _ => String::new(),
            };
            body.push(format!("{} --from={alias}{chown} {c} {c}", k("COPY")));
        }
        let mut start_comments = String::new();
        let user_done = blocks
            .iter()
            .any(|(i, _)| doc.instructions.get(*i).map(|x| x.kind()) == Some(Keyword::User));
        if !user_done {
            if let Some(Some(u)) = &plan.user_line {
                // The original USER stays in the build stage (a RUN follows it) or there was none.
                body.push(format!("{} {u}", k("USER")));
            } else if facts.user.is_some() && plan.user_line.is_none() {
                if let Some((_, u)) = &facts.user {
                    let root = matches!(u.split(':').next().unwrap_or(u), "root" | "0");
                    let numeric = u.chars().all(|c| c.is_ascii_digit() || c == ':');
                    if root || numeric || plan.choice.has_shell {
                        body.push(format!("{} {u}", k("USER")));
                    }
                }
            }
        }
        for (i, b) in &blocks {
            let ins = &doc.instructions[*i];
            match ins.kind() {
                Keyword::Cmd | Keyword::Entrypoint if plan.start != StartOut::Verbatim => {
                    let c = b
                        .get(..b.len() - doc.text(Span::new(ins.line_start, ins.span.end)).len())
                        .unwrap_or("");
                    start_comments.push_str(c);
                }
                Keyword::User => match &plan.user_line {
                    Some(None) => {}
                    Some(Some(u)) => body.push(format!("{} {u}", k("USER"))),
                    None => body.push(b.clone()),
                },
                _ => body.push(b.clone()),
            }
        }
        if let StartOut::Exec { entrypoint, cmd } = &plan.start {
            let mut s = start_comments;
            if let Some(e) = entrypoint {
                s.push_str(&format!("{} {}", k("ENTRYPOINT"), json_array(e)));
                if cmd.is_some() {
                    s.push_str(nl);
                }
            }
            if let Some(c) = cmd {
                s.push_str(&format!("{} {}", k("CMD"), json_array(c)));
            }
            body.push(s);
        }
        let mut text = String::new();
        if !doc.source.is_empty() && !doc.source.ends_with('\n') {
            text.push_str(nl);
        }
        text.push_str(nl);
        for line in body {
            text.push_str(&line.replace('\n', nl).replace("\r\r", "\r"));
            text.push_str(nl);
        }
        edits.push(Edit::insert(doc.source.len(), text));
        let copied = plan.copies.join(", ");
        (edits, copied)
    }
}

fn is_flag_value(words: &[String], i: usize) -> bool {
    i > 0
        && words
            .get(i - 1)
            .map(|p| {
                matches!(
                    p.as_str(),
                    "-o" | "-ldflags"
                        | "-tags"
                        | "-gcflags"
                        | "-mod"
                        | "-p"
                        | "-trimpath=false"
                        | "-buildmode"
                )
            })
            .unwrap_or(false)
}

fn is_global_npm(r: &RunCmd) -> bool {
    let w = &r.words;
    let first = w.first().map(|s| basename(s)).unwrap_or("");
    (first == "npm" && w.iter().any(|a| a == "-g" || a == "--global"))
        || (first == "yarn" && w.get(1).map(String::as_str) == Some("global"))
}

/// Byte offset where an instruction's block starts: its own first line, or the comment lines
/// directly above it (no blank line between), when `prev_end` (end of the instruction before) allows.
pub fn block_start(doc: &Dockerfile, ins: &Instruction, prev_end: usize) -> usize {
    let gap = doc.source.get(prev_end..ins.line_start).unwrap_or("");
    let mut start = ins.line_start;
    let mut offset = ins.line_start;
    for line in gap.split_inclusive('\n').rev() {
        offset -= line.len();
        let t = line.trim();
        if t.starts_with('#') {
            start = offset;
        } else {
            break;
        }
    }
    start
}
