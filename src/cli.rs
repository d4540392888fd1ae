//! The command line, kept thin: argument parsing and rendering over the library.

use crate::config::{resolve, Overrides, Resolved, Settings};
use crate::discover::{Input, WalkOptions};
use crate::display_path::{display_path, display_path_from};
use crate::engine;
use crate::exit::{EXIT_ERROR, EXIT_FINDINGS, EXIT_OK};
use crate::passes::{rule_doc, Registry};
use crate::report::{FileResult, Format, Renderer, Summary};
use crate::rule_args::RuleArgs;
use crate::syntax::{Dockerfile, Form};
use clap::{Args, Parser, Subcommand};
use std::collections::HashMap;
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

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
    /// Write a commented default dfopt.toml.
    Init {
        /// Where to write it.
        #[arg(default_value = "dfopt.toml")]
        path: PathBuf,
        /// Overwrite an existing file.
        #[arg(long)]
        force: bool,
    },
    /// Print a shell completion script.
    Completions { shell: clap_complete::Shell },
    /// Print the man page (roff).
    Man,
    /// Build the original and the rewritten Dockerfile with the local Docker engine and compare.
    Verify(crate::verify::VerifyArgs),
    /// Print dfopt's parse of each file as one JSON line (for the BuildKit agreement check).
    #[command(hide = true)]
    Parse { paths: Vec<PathBuf> },
}

#[derive(Args, Debug, Default, Clone)]
pub struct CommonArgs {
    /// Files or folders (walked recursively, honouring .gitignore); `-` reads standard input.
    /// Default: the current folder.
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub rules: RuleArgs,
    /// Output format (default: diff for `fix`, text for `check`).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Process only shard K of N (1-based), e.g. `--shard 2/8`: a stable split by path.
    #[arg(long, value_parser = parse_shard)]
    pub shard: Option<(u64, u64)>,
    /// Ignore dfopt.toml files.
    #[arg(long)]
    pub isolated: bool,
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
    /// Print no summary and no progress.
    #[arg(long, short)]
    pub quiet: bool,
    /// Colour output.
    #[arg(long, value_enum, default_value = "auto")]
    pub color: ColorChoice,
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

#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

fn parse_shard(s: &str) -> Result<(u64, u64), String> {
    let (k, n) = s.split_once('/').ok_or("expected K/N, e.g. 2/8")?;
    let k: u64 = k.trim().parse().map_err(|_| "K must be a number")?;
    let n: u64 = n.trim().parse().map_err(|_| "N must be a number")?;
    if n == 0 || k == 0 || k > n {
        return Err("need 1 <= K <= N".into());
    }
    Ok((k, n))
}

/// The shard (0-based) a path belongs to: FNV-1a of its displayed path, so every machine of a CI
/// matrix splits a checkout the same way.
pub fn shard_of(display: &str, n: u64) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in display.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h % n
}

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
    let mut out = std::io::BufWriter::new(stdout.lock());
    // Not locked for the whole run: a worker thread that prints to stderr (`eprintln!` while
    // debugging, say) would wait for the lock forever and hang the run.
    let mut err = std::io::stderr();
    let code = run(cli, &mut std::io::stdin(), &mut out, &mut err);
    let _ = out.flush();
    code
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
        Command::Rules => match Registry::new(&Settings::default()) {
            Ok(reg) => {
                let width = reg.rules.iter().map(|r| r.id().len()).max().unwrap_or(4);
                let _ = writeln!(
                    out,
                    "{:<width$} {:<7} {:<8} summary",
                    "rule", "fix", "default"
                );
                for r in &reg.rules {
                    let safety = r.fix_safety().map(|s| s.as_str()).unwrap_or("none");
                    let on = if r.default_enabled() { "on" } else { "off" };
                    let _ = writeln!(
                        out,
                        "{:<width$} {:<7} {:<8} {}",
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
        },
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
        Command::Init { path, force } => {
            if path.exists() && !force {
                let _ = writeln!(
                    err,
                    "{}:1:1: error: already exists (use --force to overwrite)",
                    display_path(&path)
                );
                return EXIT_ERROR;
            }
            match std::fs::write(&path, crate::config::DEFAULT_CONFIG) {
                Ok(()) => {
                    let _ = writeln!(err, "wrote {}", display_path(&path));
                    EXIT_OK
                }
                Err(e) => {
                    let _ = writeln!(
                        err,
                        "{}:1:1: error: {}",
                        display_path(&path),
                        crate::discover::io_message(&e)
                    );
                    EXIT_ERROR
                }
            }
        }
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut cmd, "dfopt", out);
            EXIT_OK
        }
        Command::Man => {
            let cmd = <Cli as clap::CommandFactory>::command();
            match clap_mangen::Man::new(cmd).render(out) {
                Ok(()) => EXIT_OK,
                Err(e) => {
                    let _ = writeln!(err, "error: {e}");
                    EXIT_ERROR
                }
            }
        }
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

/// Files handed to the pool as one task: a task per file would cost a thread wake-up each.
const JOB_BATCH: usize = 16;
/// Tasks in flight at once (so at most 512 files' results are held).
const WINDOW_BATCHES: usize = 32;

/// One input, its name as shown, and the rules that govern it (None for inputs that are errors
/// already).
type Job = (Input, String, Option<Result<Arc<FolderRules>, String>>);
/// Files per batch and batches in flight. Debug builds take them from `DFOPT_TEST_PIPELINE`
/// (`BATCH,WINDOW`), so that tests can drive the pipeline through its edge cases (a window of one
/// batch is printed empty after every batch).
fn pipeline_sizes() -> (usize, usize) {
    #[cfg(debug_assertions)]
    if let Some((b, w)) = std::env::var("DFOPT_TEST_PIPELINE")
        .ok()
        .as_deref()
        .and_then(|v| v.split_once(','))
        .and_then(|(b, w)| Some((b.parse::<usize>().ok()?, w.parse::<usize>().ok()?)))
    {
        return (b.max(1), w.max(1));
    }
    (JOB_BATCH, WINDOW_BATCHES)
}

/// A batch of jobs with their results (`None`: nothing to report, or stdin, read when printed).
type BatchResults = Vec<(Job, Option<FileResult>)>;

/// The work on one input that can run on any thread (stdin is read on the main thread, in order).
fn process_job(
    input: &Input,
    shown: &str,
    rules: &Option<Result<Arc<FolderRules>, String>>,
    mode: Mode,
) -> Option<FileResult> {
    match (input, rules) {
        (Input::Stdin, _) => None,
        (Input::File(p), Some(Ok(rules))) => {
            let excluded = !rules.resolved.exclude.is_empty()
                && rules
                    .resolved
                    .excluded(&std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf()));
            (!excluded).then(|| process_file(shown, p, mode, rules))
        }
        (_, Some(Err(e))) => Some(error_result(shown, e.clone())),
        (Input::Error(_, msg), _) => {
            Some(error_result(shown, format!("{shown}:1:1: error: {msg}")))
        }
        (Input::File(_), None) => None,
    }
}

/// Config and rules for the files of one folder.
struct FolderRules {
    resolved: Resolved,
    registry: Arc<Registry>,
}

/// Resolves configs per folder, once each.
struct ConfigCache {
    overrides: Overrides,
    by_config: HashMap<Option<PathBuf>, Result<Arc<FolderRules>, String>>,
    /// Rules compiled once per distinct `[transforms]` data: a monorepo's many configs share them.
    registries: HashMap<String, Arc<Registry>>,
    by_dir: HashMap<PathBuf, Option<PathBuf>>,
    /// The nearest config of each absolute folder looked at, so that sibling folders do not test
    /// their shared parents again.
    by_abs_dir: HashMap<PathBuf, Option<PathBuf>>,
}

/// Folders remembered by each [`ConfigCache`] table before it starts over: a monorepo can have a
/// folder per Dockerfile, and the walk visits a folder's files together, so a small table keeps
/// nearly every hit while memory stays flat (100,000 files in 71,670 folders took 13 MB more
/// without a bound).
const FOLDER_CACHE_LIMIT: usize = 4096;

fn bounded_insert<V>(map: &mut HashMap<PathBuf, V>, key: PathBuf, value: V) {
    if map.len() >= FOLDER_CACHE_LIMIT {
        map.clear();
    }
    map.insert(key, value);
}

impl ConfigCache {
    /// [`crate::config::find_config`] with every folder on the way up remembered.
    fn config_above(&mut self, abs: &Path) -> Option<PathBuf> {
        let mut visited: Vec<&Path> = Vec::new();
        let mut cur = Some(abs);
        let found = loop {
            let Some(d) = cur else {
                break None;
            };
            if let Some(known) = self.by_abs_dir.get(d) {
                break known.clone();
            }
            visited.push(d);
            if let Some(p) = crate::config::config_in(d) {
                break Some(p);
            }
            cur = d.parent();
        };
        for d in visited {
            bounded_insert(&mut self.by_abs_dir, d.to_path_buf(), found.clone());
        }
        found
    }

    fn get(&mut self, file: &Path) -> Result<Arc<FolderRules>, String> {
        let dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
        let dir = if dir.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            dir
        };
        let config = if self.overrides.isolated {
            None
        } else {
            match self.by_dir.get(&dir) {
                Some(c) => c.clone(),
                None => {
                    let abs = std::path::absolute(&dir).unwrap_or_else(|_| dir.clone());
                    let c = self.config_above(&abs);
                    bounded_insert(&mut self.by_dir, dir, c.clone());
                    c
                }
            }
        };
        let overrides = &self.overrides;
        let registries = &mut self.registries;
        self.by_config
            .entry(config.clone())
            .or_insert_with(|| {
                let resolved = resolve(config.as_deref(), overrides).map_err(|mut e| {
                    e.path = PathBuf::from(display_path(&e.path));
                    e.to_string()
                })?;
                let key = format!("{:?}", resolved.settings.transforms);
                let registry = match registries.get(&key) {
                    Some(r) => r.clone(),
                    None => {
                        let r =
                            Arc::new(Registry::new(&resolved.settings).map_err(
                                |e| match &config {
                                    Some(p) => format!("{}:1:1: error: {e}", display_path(p)),
                                    None => format!("error: {e}"),
                                },
                            )?);
                        registries.insert(key, r.clone());
                        r
                    }
                };
                Ok(Arc::new(FolderRules { resolved, registry }))
            })
            .clone()
    }
}

fn process(
    common: &CommonArgs,
    mode: Mode,
    stdin: &mut dyn Read,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let overrides = common.rules.overrides(common.isolated);
    for id in overrides
        .select
        .iter()
        .flatten()
        .chain(overrides.ignore.iter())
    {
        if !crate::passes::is_rule_id(id) {
            let _ = writeln!(err, "error: unknown rule `{id}` (see `dfopt rules`)");
            return EXIT_ERROR;
        }
    }
    let format = common.format.unwrap_or(if mode == Mode::Report {
        Format::Text
    } else {
        Format::Diff
    });
    let color = match common.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::env::var_os("NO_COLOR").is_none() && std::io::stdout().is_terminal()
        }
    };
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
    let cwd = std::env::current_dir().ok();
    let mut cache = ConfigCache {
        overrides,
        by_config: HashMap::new(),
        registries: HashMap::new(),
        by_dir: HashMap::new(),
        by_abs_dir: HashMap::new(),
    };
    // The walk streams paths through a bounded channel while earlier files are processed, so
    // memory stays flat however many files there are. It starts before the rules are read, which
    // takes a while, and only needs the paths.
    // Inputs travel in batches: one channel message (and thread wake-up) per input cost more
    // system time than the walk itself.
    const BATCH: usize = 64;
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Input>>(32);
    let walker = std::thread::spawn(move || {
        let mut batch = Vec::with_capacity(BATCH);
        let mut open = true;
        crate::discover::discover_each(&paths, &walk, |i| {
            batch.push(i);
            if batch.len() == BATCH {
                open = tx
                    .send(std::mem::replace(&mut batch, Vec::with_capacity(BATCH)))
                    .is_ok();
            }
            open
        });
        if open && !batch.is_empty() {
            let _ = tx.send(batch);
        }
    });
    let default_rules = match cache.get(Path::new("./Dockerfile")) {
        Ok(r) => r,
        Err(e) => {
            let _ = writeln!(err, "{e}");
            return EXIT_ERROR;
        }
    };
    let mut received: std::collections::VecDeque<Input> = std::collections::VecDeque::new();
    let progress = (!common.quiet && std::io::stderr().is_terminal()).then(|| {
        let pb = indicatif::ProgressBar::new_spinner();
        pb.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {pos} files {per_sec} {elapsed}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        pb
    });
    let mut renderer = Renderer::new(format, color, out);
    let _ = renderer.begin(&default_rules.registry);
    let mut summary = Summary::default();
    let mut swept_dirs: std::collections::HashSet<PathBuf> = std::collections::HashSet::new();
    let mut walk_done = false;
    // The next input with its shown name and rules, in walk order; configs are resolved here, in
    // order, so that the parallel part only reads.
    let mut next_job = || -> Option<Job> {
        loop {
            if walk_done {
                return None;
            }
            let Some(input) = received.pop_front() else {
                match rx.recv() {
                    Ok(batch) => received.extend(batch),
                    Err(_) => walk_done = true,
                }
                continue;
            };
            let shown = match &input {
                Input::Stdin => common.stdin_filename.clone(),
                Input::File(p) | Input::Error(p, _) => display_path_from(p, cwd.as_deref()),
            };
            if let Some((k, n)) = common.shard {
                if shard_of(&shown, n) != k - 1 {
                    continue;
                }
            }
            if mode == Mode::Write {
                if let Input::File(p) = &input {
                    let dir = match p.parent() {
                        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
                        _ => PathBuf::from("."),
                    };
                    if swept_dirs.insert(dir.clone()) {
                        crate::write::remove_stale_temp_files(&dir);
                    }
                }
            }
            let rules = match &input {
                Input::File(p) => Some(cache.get(p)),
                Input::Stdin => Some(cache.get(Path::new("./Dockerfile"))),
                Input::Error(..) => None,
            };
            return Some((input, shown, rules));
        }
    };
    let mut print = |job: Job, res: Option<FileResult>| {
        let (input, shown, rules) = job;
        let res = match (&input, res) {
            (Input::Stdin, _) => {
                let mut buf = Vec::new();
                match (stdin.read_to_end(&mut buf), &rules) {
                    (Ok(_), Some(Ok(rules))) => process_bytes(&shown, None, buf, mode, rules),
                    (Err(e), _) => error_result(
                        &shown,
                        format!("-:1:1: error: cannot read standard input: {e}"),
                    ),
                    (_, Some(Err(e))) => error_result(&shown, e.clone()),
                    _ => return,
                }
            }
            (_, Some(r)) => r,
            (_, None) => return,
        };
        let mut res = res;
        if mode == Mode::Write && common.format.is_none() {
            res.diff.clear(); // --write reports on stderr; a diff only when asked for
        }
        if let Some(e) = &res.error {
            let _ = writeln!(err, "{e}");
        }
        if mode == Mode::Write && !res.notice.is_empty() && res.fixed_text.is_none() {
            let _ = err.write_all(res.notice.as_bytes());
        }
        summary.add(&res);
        let _ = renderer.file(&res, mode != Mode::Report);
        if let Some(pb) = &progress {
            pb.inc(1);
        }
    };
    // A pipeline without barriers: this thread hands the pool small batches of files, up to
    // WINDOW_BATCHES at a time, and prints the results in walk order as they arrive (a slot per
    // batch holds those that finish early). The pool never waits for a slow file of a previous
    // batch, and memory stays bounded by the window.
    let (done_tx, done_rx) = std::sync::mpsc::channel::<(usize, BatchResults)>();
    let mut slots: std::collections::VecDeque<Option<BatchResults>> =
        std::collections::VecDeque::new();
    let mut first_slot = 0usize; // batch number of `slots[0]`
    let mut inputs_done = false;
    let (job_batch, window_batches) = pipeline_sizes();
    rayon::in_place_scope(|scope| loop {
        while !inputs_done && slots.len() < window_batches {
            let batch: Vec<Job> = std::iter::from_fn(&mut next_job).take(job_batch).collect();
            if batch.len() < job_batch {
                inputs_done = true;
            }
            if batch.is_empty() {
                break;
            }
            let number = first_slot + slots.len();
            let done_tx = done_tx.clone();
            scope.spawn(move |_| {
                // process_bytes already turns a panic into that file's error; this covers the rest
                // of the task, so that every batch reports back and this thread never waits forever.
                let results: Vec<Option<FileResult>> =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        batch
                            .iter()
                            .map(|(input, shown, rules)| process_job(input, shown, rules, mode))
                            .collect()
                    }))
                    .unwrap_or_else(|_| {
                        batch
                            .iter()
                            .map(|(_, shown, _)| {
                                Some(error_result(
                                    shown,
                                    format!("{shown}:1:1: error: internal: dfopt panicked"),
                                ))
                            })
                            .collect()
                    });
                let _ = done_tx.send((number, batch.into_iter().zip(results).collect()));
            });
            slots.push_back(None);
        }
        while let Some(Some(_)) = slots.front() {
            if let Some(Some(batch)) = slots.pop_front() {
                first_slot += 1;
                for (job, res) in batch {
                    print(job, res);
                }
            }
        }
        if slots.is_empty() {
            if inputs_done {
                break;
            }
            // Every batch in flight has been printed (the oldest was the last to finish): hand
            // out the next ones. Stopping here once left the rest of the walk unprocessed.
            continue;
        }
        // The oldest batch is still running: wait for any batch to finish.
        match done_rx.recv() {
            Ok((number, results)) => {
                if let Some(slot) = number
                    .checked_sub(first_slot)
                    .and_then(|k| slots.get_mut(k))
                {
                    *slot = Some(results);
                }
            }
            Err(_) => break,
        }
    });
    let _ = walker.join();
    if let Some(pb) = progress {
        pb.finish_and_clear();
    }
    let _ = renderer.end(&summary);
    if !common.quiet {
        let verb = match mode {
            Mode::Write => "fixed",
            Mode::Report => "",
            _ => "would change",
        };
        let _ = writeln!(err, "{}", summary.line(verb));
    }
    if summary.errors > 0 {
        EXIT_ERROR
    } else if (mode == Mode::CheckFix && summary.changed > 0)
        || (mode == Mode::Report && summary.findings > 0)
    {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    }
}

fn error_result(shown: &str, message: String) -> FileResult {
    FileResult {
        path: shown.to_string(),
        error: Some(message),
        ..Default::default()
    }
}

fn process_file(shown: &str, path: &Path, mode: Mode, rules: &FolderRules) -> FileResult {
    match read_file(path) {
        Ok(bytes) => process_bytes(shown, Some(path), bytes, mode, rules),
        Err(e) => {
            let msg = if path.is_dir() {
                "is a directory".to_string()
            } else {
                crate::discover::io_message(&e)
            };
            error_result(shown, format!("{shown}:1:1: error: {msg}"))
        }
    }
}

/// The whole file. Unlike `std::fs::read`, no `stat` for its size first: a buffer that holds a
/// typical Dockerfile is read into, and grows for the rare larger one (the walk has already
/// looked at the file once, and a system call per file shows at thousands of files).
fn read_file(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read as _;
    let file = std::fs::File::open(path)?;
    let mut bytes = Vec::with_capacity(16 * 1024);
    // `File::read_to_end` asks for the size (`statx`, `lseek`); through `Take` it just reads.
    file.take(u64::MAX).read_to_end(&mut bytes)?;
    Ok(bytes)
}

fn process_bytes(
    shown: &str,
    path: Option<&Path>,
    bytes: Vec<u8>,
    mode: Mode,
    rules: &FolderRules,
) -> FileResult {
    // A panic is a bug in dfopt, never an answer about the input: report it for this file as an
    // internal error (exit code 2) and go on with the others, as for any other unreadable file.
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        process_bytes_unguarded(shown, path, bytes, mode, rules)
    })) {
        Ok(res) => res,
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            error_result(
                shown,
                format!("{shown}:1:1: error: internal: dfopt panicked ({what}); the file was left untouched, please report it"),
            )
        }
    }
}

fn process_bytes_unguarded(
    shown: &str,
    path: Option<&Path>,
    bytes: Vec<u8>,
    mode: Mode,
    rules: &FolderRules,
) -> FileResult {
    let mut res = FileResult {
        path: shown.to_string(),
        ..Default::default()
    };
    let text = match crate::write::decode(bytes) {
        Ok(t) => t,
        Err(e) => {
            res.error = Some(format!(
                "{shown}:{}:{}: error: {}",
                e.line, e.col, e.message
            ));
            return res;
        }
    };
    // Debug builds only: lets the end-to-end tests make a worker panic, to prove that a panic is
    // reported for its file and neither hangs nor stops the run.
    #[cfg(debug_assertions)]
    if std::env::var_os("DFOPT_TEST_PANIC").is_some() && text.contains("DFOPT-TEST-PANIC") {
        panic!("test panic requested by DFOPT_TEST_PANIC");
    }
    let settings = match path {
        Some(p) => rules.resolved.settings_for(p),
        None => std::borrow::Cow::Borrowed(&rules.resolved.settings),
    };
    let settings = settings.as_ref();
    if mode == Mode::Report {
        match engine::check_source(&text, &rules.registry, settings, path) {
            Ok((doc, found)) => {
                res.runs_before = doc.run_count();
                res.runs_after = res.runs_before;
                res.findings = found
                    .iter()
                    .map(|f| crate::report::locate(&doc, f, settings.unsafe_fixes))
                    .collect();
            }
            Err(e) => res.error = Some(format!("{shown}:{e}")),
        }
        return res;
    }
    let outcome = match engine::fix_source(&text, &rules.registry, settings, path) {
        Ok(o) => o,
        Err(e) => {
            res.error = Some(format!("{shown}:{e}"));
            if path.is_none() && mode == Mode::Write {
                res.fixed_text = Some(text); // never lose the input
            }
            return res;
        }
    };
    res.changed = outcome.changed();
    res.applied = outcome.applied.clone();
    res.runs_after = outcome.fixed_doc.run_count();
    res.runs_before = outcome.runs_before;
    res.findings = outcome
        .remaining
        .iter()
        .map(|f| crate::report::locate(&outcome.fixed_doc, f, settings.unsafe_fixes))
        .collect();
    res.diff = crate::diff::unified(shown, &outcome.original, &outcome.fixed);
    match mode {
        Mode::CheckFix if res.changed => {
            res.notice = format!(
                "{shown}: would apply {} fix(es): {}\n",
                outcome.applied.len(),
                summarize(&outcome.applied)
            );
        }
        Mode::Write => match path {
            None => res.fixed_text = Some(outcome.fixed),
            Some(p) if res.changed => match crate::write::write_atomic(p, &outcome.fixed) {
                Ok(()) => res.notice = format!("fixed {shown} ({})\n", summarize(&outcome.applied)),
                Err(e) => {
                    res.error = Some(format!("{shown}:1:1: error: {e}"));
                    res.changed = false;
                }
            },
            Some(_) => {}
        },
        _ => {}
    }
    res
}

/// `chain-runs x2, apt-clean` style summary of applied fixes.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_parses_verify_flags() {
        let cli = Cli::try_parse_from([
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
        let Command::Verify(v) = cli.command else {
            panic!("not verify")
        };
        assert!(v.rules.unsafe_fixes);
        assert_eq!(v.format, crate::verify::Format::Json);
        assert_eq!(v.rules.select, Some(vec!["chain-runs".to_string()]));
        assert_eq!(v.probe.as_deref(), Some("http://:3000/"));
        assert!(Cli::try_parse_from(["dfopt", "verify"]).is_err());
        assert!(Cli::try_parse_from([
            "dfopt",
            "verify",
            "D",
            "--probe",
            "http://:1/",
            "--run",
            "x"
        ])
        .is_err());
        let cli = Cli::try_parse_from(["dfopt", "verify", "D", "--run", "-e 'x'"]).unwrap();
        let Command::Verify(v) = cli.command else {
            panic!("not verify")
        };
        assert_eq!(v.run.as_deref(), Some("-e 'x'"));
    }
}
