//! The exec oracle: builds a Dockerfile the way BuildKit runs it, on this machine, and compares two
//! builds (an original and dfopt's rewrite).
//!
//! What is modelled (BuildKit's runc executor and `dockerfile2llb`):
//! - each RUN is its own process of the stage's SHELL (default `/bin/sh -c`, `SHELL [...]` JSON
//!   honoured; exec-form RUNs run their argv), with exactly the stage's ENV and ARG values as
//!   environment (default `PATH`, `HOME=/root`);
//! - WORKDIR is created before each RUN and is its working directory;
//! - every step gets fresh mount, PID and network namespaces (`step.sh` under `unshare`, or the
//!   same system calls made directly, `direct.rs`), so background processes die with their RUN and
//!   nothing reaches the network; the build stops at the first failing RUN;
//! - a stage's root is an overlay: its own upper dir (kept across its RUNs) over the stage it is
//!   built `FROM` (a named earlier stage) or over this machine's `/` (any image), with a layer of
//!   offline, deterministic package-manager and download stubs (`tests/oracle/stubs/`) in between;
//! - `RUN --mount=type=cache|tmpfs`, `COPY --from=<stage>` and `COPY`/`ADD` from the fixture's
//!   context folder (`<case>.context/`); other instructions are ignored.
//!
//! Two builds are equivalent when both succeed or both fail, the RUNs print the same stdout (in
//! order, concatenated), and every stage ends with the same files (names, kinds, modes, owners,
//! contents, symlink targets; timestamps ignored). The one difference allowed is the point of
//! dfopt's cleanups: the rewrite may lack files that the original keeps in a package manager's cache
//! or index, and files a stub downloaded. Only a stage's own upper dir can make its files differ,
//! so the folders listed are those it holds; a name in them that neither build's layers hold is
//! the same file of the shared layers (stubs, `/`) in both views and is not read.
//!
//! Needs root, `unshare` and overlayfs; state lives under `/dev/shm/dfopt-oracle-<pid>-*` and is
//! unmounted and removed when a build is dropped (and, for crashed runs, by the next run).

mod direct;

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const SHM: &str = "/dev/shm";
const PREFIX: &str = "dfopt-oracle-";
/// Exit status `step.sh` uses for its own failures (a mount that did not work).
pub(crate) const INFRA_STATUS: i32 = 213;

/// Paths whose files a cleanup may remove: the package managers' indexes and caches.
const DISPOSABLE_PREFIXES: &[&str] = &[
    "/var/lib/apt/lists/",
    "/var/cache/apt/",
    "/var/cache/apk/",
    "/etc/apk/cache/",
    "/var/cache/dnf/",
    "/var/cache/yum/",
    "/var/cache/tdnf/",
    "/var/cache/zypp/",
    "/root/.npm/",
    "/root/.cache/pip/",
    "/root/.cache/yarn/",
    "/usr/local/share/.cache/yarn/",
];
/// What the curl/wget stubs write: a file starting with this was downloaded.
const DOWNLOAD_MARK: &[u8] = b"dfopt-oracle download of ";

fn oracle_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/oracle")
}

/// Seconds a single step may take before it is killed (and counts as failed).
fn step_timeout() -> u64 {
    std::env::var("DFOPT_ORACLE_STEP_TIMEOUT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30)
}

// ---------------------------------------------------------------------------------------------
// Can this machine run the oracle?

/// `Ok` when builds can run here; otherwise why not.
pub fn availability() -> &'static Result<(), String> {
    static CHECK: OnceLock<Result<(), String>> = OnceLock::new();
    CHECK.get_or_init(|| {
        let status = std::fs::read_to_string("/proc/self/status").map_err(|e| e.to_string())?;
        let uid = status
            .lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|l| l.split_whitespace().next())
            .unwrap_or("?");
        if uid != "0" {
            return Err(format!("not root (uid {uid}); the oracle mounts overlays"));
        }
        for tool in [
            "unshare", "timeout", "mount", "umount", "chroot", "setfattr",
        ] {
            if which(tool).is_none() {
                return Err(format!(
                    "`{tool}` is not installed (scripts/setup-test-deps.sh installs it)"
                ));
            }
        }
        if !Path::new(SHM).is_dir() {
            return Err(format!("{SHM} is missing"));
        }
        sweep_stale();
        let probe = build(
            "FROM oracle-probe\nRUN echo probe > /probe && cat /probe\n",
            None,
        )
        .map_err(|e| format!("a probe build failed to run: {e}"))?;
        if !probe.ok || probe.stdout != b"probe\n" {
            return Err(format!(
                "a probe build did not work (overlay or namespaces refused?): {}",
                probe.log()
            ));
        }
        Ok(())
    })
}

/// Skips (returns false) when the oracle cannot run here, unless `DFOPT_ORACLE=1` asks for it, in
/// which case that is a failure.
pub fn can_run(test: &str) -> bool {
    match availability() {
        Ok(()) => true,
        Err(why) => {
            if std::env::var("DFOPT_ORACLE").as_deref() == Ok("1") {
                panic!("{test}: DFOPT_ORACLE=1 but the exec oracle cannot run here: {why}");
            }
            eprintln!(
                "{test}: exec oracle not run: {why} (set DFOPT_ORACLE=1 to make this a failure)"
            );
            false
        }
    }
}

pub fn which(tool: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
}

/// Unmounts and removes what crashed runs of this harness left in /dev/shm.
fn sweep_stale() {
    let Ok(entries) = std::fs::read_dir(SHM) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        let Some(rest) = name.strip_prefix(PREFIX) else {
            continue;
        };
        let pid = rest.split('-').next().unwrap_or("");
        if pid.parse::<u32>().is_ok() && !Path::new("/proc").join(pid).exists() {
            remove_tree(&entry.path());
        }
    }
}

/// Lazily unmounts everything mounted under `dir`, deepest first, then deletes it.
fn remove_tree(dir: &Path) {
    if let Ok(mounts) = std::fs::read_to_string("/proc/self/mounts") {
        // Path components, not text: build 1's `…-1` is a text prefix of build 10's `…-10`,
        // whose comparison view was unmounted under it while being read.
        let mut points: Vec<&str> = mounts
            .lines()
            .filter_map(|l| l.split(' ').nth(1))
            .filter(|p| Path::new(p).starts_with(dir))
            .collect();
        points.sort_by_key(|p| std::cmp::Reverse(p.len()));
        for p in points {
            let _ = Command::new("umount").args(["-l", p]).status();
        }
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// The stub layer, made once per test process.
fn stub_layer() -> Result<PathBuf, String> {
    static LAYER: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    LAYER
        .get_or_init(|| {
            let layer = PathBuf::from(SHM).join(format!("{PREFIX}{}-stubs", std::process::id()));
            let _ = std::fs::remove_dir_all(&layer);
            let bin = layer.join("usr/bin");
            std::fs::create_dir_all(&bin).map_err(|e| e.to_string())?;
            let status = Command::new("cp")
                .arg("-a")
                .arg(oracle_dir().join("stubs/."))
                .arg(&bin)
                .status()
                .map_err(|e| e.to_string())?;
            if !status.success() {
                return Err("copying the stubs failed".into());
            }
            // Folders that change on this machine while tests run (other builds' temp files, the host's
            // apt-get on this machine) or that an image starts with empty: opaque, so that every build sees them empty.
            for (dir, mode) in [
                ("tmp", 0o1777),
                ("var/tmp", 0o1777),
                ("root", 0o700),
                ("var/lib/apt/lists", 0o755),
                ("var/cache/apt", 0o755),
            ] {
                let path = layer.join(dir);
                make_dir(&path)?;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))
                    .map_err(|e| e.to_string())?;
                let status = Command::new("setfattr")
                    .args(["-n", "trusted.overlay.opaque", "-v", "y"])
                    .arg(&path)
                    .status()
                    .map_err(|e| format!("setfattr: {e} (run scripts/setup-test-deps.sh)"))?;
                if !status.success() {
                    return Err(format!("setfattr on {} failed", path.display()));
                }
            }
            Ok(layer)
        })
        .clone()
}

static BUILD_COUNTER: AtomicUsize = AtomicUsize::new(0);

// ---------------------------------------------------------------------------------------------
// Parsing (independent of dfopt's parser, on purpose: the oracle must not share its bugs)

#[derive(Debug, Clone)]
pub struct Instruction {
    pub keyword: String,
    pub flags: Vec<String>,
    pub args: String,
    pub line: usize,
}

/// Splits a Dockerfile into instructions the way BuildKit reads them: `\` at the end of a line
/// continues it (the backslash and newline are removed), and comment or empty lines inside a
/// continuation are dropped. Heredocs are not supported.
pub fn parse(text: &str) -> Vec<Instruction> {
    let mut out = Vec::new();
    let mut current: Option<(String, usize)> = None;
    for (idx, raw) in text.lines().enumerate() {
        let trimmed = raw.trim_start();
        let is_comment = trimmed.starts_with('#');
        if current.is_none() && (trimmed.is_empty() || is_comment) {
            continue;
        }
        if current.is_some() && (trimmed.is_empty() || is_comment) {
            continue;
        }
        let body = raw.trim_end_matches([' ', '\t', '\r']);
        let (piece, continues) = match body.strip_suffix('\\') {
            Some(p) => (p, true),
            None => (raw.trim_end_matches('\r'), false),
        };
        let (buf, _) = current.get_or_insert_with(|| (String::new(), idx + 1));
        buf.push_str(piece);
        if !continues {
            let (full, line) = current.take().expect("just inserted");
            out.push(split_instruction(&full, line));
        }
    }
    if let Some((full, line)) = current {
        out.push(split_instruction(&full, line));
    }
    out
}

fn split_instruction(full: &str, line: usize) -> Instruction {
    let full = full.trim_start();
    let (kw, mut rest) = full
        .split_once(|c: char| c.is_whitespace())
        .unwrap_or((full, ""));
    let mut flags = Vec::new();
    loop {
        rest = rest.trim_start();
        if !rest.starts_with("--") {
            break;
        }
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        flags.push(rest[..end].to_string());
        rest = &rest[end..];
    }
    Instruction {
        keyword: kw.to_ascii_uppercase(),
        flags,
        args: rest.to_string(),
        line,
    }
}

fn json_array(args: &str) -> Option<Vec<String>> {
    let t = args.trim();
    if !t.starts_with('[') {
        return None;
    }
    serde_json::from_str::<Vec<String>>(t).ok()
}

/// Expands `$V`, `${V}`, `${V:-w}`, `${V-w}`, `${V:+w}`, `${V+w}` the way BuildKit's shell lexer does
/// for ENV, ARG, WORKDIR and COPY, after removing quotes.
fn expand_words(text: &str, vars: &[(String, String)]) -> Vec<String> {
    let get = |name: &str| {
        vars.iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let chars: Vec<char> = text.chars().collect();
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut i = 0;
    let mut quote: Option<char> = None;
    while i < chars.len() {
        let c = chars[i];
        match (quote, c) {
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
                i += 1;
                continue;
            }
            (None, '\'') | (None, '"') => {
                quote = Some(c);
                in_word = true;
                i += 1;
                continue;
            }
            (Some(q), c) if c == q => {
                quote = None;
                i += 1;
                continue;
            }
            (Some('\''), c) => {
                cur.push(c);
                i += 1;
                continue;
            }
            (_, '\\') if i + 1 < chars.len() => {
                cur.push(chars[i + 1]);
                in_word = true;
                i += 2;
                continue;
            }
            (_, '$') if i + 1 < chars.len() => {
                in_word = true;
                if chars[i + 1] == '{' {
                    let Some(close) = chars[i..].iter().position(|&c| c == '}') else {
                        cur.push(c);
                        i += 1;
                        continue;
                    };
                    let inner: String = chars[i + 2..i + close].iter().collect();
                    i += close + 1;
                    let name_end = inner
                        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                        .unwrap_or(inner.len());
                    let (name, op) = inner.split_at(name_end);
                    let val = get(name);
                    let expanded = if let Some(w) = op.strip_prefix(":-") {
                        val.filter(|v| !v.is_empty())
                            .unwrap_or_else(|| w.to_string())
                    } else if let Some(w) = op.strip_prefix('-') {
                        val.unwrap_or_else(|| w.to_string())
                    } else if let Some(w) = op.strip_prefix(":+") {
                        if val.is_some_and(|v| !v.is_empty()) {
                            w.to_string()
                        } else {
                            String::new()
                        }
                    } else if let Some(w) = op.strip_prefix('+') {
                        if val.is_some() {
                            w.to_string()
                        } else {
                            String::new()
                        }
                    } else {
                        val.unwrap_or_default()
                    };
                    cur.push_str(&expanded);
                    continue;
                }
                let name: String = chars[i + 1..]
                    .iter()
                    .take_while(|c| c.is_ascii_alphanumeric() || **c == '_')
                    .collect();
                if name.is_empty() {
                    cur.push('$');
                    i += 1;
                    continue;
                }
                i += 1 + name.chars().count();
                cur.push_str(&get(&name).unwrap_or_default());
                continue;
            }
            _ => {
                cur.push(c);
                in_word = true;
                i += 1;
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    words
}

fn expand_one(text: &str, vars: &[(String, String)]) -> String {
    expand_words(text, vars).join(" ")
}

fn set_var(list: &mut Vec<(String, String)>, key: &str, value: String) {
    list.retain(|(k, _)| k != key);
    list.push((key.to_string(), value));
}

fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for p in path.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

fn resolve(workdir: &str, path: &str) -> String {
    let keep_slash = path.ends_with('/') && path != "/";
    let joined = if path.starts_with('/') {
        normalize(path)
    } else {
        normalize(&format!("{workdir}/{path}"))
    };
    if keep_slash && joined != "/" {
        format!("{joined}/")
    } else {
        joined
    }
}

// ---------------------------------------------------------------------------------------------
// Building

#[derive(Debug, Clone)]
struct Stage {
    name: Option<String>,
    /// Its own upper dir, then the layers below it, top first (ending with `/`).
    layers: Vec<PathBuf>,
    work: PathBuf,
    root: PathBuf,
    env: Vec<(String, String)>,
    args: Vec<(String, String)>,
    shell: Vec<String>,
    workdir: String,
}

impl Stage {
    fn lowers(&self) -> String {
        join_layers(&self.layers[1..])
    }
}

fn join_layers(layers: &[PathBuf]) -> String {
    layers
        .iter()
        .map(|p| p.to_string_lossy().to_string())
        .collect::<Vec<_>>()
        .join(":")
}

/// One executed step, for the log.
#[derive(Debug, Clone)]
pub struct Step {
    pub line: usize,
    pub what: String,
    pub status: i32,
    pub stderr_tail: String,
}

/// A finished build; dropping it unmounts and deletes its state.
pub struct Build {
    /// Seconds a step may take.
    timeout: u64,
    /// Whether RUNs may be run by `direct.rs` (else every step goes through `step.sh`).
    direct: bool,
    dir: PathBuf,
    stages: Vec<Stage>,
    pub ok: bool,
    /// stdout of the RUNs, in order.
    pub stdout: Vec<u8>,
    pub steps: Vec<Step>,
}

impl Drop for Build {
    fn drop(&mut self) {
        remove_tree(&self.dir);
    }
}

impl Build {
    /// What ran, for failure messages.
    pub fn log(&self) -> String {
        let mut s = format!("build {}\n", if self.ok { "succeeded" } else { "FAILED" });
        for step in &self.steps {
            s.push_str(&format!(
                "  line {}: {} -> {}\n",
                step.line, step.what, step.status
            ));
            if step.status != 0 && !step.stderr_tail.is_empty() {
                s.push_str(&format!(
                    "    stderr: {}\n",
                    step.stderr_tail.replace('\n', "\n    ")
                ));
            }
        }
        s.push_str(&format!(
            "  stdout: {:?}\n",
            String::from_utf8_lossy(&self.stdout)
        ));
        s
    }
}

fn make_dir(p: &Path) -> Result<(), String> {
    std::fs::create_dir_all(p).map_err(|e| format!("mkdir {}: {e}", p.display()))
}

/// Builds `text`; `context` is the folder COPY/ADD without `--from` read from. `Err` means the
/// harness could not do its job (not that the build failed).
pub fn build(text: &str, context: Option<&Path>) -> Result<Build, String> {
    build_with_timeout(text, context, step_timeout())
}

/// [`build`], killing any step after `timeout` seconds (the step then fails).
pub fn build_with_timeout(
    text: &str,
    context: Option<&Path>,
    timeout: u64,
) -> Result<Build, String> {
    build_with(text, context, timeout, true)
}

/// [`build`] with every step run by `step.sh`, to check `direct.rs` against it.
pub fn build_through_step_sh(text: &str) -> Result<Build, String> {
    build_with(text, None, step_timeout(), false)
}

fn build_with(
    text: &str,
    context: Option<&Path>,
    timeout: u64,
    direct: bool,
) -> Result<Build, String> {
    let stubs = stub_layer()?;
    let dir = PathBuf::from(SHM).join(format!(
        "{PREFIX}{}-{}",
        std::process::id(),
        BUILD_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    make_dir(&dir)?;
    let mut b = Build {
        timeout,
        direct,
        dir: dir.clone(),
        stages: Vec::new(),
        ok: true,
        stdout: Vec::new(),
        steps: Vec::new(),
    };
    let mut global_args: Vec<(String, String)> = Vec::new();
    let mut caches: BTreeMap<String, PathBuf> = BTreeMap::new();
    for ins in parse(text) {
        if !b.ok {
            break;
        }
        match ins.keyword.as_str() {
            "FROM" => {
                let words = expand_words(&ins.args, &global_args);
                let base = words.first().cloned().unwrap_or_default();
                let name = match (words.get(1), words.get(2)) {
                    (Some(a), Some(n)) if a.eq_ignore_ascii_case("as") => {
                        Some(n.to_ascii_lowercase())
                    }
                    _ => None,
                };
                let idx = b.stages.len();
                let sdir = dir.join(format!("stage{idx}"));
                for sub in ["upper", "work", "root", "src"] {
                    make_dir(&sdir.join(sub))?;
                }
                let parent = b
                    .stages
                    .iter()
                    .find(|s| s.name.as_deref() == Some(&base.to_ascii_lowercase()))
                    .cloned();
                let stage = match parent {
                    Some(p) => Stage {
                        name,
                        layers: std::iter::once(sdir.join("upper"))
                            .chain(p.layers.iter().cloned())
                            .collect(),
                        work: sdir.join("work"),
                        root: sdir.join("root"),
                        env: p.env.clone(),
                        args: Vec::new(),
                        shell: p.shell.clone(),
                        workdir: p.workdir.clone(),
                    },
                    None => Stage {
                        name,
                        layers: vec![sdir.join("upper"), stubs.clone(), PathBuf::from("/")],
                        work: sdir.join("work"),
                        root: sdir.join("root"),
                        env: vec![("PATH".into(), DEFAULT_PATH.into())],
                        args: Vec::new(),
                        shell: vec!["/bin/sh".into(), "-c".into()],
                        workdir: "/".into(),
                    },
                };
                b.stages.push(stage);
            }
            "ARG" => {
                let Some(stage) = b.stages.last_mut() else {
                    for w in expand_words(&ins.args, &global_args) {
                        let (k, v) = w.split_once('=').unwrap_or((&w, ""));
                        set_var(&mut global_args, k, v.to_string());
                    }
                    continue;
                };
                let vars: Vec<_> = stage.env.iter().chain(&stage.args).cloned().collect();
                for w in expand_words(&ins.args, &vars) {
                    match w.split_once('=') {
                        Some((k, v)) => set_var(&mut stage.args, k, v.to_string()),
                        None => {
                            if let Some((_, v)) = global_args.iter().find(|(k, _)| *k == w) {
                                set_var(&mut stage.args, &w, v.clone());
                            }
                        }
                    }
                }
            }
            "ENV" => {
                let Some(stage) = b.stages.last_mut() else {
                    continue;
                };
                let vars: Vec<_> = stage.args.iter().chain(&stage.env).cloned().collect();
                let first = ins.args.split_whitespace().next().unwrap_or("");
                if !first.contains('=') {
                    // legacy `ENV key value`
                    let value = ins.args.trim_start()[first.len()..].trim();
                    set_var(&mut stage.env, first, expand_one(value, &vars));
                } else {
                    for w in expand_words(&ins.args, &vars) {
                        if let Some((k, v)) = w.split_once('=') {
                            set_var(&mut stage.env, k, v.to_string());
                        }
                    }
                }
            }
            "WORKDIR" => {
                let Some(stage) = b.stages.last_mut() else {
                    continue;
                };
                let vars: Vec<_> = stage.args.iter().chain(&stage.env).cloned().collect();
                let path = expand_one(&ins.args, &vars);
                stage.workdir = resolve(&stage.workdir, &path)
                    .trim_end_matches('/')
                    .to_string();
                if stage.workdir.is_empty() {
                    stage.workdir = "/".into();
                }
            }
            "SHELL" => {
                let Some(stage) = b.stages.last_mut() else {
                    continue;
                };
                stage.shell = json_array(&ins.args)
                    .ok_or_else(|| format!("line {}: SHELL needs a JSON array", ins.line))?;
            }
            "RUN" => run_step(&mut b, &ins, &mut caches)?,
            "COPY" | "ADD" => copy_step(&mut b, &ins, context)?,
            _ => {}
        }
    }
    Ok(b)
}

fn step_command(
    timeout: u64,
    mode: &str,
    stage: &Stage,
    options: &[String],
    rest: &[String],
) -> Command {
    let mut cmd = Command::new("timeout");
    cmd.args(["-s", "KILL", &timeout.to_string()])
        .args([
            "unshare",
            "--mount",
            "--pid",
            "--net",
            "--fork",
            "--kill-child",
            "--mount-proc",
            "/bin/sh",
        ])
        .arg(oracle_dir().join("step.sh"))
        .arg(mode)
        .arg(stage.lowers())
        .arg(&stage.layers[0])
        .arg(&stage.work)
        .arg(&stage.root)
        .arg(&stage.workdir)
        .args(options)
        .arg("--")
        .args(rest)
        .env_clear()
        .env("PATH", DEFAULT_PATH)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

fn tail(bytes: &[u8]) -> String {
    let s = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(6)..].join("\n")
}

fn finish_step(
    b: &mut Build,
    ins: &Instruction,
    what: String,
    mut cmd: Command,
) -> Result<(), String> {
    let out = match cmd.output() {
        Ok(out) => out,
        // The kernel refuses an argument longer than MAX_ARG_STRLEN (or all of them above
        // ARG_MAX): BuildKit's exec of the shell fails the same way, and so does the build.
        Err(e) if e.raw_os_error() == Some(7) => {
            b.steps.push(Step {
                line: ins.line,
                what,
                status: 126,
                stderr_tail: format!("exec: {e}"),
            });
            b.ok = false;
            return Ok(());
        }
        Err(e) => return Err(format!("spawn: {e}")),
    };
    let status = out.status.code().unwrap_or(-1);
    if status == INFRA_STATUS {
        return Err(format!(
            "line {}: the harness failed: {}",
            ins.line,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let status = if status == 137 || out.status.code().is_none() {
        // killed by `timeout`
        -9
    } else {
        status
    };
    b.stdout.extend_from_slice(&out.stdout);
    b.steps.push(Step {
        line: ins.line,
        what,
        status,
        stderr_tail: tail(&out.stderr),
    });
    if status != 0 {
        b.ok = false;
    }
    Ok(())
}

fn run_step(
    b: &mut Build,
    ins: &Instruction,
    caches: &mut BTreeMap<String, PathBuf>,
) -> Result<(), String> {
    let Some(stage) = b.stages.last().cloned() else {
        return Err(format!("line {}: RUN before FROM", ins.line));
    };
    let mut options = Vec::new();
    for flag in &ins.flags {
        let Some(spec) = flag.strip_prefix("--mount=") else {
            continue;
        };
        let fields: BTreeMap<&str, &str> = spec
            .split(',')
            .map(|f| f.split_once('=').unwrap_or((f, "")))
            .collect();
        let target = fields
            .get("target")
            .or_else(|| fields.get("dst"))
            .or_else(|| fields.get("destination"))
            .map(|t| resolve(&stage.workdir, t))
            .ok_or_else(|| format!("line {}: mount without target", ins.line))?;
        match fields.get("type").copied().unwrap_or("bind") {
            "cache" => {
                let id = fields
                    .get("id")
                    .map(|s| s.to_string())
                    .unwrap_or(target.clone());
                let n = caches.len();
                let host = caches
                    .entry(id)
                    .or_insert_with(|| b.dir.join(format!("cache{n}")))
                    .clone();
                make_dir(&host)?;
                options.push(format!("cache={}:{target}", host.display()));
            }
            "tmpfs" => options.push(format!("tmpfs={target}")),
            other => {
                return Err(format!(
                    "line {}: mount type {other} not modelled",
                    ins.line
                ))
            }
        }
    }
    let mut env: Vec<String> = stage
        .args
        .iter()
        .filter(|(k, _)| !stage.env.iter().any(|(e, _)| e == k))
        .chain(stage.env.iter())
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    if !stage.env.iter().any(|(k, _)| k == "HOME") {
        env.insert(0, "HOME=/root".into());
    }
    let argv = match json_array(&ins.args) {
        Some(exec) => exec,
        None => {
            let mut argv = stage.shell.clone();
            argv.push(ins.args.clone());
            argv
        }
    };
    let cmd = if b.direct && direct::can_run_directly(&options, &argv) {
        direct::run_command(
            b.timeout,
            &stage.lowers(),
            &stage.layers[0],
            &stage.work,
            &stage.root,
            &stage.workdir,
            &env,
            &argv,
        )?
    } else {
        env.extend(argv);
        step_command(b.timeout, "run", &stage, &options, &env)
    };
    let what = format!("RUN {}", ins.args.chars().take(60).collect::<String>());
    finish_step(b, ins, what, cmd)
}

fn copy_step(b: &mut Build, ins: &Instruction, context: Option<&Path>) -> Result<(), String> {
    let Some(stage) = b.stages.last().cloned() else {
        return Err(format!("line {}: COPY before FROM", ins.line));
    };
    let vars: Vec<_> = stage.args.iter().chain(&stage.env).cloned().collect();
    let mut words = json_array(&ins.args).unwrap_or_else(|| expand_words(&ins.args, &vars));
    let Some(dest) = words.pop() else {
        return Err(format!("line {}: COPY without arguments", ins.line));
    };
    let dest = resolve(&stage.workdir, &dest);
    let mut options = Vec::new();
    let from = ins.flags.iter().find_map(|f| f.strip_prefix("--from="));
    match from {
        Some(from) => {
            let src = b
                .stages
                .iter()
                .enumerate()
                .find(|(i, s)| {
                    s.name.as_deref() == Some(&from.to_ascii_lowercase()) || i.to_string() == from
                })
                .map(|(_, s)| s.clone())
                .ok_or_else(|| format!("line {}: COPY --from={from}: not a stage", ins.line))?;
            options.push(format!("from={}", join_layers(&src.layers)));
            options.push(format!(
                "srcroot={}",
                stage
                    .root
                    .parent()
                    .expect("stage dir")
                    .join("src")
                    .display()
            ));
        }
        None => {
            let ctx = context
                .ok_or_else(|| format!("line {}: COPY from the context, but none", ins.line))?;
            options.push(format!("ctx={}", ctx.display()));
        }
    }
    options.push(format!("dest={dest}"));
    let cmd = step_command(b.timeout, "copy", &stage, &options, &words);
    let what = format!("{} {}", ins.keyword, ins.args);
    finish_step(b, ins, what, cmd)
}

// ---------------------------------------------------------------------------------------------
// Comparing

#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    File {
        mode: u32,
        uid: u32,
        gid: u32,
        content: Vec<u8>,
    },
    Dir {
        mode: u32,
        uid: u32,
        gid: u32,
    },
    Symlink {
        target: String,
    },
    Other {
        mode: u32,
        rdev: u64,
    },
}

impl Entry {
    fn describe(&self) -> String {
        match self {
            Entry::File { mode, content, .. } => {
                let text = String::from_utf8_lossy(content);
                let short: String = text.chars().take(60).collect();
                format!("file {mode:o} {short:?}")
            }
            Entry::Dir { mode, .. } => format!("dir {mode:o}"),
            Entry::Symlink { target } => format!("symlink -> {target}"),
            Entry::Other { mode, rdev } => format!("special {mode:o} {rdev}"),
        }
    }
}

/// Every folder (relative, "" is the root) that an upper dir holds: the only places a stage's
/// files can differ from the layers below.
fn upper_dirs(upper: &Path, out: &mut BTreeSet<String>) {
    let mut stack = vec![String::new()];
    while let Some(rel) = stack.pop() {
        let abs = upper.join(&rel);
        let Ok(entries) = std::fs::read_dir(&abs) else {
            continue;
        };
        out.insert(rel.clone());
        for e in entries.flatten() {
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                let name = e.file_name().to_string_lossy().to_string();
                stack.push(if rel.is_empty() {
                    name
                } else {
                    format!("{rel}/{name}")
                });
            }
        }
    }
}

/// A read-only mount of a stage's merged view, for comparing; unmounted when dropped.
struct View(PathBuf);
impl View {
    fn mount(layers: &[PathBuf], at: PathBuf) -> Result<View, String> {
        make_dir(&at)?;
        direct::mount_view(&join_layers(layers), &at)?;
        Ok(View(at))
    }
}
impl Drop for View {
    fn drop(&mut self) {
        direct::unmount(&self.0);
    }
}

/// The names (`/`-rooted paths) in the folders `dirs` of a view.
fn listing(view: &Path, dirs: &BTreeSet<String>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for rel in dirs {
        let abs = view.join(rel);
        match std::fs::symlink_metadata(&abs) {
            Ok(m) if m.is_dir() => {}
            _ => continue,
        }
        let Ok(entries) = std::fs::read_dir(&abs) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            out.insert(if rel.is_empty() {
                format!("/{name}")
            } else {
                format!("/{rel}/{name}")
            });
        }
    }
    out
}

/// What is at `path` in a view (`None`: nothing, or not readable).
fn entry(view: &Path, path: &str) -> Option<Entry> {
    let abs = view.join(path.trim_start_matches('/'));
    let m = std::fs::symlink_metadata(&abs).ok()?;
    let mode = m.permissions().mode() & 0o7777;
    let ft = m.file_type();
    Some(if ft.is_dir() {
        Entry::Dir {
            mode,
            uid: m.uid(),
            gid: m.gid(),
        }
    } else if ft.is_symlink() {
        Entry::Symlink {
            target: std::fs::read_link(&abs)
                .map(|t| t.to_string_lossy().to_string())
                .unwrap_or_default(),
        }
    } else if ft.is_file() {
        Entry::File {
            mode,
            uid: m.uid(),
            gid: m.gid(),
            content: std::fs::read(&abs).unwrap_or_default(),
        }
    } else {
        let kind = if ft.is_char_device() { 1 } else { 2 };
        Entry::Other {
            mode: mode | kind << 16,
            rdev: m.rdev(),
        }
    })
}

/// The layers of a stage that belong to its build (its own upper dir and its parent stages'),
/// as opposed to the stub layer and this machine's `/`, which every build shares unchanged.
fn build_layers<'a>(build: &Build, stage: &'a Stage) -> Vec<&'a PathBuf> {
    stage
        .layers
        .iter()
        .filter(|l| l.starts_with(&build.dir))
        .collect()
}

/// Whether any of `layers` holds something at `path` (a file, folder, whiteout, …).
fn in_layers(layers: &[&PathBuf], path: &str) -> bool {
    let rel = path.trim_start_matches('/');
    layers
        .iter()
        .any(|l| std::fs::symlink_metadata(l.join(rel)).is_ok())
}

/// A file the rewrite may drop: a package manager's cache or index (or a folder on the way to one),
/// or a download.
fn disposable(path: &str, entry: &Entry) -> bool {
    let cache_dir = matches!(entry, Entry::Dir { .. })
        && DISPOSABLE_PREFIXES
            .iter()
            .any(|p| p.starts_with(&format!("{path}/")));
    cache_dir
        || DISPOSABLE_PREFIXES.iter().any(|p| path.starts_with(p))
        || matches!(entry, Entry::File { content, .. } if content.starts_with(DOWNLOAD_MARK))
}

/// Differences between an original build and its rewrite; empty when they are equivalent.
pub fn differences(original: &Build, rewrite: &Build) -> Result<Vec<String>, String> {
    let mut diffs = Vec::new();
    if original.ok != rewrite.ok {
        diffs.push(format!(
            "build {} originally, {} rewritten",
            if original.ok { "succeeds" } else { "fails" },
            if rewrite.ok { "succeeds" } else { "fails" }
        ));
    }
    if original.stdout != rewrite.stdout {
        diffs.push(format!(
            "stdout differs:\n    original: {:?}\n    rewrite:  {:?}",
            String::from_utf8_lossy(&original.stdout),
            String::from_utf8_lossy(&rewrite.stdout)
        ));
    }
    if original.stages.len() != rewrite.stages.len() {
        diffs.push(format!(
            "{} stages originally, {} rewritten",
            original.stages.len(),
            rewrite.stages.len()
        ));
        return Ok(diffs);
    }
    for (i, (a, b)) in original.stages.iter().zip(&rewrite.stages).enumerate() {
        let mut dirs = BTreeSet::new();
        upper_dirs(&a.layers[0], &mut dirs);
        upper_dirs(&b.layers[0], &mut dirs);
        let va = View::mount(&a.layers, original.dir.join(format!("view{i}")))?;
        let vb = View::mount(&b.layers, rewrite.dir.join(format!("view{i}")))?;
        let (la, lb) = (listing(&va.0, &dirs), listing(&vb.0, &dirs));
        let (own_a, own_b) = (build_layers(original, a), build_layers(rewrite, b));
        for p in la.union(&lb) {
            // Seen in both views and written by neither build, a name is the shared layers' same
            // file in both (what hides it, a whiteout or an opaque folder, is in a build's layer):
            // equal without reading it. Reading every binary of /usr/bin because a RUN wrote one
            // file there was most of the comparison's time.
            if la.contains(p) && lb.contains(p) && !in_layers(&own_a, p) && !in_layers(&own_b, p) {
                continue;
            }
            let (x, y) = (
                la.contains(p).then(|| entry(&va.0, p)).flatten(),
                lb.contains(p).then(|| entry(&vb.0, p)).flatten(),
            );
            match (x.as_ref(), y.as_ref()) {
                (Some(x), Some(y)) if x == y => {}
                (Some(x), None) if disposable(p, x) => {}
                (x, y) => diffs.push(format!(
                    "stage {i} {p}: {} originally, {} rewritten",
                    x.map_or("absent".into(), Entry::describe),
                    y.map_or("absent".into(), Entry::describe)
                )),
            }
        }
    }
    Ok(diffs)
}

// ---------------------------------------------------------------------------------------------
// dfopt

/// dfopt's safe fixes with default settings and rules, through the library.
pub fn rewrite(text: &str) -> String {
    // One registry for the whole test process (building it, rules' data and regexes, cost more
    // than rewriting a generated case), shared by the threads as dfopt's own CLI shares it.
    static REGISTRY: OnceLock<dfopt::passes::Registry> = OnceLock::new();
    let settings = dfopt::config::Settings::default();
    let registry = REGISTRY.get_or_init(|| {
        dfopt::passes::Registry::new(&dfopt::config::Settings::default()).expect("default registry")
    });
    match dfopt::engine::fix_source(text, registry, &settings, None) {
        Ok(outcome) => outcome.fixed,
        Err(e) => panic!("dfopt failed on\n{text}\n{}", e.diagnostic("Dockerfile")),
    }
}
