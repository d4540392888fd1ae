//! Processing one file: read, decode, check or fix, and (with `--write`) write it back.

use super::folder_rules::FolderRules;
use super::Mode;
use crate::diagnostic::Diagnostic;
use crate::engine;
use crate::report::FileResult;
use std::path::{Path, PathBuf};

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
    roots: &WriteRoots,
) -> FileResult {
    match read_file(path, rules.resolved.settings.max_file_size()) {
        Ok(bytes) => process_bytes(shown, Some(path), bytes, mode, rules, roots),
        Err(e) => error_result(shown, Diagnostic::whole_file(shown, e).to_string()),
    }
}

/// The whole file, if it is a regular file no larger than `limit` bytes. The type and size come
/// from the open file itself (`fstat`), so a file swapped for a FIFO or a device after the walk is
/// still refused, and the read stops past the limit should the file grow meanwhile.
fn read_file(path: &Path, limit: u64) -> Result<Vec<u8>, String> {
    let file = std::fs::File::open(path).map_err(|e| crate::discover::io_message(&e))?;
    let meta = file
        .metadata()
        .map_err(|e| crate::discover::io_message(&e))?;
    if meta.is_dir() {
        return Err("is a directory".into());
    }
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    if meta.len() > limit {
        return Err(too_large(meta.len(), limit));
    }
    let bytes = read_regular(file, meta.len(), limit.saturating_add(1))
        .map_err(|e| crate::discover::io_message(&e))?;
    if bytes.len() as u64 > limit {
        return Err(too_large(bytes.len() as u64, limit));
    }
    Ok(bytes)
}

/// The bytes of a regular file of `size` bytes (as `fstat` said), at most `cap` of them. A read
/// that stops exactly at `size` when asked for more is the end of the file: the usual file takes
/// one `read` rather than `read_to_end`'s two (the second only to see the end). Any other short
/// read (a network or FUSE file system may return one mid-file) reads on until a read returns
/// nothing, and a file grown since the `fstat` is read on until its end or `cap`.
fn read_regular(mut file: std::fs::File, size: u64, cap: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read as _;
    let mut bytes = vec![0u8; size.saturating_add(1).min(cap).max(1) as usize];
    let mut filled = 0;
    loop {
        if filled == bytes.len() {
            if filled as u64 >= cap {
                break;
            }
            // Full: the file grew. Room for more, up to `cap`.
            let grown = (bytes.len() as u64).saturating_mul(2).min(cap) as usize;
            bytes.resize(grown, 0);
        }
        match file.read(&mut bytes[filled..]) {
            Ok(0) => break,
            Ok(n) => {
                filled += n;
                if filled as u64 == size && filled < bytes.len() {
                    break;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    bytes.truncate(filled);
    Ok(bytes)
}

/// The message for an input over `max-file-size`.
pub(super) fn too_large(size: u64, limit: u64) -> String {
    format!(
        "larger than max-file-size ({limit} bytes){}; not read",
        if size > limit {
            format!(": {size} bytes")
        } else {
            String::new()
        }
    )
}

/// The file's name for diff headers: as shown, unless the name is not UTF-8 (Linux allows any
/// bytes but `/` and NUL); then its own bytes, so that `git apply` finds the file.
fn header_name(shown: &str, path: Option<&Path>) -> Vec<u8> {
    #[cfg(unix)]
    if let Some(p) = path.filter(|p| p.to_str().is_none()) {
        use std::os::unix::ffi::OsStrExt;
        let mut bytes = p.as_os_str().as_bytes();
        while let Some(rest) = bytes.strip_prefix(b"./") {
            bytes = rest;
        }
        return bytes.to_vec();
    }
    let _ = path;
    shown.as_bytes().to_vec()
}

/// The canonical folders and files named on the command line: `--write` never writes a file
/// whose canonical path lies outside them (a symlinked folder, `--follow-symlinks`, a link to `/`).
#[derive(Debug, Default)]
pub(super) struct WriteRoots {
    /// Looked up by each ancestor of a file's canonical path: a run may name thousands of files.
    roots: std::collections::HashSet<PathBuf>,
}

impl WriteRoots {
    /// The canonical paths of `paths` (those that exist).
    pub(super) fn of(paths: &[PathBuf]) -> WriteRoots {
        let mut folders = std::collections::HashMap::new();
        WriteRoots {
            roots: paths
                .iter()
                .filter_map(|p| canonical(p, &mut folders))
                .collect(),
        }
    }

    /// Whether canonical path `canon` is one of the roots or lies within one.
    fn hold(&self, canon: &Path) -> bool {
        canon.ancestors().any(|a| self.roots.contains(a))
    }
}

/// `path.canonicalize()`, each folder resolved once (`folders` remembers them): a path ending in
/// a name that is no symlink is its folder's canonical path joined with that name. Anything else
/// (a symlink, a trailing `/` or `.`, which `stat` would resolve) is canonicalized whole.
fn canonical(
    path: &Path,
    folders: &mut std::collections::HashMap<PathBuf, Option<PathBuf>>,
) -> Option<PathBuf> {
    let text = path.as_os_str().as_encoded_bytes();
    let plain_end = !text.ends_with(b"/") && !text.ends_with(b"/.");
    let name = path.file_name().filter(|_| plain_end);
    let no_symlink = || std::fs::symlink_metadata(path).is_ok_and(|m| !m.file_type().is_symlink());
    if let (Some(name), Some(folder)) = (name, path.parent()) {
        if no_symlink() {
            let folder = if folder.as_os_str().is_empty() {
                Path::new(".")
            } else {
                folder
            };
            let canon_folder = folders
                .entry(folder.to_path_buf())
                .or_insert_with(|| folder.canonicalize().ok());
            if let Some(canon_folder) = canon_folder {
                return Some(canon_folder.join(name));
            }
        }
    }
    path.canonicalize().ok()
}

/// Whether `path` (canonicalized) lies within one of `roots`.
fn within_roots(path: &Path, roots: &WriteRoots) -> bool {
    match path.canonicalize() {
        Ok(canon) => roots.hold(&canon),
        Err(_) => false,
    }
}

pub(super) fn process_bytes(
    shown: &str,
    path: Option<&Path>,
    bytes: Vec<u8>,
    mode: Mode,
    rules: &FolderRules,
    roots: &WriteRoots,
) -> FileResult {
    // A panic is a bug in dfopt, never an answer about the input: report it for this file as an
    // internal error (exit code 2) and go on with the others, as for any other unreadable file.
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        process_bytes_unguarded(shown, path, bytes, mode, rules, roots)
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
    roots: &WriteRoots,
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
    res.warnings = crate::suppress::unknown_names(&text)
        .into_iter()
        .map(|(line, col, name)| {
            format!(
                "{shown}:{line}:{col}: warning: `# dfopt: ignore=`: unknown rule `{name}` (see \
                 `dfopt rules`); it suppresses nothing"
            )
        })
        .collect();
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
                res.runs_before = crate::engine::shipped_run_count(&doc);
                res.runs_after = res.runs_before;
                res.findings = found
                    .iter()
                    .map(|f| crate::report::locate(&doc, f, settings.unsafe_fixes))
                    .collect();
            }
            Err(e) => res.error = Some(e.diagnostic(shown).to_string()),
        }
        return res;
    }
    let outcome = match engine::fix_source(&text, &rules.registry, settings, path) {
        Ok(o) => o,
        Err(e) => {
            res.error = Some(e.diagnostic(shown).to_string());
            if path.is_none() && mode == Mode::Write {
                res.fixed_text = Some(text); // never lose the input
            }
            return res;
        }
    };
    res.changed = outcome.changed();
    res.applied = outcome.applied.clone();
    res.runs_after = outcome.runs_after;
    res.runs_before = outcome.runs_before;
    res.final_image = outcome.final_image.clone();
    res.findings = outcome
        .remaining
        .iter()
        .map(|f| crate::report::locate(&outcome.fixed_doc, f, settings.unsafe_fixes))
        .collect();
    res.diff =
        crate::diff::unified_bytes(&header_name(shown, path), &outcome.original, &outcome.fixed);
    res.notes = unsafe_fix_notes(&outcome, shown);
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
            Some(_) if res.changed && path.is_some_and(|p| !within_roots(p, roots)) => {
                res.error = Some(
                    Diagnostic::whole_file(
                        shown,
                        "lies outside the folders named on the command line (reached through a \
                         symlink); not written",
                    )
                    .to_string(),
                );
                res.changed = false;
            }
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
    if mode == Mode::Write && path.is_some() && res.error.is_some() {
        // A refused write fixed nothing: the summary must not count its fixes or removed layers.
        res.applied.clear();
        res.runs_after = res.runs_before;
    }
    res
}

/// The consequences of the unsafe fixes applied (conversions' notes), as `path:line:col: rule:
/// message` lines: the original's findings of those rules, as the engine saw them.
fn unsafe_fix_notes(outcome: &engine::FileOutcome, shown: &str) -> Vec<String> {
    if outcome.applied.is_empty() {
        return Vec::new();
    }
    outcome
        .original_unsafe
        .iter()
        .filter(|f| outcome.applied.contains(&f.rule))
        .map(|f| format!("{shown}:{}:{}: {}: {}", f.line, f.col, f.rule, f.message))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn canonical_paths_are_what_canonicalize_gives() {
        let dir = tempfile::tempdir().expect("tempdir");
        let base = dir.path().canonicalize().expect("canonical tempdir");
        let d = |p: &str| base.join(p);
        std::fs::create_dir_all(d("real/sub")).expect("mkdir");
        std::fs::write(d("real/Dockerfile"), "FROM x\n").expect("write");
        std::fs::write(d("real/sub/Dockerfile"), "FROM x\n").expect("write");
        std::os::unix::fs::symlink(d("real"), d("linkdir")).expect("symlink");
        std::os::unix::fs::symlink(d("real/Dockerfile"), d("real/link.Dockerfile"))
            .expect("symlink");
        std::os::unix::fs::symlink(d("nowhere"), d("real/dangling")).expect("symlink");
        let mut folders = std::collections::HashMap::new();
        for p in [
            "real/Dockerfile",
            "real/sub/Dockerfile",
            "real/sub/../Dockerfile",
            "real/./sub//Dockerfile",
            "real/link.Dockerfile",
            "real/dangling",
            "real/missing",
            "real/Dockerfile/x",
            "linkdir",
            "linkdir/",
            "linkdir/.",
            "linkdir/Dockerfile",
            "linkdir/sub/Dockerfile",
            "real",
            "real/",
            "real/sub/..",
        ] {
            let path = base.join(p);
            assert_eq!(
                canonical(&path, &mut folders),
                path.canonicalize().ok(),
                "{p}"
            );
        }
        // The roots hold what lies within them, as `starts_with` says.
        let roots = WriteRoots::of(&[d("real/sub"), d("linkdir/Dockerfile")]);
        assert!(roots.hold(&d("real/sub/Dockerfile")));
        assert!(roots.hold(&d("real/sub")));
        assert!(roots.hold(&d("real/Dockerfile")));
        assert!(!roots.hold(&d("real/other")));
        assert!(!roots.hold(&d("real")));
        assert!(!roots.hold(&d("real/Dockerfile2")));
    }

    /// `read_regular` given the size `fstat` said (`said`), for a file of `text`.
    fn read_said(text: &[u8], said: u64, cap: u64) -> Vec<u8> {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("Dockerfile");
        std::fs::write(&path, text).expect("write");
        read_regular(std::fs::File::open(&path).expect("open"), said, cap).expect("read")
    }

    #[test]
    fn reads_the_whole_file_whatever_fstat_said() {
        let text = b"FROM alpine\nRUN true\n";
        let len = text.len() as u64;
        assert_eq!(read_said(text, len, u64::MAX), text);
        assert_eq!(read_said(b"", 0, u64::MAX), b"");
        // Grown since the `fstat` (said smaller): read to the end, growing the buffer.
        assert_eq!(read_said(text, 0, u64::MAX), text);
        assert_eq!(read_said(text, 3, u64::MAX), text);
        // Shrunk since (said larger): what is there.
        assert_eq!(read_said(text, len + 100, u64::MAX), text);
        // Never more than `cap` bytes, however it grew.
        assert_eq!(read_said(text, 3, 5), &text[..5]);
        assert_eq!(read_said(text, len, len + 1), text);
    }
}
