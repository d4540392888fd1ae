//! The planner for compiled programs (go, rust, and a static binary on any other base): which
//! file CMD runs, where the build put it and how it links.

use super::{go, rust, MultiStage, Plan};
use crate::config::FinalImage;
use crate::model::context::BuildContext;
use crate::model::images::{ImageRef, Native, Runtime};
use crate::model::native_libs;
use crate::model::stage_facts::{resolve, within, StageFacts};
use crate::model::start::{basename, check_healthcheck, effective_argv, StartOut};
use crate::passes::Context;
use crate::syntax::{Dockerfile, Form};

impl MultiStage {
    /// The program CMD runs, where the build put it, and how it links.
    pub(super) fn native_artefact(
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
                produced.extend(go::build_output(r, facts, bctx));
            } else if first == "cargo"
                && matches!(w.get(1).map(String::as_str), Some("build" | "install"))
            {
                produced.extend(rust::build_outputs(r, facts, bctx));
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
        let found = candidates.iter().find_map(|c| {
            produced
                .iter()
                .rev()
                .find(|(p, _)| p == c || go::installs_named(p, c, facts))
                .map(|(_, n)| (c.clone(), *n))
        });
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

    pub(super) fn plan_native(
        &self,
        ctx: &Context<'_>,
        img: &ImageRef,
        facts: &StageFacts,
        bctx: &BuildContext,
        rt: Option<Runtime>,
        family: FinalImage,
    ) -> Result<Plan, String> {
        let doc = ctx.doc;
        let (path, mut native, argv) = self.native_artefact(doc, facts, bctx, rt)?;
        let build_alpine = img.tag_lower().contains("alpine");
        if build_alpine && native != Native::Static {
            if rt == Some(Runtime::Go) && go::cgo_off_without_compiler(img, facts) {
                native = Native::Static;
            } else if rt == Some(Runtime::Rust) {
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
        let mut notes: Vec<String> = Vec::new();
        // A dynamically linked program loads the libraries of the `-dev` packages it was built
        // against (cgo with libsqlite3-dev needs libsqlite3.so.0): distroless has only glibc, libssl
        // (and libstdc++ in cc), so the program goes to a Debian slim runtime stage that installs
        // them in one RUN, or the conversion is refused when dfopt cannot name the package.
        let libs = native_libs::needs(&facts.os_packages, native)?;
        let mut runtime_install = None;
        if !libs.install.is_empty() {
            if !libs.distroless_only.is_empty() {
                return Err(format!(
                    "the program links the libraries of {} (distroless ships them, a Debian slim image may not) and of {} (distroless lacks them)",
                    libs.distroless_only.join(", "),
                    libs.install.join(", ")
                ));
            }
            choice = self.cat.for_native(native, FinalImage::Slim, explicit_root)?;
            let run = doc
                .instructions
                .get(super::facts_from(ctx))
                .map(|from| super::render::kw(doc, from, "RUN"))
                .unwrap_or_else(|| "RUN".to_string());
            runtime_install = Some(format!(
                "{run} apt-get update && apt-get install -y --no-install-recommends {} && rm -rf /var/lib/apt/lists/*",
                libs.install.join(" ")
            ));
            notes.push(format!(
                "the program loads the {} of {} at run time, which distroless lacks: the runtime stage installs {}",
                if libs.install.len() == 1 { "library" } else { "libraries" },
                libs.install.join(", "),
                if libs.install.len() == 1 { "it" } else { "them" },
            ));
        }
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
        notes.splice(0..0, choice.note.iter().cloned());
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
                // An exec-form ENTRYPOINT keeps its CMD apart: `docker run image args` replaces
                // the CMD's words, not the ENTRYPOINT's.
                let ep_words = facts
                    .start
                    .entrypoint
                    .and_then(|i| doc.instructions.get(i))
                    .and_then(|i| match &i.command.form {
                        Form::Exec(a) => Some(a.len()),
                        _ => None,
                    });
                match ep_words {
                    Some(n) if facts.start.cmd.is_some() && n < argv.len() => StartOut::Exec {
                        cmd: Some(argv[n..].to_vec()),
                        entrypoint: Some(argv[..n].to_vec()),
                    },
                    _ => StartOut::Exec {
                        entrypoint: Some(argv),
                        cmd: None,
                    },
                }
            } else {
                StartOut::Exec {
                    entrypoint: None,
                    cmd: Some(argv),
                }
            }
        };
        let (chown, user_line, user_setup) = self.runtime_user(facts, &mut choice, (img, rt), &mut notes)?;
        let _ = chown;
        Ok(Plan {
            choice,
            copies,
            relocated: Vec::new(),
            chown: None,
            user_setup,
            runtime_install,
            user_line,
            extra_env: Vec::new(),
            start,
            build_edits: Vec::new(),
            notes,
        })
    }
}
