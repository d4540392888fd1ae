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

use crate::cli::{EXIT_ERROR, EXIT_FINDINGS, EXIT_OK};
use crate::config::Settings;
use crate::engine;
use crate::passes::Registry;
use crate::syntax::Dockerfile;
use clap::Args;
use serde::Serialize;
use std::io::{IsTerminal, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The docker client used when `DFOPT_DOCKER` is not set (Debian's docker.io 20.10 client).
pub const DEFAULT_DOCKER: &str = "/usr/bin/docker";

#[derive(Args, Debug, Default, Clone)]
pub struct VerifyArgs {
    /// Dockerfiles to verify.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// The rules, as for `dfopt fix`.
    #[command(flatten)]
    pub rules: crate::cli::RuleArgs,
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
    /// Remove `# syntax=` parser directives from both copies (no registry reachable).
    #[arg(long)]
    pub strip_syntax: bool,
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
}

// ---------------------------------------------------------------------------------------------
// Smoke test specs

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SmokeSpec {
    Probe { port: u16, path: String },
    Run { args: Vec<String> },
}

/// Parses `http://:PORT/PATH` (a host, when given, must be empty, `localhost` or `127.0.0.1`:
/// the container's port is published on loopback).
pub fn parse_probe(spec: &str) -> Result<SmokeSpec, String> {
    let bad = |why: &str| format!("invalid --probe `{spec}`: {why} (expected http://:PORT/PATH)");
    let rest = spec
        .strip_prefix("http://")
        .ok_or_else(|| bad("only http:// is supported"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (host, port) = authority.rsplit_once(':').ok_or_else(|| bad("no port"))?;
    if !matches!(host, "" | "localhost" | "127.0.0.1") {
        return Err(bad(
            "the host must be empty: the container is probed on 127.0.0.1",
        ));
    }
    let port: u16 = port.parse().map_err(|_| bad("the port is not a number"))?;
    if port == 0 {
        return Err(bad("port 0"));
    }
    if path.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("the path contains whitespace"));
    }
    Ok(SmokeSpec::Probe {
        port,
        path: path.to_string(),
    })
}

/// Splits `ARGS` the way a POSIX shell would split words (quotes and backslashes; no expansion).
pub fn split_words(s: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(ch) => cur.push(ch),
                        None => return Err("unterminated single quote".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(ch @ ('"' | '\\' | '$' | '`')) => cur.push(ch),
                            Some('\n') => {}
                            Some(ch) => {
                                cur.push('\\');
                                cur.push(ch);
                            }
                            None => return Err("unterminated double quote".into()),
                        },
                        Some(ch) => cur.push(ch),
                        None => return Err("unterminated double quote".into()),
                    }
                }
            }
            '\\' => match chars.next() {
                Some('\n') => {}
                Some(ch) => {
                    in_word = true;
                    cur.push(ch);
                }
                None => return Err("trailing backslash".into()),
            },
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

/// Joins words back into a command line a POSIX shell would split the same way.
pub fn shell_join(words: &[String]) -> String {
    words
        .iter()
        .map(|w| {
            let plain = !w.is_empty()
                && w.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
            if plain {
                w.clone()
            } else {
                format!("'{}'", w.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn smoke_spec(args: &VerifyArgs) -> Result<Option<SmokeSpec>, String> {
    match (&args.probe, &args.run) {
        (Some(_), Some(_)) => Err("--probe and --run cannot be used together".into()),
        (Some(p), None) => parse_probe(p).map(Some),
        (None, Some(r)) => {
            let words = split_words(r).map_err(|e| format!("invalid --run `{r}`: {e}"))?;
            Ok(Some(SmokeSpec::Run { args: words }))
        }
        (None, None) => Ok(None),
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP (a minimal client over TcpStream: one GET, HTTP/1.0, Connection: close)

/// Status and body of a raw HTTP response; `None` when it is not one (e.g. empty: the port is
/// published but nothing listens yet).
pub fn parse_http_response(raw: &[u8]) -> Option<(i32, Vec<u8>)> {
    let head_end = find(raw, b"\r\n\r\n")
        .map(|i| (i, i + 4))
        .or_else(|| find(raw, b"\n\n").map(|i| (i, i + 2)))?;
    let head = String::from_utf8_lossy(raw.get(..head_end.0)?);
    let mut lines = head.lines();
    let status_line = lines.next()?;
    let mut parts = status_line.split_whitespace();
    let proto = parts.next()?;
    if !proto.starts_with("HTTP/") {
        return None;
    }
    let status: i32 = parts.next()?.parse().ok()?;
    let chunked = lines.any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    let body = raw.get(head_end.1..).unwrap_or_default();
    let body = if chunked {
        dechunk(body).unwrap_or_else(|| body.to_vec())
    } else {
        body.to_vec()
    };
    Some((status, body))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn dechunk(mut body: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let eol = find(body, b"\r\n")?;
        let size_text = String::from_utf8_lossy(body.get(..eol)?).to_string();
        let size_text = size_text.split(';').next()?.trim().to_string();
        let size = usize::from_str_radix(&size_text, 16).ok()?;
        body = body.get(eol + 2..)?;
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(body.get(..size)?);
        body = body.get(size..)?;
        body = body.strip_prefix(b"\r\n").unwrap_or(body);
    }
}

fn http_get(port: u16, path: &str, timeout: Duration) -> Result<(i32, Vec<u8>), String> {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut s = TcpStream::connect_timeout(&addr, timeout).map_err(|e| e.to_string())?;
    let _ = s.set_read_timeout(Some(timeout));
    let _ = s.set_write_timeout(Some(timeout));
    let req = format!(
        "GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: dfopt-verify\r\nAccept: */*\r\nConnection: close\r\n\r\n"
    );
    s.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).map_err(|e| e.to_string())?;
    parse_http_response(&raw).ok_or_else(|| {
        if raw.is_empty() {
            "empty reply".to_string()
        } else {
            "not an HTTP response".to_string()
        }
    })
}

/// Two answers agree when both answered with the same code and output.
pub fn answers_agree(a: &Answer, b: &Answer) -> bool {
    a.code.is_some() && a.error.is_none() && b.error.is_none() && a == b
}

// ---------------------------------------------------------------------------------------------
// Docker

/// The docker client: `$DFOPT_DOCKER`, else /usr/bin/docker, else `docker` on PATH.
pub fn docker_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("DFOPT_DOCKER").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    if Path::new(DEFAULT_DOCKER).exists() {
        return PathBuf::from(DEFAULT_DOCKER);
    }
    PathBuf::from("docker")
}

struct Docker {
    bin: PathBuf,
}

/// Output of a finished command.
struct Out {
    code: Option<i32>,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

impl Out {
    fn ok(&self) -> bool {
        self.code == Some(0)
    }
    fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).trim().to_string()
    }
    fn stderr_tail(&self, n: usize) -> String {
        tail(&String::from_utf8_lossy(&self.stderr), n)
    }
}

fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

impl Docker {
    fn cmd(&self) -> Command {
        let mut c = Command::new(&self.bin);
        c.stdin(Stdio::null());
        c
    }

    fn run<I, S>(&self, args: I) -> Result<Out, String>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let out = self
            .cmd()
            .args(args)
            .output()
            .map_err(|e| format!("cannot run {}: {e}", self.bin.display()))?;
        Ok(Out {
            code: out.status.code(),
            stdout: out.stdout,
            stderr: out.stderr,
        })
    }

    /// `docker info`; the error explains why there is no engine.
    fn check_engine(&self) -> Result<String, String> {
        let out = self.run(["info"]).map_err(|e| {
            format!(
                "no Docker engine: {e} (start one with tests/lab/start-docker.sh, or set DFOPT_DOCKER)"
            )
        })?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let version = stdout
            .lines()
            .find_map(|l| l.trim().strip_prefix("Server Version:"))
            .map(|v| v.trim().to_string());
        match version {
            Some(v) if out.ok() && !v.is_empty() => Ok(v),
            _ => {
                // the 20.10 client prints "ERROR: Cannot connect ..." on stdout, newer ones on
                // stderr; either way keep the lines that say what is wrong
                let stderr = String::from_utf8_lossy(&out.stderr);
                let mut why: Vec<&str> = stdout
                    .lines()
                    .filter_map(|l| l.trim().strip_prefix("ERROR:"))
                    .map(str::trim)
                    .collect();
                why.extend(
                    stderr
                        .lines()
                        .map(str::trim)
                        .filter(|l| !l.is_empty() && !l.starts_with("errors pretty printing info")),
                );
                why.dedup();
                let why = if why.is_empty() {
                    format!("`{} info` failed", self.bin.display())
                } else {
                    why.join(" ")
                };
                Err(format!(
                    "no Docker engine: {why} (start one with tests/lab/start-docker.sh)"
                ))
            }
        }
    }

    fn build(&self, tag: &str, dockerfile: &Path, context: &Path) -> Result<(), String> {
        let out = self
            .cmd()
            .env(
                "DOCKER_BUILDKIT",
                std::env::var("DOCKER_BUILDKIT").unwrap_or("1".into()),
            )
            .args(["build", "--progress=plain", "-t", tag, "-f"])
            .arg(dockerfile)
            .arg(context)
            .output()
            .map_err(|e| format!("cannot run {}: {e}", self.bin.display()))?;
        if out.status.success() {
            Ok(())
        } else {
            let mut all = String::from_utf8_lossy(&out.stdout).to_string();
            all.push_str(&String::from_utf8_lossy(&out.stderr));
            Err(tail(&all, 15))
        }
    }

    fn inspect(&self, tag: &str) -> Result<serde_json::Value, String> {
        let out = self.run(["image", "inspect", "--format", "{{json .}}", tag])?;
        if !out.ok() {
            return Err(format!(
                "docker image inspect {tag}: {}",
                out.stderr_tail(3)
            ));
        }
        serde_json::from_slice(&out.stdout)
            .map_err(|e| format!("docker image inspect {tag}: bad JSON: {e}"))
    }

    /// Whether /bin/sh runs in the image: `docker run --rm --entrypoint /bin/sh IMG -c true`.
    /// Running it (rather than listing `docker export`) follows symlinks such as the merged-/usr
    /// `/bin -> usr/bin` and costs nothing for large images. Exit 126/127 is the runtime's
    /// "not found / cannot execute".
    fn has_shell(&self, tag: &str) -> Option<bool> {
        let out = self
            .run([
                "run",
                "--rm",
                "--network",
                "none",
                "--entrypoint",
                "/bin/sh",
                tag,
                "-c",
                "true",
            ])
            .ok()?;
        match out.code {
            Some(0) => Some(true),
            Some(126) | Some(127) => Some(false),
            _ => None,
        }
    }

    fn rm_container(&self, name: &str) {
        let _ = self.run(["rm", "-f", name]);
    }

    fn rm_image(&self, tag: &str) {
        let _ = self.run(["image", "rm", "-f", tag]);
    }
}

/// Removes what a verification made, whatever happens.
struct Cleanup<'d> {
    docker: &'d Docker,
    containers: Vec<String>,
    images: Vec<String>,
    keep_images: bool,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        for c in &self.containers {
            self.docker.rm_container(c);
        }
        if !self.keep_images {
            for i in &self.images {
                self.docker.rm_image(i);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Facts from the Dockerfile and the image

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

fn facts_from_inspect(v: &serde_json::Value) -> (u64, usize, String) {
    let size = v.get("Size").and_then(|s| s.as_u64()).unwrap_or(0);
    let layers = v
        .pointer("/RootFS/Layers")
        .and_then(|l| l.as_array())
        .map(|a| a.len())
        .unwrap_or(0);
    let user = v
        .pointer("/Config/User")
        .and_then(|u| u.as_str())
        .unwrap_or("")
        .to_string();
    let user = if user.is_empty() {
        "root".to_string()
    } else {
        user
    };
    (size, layers, user)
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
    let shown = crate::cli::display_path(path);
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
        Err(e) => return error_report(shown.clone(), format!("{shown}:{e}")),
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
        let body = if args.strip_syntax {
            strip_syntax_directives(source)
        } else {
            source.to_string()
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

fn run_smoke(
    docker: &Docker,
    spec: &SmokeSpec,
    base_tag: &str,
    timeout: u64,
    cleanup: &mut Cleanup,
    progress: &Progress,
    shown: &str,
) -> Smoke {
    let timeout = Duration::from_secs(timeout.max(1));
    let mut answers = Vec::new();
    for side in ["before", "after"] {
        let image = format!("{base_tag}:{side}");
        let name = format!("{}-{side}", base_tag.replace(':', "-"));
        progress.say(&format!("{shown}: smoke test on {side} ..."));
        let a = match spec {
            SmokeSpec::Probe { port, path } => {
                probe_one(docker, &image, &name, *port, path, timeout, cleanup)
            }
            SmokeSpec::Run { args } => run_one(docker, &image, &name, args, timeout, cleanup),
        };
        answers.push(a);
    }
    let after = answers.pop().unwrap_or_default();
    let before = answers.pop().unwrap_or_default();
    let same = answers_agree(&before, &after);
    let (kind, what) = match spec {
        SmokeSpec::Probe { port, path } => ("probe", format!("GET :{port}{path}")),
        SmokeSpec::Run { args } => ("run", shell_join(args)),
    };
    Smoke {
        kind,
        what,
        before,
        after,
        same,
    }
}

fn container_state(docker: &Docker, name: &str) -> Option<(bool, i32)> {
    let out = docker
        .run([
            "inspect",
            "--format",
            "{{.State.Running}} {{.State.ExitCode}}",
            name,
        ])
        .ok()?;
    let text = out.stdout_text();
    let mut it = text.split_whitespace();
    let running = it.next()? == "true";
    let code = it.next()?.parse().ok()?;
    Some((running, code))
}

fn logs_tail(docker: &Docker, name: &str) -> String {
    match docker.run(["logs", "--tail", "5", name]) {
        Ok(o) => {
            let mut t = String::from_utf8_lossy(&o.stdout).to_string();
            t.push_str(&String::from_utf8_lossy(&o.stderr));
            tail(&t, 5)
        }
        Err(_) => String::new(),
    }
}

fn probe_one(
    docker: &Docker,
    image: &str,
    name: &str,
    port: u16,
    path: &str,
    timeout: Duration,
    cleanup: &mut Cleanup,
) -> Answer {
    let fail = |e: String| Answer {
        code: None,
        output: String::new(),
        error: Some(e),
    };
    let publish = format!("127.0.0.1::{port}");
    let started = docker.run(["run", "-d", "--name", name, "-p", &publish, image]);
    cleanup.containers.push(name.to_string());
    match started {
        Ok(o) if o.ok() => {}
        Ok(o) => return fail(format!("docker run failed: {}", o.stderr_tail(3))),
        Err(e) => return fail(e),
    }
    let host_port = match docker.run(["port", name, &format!("{port}/tcp")]) {
        Ok(o) if o.ok() => o
            .stdout_text()
            .lines()
            .next()
            .and_then(|l| l.rsplit(':').next())
            .and_then(|p| p.trim().parse::<u16>().ok()),
        _ => None,
    };
    let Some(host_port) = host_port else {
        return fail(format!("no host port published for {port}/tcp"));
    };
    let deadline = Instant::now() + timeout;
    let mut last_err = String::from("no answer");
    let mut tries = 0u32;
    while Instant::now() < deadline {
        match http_get(host_port, path, Duration::from_secs(5)) {
            Ok((status, body)) => {
                docker.rm_container(name);
                return Answer {
                    code: Some(status),
                    output: String::from_utf8_lossy(&body).to_string(),
                    error: None,
                };
            }
            Err(e) => last_err = e,
        }
        tries += 1;
        if tries % 4 == 0 {
            if let Some((false, code)) = container_state(docker, name) {
                let logs = logs_tail(docker, name);
                docker.rm_container(name);
                return fail(format!("container exited with code {code}: {logs}"));
            }
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    let logs = logs_tail(docker, name);
    docker.rm_container(name);
    fail(format!(
        "no answer within {}s ({last_err}); logs: {logs}",
        timeout.as_secs()
    ))
}

fn run_one(
    docker: &Docker,
    image: &str,
    name: &str,
    args: &[String],
    timeout: Duration,
    cleanup: &mut Cleanup,
) -> Answer {
    let fail = |e: String| Answer {
        code: None,
        output: String::new(),
        error: Some(e),
    };
    cleanup.containers.push(name.to_string());
    let child = docker
        .cmd()
        .args(["run", "--rm", "--name", name, image])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => return fail(format!("cannot run {}: {e}", docker.bin.display())),
    };
    // read both pipes on threads so a chatty container cannot block on a full pipe
    let mut so = child.stdout.take();
    let mut se = child.stderr.take();
    let t_out = std::thread::spawn(move || {
        let mut b = Vec::new();
        if let Some(s) = so.as_mut() {
            let _ = s.read_to_end(&mut b);
        }
        b
    });
    let t_err = std::thread::spawn(move || {
        let mut b = Vec::new();
        if let Some(s) = se.as_mut() {
            let _ = s.read_to_end(&mut b);
        }
        b
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break Some(st),
            Ok(None) if Instant::now() >= deadline => {
                docker.rm_container(name);
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(100)),
            Err(_) => break None,
        }
    };
    let stdout = t_out.join().unwrap_or_default();
    let stderr = t_err.join().unwrap_or_default();
    match status {
        Some(st) => {
            let code = st.code();
            // 125: the docker client itself failed (not the container's code)
            if code == Some(125) {
                return fail(format!(
                    "docker run failed: {}",
                    tail(&String::from_utf8_lossy(&stderr), 3)
                ));
            }
            Answer {
                code,
                output: String::from_utf8_lossy(&stdout).to_string(),
                error: None,
            }
        }
        None => fail(format!("did not finish within {}s", timeout.as_secs())),
    }
}

// ---------------------------------------------------------------------------------------------
// Rendering

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

fn yes_no(b: Option<bool>) -> &'static str {
    match b {
        Some(true) => "yes",
        Some(false) => "no",
        None => "?",
    }
}

fn short(s: &str, max: usize) -> String {
    let one_line = s.replace('\n', "\\n").replace('\r', "\\r");
    if one_line.chars().count() <= max {
        one_line
    } else {
        let cut: String = one_line.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

fn answer_cell(a: &Answer, kind: &str) -> String {
    match (&a.error, a.code) {
        (Some(e), _) => format!("error: {}", short(e, 60)),
        (None, Some(code)) => {
            let label = if kind == "probe" { "HTTP" } else { "exit" };
            format!("{label} {code} \"{}\"", short(&a.output, 40))
        }
        (None, None) => "no answer".to_string(),
    }
}

/// The side-by-side table for one file.
pub fn render_table(r: &FileReport) -> String {
    let mut s = String::new();
    let fixes = if r.applied.is_empty() {
        "no fixes apply".to_string()
    } else {
        let mut counts: Vec<(&str, usize)> = Vec::new();
        for a in &r.applied {
            match counts.iter_mut().find(|(n, _)| n == a) {
                Some((_, c)) => *c += 1,
                None => counts.push((a, 1)),
            }
        }
        let list: Vec<String> = counts
            .iter()
            .map(|(n, c)| {
                if *c > 1 {
                    format!("{n} x{c}")
                } else {
                    n.to_string()
                }
            })
            .collect();
        format!("fixes: {}", list.join(", "))
    };
    s.push_str(&format!("{}  ({fixes})\n", r.path));
    let mut rows: Vec<(String, String, String, String)> = Vec::new();
    let b = r.before.as_ref();
    let a = r.after.as_ref();
    let cell = |f: Option<&ImageFacts>, g: &dyn Fn(&ImageFacts) -> String| {
        f.map(g).unwrap_or_else(|| "-".to_string())
    };
    let delta = match (b, a) {
        (Some(b), Some(a)) if b.size_bytes > 0 => {
            let d = (a.size_bytes as f64 - b.size_bytes as f64) / b.size_bytes as f64 * 100.0;
            format!("{d:+.1}%")
        }
        _ => String::new(),
    };
    rows.push((
        "size".into(),
        cell(b, &|f| mb(f.size_bytes)),
        cell(a, &|f| mb(f.size_bytes)),
        delta,
    ));
    let ldelta = match (b, a) {
        (Some(b), Some(a)) => format!("{:+}", a.layers as i64 - b.layers as i64),
        _ => String::new(),
    };
    rows.push((
        "layers".into(),
        cell(b, &|f| f.layers.to_string()),
        cell(a, &|f| f.layers.to_string()),
        ldelta,
    ));
    rows.push((
        "final base".into(),
        cell(b, &|f| f.base.clone()),
        cell(a, &|f| f.base.clone()),
        String::new(),
    ));
    rows.push((
        "shell".into(),
        cell(b, &|f| yes_no(f.shell).to_string()),
        cell(a, &|f| yes_no(f.shell).to_string()),
        String::new(),
    ));
    rows.push((
        "user".into(),
        cell(b, &|f| f.user.clone()),
        cell(a, &|f| f.user.clone()),
        String::new(),
    ));
    rows.push((
        "build time".into(),
        cell(b, &|f| format!("{:.1} s", f.build_seconds)),
        cell(a, &|f| format!("{:.1} s", f.build_seconds)),
        String::new(),
    ));
    if let Some(sm) = &r.smoke {
        rows.push((
            format!("{} {}", sm.kind, sm.what),
            answer_cell(&sm.before, sm.kind),
            answer_cell(&sm.after, sm.kind),
            if sm.same { "same" } else { "DIFFERENT" }.to_string(),
        ));
    }
    // Column widths: the widest cell, and at least the header's width.
    let width = |cell: fn(&(String, String, String, String)) -> &String, header: usize| {
        rows.iter()
            .map(|r| cell(r).chars().count())
            .max()
            .unwrap_or(0)
            .max(header)
    };
    let w0 = width(|r| &r.0, 4);
    let w1 = width(|r| &r.1, 6);
    let w2 = width(|r| &r.2, 5);
    let line = |c0: &str, c1: &str, c2: &str, c3: &str| {
        let l = format!("  {c0:<w0$}  {c1:<w1$}  {c2:<w2$}  {c3}");
        format!("{}\n", l.trim_end())
    };
    s.push_str(&line("", "before", "after", ""));
    for (c0, c1, c2, c3) in &rows {
        s.push_str(&line(c0, c1, c2, c3));
    }
    if let Some(e) = &r.error {
        for l in e.lines() {
            s.push_str(&format!("  | {l}\n"));
        }
    }
    let verdict = match r.verdict {
        Verdict::Same if r.smoke.is_some() => "both build and answer the same",
        Verdict::Same => "both build (no smoke test asked: use --probe or --run)",
        Verdict::Differ => "DIFFERENT",
        Verdict::Error => "error",
    };
    s.push_str(&format!("  verdict: {verdict}\n"));
    s
}

/// The JSON document for all files.
pub fn render_json(reports: &[FileReport]) -> String {
    #[derive(Serialize)]
    struct Doc<'a> {
        files: &'a [FileReport],
        exit_code: i32,
    }
    let doc = Doc {
        files: reports,
        exit_code: exit_code(reports),
    };
    serde_json::to_string_pretty(&doc).unwrap_or_else(|_| "{}".to_string())
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
            let _ = writeln!(
                err,
                "{}:1:1: error: {}",
                crate::cli::display_path(p),
                if p.is_dir() {
                    "is a directory (give the Dockerfile's path)"
                } else {
                    "no such file"
                }
            );
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
            rules: crate::cli::RuleArgs {
                final_image: Some(crate::cli::FinalArg::Slim),
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

    use super::*;

    fn facts(size: u64, layers: usize, base: &str, shell: Option<bool>, user: &str) -> ImageFacts {
        ImageFacts {
            tag: "t".into(),
            size_bytes: size,
            layers,
            base: base.into(),
            shell,
            user: user.into(),
            build_seconds: 1.0,
        }
    }

    fn answer(code: i32, out: &str) -> Answer {
        Answer {
            code: Some(code),
            output: out.into(),
            error: None,
        }
    }

    fn sample(verdict: Verdict, same: bool) -> FileReport {
        FileReport {
            path: "tests/apps/node/Dockerfile".into(),
            changed: true,
            applied: vec!["chain-runs".into()],
            before: Some(facts(745_700_000, 12, "node:18", Some(true), "root")),
            after: Some(facts(
                116_200_000,
                8,
                "gcr.io/distroless/nodejs18-debian12",
                Some(false),
                "65532",
            )),
            smoke: Some(Smoke {
                kind: "probe",
                what: "GET :3000/".into(),
                before: answer(200, "Hello World!"),
                after: if same {
                    answer(200, "Hello World!")
                } else {
                    answer(500, "oops")
                },
                same,
            }),
            verdict,
            error: None,
        }
    }

    #[test]
    fn probe_specs() {
        assert_eq!(
            parse_probe("http://:3000/"),
            Ok(SmokeSpec::Probe {
                port: 3000,
                path: "/".into()
            })
        );
        assert_eq!(
            parse_probe("http://:8080"),
            Ok(SmokeSpec::Probe {
                port: 8080,
                path: "/".into()
            })
        );
        assert_eq!(
            parse_probe("http://localhost:8000/a/b?c=1"),
            Ok(SmokeSpec::Probe {
                port: 8000,
                path: "/a/b?c=1".into()
            })
        );
        for bad in [
            "https://:3000/",
            ":3000/",
            "http://example.com:3000/",
            "http://:x/",
            "http://:0/",
            "http://:70000/",
            "http:///",
            "http://:3000/a b",
            "",
        ] {
            let e = parse_probe(bad);
            assert!(e.is_err(), "{bad} should be refused");
            assert!(e.unwrap_err().contains("expected http://:PORT/PATH"));
        }
    }

    #[test]
    fn words() {
        assert_eq!(
            split_words("node -e 'console.log(1)'").unwrap(),
            ["node", "-e", "console.log(1)"]
        );
        assert_eq!(split_words(r#"a "b c" d\ e"#).unwrap(), ["a", "b c", "d e"]);
        assert_eq!(split_words(r#""x\"y" ''"#).unwrap(), ["x\"y", ""]);
        assert_eq!(split_words("  ").unwrap(), Vec::<String>::new());
        assert!(split_words("'open").is_err());
        assert!(split_words("\"open").is_err());
        assert!(split_words("end\\").is_err());
        for line in ["python -c 'print(6 * 7)'", "a 'it'\\''s' '' b=c"] {
            let w = split_words(line).unwrap();
            assert_eq!(split_words(&shell_join(&w)).unwrap(), w);
        }
        assert_eq!(
            shell_join(&split_words("python -c 'print(1)'").unwrap()),
            "python -c 'print(1)'"
        );
    }

    #[test]
    fn smoke_arguments() {
        let mut a = VerifyArgs {
            paths: vec!["Dockerfile".into()],
            ..Default::default()
        };
        assert_eq!(smoke_spec(&a), Ok(None));
        a.run = Some("--version".into());
        assert_eq!(
            smoke_spec(&a),
            Ok(Some(SmokeSpec::Run {
                args: vec!["--version".into()]
            }))
        );
        a.probe = Some("http://:1/".into());
        assert!(smoke_spec(&a).is_err());
        a.run = None;
        a.probe = Some("ftp://x".into());
        assert!(smoke_spec(&a).is_err());
    }

    #[test]
    fn cli_parses_verify_flags() {
        use clap::Parser;
        let cli = crate::cli::Cli::try_parse_from([
            "dfopt",
            "verify",
            "a/Dockerfile",
            "--probe",
            "http://:3000/",
            "--unsafe-fixes",
            "--select",
            "chain-runs",
            "--final",
            "distroless",
            "--format",
            "json",
            "--context",
            ".",
        ])
        .unwrap();
        let crate::cli::Command::Verify(v) = cli.command else {
            panic!("not verify")
        };
        assert!(v.rules.unsafe_fixes);
        assert_eq!(v.format, Format::Json);
        assert_eq!(v.rules.select, Some(vec!["chain-runs".to_string()]));
        assert_eq!(v.probe.as_deref(), Some("http://:3000/"));
        assert!(crate::cli::Cli::try_parse_from(["dfopt", "verify"]).is_err());
        assert!(crate::cli::Cli::try_parse_from([
            "dfopt",
            "verify",
            "D",
            "--probe",
            "http://:1/",
            "--run",
            "x"
        ])
        .is_err());
        let cli =
            crate::cli::Cli::try_parse_from(["dfopt", "verify", "D", "--run", "-e 'x'"]).unwrap();
        let crate::cli::Command::Verify(v) = cli.command else {
            panic!("not verify")
        };
        assert_eq!(v.run.as_deref(), Some("-e 'x'"));
    }

    #[test]
    fn http_responses() {
        let raw = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nHello World!";
        assert_eq!(
            parse_http_response(raw),
            Some((200, b"Hello World!".to_vec()))
        );
        let chunked = b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nHello\r\n1\r\n!\r\n0\r\n\r\n";
        assert_eq!(
            parse_http_response(chunked),
            Some((404, b"Hello!".to_vec()))
        );
        assert_eq!(parse_http_response(b""), None);
        assert_eq!(parse_http_response(b"garbage\r\n\r\n"), None);
        assert_eq!(parse_http_response(b"HTTP/1.0 abc\r\n\r\n"), None);
        assert_eq!(
            parse_http_response(b"HTTP/1.0 204 No Content\n\n"),
            Some((204, vec![]))
        );
        // broken chunking: keep the raw body rather than fail
        let bad = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n";
        assert_eq!(parse_http_response(bad), Some((200, b"zz\r\n".to_vec())));
    }

    #[test]
    fn comparing_answers() {
        assert!(answers_agree(&answer(200, "a"), &answer(200, "a")));
        assert!(!answers_agree(&answer(200, "a"), &answer(200, "b")));
        assert!(!answers_agree(&answer(200, "a"), &answer(500, "a")));
        let none = Answer {
            code: None,
            output: String::new(),
            error: Some("timeout".into()),
        };
        assert!(!answers_agree(&none, &none));
        assert!(!answers_agree(&answer(0, ""), &none));
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
    fn inspect_facts() {
        let v: serde_json::Value = serde_json::json!({
            "Size": 745700000u64,
            "RootFS": {"Type": "layers", "Layers": ["sha256:a", "sha256:b"]},
            "Config": {"User": ""}
        });
        assert_eq!(facts_from_inspect(&v), (745_700_000, 2, "root".into()));
        let v =
            serde_json::json!({"Size": 1, "RootFS": {"Layers": []}, "Config": {"User": "65532"}});
        assert_eq!(facts_from_inspect(&v), (1, 0, "65532".into()));
        assert_eq!(
            facts_from_inspect(&serde_json::json!({})),
            (0, 0, "root".into())
        );
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
    fn table_rendering() {
        let t = render_table(&sample(Verdict::Same, true));
        assert!(
            t.starts_with("tests/apps/node/Dockerfile  (fixes: chain-runs)\n"),
            "{t}"
        );
        assert!(t.contains("745.7 MB"), "{t}");
        assert!(t.contains("116.2 MB"), "{t}");
        assert!(t.contains("-84.4%"), "{t}");
        assert!(t.contains("-4"), "{t}");
        assert!(t.contains("gcr.io/distroless/nodejs18-debian12"), "{t}");
        assert!(t.contains("probe GET :3000/"), "{t}");
        assert!(t.contains("HTTP 200 \"Hello World!\""), "{t}");
        assert!(t.contains("verdict: both build and answer the same"), "{t}");
        assert!(t.lines().all(|l| l == l.trim_end()));
        let t = render_table(&sample(Verdict::Differ, false));
        assert!(t.contains("DIFFERENT"), "{t}");
        let mut e = error_report(
            "D".into(),
            "the original does not build:\nstep 3 failed".into(),
        );
        e.applied = vec![];
        let t = render_table(&e);
        assert!(t.contains("no fixes apply"), "{t}");
        assert!(t.contains("  | step 3 failed"), "{t}");
        assert!(t.contains("verdict: error"), "{t}");
    }

    #[test]
    fn json_rendering_and_exit_codes() {
        let same = sample(Verdict::Same, true);
        let differ = sample(Verdict::Differ, false);
        let err = error_report("X".into(), "boom".into());
        let j: serde_json::Value =
            serde_json::from_str(&render_json(std::slice::from_ref(&same))).unwrap();
        assert_eq!(j["exit_code"], 0);
        let f = &j["files"][0];
        assert_eq!(f["verdict"], "same");
        assert_eq!(f["before"]["size_bytes"], 745_700_000u64);
        assert_eq!(f["after"]["layers"], 8);
        assert_eq!(f["after"]["shell"], false);
        assert_eq!(f["after"]["user"], "65532");
        assert_eq!(f["smoke"]["kind"], "probe");
        assert_eq!(f["smoke"]["before"]["code"], 200);
        assert_eq!(f["smoke"]["same"], true);
        assert!(f.get("error").is_none());
        assert_eq!(exit_code(std::slice::from_ref(&same)), 0);
        assert_eq!(exit_code(&[same.clone(), differ.clone()]), 1);
        assert_eq!(exit_code(&[differ, err.clone(), same]), 2);
        let j: serde_json::Value = serde_json::from_str(&render_json(&[err])).unwrap();
        assert_eq!(j["files"][0]["error"], "boom");
        assert_eq!(j["exit_code"], 2);
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
                    rules: crate::cli::RuleArgs {
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
