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

/// Replaces `path`'s content with `text` atomically: a temporary file in the same folder that
/// takes over the original's owner, group, mode and extended attributes (ACLs are the
/// `system.posix_acl_*` attributes), then a rename over the original, so a reader (or a crash of
/// dfopt) sees either the old or the new file, never part of one. Like ruff and gofmt, dfopt does
/// not fsync each file: that cost 12x the time of a dry run over 10,000 files
/// (docs/benchmarks.md).
///
/// Refused, with the file left as it was: a symlink; a file this process may not write (the
/// kernel's own check, `faccessat(W_OK)`, so ACLs and ownership count, not only mode bits) or one
/// with no write bit at all (read-only by intent, even for root); a file with other hard links (the
/// rename would detach this name from them); and a file whose owner, group or attributes cannot be
/// carried over.
pub fn write_atomic(path: &Path, text: &str) -> Result<(), String> {
    let meta = fs::symlink_metadata(path).map_err(|e| crate::discover::io_message(&e))?;
    if meta.file_type().is_symlink() {
        return Err("is a symlink; not written through (fix the file it points to)".into());
    }
    if !meta.is_file() {
        return Err("not a regular file; not written".into());
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        if meta.permissions().mode() & 0o222 == 0 {
            return Err("read-only file; not written".into());
        }
        if !unix_meta::may_write(path) {
            return Err("permission denied (not writable by this user); not written".into());
        }
        if meta.nlink() > 1 {
            return Err(format!(
                "has {} hard links; not written (replacing it would detach this name from the \
                 others; edit it in place or break the link first)",
                meta.nlink()
            ));
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
        .prefix(&temp_prefix())
        .rand_bytes(TEMP_TOKEN_LEN)
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
    #[cfg(unix)]
    unix_meta::copy_identity(path, &meta, tmp.as_file())?;
    tmp.as_file()
        .set_permissions(meta.permissions())
        .map_err(|e| format!("cannot keep permissions: {e}"))?;
    tmp.persist(path)
        .map_err(|e| format!("rename failed: {}", crate::discover::io_message(&e.error)))?;
    Ok(())
}

#[cfg(unix)]
mod unix_meta {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::MetadataExt;
    use std::os::unix::io::AsRawFd;
    use std::path::Path;

    fn c_path(path: &Path) -> Option<CString> {
        CString::new(path.as_os_str().as_bytes()).ok()
    }

    /// The kernel's answer to "may this process write the file" (effective ids, ACLs included).
    pub(super) fn may_write(path: &Path) -> bool {
        let Some(p) = c_path(path) else {
            return false;
        };
        // SAFETY: `p` is a valid NUL-terminated string that outlives the call.
        unsafe { libc::faccessat(libc::AT_FDCWD, p.as_ptr(), libc::W_OK, libc::AT_EACCESS) == 0 }
    }

    /// Gives `tmp` the owner, group and extended attributes of the file it replaces. The mode is
    /// set afterwards (a change of owner clears set-user-ID bits).
    pub(super) fn copy_identity(
        path: &Path,
        meta: &std::fs::Metadata,
        tmp: &std::fs::File,
    ) -> Result<(), String> {
        let fd = tmp.as_raw_fd();
        let tmp_meta = tmp
            .metadata()
            .map_err(|e| format!("cannot stat the temporary file: {e}"))?;
        if tmp_meta.uid() != meta.uid() || tmp_meta.gid() != meta.gid() {
            // SAFETY: `fd` is an open file descriptor owned by `tmp`.
            if unsafe { libc::fchown(fd, meta.uid(), meta.gid()) } != 0 {
                return Err(format!(
                    "cannot keep its owner and group ({}:{}): {}; not written",
                    meta.uid(),
                    meta.gid(),
                    std::io::Error::last_os_error()
                ));
            }
        }
        let Some(p) = c_path(path) else {
            return Err("path contains a NUL byte".into());
        };
        for name in xattr_names(&p)? {
            let Some(value) = xattr_value(&p, &name)? else {
                continue;
            };
            // SAFETY: name and value are valid buffers for the given lengths; `fd` is open.
            let rc = unsafe {
                libc::fsetxattr(fd, name.as_ptr(), value.as_ptr().cast(), value.len(), 0)
            };
            if rc != 0 {
                return Err(format!(
                    "cannot keep extended attribute {}: {}; not written",
                    name.to_string_lossy(),
                    std::io::Error::last_os_error()
                ));
            }
        }
        Ok(())
    }

    fn unsupported(e: &std::io::Error) -> bool {
        e.raw_os_error() == Some(libc::ENOTSUP)
    }

    fn xattr_names(p: &CString) -> Result<Vec<CString>, String> {
        loop {
            // SAFETY: a null buffer of size 0 asks for the size.
            let size = unsafe { libc::llistxattr(p.as_ptr(), std::ptr::null_mut(), 0) };
            if size < 0 {
                let e = std::io::Error::last_os_error();
                return if unsupported(&e) {
                    Ok(Vec::new())
                } else {
                    Err(format!("cannot list extended attributes: {e}; not written"))
                };
            }
            if size == 0 {
                return Ok(Vec::new());
            }
            let mut buf = vec![0u8; size as usize];
            // SAFETY: `buf` has room for `buf.len()` bytes.
            let got = unsafe { libc::llistxattr(p.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
            if got < 0 {
                if std::io::Error::last_os_error().raw_os_error() == Some(libc::ERANGE) {
                    continue; // the list grew in between
                }
                return Err(format!(
                    "cannot list extended attributes: {}; not written",
                    std::io::Error::last_os_error()
                ));
            }
            buf.truncate(got as usize);
            return Ok(buf
                .split(|&b| b == 0)
                .filter(|n| !n.is_empty())
                .filter_map(|n| CString::new(n).ok())
                .collect());
        }
    }

    fn xattr_value(p: &CString, name: &CString) -> Result<Option<Vec<u8>>, String> {
        loop {
            // SAFETY: a null buffer of size 0 asks for the size.
            let size =
                unsafe { libc::lgetxattr(p.as_ptr(), name.as_ptr(), std::ptr::null_mut(), 0) };
            if size < 0 {
                let e = std::io::Error::last_os_error();
                if e.raw_os_error() == Some(libc::ENODATA) {
                    return Ok(None); // removed in between
                }
                return Err(format!(
                    "cannot read extended attribute {}: {e}; not written",
                    name.to_string_lossy()
                ));
            }
            let mut buf = vec![0u8; size as usize];
            // SAFETY: `buf` has room for `buf.len()` bytes.
            let got = unsafe {
                libc::lgetxattr(
                    p.as_ptr(),
                    name.as_ptr(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                )
            };
            if got < 0 {
                if std::io::Error::last_os_error().raw_os_error() == Some(libc::ERANGE) {
                    continue;
                }
                return Err(format!(
                    "cannot read extended attribute {}: {}; not written",
                    name.to_string_lossy(),
                    std::io::Error::last_os_error()
                ));
            }
            buf.truncate(got as usize);
            return Ok(Some(buf));
        }
    }
}

/// Random characters after the pid in a temporary file's name.
const TEMP_TOKEN_LEN: usize = 6;

/// `.dfopt-tmp-PID-`: a temporary file is named after the process that made it, so that a later
/// run can tell whether its maker is still running.
fn temp_prefix() -> String {
    format!("{TEMP_PREFIX}{}-", std::process::id())
}

/// Removes temporary files a killed run of dfopt left in `dir`. Only files that are provably
/// dfopt's own debris are removed: the name is exactly `.dfopt-tmp-PID-TOKEN` (digits, then six
/// letters or digits, as [`write_atomic`] makes it), it is a regular file with one link owned by
/// this user, and its maker is gone (no `/proc/PID`; where `/proc` is missing, the file is over an
/// hour old). A file that merely starts with the prefix is someone else's and is left alone.
pub fn remove_stale_temp_files(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(pid) = name.to_str().and_then(temp_file_pid) else {
            continue;
        };
        if is_stale(pid, &e) {
            let _ = fs::remove_file(e.path());
        }
    }
}

/// The pid in a name of the form `.dfopt-tmp-PID-TOKEN`, or None for any other name.
fn temp_file_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix(TEMP_PREFIX)?;
    let (pid, token) = rest.split_once('-')?;
    let well_formed = !pid.is_empty()
        && pid.bytes().all(|b| b.is_ascii_digit())
        && token.len() == TEMP_TOKEN_LEN
        && token.bytes().all(|b| b.is_ascii_alphanumeric());
    well_formed.then(|| pid.parse().ok()).flatten()
}

fn is_stale(pid: u32, entry: &fs::DirEntry) -> bool {
    let Ok(meta) = entry.metadata() else {
        return false;
    };
    if !meta.file_type().is_file() {
        return false;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        // SAFETY: geteuid has no preconditions.
        let me = unsafe { libc::geteuid() };
        if meta.uid() != me || meta.nlink() != 1 {
            return false;
        }
    }
    if pid == std::process::id() {
        return false;
    }
    if Path::new("/proc/self").exists() {
        return !Path::new(&format!("/proc/{pid}")).exists();
    }
    meta.modified()
        .ok()
        .and_then(|t| t.elapsed().ok())
        .map(|age| age.as_secs() > 3600)
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_temp_files_of_dead_processes_are_removed() {
        let d = tempfile::tempdir().expect("tmp");
        let live = d
            .path()
            .join(format!("{TEMP_PREFIX}{}-abc123", std::process::id()));
        let dead = d
            .path()
            .join(format!("{TEMP_PREFIX}{}-abc123", u32::MAX - 1));
        // Not dfopt's naming: a user's files that happen to share the prefix.
        let others = [
            format!("{TEMP_PREFIX}notes"),
            format!("{TEMP_PREFIX}{}-abc", u32::MAX - 1),
            format!("{TEMP_PREFIX}{}-abc123.bak", u32::MAX - 1),
            format!("{TEMP_PREFIX}x{}-abc123", u32::MAX - 1),
        ];
        for f in [&live, &dead] {
            fs::write(f, "x").expect("w");
        }
        for o in &others {
            fs::write(d.path().join(o), "x").expect("w");
        }
        remove_stale_temp_files(d.path());
        assert!(live.exists(), "a running process's temporary file is kept");
        assert!(!dead.exists(), "a dead process's temporary file is removed");
        for o in &others {
            assert!(d.path().join(o).exists(), "{o} is not dfopt's and is kept");
        }
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
