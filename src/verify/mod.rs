//! `dfopt verify`: prove a rewrite by building both images.
//!
//! For each Dockerfile, the rewrite `dfopt fix` would make (same flags) is computed in process;
//! the original and the rewritten text are written to temporary files and built with the local
//! Docker engine in the file's build context. The two images are then compared side by side
//! (size, layer count, final base, shell present, user) and, when asked, smoke-tested: an HTTP
//! probe (`--probe http://:PORT/PATH`: same status and body) or a command (`--run 'ARGS'`: same
//! exit code and standard output).
//!
//! The engine is driven through its CLI (`/usr/bin/docker`, or `$DFOPT_DOCKER`); every image and
//! container made here has a unique name (`dfopt-verify-<pid>-<n>:before/after`) and is removed
//! at the end. Exit codes: 0 both build and the smoke test agrees, 1 they differ, 2 errors
//! (including "no Docker engine").

mod docker;
mod http;
mod render;
mod smoke;

pub use docker::{docker_bin, DEFAULT_DOCKER};
pub use http::parse_http_response;
pub use render::{render_json, render_table};
pub use smoke::{answers_agree, parse_probe, shell_join, split_words, SmokeSpec};

use crate::config::Settings;
use crate::diagnostic::Diagnostic;
use crate::display_path::display_path;
use crate::engine;
use crate::exit::{EXIT_ERROR, EXIT_FINDINGS, EXIT_OK};
use crate::passes::Registry;
use crate::rule_args::RuleArgs;
use crate::syntax::Dockerfile;
use clap::Args;
use docker::{facts_from_inspect, Cleanup, Docker};
use serde::Serialize;
use smoke::{run_smoke, smoke_spec};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Args, Debug, Default, Clone)]
pub struct VerifyArgs {
    /// Dockerfiles to verify.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// The rules, as for `dfopt fix`.
    #[command(flatten)]
    pub rules: RuleArgs,
    /// Build context (default: the Dockerfile's folder).
    #[arg(long, value_name = "DIR")]
    pub context: Option<PathBuf>,
    /// Smoke test: run both images with the port published on 127.0.0.1 and compare the HTTP
    /// status and body of GET PATH, e.g. `http://:3000/`.
    #[arg(long, value_name = "http://:PORT/PATH", conflicts_with = "run")]
    pub probe: Option<String>,
    /// Smoke test: `docker run --rm IMAGE ARGS` on both and compare exit code and stdout.
    #[arg(long, value_name = "ARGS", allow_hyphen_values = true)]
    pub run: Option<String>,
    /// Seconds to wait for a smoke test to answer.
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    pub timeout: u64,
    /// Accepted for compatibility: `# syntax=` directives are removed unless
    /// `--allow-remote-syntax`.
    #[arg(long, hide = true)]
    pub strip_syntax: bool,
    /// Keep `# syntax=` directives: BuildKit then pulls and runs that frontend image (remote code
    /// chosen by the Dockerfile). Off by default: the directives are removed, with a note.
    #[arg(long)]
    pub allow_remote_syntax: bool,
    /// Network for `docker build` and for `--run` containers (`docker build --network`): `none`
    /// by default, so that an untrusted Dockerfile's RUN steps reach no network. Builds that
    /// download packages need `--network default`.
    #[arg(long, default_value = "none", value_name = "MODE")]
    pub network: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Keep the images built (tags are printed).
    #[arg(long)]
    pub keep: bool,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Format {
    #[default]
    Table,
    Json,
}

// ---------------------------------------------------------------------------------------------
// Report types (what gets rendered)

/// What one built image looks like.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ImageFacts {
    pub tag: String,
    pub size_bytes: u64,
    pub layers: usize,
    /// The final stage's base image, following stage aliases (`FROM build AS run`).
    pub base: String,
    /// Whether `/bin/sh` can be executed in the image; `None` when that could not be told.
    pub shell: Option<bool>,
    /// `Config.User`, or `root` when empty.
    pub user: String,
    pub build_seconds: f64,
}

/// One side of a smoke test.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Answer {
    /// HTTP status (probe) or exit code (run); `None` when nothing answered.
    pub code: Option<i32>,
    /// Body (probe) or standard output (run), lossily decoded.
    pub output: String,
    /// Why there is no answer (timeout, container exited, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Answer {
    /// No answer, and why.
    pub fn failed(why: String) -> Answer {
        Answer {
            code: None,
            output: String::new(),
            error: Some(why),
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Smoke {
    /// `probe` or `run`.
    pub kind: &'static str,
    /// `GET :3000/` or the run arguments.
    pub what: String,
    pub before: Answer,
    pub after: Answer,
    pub same: bool,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Both built and the smoke test (if any) agreed.
    Same,
    /// The rewrite did not build, or answered differently.
    Differ,
    /// The original could not be built or verify could not run.
    Error,
}

#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    pub path: String,
    pub changed: bool,
    /// Rule ids of the fixes applied.
    pub applied: Vec<String>,
    pub before: Option<ImageFacts>,
    pub after: Option<ImageFacts>,
    pub smoke: Option<Smoke>,
    pub verdict: Verdict,
    /// What went wrong (build log tail, parse error, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What verify changed about the build (a `# syntax=` directive removed, ...); on stderr.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

// ---------------------------------------------------------------------------------------------
// Facts from the Dockerfile (the image facts come from docker.rs)

/// The base image of the final stage, following stage aliases.
pub fn final_base(doc: &Dockerfile) -> String {
    let analysis = crate::analysis::Analysis::new(doc);
    let mut idx = match analysis.stages.len().checked_sub(1) {
        Some(i) => i,
        None => return String::new(),
    };
    for _ in 0..analysis.stages.len() {
        match analysis.stages.get(idx).and_then(|s| s.parent) {
            Some(p) if p < idx => idx = p,
            _ => break,
        }
    }
    analysis
        .stages
        .get(idx)
        .map(|s| s.base.clone())
        .unwrap_or_default()
}

/// Removes `# syntax=` parser directives (they make BuildKit fetch a frontend image).
pub fn strip_syntax_directives(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_directives = true;
    for line in text.split_inclusive('\n') {
        if in_directives {
            let t = line.trim();
            if let Some(rest) = t.strip_prefix('#') {
                let rest = rest.trim_start();
                let key = rest.split('=').next().unwrap_or("").trim();
                if rest.contains('=') && key.eq_ignore_ascii_case("syntax") {
                    continue;
                }
                if rest.contains('=') && !key.contains(' ') {
                    out.push_str(line);
                    continue;
                }
            }
            in_directives = false;
        }
        out.push_str(line);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Running one file

struct Progress {
    on: bool,
}

impl Progress {
    fn say(&self, msg: &str) {
        if self.on {
            eprintln!("dfopt verify: {msg}");
        }
    }
}

/// Settings and rules for one Dockerfile: its nearest `dfopt.toml` plus the command line.
fn rules_for(
    path: &Path,
    overrides: &crate::config::Overrides,
) -> Result<(Settings, Registry), String> {
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let config = abs.parent().and_then(crate::config::find_config);
    let resolved =
        crate::config::resolve(config.as_deref(), overrides).map_err(|e| e.to_string())?;
    let settings = resolved.settings_for(&abs).into_owned();
    let registry = Registry::new(&settings)?;
    Ok((settings, registry))
}

fn error_report(path: String, msg: String) -> FileReport {
    FileReport {
        path,
        changed: false,
        applied: Vec::new(),
        before: None,
        after: None,
        smoke: None,
        verdict: Verdict::Error,
        error: Some(msg),
        notes: Vec::new(),
    }
}

#[allow(clippy::too_many_arguments)]
fn verify_file(
    docker: &Docker,
    path: &Path,
    n: usize,
    args: &VerifyArgs,
    smoke: Option<&SmokeSpec>,
    registry: &Registry,
    settings: &Settings,
    progress: &Progress,
) -> FileReport {
    let shown = display_path(path);
    let text = match std::fs::read(path) {
        Ok(b) => match crate::write::decode(b) {
            Ok(t) => t,
            Err(e) => {
                return error_report(
                    shown.clone(),
                    format!("{shown}:{}:{}: {}", e.line, e.col, e.message),
                )
            }
        },
        Err(e) => {
            return error_report(
                shown.clone(),
                format!("{shown}: {}", crate::discover::io_message(&e)),
            )
        }
    };
    let outcome = match engine::fix_source(&text, registry, settings, Some(path)) {
        Ok(o) => o,
        Err(e) => return error_report(shown.clone(), e.diagnostic(&shown).to_string()),
    };
    let context = match &args.context {
        Some(c) => c.clone(),
        None => match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        },
    };
    if !context.is_dir() {
        return error_report(
            shown,
            format!("build context {} is not a folder", context.display()),
        );
    }
    let mut report = FileReport {
        path: shown.clone(),
        changed: outcome.changed(),
        applied: outcome.applied.iter().map(|s| s.to_string()).collect(),
        before: None,
        after: None,
        smoke: None,
        verdict: Verdict::Error,
        error: None,
        notes: Vec::new(),
    };
    let tmp = match tempfile::Builder::new().prefix("dfopt-verify-").tempdir() {
        Ok(t) => t,
        Err(e) => {
            report.error = Some(format!("cannot make a temporary folder: {e}"));
            return report;
        }
    };
    let mut cleanup = Cleanup {
        docker,
        containers: Vec::new(),
        images: Vec::new(),
        keep_images: args.keep,
    };
    let base_tag = format!("dfopt-verify-{}-{n}", std::process::id());
    let sides = [("before", &outcome.original), ("after", &outcome.fixed)];
    let mut facts: Vec<Option<ImageFacts>> = Vec::new();
    for (side, source) in sides {
        let tag = format!("{base_tag}:{side}");
        let body = if args.allow_remote_syntax {
            source.to_string()
        } else {
            let stripped = strip_syntax_directives(source);
            if stripped != *source && side == "before" {
                report.notes.push(
                    "`# syntax=` directive removed: remote BuildKit frontends are off \
                     (--allow-remote-syntax keeps it)"
                        .into(),
                );
            }
            stripped
        };
        let file = tmp.path().join(format!("Dockerfile.{side}"));
        if let Err(e) = std::fs::write(&file, &body) {
            report.error = Some(format!("cannot write {}: {e}", file.display()));
            return report;
        }
        progress.say(&format!("{shown}: building {side} ({tag}) ..."));
        let t0 = Instant::now();
        let built = docker.build(&tag, &file, &context);
        let secs = t0.elapsed().as_secs_f64();
        if let Err(log) = built {
            // a partial build may still have tagged nothing; remove the tag if it exists
            cleanup.images.push(tag.clone());
            progress.say(&format!("{shown}: {side} build FAILED after {secs:.1}s"));
            if side == "before" {
                report.error = Some(format!("the original does not build:\n{log}"));
                return report;
            }
            report.error = Some(format!("the rewrite does not build:\n{log}"));
            report.verdict = Verdict::Differ;
            report.before = facts.first().cloned().flatten();
            return report;
        }
        cleanup.images.push(tag.clone());
        progress.say(&format!("{shown}: built {side} in {secs:.1}s"));
        let inspect = match docker.inspect(&tag) {
            Ok(v) => v,
            Err(e) => {
                report.error = Some(e);
                return report;
            }
        };
        let (size_bytes, layers, user) = facts_from_inspect(&inspect);
        let base = Dockerfile::parse(source)
            .map(|d| final_base(&d))
            .unwrap_or_default();
        let shell = docker.has_shell(&tag);
        facts.push(Some(ImageFacts {
            tag,
            size_bytes,
            layers,
            base,
            shell,
            user,
            build_seconds: (secs * 10.0).round() / 10.0,
        }));
    }
    report.before = facts.first().cloned().flatten();
    report.after = facts.get(1).cloned().flatten();
    report.verdict = Verdict::Same;
    if let Some(spec) = smoke {
        let s = run_smoke(
            docker,
            spec,
            &base_tag,
            args.timeout,
            &mut cleanup,
            progress,
            &shown,
        );
        if !s.same {
            report.verdict = Verdict::Differ;
        }
        report.smoke = Some(s);
    }
    if args.keep {
        progress.say(&format!("{shown}: kept {base_tag}:before and :after"));
    }
    drop(cleanup);
    report
}

/// 2 when any file errored, else 1 when any differs, else 0.
pub fn exit_code(reports: &[FileReport]) -> i32 {
    if reports.iter().any(|r| r.verdict == Verdict::Error) {
        EXIT_ERROR
    } else if reports.iter().any(|r| r.verdict == Verdict::Differ) {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    }
}

// ---------------------------------------------------------------------------------------------
// Entry point

/// `dfopt verify`: returns the exit code.
pub fn run(args: &VerifyArgs, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    run_with(&docker_bin(), args, out, err)
}

/// `dfopt verify` with an explicit docker client (tests use this instead of `DFOPT_DOCKER`).
pub fn run_with(docker: &Path, args: &VerifyArgs, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let smoke = match smoke_spec(args) {
        Ok(s) => s,
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            return EXIT_ERROR;
        }
    };
    if args.paths.is_empty() {
        let _ = writeln!(err, "error: no Dockerfile given");
        return EXIT_ERROR;
    }
    if let Some(c) = &args.context {
        if !c.is_dir() {
            let _ = writeln!(
                err,
                "error: --context {} is not a folder",
                c.to_string_lossy()
            );
            return EXIT_ERROR;
        }
    }
    for p in &args.paths {
        if !p.is_file() {
            let why = if p.is_dir() {
                "is a directory (give the Dockerfile's path)"
            } else {
                "no such file"
            };
            let _ = writeln!(err, "{}", Diagnostic::whole_file(display_path(p), why));
            return EXIT_ERROR;
        }
    }
    let overrides = args.rules.overrides(false);
    let registry = match Registry::new(&Settings::default()) {
        Ok(r) => r,
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            return EXIT_ERROR;
        }
    };
    for id in args
        .rules
        .select
        .iter()
        .flatten()
        .chain(args.rules.ignore.iter())
        .filter(|id| !id.eq_ignore_ascii_case("all"))
    {
        if registry.get(id).is_none() {
            let _ = writeln!(err, "error: unknown rule `{id}` (see `dfopt rules`)");
            return EXIT_ERROR;
        }
    }
    let docker = Docker {
        bin: docker.to_path_buf(),
        build_network: args.network.clone(),
    };
    let progress = Progress {
        on: std::io::stderr().is_terminal(),
    };
    match docker.check_engine() {
        Ok(v) => progress.say(&format!("Docker engine {v} ({})", docker.bin.display())),
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            return EXIT_ERROR;
        }
    }
    let mut reports = Vec::new();
    for (n, p) in args.paths.iter().enumerate() {
        let (settings, registry) = match rules_for(p, &overrides) {
            Ok(x) => x,
            Err(e) => {
                let _ = writeln!(err, "{e}");
                return EXIT_ERROR;
            }
        };
        let r = verify_file(
            &docker,
            p,
            n,
            args,
            smoke.as_ref(),
            &registry,
            &settings,
            &progress,
        );
        if args.format == Format::Table {
            let _ = write!(out, "{}", render_table(&r));
            if n + 1 < args.paths.len() {
                let _ = writeln!(out);
            }
            let _ = out.flush();
        }
        for note in &r.notes {
            let _ = writeln!(err, "{}: note: {note}", r.path);
        }
        if r.verdict == Verdict::Error {
            if let Some(e) = &r.error {
                let first = e.lines().next().unwrap_or("");
                let _ = writeln!(err, "error: {}: {first}", r.path);
            }
        }
        reports.push(r);
    }
    if args.format == Format::Json {
        let _ = writeln!(out, "{}", render_json(&reports));
    }
    exit_code(&reports)
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verify_uses_the_dfopt_toml_that_governs_the_file() {
        let d = tempfile::tempdir().expect("tmp");
        std::fs::write(
            d.path().join("dfopt.toml"),
            "ignore = [\"chain-runs\"]\nfinal = \"alpine\"\n",
        )
        .expect("w");
        std::fs::write(
            d.path().join("Dockerfile"),
            "FROM a\nRUN echo 1\nRUN echo 2\n",
        )
        .expect("w");
        let args = VerifyArgs {
            rules: RuleArgs {
                final_image: Some(crate::rule_args::FinalArg::Slim),
                ..Default::default()
            },
            ..Default::default()
        };
        let (settings, _) =
            rules_for(&d.path().join("Dockerfile"), &args.rules.overrides(false)).expect("rules");
        assert!(
            settings.ignore.iter().any(|r| r == "chain-runs"),
            "config applies"
        );
        assert_eq!(
            settings.final_image,
            crate::config::FinalImage::Slim,
            "the command line overrides the config"
        );
    }

    #[test]
    fn final_bases() {
        let d = |s: &str| Dockerfile::parse(s).unwrap();
        assert_eq!(final_base(&d("FROM node:18\nRUN x\n")), "node:18");
        assert_eq!(
            final_base(&d("FROM node:18 AS build\nRUN x\nFROM gcr.io/distroless/nodejs18-debian12\nCOPY --from=build /a /a\n")),
            "gcr.io/distroless/nodejs18-debian12"
        );
        assert_eq!(
            final_base(&d(
                "FROM --platform=$BUILDPLATFORM debian:12 AS base\nFROM base AS run\nFROM run\n"
            )),
            "debian:12"
        );
        assert_eq!(final_base(&d("ARG X=1\n")), "");
    }

    #[test]
    fn syntax_directives() {
        assert_eq!(
            strip_syntax_directives(
                "# syntax=docker/dockerfile:1\n# escape=\\\nFROM x\n# syntax=kept\n"
            ),
            "# escape=\\\nFROM x\n# syntax=kept\n"
        );
        assert_eq!(strip_syntax_directives("#SYNTAX = a\nFROM x"), "FROM x");
        assert_eq!(
            strip_syntax_directives("# a comment\n# syntax=x\nFROM y\n"),
            "# a comment\n# syntax=x\nFROM y\n"
        );
        assert_eq!(strip_syntax_directives(""), "");
    }

    #[test]
    fn no_engine_exits_2_with_a_clear_message() {
        let dir = tempfile::tempdir().unwrap();
        let df = dir.path().join("Dockerfile");
        std::fs::write(&df, "FROM debian:12\nRUN a\nRUN b\n").unwrap();
        let args = VerifyArgs {
            paths: vec![df],
            ..Default::default()
        };
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = run_with(Path::new("/nonexistent/docker"), &args, &mut out, &mut err);
        let err = String::from_utf8(err).unwrap();
        assert_eq!(code, 2);
        assert!(err.starts_with("error: no Docker engine: "), "{err}");
        assert!(err.contains("tests/lab/start-docker.sh"), "{err}");
        assert!(out.is_empty());
        // a client that runs but reaches no engine (`false` exits 1 with no output)
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = run_with(Path::new("/bin/false"), &args, &mut out, &mut err);
        assert_eq!(code, 2);
        assert!(String::from_utf8(err)
            .unwrap()
            .starts_with("error: no Docker engine: "));
    }

    #[test]
    fn argument_errors_exit_2_before_docker() {
        let dir = tempfile::tempdir().unwrap();
        let df = dir.path().join("Dockerfile");
        std::fs::write(&df, "FROM debian:12\n").unwrap();
        let base = VerifyArgs {
            paths: vec![df.clone()],
            ..Default::default()
        };
        let cases: Vec<(VerifyArgs, &str)> = vec![
            (
                VerifyArgs {
                    probe: Some("http://x:1/".into()),
                    ..base.clone()
                },
                "invalid --probe",
            ),
            (
                VerifyArgs {
                    paths: vec![dir.path().join("missing")],
                    ..base.clone()
                },
                "no such file",
            ),
            (
                VerifyArgs {
                    paths: vec![dir.path().to_path_buf()],
                    ..base.clone()
                },
                "is a directory",
            ),
            (
                VerifyArgs {
                    rules: RuleArgs {
                        select: Some(vec!["nope".into()]),
                        ..Default::default()
                    },
                    ..base.clone()
                },
                "unknown rule `nope`",
            ),
            (
                VerifyArgs {
                    context: Some(dir.path().join("nope")),
                    ..base.clone()
                },
                "is not a folder",
            ),
        ];
        for (args, msg) in cases {
            let (mut out, mut err) = (Vec::new(), Vec::new());
            let code = run_with(Path::new("/nonexistent/docker"), &args, &mut out, &mut err);
            let err = String::from_utf8(err).unwrap();
            assert_eq!(code, 2, "{msg}");
            assert!(err.contains(msg), "{msg}: {err}");
        }
    }
}
