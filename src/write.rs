//! Reading input safely and writing fixed files atomically.

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

/// Decodes bytes as a Dockerfile's text: refuses NUL bytes (binary) and invalid UTF-8 with the
/// position of the first bad byte.
pub fn decode(bytes: Vec<u8>) -> Result<String, ReadError> {
    if let Some(pos) = bytes.iter().position(|&b| b == 0) {
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

/// Replaces `path`'s content with `text` atomically: a temporary file in the same folder, the
/// original's permissions, fsync, then rename. A symlink or a read-only file is refused.
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
    let mut tmp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
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
    tmp.as_file()
        .sync_all()
        .map_err(|e| format!("fsync failed: {e}"))?;
    tmp.persist(path)
        .map_err(|e| format!("rename failed: {}", crate::discover::io_message(&e.error)))?;
    Ok(())
}

/// Removes temporary files a killed run left in `dir`.
pub fn remove_stale_temp_files(dir: &Path) {
    if let Ok(entries) = fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
                let _ = fs::remove_file(e.path());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
