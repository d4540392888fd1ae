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
//! FROM node:22
//! WORKDIR /app
//! COPY . .
//! RUN npm install
//! EXPOSE 3000
//! CMD ["node", "index.js"]
//! ```
//! becomes
//! ```dockerfile
//! FROM node:22 AS build
//! WORKDIR /app
//! COPY . .
//! RUN npm install && npm prune --omit=dev
//!
//! FROM gcr.io/distroless/nodejs22-debian13:nonroot
//! COPY --from=build --chown=65532:65532 /app /app
//! WORKDIR /app
//! EXPOSE 3000
//! CMD ["index.js"]
//! ```
//!
//! **Fix safety**: unsafe. The runtime image has no shell and no package manager (distroless) or a
//! different C library (alpine), the app runs as a non-root user, and only the inferred artefacts are
//! copied: files the build writes elsewhere are gone. dfopt does not guess: when it cannot tell what
//! to copy or how to start the app, when a shell-form HEALTHCHECK would need a shell, when Python
//! versions differ, when native modules meet musl, or when the build image is not the official
//! one (`cgr.dev/…/python`, `mcr.microsoft.com/…/python` have their own OS and users), it reports
//! why (and which `--final` would work) without a fix. The build context beside the Dockerfile
//! (package.json, go.mod, Cargo.toml, requirements.txt) is read when it is there. For Python the
//! packages are one resolved set: the requirement files the `pip install` line names, through
//! their `-r`/`-c` includes, the packages on that line, and any lock file (poetry.lock,
//! Pipfile.lock, uv.lock, pdm.lock, pylock.toml); compiled modules that link OS libraries
//! (psycopg2: libpq5, mysqlclient: libmariadb3, lxml built from source) get a slim runtime image
//! that installs them in one clean RUN, data that nltk, Hugging Face or `pip install --user` write
//! into `/root` is copied to the runtime user's home, and distroless gets only the venv's
//! site-packages on PYTHONPATH (the venv's `bin/python` links `/usr/local/bin/python3`, which it
//! lacks). The package knowledge is `transforms/python-packages.toml`. A dynamically linked Go or
//! Rust program built against `-dev` packages (cgo with libsqlite3-dev) runs on Debian slim with
//! their run-time libraries installed in one clean RUN (`transforms/native-libraries.toml`); an
//! unknown `-dev` package is refused. A start command that needs a shell (`CMD app | tee log`,
//! `sh -c "…"`) is read as shell: besides the program the build produces, it may run only what the
//! final image has (`image_programs`: Debian's Essential set on `debian:13-slim`), so it moves
//! verbatim onto Debian slim; files it writes are created owned by the runtime user. The runtime image comes from the runtime catalogue
//! (`transforms/runtimes.toml`): the same Node major, Python minor and Java version as the build
//! image, distroless first, else the official slim image of that version (`node:22-slim`,
//! `python:3.12-slim`, `eclipse-temurin:8-jre`); a runtime past its end of life is refused, never
//! moved to another version. Floating tags (`node`, `node:lts`, `python:3`) get the slim variant of
//! the same tag; `node:${NODE_VERSION}` keeps its ARG (`node:${NODE_VERSION}-slim`). When
//! distroless cannot run the app (npm start, a shell-form CMD, OS packages the app uses), the slim
//! image is used and the finding says why; OS packages the build installed for run time are
//! installed again in one clean RUN there (`--no-install-recommends`, lists removed), and the
//! finding says they are unpinned and resolved again; build-only packages (compilers, `-dev`
//! headers, git) are not. A build image whose tag names a Debian release (`-bookworm`) gets the
//! slim image of that release (`python:3.12-slim-bookworm`, `node:22-bookworm-slim`); a release
//! past its end of life (`-bullseye`) is refused. Without CMD or ENTRYPOINT, a node or python app
//! moves to the official slim image, whose default command (`node`, `python3`) is the build
//! image's. A requirements file copied into `/` only for `pip install -r` stays in the build
//! stage; a tool installed with pip alone (no WORKDIR, a CMD naming it) ships as its virtualenv. A named stage keeps its name on the runtime stage (the build stage becomes
//! `<name>-build`). The app folder is copied owned by the runtime user, so an app that writes in
//! it keeps working. Every conversion says what it changes (image and version, user, shell, what
//! is copied) in its message, which `fix` prints on stderr beside the diff. Image mirrors and
//! digest pins go under `[transforms.images.replace]`.
//!
//! A named USER keeps its numbers: `USER app` becomes `USER 1001:1001` (and the app folder is
//! copied `--chown=1001:1001`) when the build gives them (`useradd -u`, `adduser -u`, `groupadd
//! -g`, or the node image's own `node`, 1000:1000), because the runtime image has no passwd entry
//! for the name; a user created without a fixed uid is refused. `npm start` is resolved to node's
//! arguments only when node alone does the same: package.json hooks (`prestart`, `poststart`),
//! `npm_package_*` variables or a script that is not plain `node file.js` (`next start`, `serve -s
//! dist`) keep `npm start` on the official slim image of the same Node major, which has npm; a
//! start script that runs a development tool (`ts-node`, `nodemon`, `next dev`) is refused. The
//! dev-dependency prune runs in each folder an install ran in, and is left out when the start
//! script's program is a dev dependency. A HEALTHCHECK that runs `curl` or `wget` the build
//! installed gets them installed again on the slim image; one that cannot run on the runtime image
//! is refused.

mod go;
mod identity;
mod java;
mod leftovers;
mod native;
mod node;
pub(super) mod python;
mod render;
mod rust;

use super::{FixAvailability, RuleMeta, Context, Rule};
use crate::config::{FinalImage, Settings};
use crate::edit::{Level, Edit, Finding, Fix};
use crate::model::context::BuildContext;
use crate::model::images::{self, Catalogue, Choice, ImageRef, Native, Runtime};
use crate::model::runtime_data::RuntimeData;
use crate::model::stage_facts::{env_pairs, resolve, within, StageFacts};
use crate::model::start::{check_healthcheck_installing, effective_argv, StartOut};
use crate::syntax::{Dockerfile, Form, Keyword};
use std::collections::BTreeSet;
use node::is_global_npm;

/// What this rule is: read by the registry, `dfopt rules`, `dfopt explain` and the README table.
pub const META: RuleMeta = RuleMeta {
    id: "multi-stage",
    summary: "A single-stage build image ships compilers and dev dependencies: build in one stage, run in a small one",
    fix: FixAvailability::Unsafe,
    hadolint: &[],
    default_enabled: true,
    level: Level::Warning,
    levels: "warning; a refusal (\"dfopt does not guess: …\") is info and never fails CI by default",
};
const ID: &str = META.id;

pub struct MultiStage {
    data: RuntimeData,
    cat: Catalogue,
}

impl MultiStage {
    pub fn new(settings: &Settings) -> Result<Self, String> {
        Ok(MultiStage {
            data: RuntimeData::load(settings)?,
            cat: Catalogue::load(settings)?,
        })
    }
}

/// The runtime stage being built.
struct Plan {
    choice: Choice,
    /// Absolute paths copied to the same place.
    copies: Vec<String>,
    /// Folders copied to another place, owned by the runtime user (a build user's home data).
    relocated: Vec<(String, String)>,
    chown: Option<String>,
    /// Lines to create the runtime user (alpine/slim).
    user_setup: Option<String>,
    /// The RUN installing OS packages the app may use at run time (alpine/slim).
    runtime_install: Option<String>,
    /// USER line for the runtime stage: `Some(None)` drops the original, `Some(Some(x))` replaces it.
    user_line: Option<Option<String>>,
    extra_env: Vec<String>,
    start: StartOut,
    build_edits: Vec<Edit>,
    notes: Vec<String>,
}

/// The runtime user: (chown owner, USER line override as in [`Plan::user_line`], user setup RUN).
type RuntimeUser = (Option<String>, Option<Option<String>>, Option<String>);

/// The default of a global ARG (declared before the first FROM).
fn arg_default(ctx: &Context<'_>, name: &str) -> Option<String> {
    let doc = ctx.doc;
    doc.instructions
        .iter()
        .take(ctx.analysis.preamble_end)
        .filter(|i| i.kind() == Keyword::Arg)
        .flat_map(|i| env_pairs(i, doc.escape))
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
}

/// An image reference written back out (`repo:tag@digest`).
fn img_text(img: &ImageRef) -> String {
    let mut s = img.repo.clone();
    if let Some(t) = &img.tag {
        s.push(':');
        s.push_str(t);
    }
    if let Some(d) = &img.digest {
        s.push('@');
        s.push_str(d);
    }
    s
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
    fn meta(&self) -> &'static RuleMeta {
        &META
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
        if rt.is_none() && !native::might_build_static_binary(doc, stage.from, stage.end) {
            return;
        }
        let default_wd = if rt == Some(Runtime::Go) { "/go" } else { "/" };
        let facts = StageFacts::scan_with(doc, stage.from, stage.end, default_wd, ctx.memo);
        let bctx = BuildContext::new(ctx.path);
        let result = match rt {
            Some(rt) => self.plan(ctx, &stage.base, &img, rt, &facts, &bctx),
            None => {
                // Any other base: only a static Go binary is certain enough to move.
                match self.native_artefact(doc, &facts, &bctx, None) {
                    Ok(a) if a.native == Native::Static => self
                        .on_ladder(ctx.settings.final_image, |family| {
                            self.plan_native(ctx, &img, &facts, &bctx, None, family)
                        }),
                    _ => return,
                }
            }
        };
        let span = from.span;
        match result {
            // The runtime image is the build image itself and the build installs no OS packages
            // to leave behind: a split would ship the same thing.
            Ok(plan) if same_image(&plan.choice.image, &base) && facts.os_packages.is_empty() => {}
            Ok(plan) => {
                let (edits, copied) = self.edits(ctx, from, &facts, &plan);
                let mut msg = format!(
                    "single-stage build on `{base}` ships its build tools: build in a `{}` stage and run on `{}`{}, copying {}",
                    identity::build_stage_name(doc, from, stage.alias.is_some()),
                    plan.choice.image,
                    identity::keeps_name(doc, from, stage.alias.is_some()),
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
            )
            // A refusal is advice: it names what dfopt would need.
            .with_level(Level::Info)),
        }
    }
}

/// Whether two references name the same image (`python:3.12-slim`, `docker.io/library/python:3.12-slim`).
fn same_image(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        let s = s.to_ascii_lowercase();
        let s = s.strip_prefix("docker.io/").unwrap_or(&s).to_string();
        s.strip_prefix("library/").unwrap_or(&s).to_string()
    };
    norm(a) == norm(b)
}

impl MultiStage {
    fn plan(
        &self,
        ctx: &Context<'_>,
        written_base: &str,
        img: &ImageRef,
        rt: Runtime,
        facts: &StageFacts,
        bctx: &BuildContext,
    ) -> Result<Plan, String> {
        self.common_refusals(facts)?;
        let preferred = ctx.settings.final_image;
        match rt {
            Runtime::Go | Runtime::Rust => self.on_ladder(preferred, |family| {
                self.plan_native(ctx, img, facts, bctx, Some(rt), family)
            }),
            Runtime::Node | Runtime::Python | Runtime::Java => {
                // The runtime images come from the official images' families: another vendor's
                // image of the same name (`cgr.dev/…/python`, `mcr.microsoft.com/…/python`) has
                // its own OS, paths and users, and moving the app onto Debian's would change them.
                if !img.is_official() {
                    return Err(format!(
                        "`{}` is not the official {} image, and dfopt moves apps only onto the official images' runtime variants",
                        img.repo,
                        rt.name()
                    ));
                }
                let root = facts
                    .user
                    .as_ref()
                    .map(|(_, u)| matches!(u.split(':').next().unwrap_or(u), "root" | "0"))
                    .unwrap_or(false);
                let version = images::version_of(rt, img);
                let written_arg = written_base.contains('$');
                let pick = |family: FinalImage| -> Result<Choice, String> {
                    match &version {
                        // An ARG-based FROM keeps its ARG in the final FROM where the catalogue
                        // has a pattern for it; a version in the tag gets that very version.
                        Some(_) if written_arg => self.cat.for_build(
                            written_base,
                            &|name| arg_default(ctx, name),
                            family,
                            root,
                        ),
                        // A Debian release the tag names (`-bookworm`) carries over to the
                        // final image. A jar does not link the OS's libraries, and the Java
                        // runtime images are Ubuntu-based anyway: Java ignores it.
                        Some(v) => {
                            let runtimes = self.cat.runtimes();
                            let distro = (rt != Runtime::Java)
                                .then(|| runtimes.distro_in_tag(&img.tag_lower()))
                                .flatten();
                            runtimes
                                .final_image_on(
                                    rt.name(),
                                    v,
                                    distro.as_deref(),
                                    family,
                                    self.cat.today(),
                                )
                                .map(|picked| self.cat.choice(picked, root))
                                .map_err(|r| r.reason)
                        }
                        // A floating tag (`node`, `python:3`, `node:lts`): the slim variant of
                        // the same tag, so both stages move together.
                        None => self.cat.for_build(&img_text(img), &|_| None, family, root),
                    }
                };
                self.on_ladder(preferred, |family| {
                    self.plan_interpreted(ctx, (img, rt), &pick, family, facts, bctx)
                })
            }
        }
    }

    /// Plans for the preferred family; when that plan is refused for a reason of the family
    /// (no npm, no shell, no package manager in distroless), plans again for the official slim
    /// image of the same version, and says why.
    fn on_ladder(
        &self,
        preferred: FinalImage,
        plan: impl Fn(FinalImage) -> Result<Plan, String>,
    ) -> Result<Plan, String> {
        match plan(preferred) {
            Ok(p) => Ok(p),
            Err(first) if preferred != FinalImage::Slim => match plan(FinalImage::Slim) {
                Ok(mut p) => {
                    p.notes.insert(
                        0,
                        format!(
                            "not {}: {first}",
                            match preferred {
                                FinalImage::Alpine => "alpine",
                                _ => "distroless",
                            }
                        ),
                    );
                    Ok(p)
                }
                Err(second) if second == first => Err(first),
                Err(second) => Err(format!("{first}; on a slim image: {second}")),
            },
            Err(first) => Err(first),
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
        (build, rt): (&ImageRef, Option<Runtime>),
        notes: &mut Vec<String>,
    ) -> Result<RuntimeUser, String> {
        let orig = facts.user.as_ref().map(|(_, u)| u.clone());
        let is_root = |u: &str| matches!(u.split(':').next().unwrap_or(u), "root" | "0");
        let numeric = |u: &str| {
            u.split(':')
                .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
        };
        let low_port = facts.exposed.iter().any(|p| *p < 1024);
        // A named USER is kept by the number the build gave it: the runtime image has no passwd
        // entry for the name (distroless) or would number it anew, and files and volumes belong
        // to numbers. When the split would not change the image (`check` drops such a plan),
        // there is nothing to refuse.
        let unchanged =
            same_image(&choice.image, &img_text(build)) && facts.os_packages.is_empty();
        let named = |u: &str, notes: &mut Vec<String>| match identity::numeric_user(u, facts, rt) {
            Ok((ids, source)) => {
                notes.push(format!(
                    "USER {u} runs as {ids} (from {source}), as in the build: the runtime image has no passwd entry for the name"
                ));
                Ok((Some(ids.clone()), Some(Some(ids)), None))
            }
            Err(_) if unchanged => Ok((None, None, None)),
            Err(why) => Err(why),
        };
        Ok(match choice.family {
            FinalImage::Distroless => {
                match orig.as_deref() {
                    Some(u) if is_root(u) => (None, None, None),
                    Some(u) if numeric(u) => (Some(u.to_string()), None, None),
                    Some(u) => named(u, notes)?,
                    None => {
                        if low_port {
                            notes.push("the app now runs as uid 65532: binding a port below 1024 needs Docker 20.10+ (or the NET_BIND_SERVICE capability)".into());
                        } else {
                            notes.push("the app now runs as uid 65532 (the image's nonroot user), not root".into());
                        }
                        (Some("65532:65532".into()), None, None)
                    }
                }
            }
            FinalImage::Alpine | FinalImage::Slim => match orig.as_deref() {
                Some(u) if is_root(u) || numeric(u) => {
                    (Some(u.to_string()).filter(|u| !is_root(u)), None, None)
                }
                Some(u) if rt == Some(Runtime::Node) && u == "node" => {
                    (Some("node:node".into()), None, None)
                }
                Some(u) => named(u, notes)?,
                // Numeric ids (hadolint DL3066): `node` is 1000:1000 in the node images.
                None if rt == Some(Runtime::Node) => {
                    notes.push(
                        "the app now runs as uid 1000 (the image's `node` user), not root".into(),
                    );
                    choice.nonroot = true;
                    (
                        Some("1000:1000".into()),
                        Some(Some("1000:1000".into())),
                        None,
                    )
                }
                None => {
                    notes.push("the app now runs as uid 10001 (a system user `app` the runtime stage creates), not root".into());
                    choice.nonroot = true;
                    (
                        Some("10001:10001".into()),
                        Some(Some("10001:10001".into())),
                        Some(self.create_user(choice, "app", Some(10001))),
                    )
                }
            },
        })
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
        (img, rt): (&ImageRef, Runtime),
        pick: &dyn Fn(FinalImage) -> Result<Choice, String>,
        family: FinalImage,
        facts: &StageFacts,
        bctx: &BuildContext,
    ) -> Result<Plan, String> {
        let doc = ctx.doc;
        let mut choice = pick(family)?;
        // The family the catalogue settled on (a floating alpine tag stays alpine).
        let family = choice.family;
        let slim = pick(FinalImage::Slim).map(|c| c.image).unwrap_or_default();
        let alpine = pick(FinalImage::Alpine)
            .map(|c| c.image)
            .unwrap_or_default();
        let build_alpine = img.tag_lower().contains("alpine");
        let mut notes: Vec<String> = choice.note.iter().cloned().collect();
        // Tools the HEALTHCHECK runs that the build installed (curl) are installed again.
        let health_pkgs = identity::healthcheck_packages(doc, facts, &self.data);
        let pkgs = identity::joined(self.runtime_packages(facts), &health_pkgs);
        let mut runtime_install = None;
        if !pkgs.is_empty() {
            // OS packages the app may use at run time go into an image that has a package
            // manager of the same kind, in one RUN that leaves no package lists behind.
            let other_manager = ["yum", "dnf", "microdnf", "zypper"]
                .iter()
                .any(|m| facts.commands(m).next().is_some());
            let same_kind = build_alpine == (family == FinalImage::Alpine);
            if !choice.has_shell {
                return Err(format!(
                    "the build installs {} with the OS package manager ({}), and {} has no package manager",
                    pkgs.join(", "),
                    identity::why_installed(&pkgs, &health_pkgs),
                    choice.image
                ));
            }
            if other_manager || !same_kind {
                return Err(self.refuse_packages(&pkgs, &slim, &alpine));
            }
            let run = doc
                .instructions
                .get(facts_from(ctx))
                .map(|from| render::kw(doc, from, "RUN"))
                .unwrap_or_else(|| "RUN".to_string());
            // A version the build pinned (`libpq5=15.8-0+deb12u1`) is pinned again.
            let written: Vec<String> = pkgs.iter().map(|p| pinned_as(facts, p)).collect();
            let unpinned: Vec<&str> = pkgs
                .iter()
                .zip(&written)
                .filter(|(p, w)| p == w)
                .map(|(p, _)| p.as_str())
                .collect();
            let alpine_final = family == FinalImage::Alpine;
            // The runtime stage installs what the build installed: recommended packages too when
            // the build took them (graphviz recommends the fonts it renders text with), so
            // `--no-install-recommends` only where every apt install of the build had it.
            let recommends = !alpine_final && leftovers::installs_recommends(facts);
            let install = if alpine_final {
                format!("{run} apk add --no-cache {}", written.join(" "))
            } else {
                format!(
                    "{run} apt-get update && apt-get install -y{} {} && rm -rf /var/lib/apt/lists/*",
                    if recommends { "" } else { " --no-install-recommends" },
                    written.join(" ")
                )
            };
            // The build stage makes the same choices (and hadolint reports them there): the
            // runtime stage repeats them on purpose, and says so where a reader of the Dockerfile
            // sees it.
            let mut ignored: Vec<&str> = Vec::new();
            let mut why: Vec<&str> = Vec::new();
            if !unpinned.is_empty() {
                ignored.push(if alpine_final { "DL3018" } else { "DL3008" });
                why.push("does not pin them either: pin both to fix their versions");
            }
            if recommends {
                ignored.push("DL3015");
                why.push("takes their recommended packages too, which the app may use");
            }
            runtime_install = Some(if ignored.is_empty() {
                install
            } else {
                format!(
                    "# Installed again as in the build stage, which {}.\n# hadolint ignore={}\n{install}",
                    why.join("; it "),
                    ignored.join(",")
                )
            });
            // The runtime stage is on the same distribution release as the build (the catalogue
            // keeps a Debian codename the tag names), but an unpinned install resolves the
            // package index again: that must be said, not left for the user to find out.
            let mut note = format!(
                "the runtime stage installs {} ({})",
                pkgs.join(", "),
                identity::why_installed(&pkgs, &health_pkgs)
            );
            if !unpinned.is_empty() {
                note.push_str(&format!(
                    "; {} unpinned, so {} resolves {} again and could pick newer versions than the build used",
                    unpinned.join(", "),
                    if alpine_final { "apk" } else { "apt" },
                    if unpinned.len() == 1 { "it" } else { "them" }
                ));
            }
            notes.push(note);
        }
        if let Some(h) = facts.healthcheck.and_then(|i| doc.instructions.get(i)) {
            check_healthcheck_installing(h, &choice, &self.data, &health_pkgs)?;
        }
        // The start command as words: needed to rewrite it for an image whose ENTRYPOINT is the
        // interpreter, and to find a jar; an image with a shell runs it verbatim.
        if facts.start.entrypoint.is_none() && facts.start.cmd.is_none() {
            // The official node and python images (slim and alpine variants alike) end with
            // `CMD ["node"]` / `CMD ["python3"]`: a final stage on one of them runs what the
            // build image ran. Distroless starts its interpreter otherwise, and a JDK image's
            // default (jshell, mvn, gradle) is no app.
            let default_cmd = match rt {
                Runtime::Node => "node",
                Runtime::Python => "python3",
                _ => {
                    return Err(
                        "there is no CMD or ENTRYPOINT, so dfopt cannot tell what the image runs"
                            .into(),
                    )
                }
            };
            if choice.interpreter_entrypoint || !choice.has_shell {
                return Err(format!(
                    "there is no CMD or ENTRYPOINT, so the build image's default command (`{default_cmd}`) runs, which `{}` does not run by default",
                    choice.image
                ));
            }
            notes.push(format!(
                "there is no CMD or ENTRYPOINT: `{}` runs `{default_cmd}` by default, as the build image did",
                choice.image
            ));
        }
        let argv = effective_argv(doc, facts.start.entrypoint, facts.start.cmd);
        let mut copies: Vec<String> = Vec::new();
        let mut extra_env = Vec::new();
        let mut build_edits = Vec::new();
        let mut relocated = Vec::new();
        let start;
        let app = facts
            .final_workdir
            .clone()
            .filter(|w| w != "/" && facts.has_workdir);
        let mut app_folder = false;
        // Where the app's relative paths (requirement files) start; empty for a pip-only tool.
        let app_dir = app.clone().unwrap_or_default();
        match rt {
            Runtime::Node | Runtime::Python => {
                let no_workdir =
                    || "there is no WORKDIR, so dfopt cannot tell which folder holds the app";
                match app {
                    Some(app) => {
                        copies.push(app);
                        app_folder = true;
                    }
                    // A Python tool installed from PyPI alone (`pip install beets`, no COPY of
                    // app code): everything it runs is in the virtualenv, which is copied below.
                    None if rt == Runtime::Python && pip_only(ctx, facts) => {}
                    None => return Err(no_workdir().into()),
                }
                if rt == Runtime::Node {
                    if facts.runs.iter().any(is_global_npm) {
                        return Err("the build installs global npm packages, which live outside the app folder".into());
                    }
                    self.node_musl(bctx, &choice, build_alpine, &mut notes)?;
                    start = self.node_start(argv, bctx, &choice, &mut notes)?;
                    if let Some(e) =
                        self.node_prune(ctx, facts, bctx, images::version_of(rt, img).as_deref())
                    {
                        build_edits.push(e);
                    }
                } else {
                    let py =
                        self.plan_python(ctx, (facts, bctx), &choice, build_alpine, &argv, &app_dir)?;
                    copies.extend(py.copies);
                    relocated = py.relocated;
                    extra_env.extend(py.extra_env);
                    runtime_install = py.runtime_install.or(runtime_install);
                    build_edits.extend(py.build_edits);
                    notes.extend(py.notes);
                    start = py.start;
                    if copies.is_empty() {
                        return Err(no_workdir().into());
                    }
                }
                let inputs = build_inputs(ctx, facts);
                for d in &facts.copy_dests {
                    // A COPY into `/` itself (`COPY requirements.txt ./` before any WORKDIR):
                    // copying that folder would ship the whole build image again. Files there
                    // that only `pip install -r` reads are build inputs and stay behind.
                    if d.trim_end_matches('/').is_empty() {
                        if inputs.root_only_inputs {
                            continue;
                        }
                        return Err("a COPY puts files straight into /, and dfopt cannot tell which of them the app needs at run time".into());
                    }
                    if inputs.files.contains(d) {
                        continue;
                    }
                    if !copies.iter().any(|c| within(d, c)) {
                        copies.push(d.clone());
                    }
                }
                // `update-alternatives --install /usr/bin/java …` links a command into the
                // build image's /usr/bin and /etc/alternatives, which the runtime stage lacks.
                if facts.commands("update-alternatives").next().is_some() {
                    return Err("RUN registers commands with update-alternatives outside the app folder, and the runtime image would not have them".into());
                }
                // A tool an install script put into a home folder (`curl … | bash` installing the
                // gcloud SDK into /root) and ENV PATH names: the runtime stage would not have it.
                if let Some(dir) = leftovers::home_dir_on_path(facts, &copies) {
                    return Err(format!(
                        "ENV PATH names {dir}, a folder in a home directory the build fills, which the runtime stage would not have"
                    ));
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
                let (jar, java_start) =
                    java::plan_jar(&argv?, facts, &choice, build_alpine, &mut notes)?;
                copies.push(jar);
                start = java_start;
            }
            Runtime::Go | Runtime::Rust => {
                return Err("internal: a compiled runtime reached the interpreter plan".into())
            }
        }
        let (chown_owner, user_line, user_setup) =
            self.runtime_user(facts, &mut choice, (img, Some(rt)), &mut notes)?;
        let app_dir = copies.first().cloned().unwrap_or_default();
        // Writable paths are decided, not left to the builder: the original ran as root (or as
        // its USER over files it wrote), so the app folder belongs to the runtime user, and an
        // app that writes into its WORKDIR (uploads, caches, SQLite) keeps working.
        // Without an app folder (a tool installed with pip alone) only the virtualenv is copied,
        // which the app reads but does not write.
        let chown = chown_owner.filter(|_| rt != Runtime::Java && app_folder);
        if let Some(owner) = &chown {
            if !facts.writable_in(&app_dir) {
                notes.push(format!(
                    "{app_dir} is copied owned by {owner}, so the app can still write in it"
                ));
            }
        }
        Ok(Plan {
            choice,
            copies,
            relocated,
            chown,
            user_setup,
            runtime_install,
            user_line,
            extra_env,
            start,
            build_edits,
            notes,
        })
    }
}

/// Files the build copies in only for `pip install -r`/`-c` to read (requirements and
/// constraints files).
struct BuildInputs {
    /// Absolute paths `pip install` reads a requirements or constraints file from.
    files: BTreeSet<String>,
    /// Every COPY/ADD into `/` itself brings only such files (none from another stage or a URL,
    /// no folder, no glob).
    root_only_inputs: bool,
}

/// The requirements files of the stage's `pip install` lines, and whether every COPY into `/`
/// brings only those.
fn build_inputs(ctx: &Context<'_>, facts: &StageFacts) -> BuildInputs {
    let mut files = BTreeSet::new();
    for r in &facts.runs {
        let w = &r.words;
        if !is_pip_install(w) {
            continue;
        }
        let mut it = w.iter();
        while let Some(a) = it.next() {
            let file = match a.as_str() {
                "-r" | "--requirement" | "-c" | "--constraint" => it.next().cloned(),
                _ => ["--requirement=", "--constraint=", "-r", "-c"]
                    .iter()
                    .find_map(|p| a.strip_prefix(p))
                    .filter(|f| !f.is_empty() && !f.starts_with('-'))
                    .map(str::to_string),
            };
            if let Some(p) = file.and_then(|f| resolve(&r.cwd, &f)) {
                files.insert(p);
            }
        }
    }
    let doc = ctx.doc;
    let mut root_only_inputs = true;
    let mut cwd = "/".to_string();
    let mut env: Vec<(String, String)> = Vec::new();
    let (from, end) = ctx
        .analysis
        .stages
        .first()
        .map(|s| (s.from, s.end))
        .unwrap_or((0, 0));
    for ins in doc.instructions.get(from + 1..end).unwrap_or(&[]) {
        let c = &ins.command;
        match c.kind {
            Keyword::Env | Keyword::Arg => env.extend(env_pairs(ins, doc.escape)),
            // A WORKDIR naming a variable dfopt cannot expand leaves the folder unknown: any
            // COPY after it could land in `/`, so none counts as a build input.
            Keyword::Workdir => {
                let w = c.args.trim().trim_matches('"');
                cwd = expand_vars(w, &env)
                    .and_then(|w| resolve(&cwd, &w))
                    .unwrap_or_default();
            }
            Keyword::Copy | Keyword::Add if cwd.is_empty() => root_only_inputs = false,
            Keyword::Copy | Keyword::Add => {
                let words: Vec<String> = match &c.form {
                    Form::Exec(a) => a.clone(),
                    _ => c.args.split_whitespace().map(str::to_string).collect(),
                };
                let Some((dest, rest)) = words.split_last() else {
                    continue;
                };
                if resolve(&cwd, dest).as_deref() != Some("/") {
                    continue;
                }
                let plain = |s: &&String| {
                    !s.contains(['*', '?', '[', '$', ':']) && !s.ends_with('/') && s.as_str() != "."
                };
                let from_stage = rest.iter().any(|a| a.starts_with("--from"));
                let sources: Vec<&String> = rest.iter().filter(|a| !a.starts_with("--")).collect();
                let all_inputs = !sources.is_empty()
                    && sources.iter().all(|s| {
                        plain(s)
                            && s.rsplit('/')
                                .next()
                                .is_some_and(|b| files.contains(&format!("/{b}")))
                    });
                if from_stage || !all_inputs {
                    root_only_inputs = false;
                }
            }
            _ => {}
        }
    }
    BuildInputs {
        files,
        root_only_inputs,
    }
}

/// `name=version` as the build's install line pinned the package, else the bare name.
fn pinned_as(facts: &StageFacts, name: &str) -> String {
    let prefix = format!("{name}=");
    facts
        .runs
        .iter()
        .flat_map(|r| r.words.iter())
        .find(|w| w.starts_with(&prefix) && w.len() > prefix.len() && !w.contains('$'))
        .cloned()
        .unwrap_or_else(|| name.to_string())
}

/// Whether the stage installs its Python app with pip alone: no COPY or ADD but requirements
/// files `pip install -r` reads.
fn pip_only(ctx: &Context<'_>, facts: &StageFacts) -> bool {
    let inputs = build_inputs(ctx, facts);
    let installs = facts.runs.iter().any(|r| is_pip_install(&r.words));
    // The tool is what CMD or ENTRYPOINT runs: without one the image is a toolbox (a dev
    // container) whose other installs (global npm packages, curl-piped scripts) go elsewhere.
    let starts = facts.start.cmd.is_some() || facts.start.entrypoint.is_some();
    installs
        && starts
        && !facts.runs.iter().any(is_global_npm)
        && facts
            .copy_dests
            .iter()
            .all(|d| inputs.files.contains(d) || (d == "/" && inputs.root_only_inputs))
}

/// `pip install …`, `pip3 install …`, `python -m pip install …`.
fn is_pip_install(w: &[String]) -> bool {
    let first = w
        .first()
        .map(|s| s.rsplit('/').next().unwrap_or(s))
        .unwrap_or("");
    let pip = first.starts_with("pip")
        || (first.starts_with("python")
            && w.get(1).map(String::as_str) == Some("-m")
            && w.get(2).map(String::as_str) == Some("pip"));
    pip && w.iter().any(|a| a == "install")
}

/// `$NAME` and `${NAME}` replaced by the latest value `env` gives them; `None` when one has
/// none or the text uses another expansion form.
fn expand_vars(text: &str, env: &[(String, String)]) -> Option<String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let (name, len) = match after.strip_prefix('{') {
            Some(inner) => {
                let close = inner.find('}')?;
                (&inner[..close], close + 2)
            }
            None => {
                let n = after
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(after.len());
                (&after[..n], n)
            }
        };
        let value = env.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v)?;
        out.push_str(value);
        rest = &after[len..];
    }
    out.push_str(rest);
    Some(out)
}

/// The FROM instruction of the single stage.
pub(super) fn facts_from(ctx: &Context<'_>) -> usize {
    ctx.analysis.stages.first().map(|s| s.from).unwrap_or(0)
}

