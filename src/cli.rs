//! The command line, kept thin: argument parsing and rendering over the library.

use crate::config::{FinalImage, OperatorPosition, Settings};
use crate::discover::{discover, Input, WalkOptions};
use crate::engine::{self, FileError};
use crate::passes::{rule_doc, Registry};
use crate::syntax::{Dockerfile, Form};
use clap::{Args, Parser, Subcommand};
use rayon::prelude::*;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

#[derive(Parser, Debug)]
#[command(
    name = "dfopt",
    version,
    about = "Rewrites Dockerfiles into smaller, safer images; shows the change as a unified diff."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Print the fixes as a unified diff (dry run), or apply them with --write.
    Fix(FixArgs),
    /// List findings as PATH:LINE:COL: RULE message.
    Check(CommonArgs),
    /// List every rule with its fix safety and whether it runs by default.
    Rules,
    /// Print a rule's documentation.
    Explain {
        /// The rule id, e.g. chain-runs.
        rule: String,
    },
    /// Build the original and the rewritten Dockerfile with the local Docker engine and compare.
    Verify(crate::verify::VerifyArgs),
    /// Print dfopt's parse of each file as one JSON line (for the BuildKit agreement check).
    #[command(hide = true)]
    Parse { paths: Vec<PathBuf> },
}

#[derive(Args, Debug, Default)]
pub struct CommonArgs {
    /// Files or folders (walked recursively, honouring .gitignore); `-` reads standard input.
    /// Default: the current folder.
    pub paths: Vec<PathBuf>,
    /// Also apply fixes that may change behaviour.
    #[arg(long)]
    pub unsafe_fixes: bool,
    /// Only these rules (comma-separated; ALL for every rule).
    #[arg(long, value_delimiter = ',')]
    pub select: Option<Vec<String>>,
    /// Skip these rules (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub ignore: Vec<String>,
    /// Final image family for multi-stage rewrites.
    #[arg(long = "final", value_enum)]
    pub final_image: Option<FinalArg>,
    /// Name shown for standard input.
    #[arg(long, default_value = "Dockerfile")]
    pub stdin_filename: String,
    /// Follow symbolic links while walking folders.
    #[arg(long)]
    pub follow_symlinks: bool,
    /// Skip paths matching this glob (repeatable).
    #[arg(long)]
    pub exclude: Vec<String>,
    /// Also take files whose name matches this glob (repeatable).
    #[arg(long)]
    pub include: Vec<String>,
    /// Print nothing but errors and the diff.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Args, Debug, Default)]
pub struct FixArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Apply the fixes in place (atomically). With `-`, the fixed text goes to standard output.
    #[arg(long, conflicts_with = "check")]
    pub write: bool,
    /// Write nothing; exit 1 if any file would change.
    #[arg(long)]
    pub check: bool,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum FinalArg {
    Distroless,
    Alpine,
    Slim,
}

/// Exit codes.
pub const EXIT_OK: i32 = 0;
pub const EXIT_FINDINGS: i32 = 1;
pub const EXIT_ERROR: i32 = 2;

/// Runs the CLI with process streams; returns the exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_ERROR } else { EXIT_OK };
            let _ = e.print();
            return code;
        }
    };
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut err = stderr.lock();
    let code = run(cli, &mut std::io::stdin(), &mut out, &mut err);
    let _ = out.flush();
    code
}

fn settings_from(c: &CommonArgs) -> Settings {
    Settings {
        select: c.select.clone(),
        ignore: c.ignore.clone(),
        unsafe_fixes: c.unsafe_fixes,
        final_image: match c.final_image {
            Some(FinalArg::Alpine) => FinalImage::Alpine,
            Some(FinalArg::Slim) => FinalImage::Slim,
            _ => FinalImage::Distroless,
        },
        operator_position: OperatorPosition::Auto,
        indent: None,
        transforms: Default::default(),
    }
}

/// Runs a parsed command line against the given streams.
pub fn run(cli: Cli, stdin: &mut dyn Read, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    match cli.command {
        Command::Fix(args) => {
            let mode = if args.write {
                Mode::Write
            } else if args.check {
                Mode::CheckFix
            } else {
                Mode::Diff
            };
            process(&args.common, mode, stdin, out, err)
        }
        Command::Check(common) => process(&common, Mode::Report, stdin, out, err),
        Command::Rules => {
            let settings = Settings::default();
            match Registry::new(&settings) {
                Ok(reg) => {
                    for r in &reg.rules {
                        let safety = r.fix_safety().map(|s| s.as_str()).unwrap_or("no fix");
                        let on = if r.default_enabled() { "on" } else { "off" };
                        let _ = writeln!(
                            out,
                            "{:<22} {:<7} {:<4} {}",
                            r.id(),
                            safety,
                            on,
                            r.summary()
                        );
                    }
                    EXIT_OK
                }
                Err(e) => {
                    let _ = writeln!(err, "error: {e}");
                    EXIT_ERROR
                }
            }
        }
        Command::Explain { rule } => match rule_doc(&rule) {
            Some(doc) => {
                let _ = writeln!(out, "{doc}");
                EXIT_OK
            }
            None => {
                let _ = writeln!(err, "error: no rule named `{rule}` (see `dfopt rules`)");
                EXIT_ERROR
            }
        },
        Command::Verify(args) => crate::verify::run(&args, out, err),
        Command::Parse { paths } => {
            for p in paths {
                let rec = parse_record(&p);
                let _ = writeln!(out, "{rec}");
            }
            EXIT_OK
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Diff,
    Write,
    CheckFix,
    Report,
}

/// What processing one file produced, rendered in path order afterwards.
#[derive(Default)]
struct Report {
    stdout: String,
    stderr: String,
    changed: bool,
    error: bool,
    findings: usize,
}

/// `path` relative to the current folder, with `/` separators, for headers and messages.
pub fn display_path(path: &Path) -> String {
    let cwd = std::env::current_dir().ok();
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let rel = cwd
        .as_deref()
        .and_then(|c| relative(&abs, c))
        .unwrap_or(abs);
    let s = rel.to_string_lossy().replace('\\', "/");
    s.strip_prefix("./").map(str::to_string).unwrap_or(s)
}

fn relative(path: &Path, base: &Path) -> Option<PathBuf> {
    use std::path::Component;
    let p: Vec<Component> = path
        .components()
        .filter(|c| !matches!(c, Component::CurDir))
        .collect();
    let b: Vec<Component> = base.components().collect();
    let common = p.iter().zip(b.iter()).take_while(|(a, b)| a == b).count();
    if common == 0 {
        return None;
    }
    let mut out = PathBuf::new();
    for _ in common..b.len() {
        out.push("..");
    }
    for c in &p[common..] {
        out.push(c.as_os_str());
    }
    Some(out)
}

fn process(
    common: &CommonArgs,
    mode: Mode,
    stdin: &mut dyn Read,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let settings = settings_from(common);
    let registry = match Registry::new(&settings) {
        Ok(r) => r,
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            return EXIT_ERROR;
        }
    };
    if let Some(sel) = &settings.select {
        for id in sel.iter().chain(settings.ignore.iter()) {
            if !id.eq_ignore_ascii_case("all") && registry.get(id).is_none() {
                let _ = writeln!(err, "error: unknown rule `{id}` (see `dfopt rules`)");
                return EXIT_ERROR;
            }
        }
    }
    let paths = if common.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        common.paths.clone()
    };
    let walk = WalkOptions {
        follow_symlinks: common.follow_symlinks,
        include: common.include.clone(),
        exclude: common.exclude.clone(),
    };
    let inputs = discover(&paths, &walk);
    let (mut files, mut changed, mut errors, mut findings) = (0usize, 0usize, 0usize, 0usize);
    for chunk in inputs.chunks(512) {
        let reports: Vec<Report> = chunk
            .par_iter()
            .map(|input| match input {
                Input::Stdin => Report::default(), // handled below, in order
                Input::File(p) => process_file(p, None, mode, &registry, &settings),
                Input::Error(p, msg) => Report {
                    stderr: format!("{}:1:1: error: {msg}\n", display_path(p)),
                    error: true,
                    ..Default::default()
                },
            })
            .collect();
        for (input, mut rep) in chunk.iter().zip(reports) {
            if matches!(input, Input::Stdin) {
                let mut buf = Vec::new();
                rep = match stdin.read_to_end(&mut buf) {
                    Ok(_) => process_bytes(
                        &common.stdin_filename,
                        None,
                        buf,
                        mode,
                        &registry,
                        &settings,
                        true,
                    ),
                    Err(e) => Report {
                        stderr: format!("-:1:1: error: cannot read standard input: {e}\n"),
                        error: true,
                        ..Default::default()
                    },
                };
            }
            files += 1;
            changed += rep.changed as usize;
            errors += rep.error as usize;
            findings += rep.findings;
            let _ = out.write_all(rep.stdout.as_bytes());
            let _ = err.write_all(rep.stderr.as_bytes());
        }
    }
    if !common.quiet && files > 1 {
        let verb = match mode {
            Mode::Write => "fixed",
            Mode::Report => "with findings",
            _ => "would change",
        };
        let n = if mode == Mode::Report {
            findings
        } else {
            changed
        };
        let _ = writeln!(
            err,
            "dfopt: {files} files, {n} {verb}, {errors} with errors"
        );
    }
    if errors > 0 {
        EXIT_ERROR
    } else if (mode == Mode::CheckFix && changed > 0) || (mode == Mode::Report && findings > 0) {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    }
}

fn process_file(
    path: &Path,
    _: Option<()>,
    mode: Mode,
    registry: &Registry,
    settings: &Settings,
) -> Report {
    let shown = display_path(path);
    match std::fs::read(path) {
        Ok(bytes) => process_bytes(&shown, Some(path), bytes, mode, registry, settings, false),
        Err(e) => {
            let msg = if path.is_dir() {
                "is a directory".to_string()
            } else {
                crate::discover::io_message(&e)
            };
            Report {
                stderr: format!("{shown}:1:1: error: {msg}\n"),
                error: true,
                ..Default::default()
            }
        }
    }
}

fn process_bytes(
    shown: &str,
    path: Option<&Path>,
    bytes: Vec<u8>,
    mode: Mode,
    registry: &Registry,
    settings: &Settings,
    is_stdin: bool,
) -> Report {
    let mut rep = Report::default();
    let text = match crate::write::decode(bytes) {
        Ok(t) => t,
        Err(e) => {
            rep.stderr = format!("{shown}:{}:{}: error: {}\n", e.line, e.col, e.message);
            rep.error = true;
            return rep;
        }
    };
    let file_error = |rep: &mut Report, e: FileError| {
        rep.stderr.push_str(&format!("{shown}:{e}\n"));
        rep.error = true;
    };
    if mode == Mode::Report {
        match engine::check_source(&text, registry, settings, path) {
            Ok((doc, found)) => {
                for f in &found {
                    let (line, col) = doc.line_col(f.span.start);
                    let hint = match &f.fix {
                        Some(fx) if fx.safety == crate::Safety::Safe => " [fix]",
                        Some(_) => " [unsafe fix]",
                        None => "",
                    };
                    rep.stdout.push_str(&format!(
                        "{shown}:{line}:{col}: {} {}{hint}\n",
                        f.rule, f.message
                    ));
                }
                rep.findings = found.len();
            }
            Err(e) => file_error(&mut rep, e),
        }
        return rep;
    }
    let outcome = match engine::fix_source(&text, registry, settings, path) {
        Ok(o) => o,
        Err(e) => {
            file_error(&mut rep, e);
            if is_stdin && mode == Mode::Write {
                rep.stdout = text; // never lose the input
            }
            return rep;
        }
    };
    rep.changed = outcome.changed();
    match mode {
        Mode::Diff => rep.stdout = crate::diff::unified(shown, &outcome.original, &outcome.fixed),
        Mode::CheckFix => {
            if rep.changed {
                rep.stdout = format!(
                    "{shown}: would apply {} fix(es): {}\n",
                    outcome.applied.len(),
                    summarize(&outcome.applied)
                );
            }
        }
        Mode::Write => {
            if is_stdin {
                rep.stdout = outcome.fixed.clone();
            } else if rep.changed {
                if let Some(p) = path {
                    match crate::write::write_atomic(p, &outcome.fixed) {
                        Ok(()) => {
                            rep.stderr =
                                format!("fixed {shown} ({})\n", summarize(&outcome.applied))
                        }
                        Err(e) => {
                            rep.stderr = format!("{shown}:1:1: error: {e}\n");
                            rep.error = true;
                        }
                    }
                }
            }
        }
        Mode::Report => {}
    }
    rep
}

/// `chain-runs ×2, apt-clean` style summary of applied fixes.
fn summarize(applied: &[&str]) -> String {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for r in applied {
        match counts.iter_mut().find(|(n, _)| n == r) {
            Some((_, c)) => *c += 1,
            None => counts.push((r, 1)),
        }
    }
    counts
        .iter()
        .map(|(r, c)| {
            if *c > 1 {
                format!("{r} x{c}")
            } else {
                r.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// dfopt's view of a file in the shape of `buildkit-parse.py`'s records.
pub fn parse_record(path: &Path) -> String {
    let p = path.to_string_lossy().to_string();
    let text = match std::fs::read(path)
        .map_err(|e| e.to_string())
        .and_then(|b| crate::write::decode(b).map_err(|e| e.message))
    {
        Ok(t) => t,
        Err(e) => {
            return serde_json::json!({"path": p, "ok": false, "error": e, "instructions": []})
                .to_string()
        }
    };
    match Dockerfile::parse(&text) {
        Err(e) => {
            serde_json::json!({"path": p, "ok": false, "error": e.to_string(), "instructions": []})
                .to_string()
        }
        Ok(doc) => {
            let ins: Vec<_> = doc
                .instructions
                .iter()
                .map(|i| {
                    let eff = i.effective();
                    serde_json::json!({
                        "cmd": i.command.keyword.to_ascii_lowercase(),
                        "sub_cmd": i.trigger.as_ref().map(|t| t.keyword.clone()),
                        "json": matches!(eff.form, Form::Exec(_)),
                        "start_line": i.start_line,
                        "end_line": i.end_line,
                        "flags": i.command.flags.iter().map(|f| f.text.clone()).collect::<Vec<_>>(),
                        "heredocs": i.heredocs.iter().map(|h| h.name.clone()).collect::<Vec<_>>(),
                    })
                })
                .collect();
            serde_json::json!({"path": p, "ok": true, "error": null, "instructions": ins})
                .to_string()
        }
    }
}
