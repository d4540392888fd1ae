//! The `fix`/`check` pipeline: the walk streams inputs, small batches of files run on the thread
//! pool, and results are printed in walk order, with progress and the summary line.

use super::file::{error_result, process_bytes, process_file, too_large, WriteRoots};
use super::folder_rules::{ConfigCache, FolderRules};
use super::{ColorChoice, CommonArgs, Mode};
use crate::diagnostic::Diagnostic;
use crate::discover::{absolute_from, Input, WalkOptions};
use crate::display_path::display_path_from;
use crate::exit::{EXIT_ERROR, EXIT_FINDINGS, EXIT_OK};
use crate::model::context::ProbeCache;
use crate::report::{FileResult, Format, Renderer, Summary};
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

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
    roots: &WriteRoots,
    cwd: Option<&Path>,
) -> Option<FileResult> {
    match (input, rules) {
        (Input::Stdin, _) => None,
        (Input::File(p), Some(Ok(rules))) => {
            let excluded = !rules.resolved.exclude.is_empty()
                && rules
                    .resolved
                    .excluded(&absolute_from(p, cwd).unwrap_or_else(|_| p.to_path_buf()));
            (!excluded).then(|| process_file(shown, p, mode, rules, roots))
        }
        (_, Some(Err(e))) => Some(error_result(shown, e.clone())),
        (Input::Error(_, msg), _) => Some(error_result(
            shown,
            Diagnostic::whole_file(shown, msg.as_str()).to_string(),
        )),
        (Input::File(_), None) => None,
    }
}

pub(super) fn process(
    common: &CommonArgs,
    mode: Mode,
    stdin: &mut dyn Read,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let format = common.format.unwrap_or(if mode == Mode::Report {
        Format::Text
    } else {
        Format::Diff
    });
    // `fix --write -` is an editor's filter: whatever goes wrong, the buffer must come back
    // unchanged on standard output (with the error on stderr), never be replaced by nothing.
    let filter_stdin =
        mode == Mode::Write && format == Format::Diff && common.paths.iter().any(|p| p == "-");
    let mut fail_early = |message: String, err: &mut dyn Write| {
        let _ = writeln!(err, "{message}");
        if filter_stdin {
            let _ = std::io::copy(stdin, out);
        }
        EXIT_ERROR
    };
    if mode == Mode::Report && format == Format::Diff {
        return fail_early(
            "error: `check` lists findings and has no diff; `dfopt fix` prints the fixes as a diff"
                .into(),
            err,
        );
    }
    let mut overrides = common.rules.overrides(common.isolated);
    overrides.no_unsafe_fixes = common.no_unsafe_fixes;
    if let Some(config) = &common.config {
        if !config.is_file() {
            return fail_early(
                Diagnostic::whole_file(
                    crate::display_path::display_path(config),
                    "--config: no such file",
                )
                .to_string(),
                err,
            );
        }
        overrides.config = Some(std::path::absolute(config).unwrap_or_else(|_| config.clone()));
    }
    for id in overrides
        .select
        .iter()
        .flatten()
        .chain(overrides.ignore.iter())
    {
        if !crate::rule_ids::is_rule_id(id) {
            return fail_early(
                format!("error: unknown rule `{id}` (see `dfopt rules`)"),
                err,
            );
        }
    }
    for (flag, patterns) in [
        ("--exclude", &common.exclude),
        ("--include", &common.include),
    ] {
        for pattern in patterns {
            if let Err(e) = globset::Glob::new(pattern) {
                return fail_early(format!("error: {flag}: bad glob `{pattern}`: {e}"), err);
            }
        }
    }
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
    // With --write, only files within the canonical paths named on the command line are written.
    let roots = if mode == Mode::Write {
        WriteRoots::of(&paths)
    } else {
        WriteRoots::default()
    };
    let mut cache = ConfigCache::new(overrides, &paths);
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
        Err(e) => return fail_early(e, err),
    };
    let mut received: std::collections::VecDeque<Input> = std::collections::VecDeque::new();
    // Progress only when the results go elsewhere: on a terminal, a spinner between findings
    // leaves residue in them, and the findings show progress themselves.
    let progress = (!common.quiet
        && std::io::stderr().is_terminal()
        && !std::io::stdout().is_terminal())
    .then(|| {
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
    // Warnings met while resolving configs (on the walk), printed before the next result.
    let pending_warnings: std::cell::RefCell<Vec<String>> = std::cell::RefCell::new(Vec::new());
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
            pending_warnings.borrow_mut().append(&mut cache.warnings);
            return Some((input, shown, rules));
        }
    };
    let mut print = |job: Job, res: Option<FileResult>| {
        for w in pending_warnings.borrow_mut().drain(..) {
            let _ = writeln!(err, "{w}");
        }
        let (input, shown, rules) = job;
        let res = match (&input, res) {
            (Input::Stdin, _) => {
                let mut buf = Vec::new();
                let limit = match &rules {
                    Some(Ok(r)) => r.resolved.settings.max_file_size(),
                    _ => crate::config::DEFAULT_MAX_FILE_SIZE,
                };
                let read = (&mut *stdin)
                    .take(limit.saturating_add(1))
                    .read_to_end(&mut buf);
                let res = match (read, &rules) {
                    (Ok(n), _) if n as u64 > limit => error_result(
                        &shown,
                        Diagnostic::whole_file("-", too_large(n as u64, limit)).to_string(),
                    ),
                    (Ok(_), Some(Ok(rules))) => {
                        process_bytes(&shown, None, buf.clone(), mode, rules, &roots)
                    }
                    (Err(e), _) => error_result(
                        &shown,
                        Diagnostic::whole_file("-", format!("cannot read standard input: {e}"))
                            .to_string(),
                    ),
                    (_, Some(Err(e))) => error_result(&shown, e.clone()),
                    _ => return,
                };
                if filter_stdin && res.error.is_some() && res.fixed_text.is_none() {
                    // The input comes back as it was (all of it, should it be over the limit).
                    let _ = renderer.out.write_all(&buf);
                    let _ = std::io::copy(stdin, renderer.out);
                }
                res
            }
            (_, Some(r)) => r,
            (_, None) => return,
        };
        let mut res = res;
        if mode == Mode::Write && common.format.is_none() {
            res.diff.clear(); // --write reports on stderr; a diff only when asked for
        }
        for w in &res.warnings {
            let _ = writeln!(err, "{w}");
        }
        if let Some(e) = &res.error {
            let _ = writeln!(err, "{e}");
        }
        // Beside the diff: what an unsafe fix changes that the diff does not say.
        for n in &res.notes {
            let _ = writeln!(err, "{n}");
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
    // The build-context files the rules look up, shared by the files of a folder (the run reads
    // each context file as it is when first asked).
    let probes = Arc::new(ProbeCache::default());
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
            let roots = &roots;
            let cwd = cwd.as_deref();
            let probes = &probes;
            scope.spawn(move |_| {
                // process_bytes already turns a panic into that file's error; this covers the rest
                // of the task, so that every batch reports back and this thread never waits forever.
                let results: Vec<Option<FileResult>> =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        ProbeCache::within(probes, || {
                            batch
                                .iter()
                                .map(|(input, shown, rules)| {
                                    process_job(input, shown, rules, mode, roots, cwd)
                                })
                                .collect()
                        })
                    }))
                    .unwrap_or_else(|_| {
                        batch
                            .iter()
                            .map(|(_, shown, _)| {
                                Some(error_result(
                                    shown,
                                    Diagnostic::whole_file(shown, "internal: dfopt panicked")
                                        .to_string(),
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
    // The summary follows the output even when both go to one terminal: stdout is buffered.
    let _ = renderer.out.flush();
    for w in pending_warnings.borrow_mut().drain(..) {
        let _ = writeln!(err, "{w}");
    }
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
        || (mode == Mode::Report
            && summary.fails(
                common
                    .fail_level
                    .unwrap_or(default_rules.resolved.settings.fail_level),
            ))
    {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    }
}
