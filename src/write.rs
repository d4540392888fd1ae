//! Reading input safely and writing fixed files atomically.

use crate::diagnostic::Diagnostic;
use std::fs;
use std::io::Write as _;
use std::path::Path;

/// Why a file cannot be read as a Dockerfile, with the 1-based line and column of the problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadError {
    pub line: usize,
    pub col: usize,
    pub message: String,
}

impl ReadError {
    /// The error as a diagnostic about the file shown as `path`.
    pub fn in_file(self, path: impl Into<std::path::PathBuf>) -> Diagnostic {
        Diagnostic::new(path, self.line, self.col, self.message)
    }
}

/// Decodes bytes as a Dockerfile's text: refuses NUL bytes (binary) and invalid UTF-8 with the
/// position of the first bad byte.
pub fn decode(bytes: Vec<u8>) -> Result<String, ReadError> {
    if let Some(pos) = memchr::memchr(0, &bytes) {
        let (line, col) = position(&bytes, pos);
        return Err(ReadError {
            line,
            col,
            message: "binary file (NUL byte)".into(),
        });
    }
    String::from_utf8(bytes).map_err(|e| {
        let pos = e.utf8_error().valid_up_to();
        let (line, col) = position(e.as_bytes(), pos);
        ReadError {
            line,
            col,
            message: "invalid UTF-8".into(),
        }
    })
}

fn position(bytes: &[u8], pos: usize) -> (usize, usize) {
    let before = &bytes[..pos.min(bytes.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map(|i| i + 1)
        .unwrap_or(0);
    let col = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    (line, col)
}

/// Prefix of dfopt's temporary files; a leftover one (after a crash) is removed by the next run.
pub const TEMP_PREFIX: &str = ".dfopt-tmp-";

/// Replaces `path`'s content with `text` atomically: a temporary file in the same folder with the
/// original's permissions, then a rename over the original, so a reader (or a crash of dfopt) sees
/// either the old or the new file, never part of one. Like ruff and gofmt, dfopt does not fsync each
/// file: that cost 12x the time of a dry run over 10,000 files (docs/benchmarks.md). A symlink or a
/// read-only file is refused.
pub fn write_atomic(path: &Path, text: &str) -> Result<(), String> {
    let meta = fs::symlink_metadata(path).map_err(|e| crate::discover::io_message(&e))?;
    if meta.file_type().is_symlink() {
        return Err("is a symlink; not written through (fix the file it points to)".into());
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o222 == 0 {
            return Err("read-only file; not written".into());
        }
    }
    #[cfg(not(unix))]
    if meta.permissions().readonly() {
        return Err("read-only file; not written".into());
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let prefix = format!("{TEMP_PREFIX}{}-", std::process::id());
    let mut tmp = tempfile::Builder::new()
        .prefix(&prefix)
        .tempfile_in(dir)
        .map_err(|e| {
            format!(
                "cannot create a temporary file in {}: {}",
                dir.display(),
                crate::discover::io_message(&e)
            )
        })?;
    tmp.write_all(text.as_bytes())
        .map_err(|e| format!("write failed: {}", crate::discover::io_message(&e)))?;
    tmp.as_file()
        .set_permissions(meta.permissions())
        .map_err(|e| format!("cannot keep permissions: {e}"))?;
    tmp.persist(path)
        .map_err(|e| format!("rename failed: {}", crate::discover::io_message(&e.error)))?;
    Ok(())
}

/// Removes temporary files a killed run left in `dir`. A temporary file is named after the
/// process that made it; it is stale when that process is gone (or, where `/proc` is missing, when
/// it is over an hour old), so concurrent dfopt runs never delete each other's files.
pub fn remove_stale_temp_files(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(TEMP_PREFIX)) else {
            continue;
        };
        let pid: Option<u32> = rest.split('-').next().and_then(|p| p.parse().ok());
        if is_stale(pid, &e) {
            let _ = fs::remove_file(e.path());
        }
    }
}

fn is_stale(pid: Option<u32>, entry: &fs::DirEntry) -> bool {
    match pid {
        // Every temporary file dfopt makes is named after its process: one without a pid is debris.
        None => true,
        Some(p) if p == std::process::id() => false,
        Some(p) if Path::new("/proc/self").exists() => !Path::new(&format!("/proc/{p}")).exists(),
        Some(_) => entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .map(|age| age.as_secs() > 3600)
            .unwrap_or(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_temp_files_of_dead_processes_are_removed() {
        let d = tempfile::tempdir().expect("tmp");
        let live = d
            .path()
            .join(format!("{TEMP_PREFIX}{}-abc", std::process::id()));
        let dead = d.path().join(format!("{TEMP_PREFIX}{}-abc", u32::MAX - 1));
        fs::write(&live, "x").expect("w");
        fs::write(&dead, "x").expect("w");
        remove_stale_temp_files(d.path());
        assert!(live.exists(), "a running process's temporary file is kept");
        assert!(!dead.exists(), "a dead process's temporary file is removed");
    }

    #[test]
    fn decode_errors_have_positions() {
        assert_eq!(
            decode(b"FROM a\nRUN \xff\n".to_vec()).unwrap_err(),
            ReadError {
                line: 2,
                col: 5,
                message: "invalid UTF-8".into()
            }
        );
        assert_eq!(decode(b"FROM a\0".to_vec()).unwrap_err().col, 7);
    }
}
