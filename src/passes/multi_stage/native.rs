//! The planner for compiled programs (go, rust, and a static binary on any other base): which
//! file CMD runs, where the build put it and how it links.
//!
//! A start command that needs a shell (`CMD sh -c "app 2>&1 | tee /var/log/app.log"`) is read
//! with the model's shell reader: the program the build produces is the artefact, and every other
//! program it runs must be one the final image has (`image_programs` in
//! `transforms/runtimes.toml`), so it moves verbatim onto an image with a shell (Debian slim for a
//! glibc program; distroless has none) or is refused with the reason.

use super::{go, rust, MultiStage, Plan};
use crate::config::FinalImage;
use crate::model::context::BuildContext;
use crate::model::images::{Choice, ImageRef, Native, Runtime};
use crate::model::native_libs;
use crate::model::stage_facts::{resolve, within, StageFacts};
use crate::model::start::{basename, check_healthcheck, start_command, ShellStart, StartCommand, StartOut};
use crate::passes::Context;
use crate::syntax::{Dockerfile, Form, Keyword};

/// Whether a RUN of instructions `from..end` may run `go build`/`go install` or a musl
/// `cargo build` (a cheap, conservative text test: [`MultiStage::native_artefact`] decides).
///
/// Only such a command produces a binary to move ([`produced_files`]), and the stage facts
/// read it as a command whose first two words are `go` (or a path ending in it, or `cargo`) and
/// `build`/`install`: so some RUN's shell text (or exec-form argv, or heredoc body), the texts the
/// facts are read from, has those two words side by side. Most stages that merely mention `go`
/// and `install` (`google`, `apt-get install`) are refused here without scanning them.
pub(super) fn might_build_static_binary(doc: &Dockerfile, from: usize, end: usize) -> bool {
    let instructions = doc.instructions.get(from..end).unwrap_or(&[]);
    let mentions = instructions
        .iter()
        .filter(|i| i.effective().kind == Keyword::Run)
        .map(|i| doc.text(i.span))
        .any(|t| {
            (t.contains("go") && (t.contains("build") || t.contains("install")))
                || (t.contains("cargo") && t.contains("musl"))
        });
    mentions
        && instructions
            .iter()
            .filter(|i| i.command.kind == Keyword::Run)
            .any(|i| {
                if !i.heredocs.is_empty() {
                    return i.heredocs.iter().any(|h| names_go_build(doc.text(h.body)));
                }
                match &i.command.form {
                    Form::Exec(argv) => argv
                        .windows(2)
                        .any(|w| names_go_build(&format!("{} {}", w[0], w[1]))),
                    _ => names_go_build(&i.command.args),
                }
            })
}

/// Whether `text` has a word ending in `go` (`go`, `/usr/local/go/bin/go`, `cargo`, quoted or
/// not) followed, past blanks, line continuations and quotes, by `build` or `install`.
fn names_go_build(text: &str) -> bool {
    let b = text.as_bytes();
    memchr::memchr_iter(b'g', b).any(|at| {
        if b.get(at + 1) != Some(&b'o') {
            return false;
        }
        let rest = b.get(at + 2..).unwrap_or(&[]);
        let gap = rest
            .iter()
            .take_while(|c| c.is_ascii_whitespace() || matches!(c, b'\\' | b'"' | b'\''))
            .count();
        let next = rest.get(gap..).unwrap_or(&[]);
        gap > 0 && (next.starts_with(b"build") || next.starts_with(b"install"))
    })
}

/// The program the start command runs that the build produces, and how the container starts.
pub(super) struct Artefact {
    /// Where the build put it.
    pub(super) path: String,
    pub(super) native: Native,
    pub(super) start: StartCommand,
    /// The other programs a shell start command runs, which the final image must have.
    pub(super) others: Vec<String>,
}

/// Folders a bare program name is looked up in, in PATH order (the build images' PATH with
/// golang's and rust's own bin folders).
const SEARCH_PATH: &[&str] = &[
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin",
    "/go/bin",
    "/usr/local/cargo/bin",
];

impl MultiStage {
    /// The program CMD runs, where the build put it, and how it links.
    pub(super) fn native_artefact(
        &self,
        doc: &Dockerfile,
        facts: &StageFacts,
        bctx: &BuildContext,
        rt: Option<Runtime>,
    ) -> Result<Artefact, String> {
        let start = start_command(doc, facts.start.entrypoint, facts.start.cmd)?;
        let cwd = facts.final_workdir.clone().unwrap_or_else(|| "/".into());
        let produced = produced_files(facts, bctx);
        // The file the build produced that `prog` names, and how it links.
        let find = |prog: &str| -> Option<(String, Native)> {
            let candidates: Vec<String> = if prog.contains('/') {
                resolve(&cwd, prog).into_iter().collect()
            } else {
                SEARCH_PATH.iter().map(|d| format!("{d}/{prog}")).collect()
            };
            candidates.iter().find_map(|c| {
                produced
                    .iter()
                    .rev()
                    .find(|(p, _)| p == c || go::installs_named(p, c, facts))
                    .map(|(_, n)| (c.clone(), *n))
            })
        };
        let not_found = |prog: &str| {
            format!(
                "CMD runs `{prog}`, and dfopt cannot tell which {} output that is",
                match rt {
                    Some(Runtime::Rust) => "`cargo build --release`",
                    _ => "`go build -o …`",
                }
            )
        };
        match start {
            StartCommand::Argv(argv) => {
                let prog = argv.first().cloned().ok_or("CMD is empty")?;
                let (path, native) = find(&prog).ok_or_else(|| not_found(&prog))?;
                Ok(Artefact {
                    path,
                    native,
                    start: StartCommand::Argv(argv),
                    others: Vec::new(),
                })
            }
            StartCommand::Shell(script) => {
                let mut built: Vec<(String, Native)> = Vec::new();
                let mut others = Vec::new();
                for p in &script.programs {
                    match find(p) {
                        Some(b) if !built.iter().any(|(x, _)| *x == b.0) => built.push(b),
                        Some(_) => {}
                        None => others.push(p.clone()),
                    }
                }
                let (path, native) = match built.as_slice() {
                    [one] => one.clone(),
                    [] => {
                        return Err(format!(
                            "the start command `{}` runs no program dfopt can tell the build produces ({})",
                            script.text,
                            script.programs.iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(", ")
                        ))
                    }
                    many => {
                        return Err(format!(
                            "the start command `{}` runs {} programs the build produces ({}), and dfopt copies one",
                            script.text,
                            many.len(),
                            many.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>().join(", ")
                        ))
                    }
                };
                Ok(Artefact {
                    path,
                    native,
                    start: StartCommand::Shell(script),
                    others,
                })
            }
        }
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
        let artefact = self.native_artefact(doc, facts, bctx, rt)?;
        let (path, mut native) = (artefact.path.clone(), artefact.native);
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
        if let StartCommand::Shell(script) = &artefact.start {
            start_programs(script, &artefact.others, &choice, &mut notes)?;
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
        let argv = match &artefact.start {
            StartCommand::Argv(argv) => argv.as_slice(),
            // A shell start command moves verbatim: the image has a shell (checked above).
            StartCommand::Shell(_) => &[],
        };
        let prog = argv.first().map(String::as_str).unwrap_or("");
        let on_path = !prog.contains('/')
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
        let start = if choice.has_shell
            || argv.is_empty()
            || (all_exec && (prog.contains('/') || on_path))
        {
            StartOut::Verbatim
        } else {
            let mut argv = argv.to_vec();
            if !prog.contains('/') && !on_path {
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
        let (owner, user_line, mut user_setup) =
            self.runtime_user(facts, &mut choice, (img, rt), &mut notes)?;
        if let StartCommand::Shell(script) = &artefact.start {
            let cwd = facts.final_workdir.as_deref().unwrap_or("/");
            let debian = choice.family == FinalImage::Slim;
            writable_for_runtime_user(
                script,
                (cwd, debian),
                owner.as_deref(),
                &mut user_setup,
                &mut notes,
            )?;
        }
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

/// The files the build produces, in order: path and how it links (`go build -o`, `cargo build`,
/// and the `cp`/`mv`/`install` that move one of them).
fn produced_files(facts: &StageFacts, bctx: &BuildContext) -> Vec<(String, Native)> {
    let mut produced: Vec<(String, Native)> = Vec::new();
    for r in &facts.runs {
        let w = &r.words;
        let first = w.first().map(|s| basename(s)).unwrap_or("");
        if first == "go" && matches!(w.get(1).map(String::as_str), Some("build" | "install")) {
            produced.extend(go::build_output(r, facts, bctx));
        } else if first == "cargo" && matches!(w.get(1).map(String::as_str), Some("build" | "install"))
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
    produced
}

/// Whether `choice` has `program` (a name, or a path in a system bin folder) on PATH: its shell
/// always, anything else as the catalogue's `image_programs` lists it.
fn image_has(choice: &Choice, program: &str) -> bool {
    let name = basename(program);
    let dir = program.strip_suffix(name).unwrap_or("").trim_end_matches('/');
    let on_path = !program.contains('/') || matches!(dir, "/bin" | "/usr/bin" | "/sbin" | "/usr/sbin");
    on_path && (name == "sh" || choice.programs.iter().any(|p| p == name))
}

/// Checks a shell start command against the runtime image: it needs a shell, and every program it
/// runs besides the app must be one the image has.
fn start_programs(
    script: &ShellStart,
    others: &[String],
    choice: &Choice,
    notes: &mut Vec<String>,
) -> Result<(), String> {
    if !choice.has_shell {
        return Err(format!(
            "the start command `{}` runs through a shell, and {} has none",
            script.text, choice.image
        ));
    }
    if let Some(missing) = others.iter().find(|p| !image_has(choice, p)) {
        // An image the catalogue lists no programs for (alpine's busybox) may well have it:
        // the reason says what dfopt knows, not more.
        return Err(format!(
            "the start command `{}` runs `{missing}`, which the build does not produce and {}",
            script.text,
            if choice.programs.is_empty() {
                format!("dfopt does not know {} to have", choice.image)
            } else {
                format!("{} does not have", choice.image)
            }
        ));
    }
    let tools: Vec<String> = others
        .iter()
        .filter(|p| basename(p) != "sh")
        .map(|p| format!("`{p}`"))
        .collect();
    notes.push(format!(
        "the start command runs through the shell of {} as written{}",
        choice.image,
        if tools.is_empty() {
            String::new()
        } else {
            format!(", with {} from the image", tools.join(", "))
        }
    ));
    Ok(())
}

/// Files a shell start command writes (`> /var/log/app.log`, `tee /var/log/app.log`) must stay
/// writable by the runtime user.
///
/// When the runtime stage creates its own user (the build ran as root, which may write anywhere),
/// the rewrite is what takes that permission away, so it gives it back for exactly those files:
/// the user-setup RUN creates each one, empty and owned by that user, as the app would have
/// created it. Refusing instead would lose the conversion for the commonest shape (a log piped
/// through `tee`) with nothing gained. When the build's own non-root USER is kept, who may write
/// there was the build's doing (a `chown` in a RUN, which stays in the build stage): dfopt
/// refuses rather than guess. Root (an explicit `USER root`) may write anywhere.
fn writable_for_runtime_user(
    script: &ShellStart,
    (cwd, debian): (&str, bool),
    owner: Option<&str>,
    user_setup: &mut Option<String>,
    notes: &mut Vec<String>,
) -> Result<(), String> {
    if script.writes.is_empty() {
        return Ok(());
    }
    let mut files: Vec<String> = Vec::new();
    for w in &script.writes {
        let Some(path) = resolve(cwd, w).filter(|p| {
            p.len() > 1
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "/._-+@%:,=".contains(c))
        }) else {
            return Err(format!(
                "the start command `{}` writes to `{w}`, a path dfopt does not write into a RUN",
                script.text
            ));
        };
        // /tmp and /var/tmp are writable by every user in Debian images (mode 1777, checked in
        // the lab's debian:13-slim): a file straight in them needs nothing. Other images' are
        // not assumed.
        let in_tmp = debian && matches!(path.rsplit_once('/'), Some(("/tmp" | "/var/tmp", _)));
        if !in_tmp && !files.contains(&path) {
            files.push(path);
        }
    }
    if files.is_empty() {
        return Ok(());
    }
    let Some(owner) = owner else {
        return Ok(()); // root
    };
    let Some(setup) = user_setup.as_mut() else {
        return Err(format!(
            "the start command `{}` writes {}, and whether USER {owner} may write there is the build's doing, which dfopt does not carry over",
            script.text,
            files.join(", ")
        ));
    };
    let mut dirs: Vec<&str> = Vec::new();
    for f in &files {
        let dir = f.rsplit_once('/').map_or("", |(d, _)| d);
        if !dir.is_empty() && !dirs.contains(&dir) {
            dirs.push(dir);
        }
    }
    if !dirs.is_empty() {
        setup.push_str(&format!(" && mkdir -p {}", dirs.join(" ")));
    }
    setup.push_str(&format!(
        " && touch {0} && chown {owner} {0}",
        files.join(" ")
    ));
    notes.push(format!(
        "the start command writes {}: the runtime stage creates {} owned by {owner}, so the app can still write {}",
        files.join(", "),
        if files.len() == 1 { "it" } else { "them" },
        if files.len() == 1 { "it" } else { "them" },
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script(writes: &[&str]) -> ShellStart {
        ShellStart {
            text: "app | tee …".into(),
            programs: vec!["app".into(), "tee".into()],
            writes: writes.iter().map(|w| w.to_string()).collect(),
        }
    }

    #[test]
    fn a_go_or_cargo_build_is_two_words_side_by_side() {
        for yes in [
            "CGO_ENABLED=0 go build -o /app .",
            "/usr/local/go/bin/go install ./...",
            "\"go\" 'build' .",
            "go \\\n    build ./cmd/x",
            "cargo build --release --target x86_64-unknown-linux-musl",
        ] {
            assert!(names_go_build(yes), "{yes}");
        }
        for no in [
            "apt-get install -y golang",
            "curl https://storage.googleapis.com/x && make install",
            "gobuild",
            "go mod download && build.sh",
        ] {
            assert!(!names_go_build(no), "{no}");
        }
    }

    #[test]
    fn only_a_stage_with_a_go_or_cargo_build_is_scanned_for_a_binary() {
        let scanned = |src: &str| {
            let doc = Dockerfile::parse(src).expect("a valid Dockerfile");
            might_build_static_binary(&doc, 0, doc.instructions.len())
        };
        assert!(scanned("FROM alpine\nRUN go build -o /app .\n"));
        assert!(scanned("FROM alpine\nRUN [\"go\", \"build\", \"-o\", \"/app\"]\n"));
        assert!(scanned("FROM alpine\nRUN <<EOF\ngo install ./...\nEOF\n"));
        assert!(!scanned("FROM alpine\nRUN apt-get install -y golang && echo google\n"));
        // ONBUILD RUN is not a RUN of this stage: the facts do not read it.
        assert!(!scanned("FROM alpine\nONBUILD RUN go build -o /app .\n"));
    }

    #[test]
    fn written_files_are_created_for_the_user_the_runtime_stage_makes() {
        let mut setup = Some("RUN useradd app".to_string());
        let mut notes = Vec::new();
        let s = script(&["/var/log/app/a.log", "out.log", "/tmp/x.log"]);
        let r = writable_for_runtime_user(
            &s,
            ("/srv", true),
            Some("10001:10001"),
            &mut setup,
            &mut notes,
        );
        assert_eq!(r, Ok(()));
        assert_eq!(
            setup.as_deref(),
            Some("RUN useradd app && mkdir -p /var/log/app /srv && touch /var/log/app/a.log /srv/out.log && chown 10001:10001 /var/log/app/a.log /srv/out.log")
        );
        assert_eq!(notes.len(), 1);
        // Root writes anywhere; the build's own user is refused; odd names are refused.
        let mut none = None;
        assert_eq!(
            writable_for_runtime_user(&s, ("/srv", true), None, &mut none, &mut notes),
            Ok(())
        );
        assert!(
            writable_for_runtime_user(&s, ("/srv", true), Some("1000"), &mut none, &mut notes)
                .is_err_and(|e| e.contains("the build's doing"))
        );
        let odd = script(&["/var/log/my app.log"]);
        assert!(writable_for_runtime_user(
            &odd,
            ("/", true),
            Some("10001:10001"),
            &mut setup,
            &mut notes
        )
        .is_err());
        // Outside Debian, /tmp is not assumed writable.
        let mut setup = Some("RUN adduser -S app".to_string());
        let tmp = script(&["/tmp/x.log"]);
        assert_eq!(
            writable_for_runtime_user(&tmp, ("/", false), Some("10001:10001"), &mut setup, &mut notes),
            Ok(())
        );
        assert!(setup.is_some_and(|s| s.ends_with("touch /tmp/x.log && chown 10001:10001 /tmp/x.log")));
    }

    #[test]
    fn image_programs_by_name_or_system_path() {
        let choice = Choice {
            image: "debian:13-slim".into(),
            family: FinalImage::Slim,
            interpreter_entrypoint: false,
            has_shell: true,
            nonroot: false,
            note: None,
            python: None,
            programs: vec!["tee".into(), "bash".into()],
        };
        assert!(image_has(&choice, "tee"));
        assert!(image_has(&choice, "/usr/bin/tee"));
        assert!(image_has(&choice, "sh"));
        assert!(!image_has(&choice, "/opt/tools/tee"));
        assert!(!image_has(&choice, "jq"));
    }
}
