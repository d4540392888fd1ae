//! Processing one file: read, decode, check or fix, and (with `--write`) write it back.

use super::folder_rules::FolderRules;
use super::Mode;
use crate::diagnostic::Diagnostic;
use crate::engine;
use crate::report::FileResult;
use std::path::Path;

pub(super) fn error_result(shown: &str, message: String) -> FileResult {
    FileResult {
        path: shown.to_string(),
        error: Some(message),
        ..Default::default()
    }
}

pub(super) fn process_file(
    shown: &str,
    path: &Path,
    mode: Mode,
    rules: &FolderRules,
) -> FileResult {
    match read_file(path) {
        Ok(bytes) => process_bytes(shown, Some(path), bytes, mode, rules),
        Err(e) => {
            let msg = if path.is_dir() {
                "is a directory".to_string()
            } else {
                crate::discover::io_message(&e)
            };
            error_result(shown, Diagnostic::whole_file(shown, msg).to_string())
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

pub(super) fn process_bytes(
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
                Diagnostic::whole_file(shown, format!("internal: dfopt panicked ({what}); the file was left untouched, please report it")).to_string(),
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
            res.error = Some(e.in_file(shown).to_string());
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
    res.notes = unsafe_fix_notes(&text, rules, settings, path, shown, &outcome.applied);
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
                    res.error = Some(Diagnostic::whole_file(shown, e).to_string());
                    res.changed = false;
                }
            },
            Some(_) => {}
        },
        _ => {}
    }
    res
}

/// What each applied unsafe fix changes beyond the diff (a multi-stage conversion's runtime image
/// and version, user, shell, what is copied): the messages of those findings in the original,
/// `path:line:col: rule: message`. Empty when no unsafe fix was applied.
fn unsafe_fix_notes(
    text: &str,
    rules: &FolderRules,
    settings: &crate::config::Settings,
    path: Option<&std::path::Path>,
    shown: &str,
    applied: &[&str],
) -> Vec<String> {
    if !settings.unsafe_fixes || applied.is_empty() {
        return Vec::new();
    }
    let Ok((doc, found)) = engine::check_source(text, &rules.registry, settings, path) else {
        return Vec::new();
    };
    found
        .iter()
        .filter(|f| {
            applied.contains(&f.rule)
                && f.fix
                    .as_ref()
                    .is_some_and(|fx| fx.safety == crate::edit::Safety::Unsafe)
        })
        .map(|f| {
            let (line, col) = doc.line_col(f.span.start);
            format!("{shown}:{line}:{col}: {}: {}", f.rule, f.message)
        })
        .collect()
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
