//! Finding the Dockerfiles a run covers.

use std::path::{Path, PathBuf};

/// What a PATH argument turned into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Stdin,
    File(PathBuf),
    /// Something named on the command line or met on the walk that cannot be processed.
    Error(PathBuf, String),
}

/// Whether a file name is one dfopt takes when walking a folder.
pub fn is_dockerfile_name(name: &str) -> bool {
    if name.ends_with(".dockerignore") {
        return false;
    }
    name == "Dockerfile"
        || name == "dockerfile"
        || name.starts_with("Dockerfile.")
        || name.ends_with(".Dockerfile")
        || name.ends_with(".dockerfile")
        || name == "Containerfile"
        || name.starts_with("Containerfile.")
}

/// Options for the walk.
#[derive(Debug, Clone, Default)]
pub struct WalkOptions {
    pub follow_symlinks: bool,
    /// Extra glob patterns (on file names) to take.
    pub include: Vec<String>,
    /// Glob patterns (on paths) to skip.
    pub exclude: Vec<String>,
}

/// Expands PATH arguments: files as given, folders walked (honouring .gitignore and .ignore,
/// skipping hidden entries), `-` as standard input. Collects [`discover_each`]'s stream.
pub fn discover(paths: &[PathBuf], opts: &WalkOptions) -> Vec<Input> {
    let mut out = Vec::new();
    discover_each(paths, opts, |i| {
        out.push(i);
        true
    });
    out
}

/// Streams the inputs of PATH arguments to `visit` (which returns false to stop) without holding
/// them all: folders are walked depth-first with each folder's entries sorted by name, so the
/// order is stable from run to run and memory stays flat however large the tree.
pub fn discover_each(paths: &[PathBuf], opts: &WalkOptions, mut visit: impl FnMut(Input) -> bool) {
    let include = build_globs(&opts.include, true);
    let exclude = build_globs(&opts.exclude, false);
    for p in paths {
        let go_on = if p.as_os_str() == "-" {
            visit(Input::Stdin)
        } else {
            match std::fs::symlink_metadata(p) {
                Err(e) => visit(Input::Error(p.clone(), io_message(&e))),
                Ok(m) if m.is_dir() || (m.file_type().is_symlink() && p.is_dir()) => {
                    walk(p, opts, include.as_ref(), exclude.as_ref(), &mut visit)
                }
                // Only regular files are read: a FIFO would block the run, a device (`/dev/zero`)
                // never ends. A symlink is judged by what it points to.
                Ok(_) if !std::fs::metadata(p).is_ok_and(|m| m.is_file()) => {
                    visit(Input::Error(p.clone(), "not a regular file".into()))
                }
                Ok(_) => visit(Input::File(p.clone())),
            }
        };
        if !go_on {
            return;
        }
    }
}

fn build_globs(patterns: &[String], names: bool) -> Option<ignore::overrides::Override> {
    if patterns.is_empty() {
        return None;
    }
    let mut b = ignore::overrides::OverrideBuilder::new("/");
    for pat in patterns {
        let rooted = pat.starts_with('/') || pat.starts_with("**");
        let _ = names;
        let pat = if rooted {
            pat.clone()
        } else {
            format!("**/{pat}")
        };
        let _ = b.add(&pat);
    }
    b.build().ok()
}

fn walk(
    root: &Path,
    opts: &WalkOptions,
    include: Option<&ignore::overrides::Override>,
    exclude: Option<&ignore::overrides::Override>,
    visit: &mut impl FnMut(Input) -> bool,
) -> bool {
    let walker = ignore::WalkBuilder::new(root)
        .hidden(true)
        .git_ignore(true)
        .git_exclude(true)
        .git_global(false)
        .ignore(true)
        .parents(true)
        .require_git(false)
        .follow_links(opts.follow_symlinks)
        .sort_by_file_name(|a, b| a.cmp(b))
        .build();
    for entry in walker {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                let path = match &e {
                    ignore::Error::WithPath { path, .. } => path.clone(),
                    _ => root.to_path_buf(),
                };
                if !visit(Input::Error(path, e.to_string())) {
                    return false;
                }
                continue;
            }
        };
        let Some(ft) = entry.file_type() else {
            continue;
        };
        let name = entry.file_name().to_string_lossy();
        let path = entry.path();
        let matches_include = || {
            include
                .map(|inc| {
                    inc.matched(
                        std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()),
                        false,
                    )
                    .is_whitelist()
                })
                .unwrap_or(false)
        };
        if !(is_dockerfile_name(&name) || matches_include()) {
            continue;
        }
        if let Some(ex) = exclude {
            let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
            if ex.matched(&abs, ft.is_dir()).is_whitelist() {
                continue;
            }
        }
        // Folders are never files to process (a Go package `internal/dockerfile/` is walked, not
        // read), and the walk skips what is not a regular file: FIFOs, sockets, devices, and
        // symlinks unless followed (then the target's type counts).
        if !ft.is_file() {
            continue;
        }
        let input = Input::File(path.to_path_buf());
        if !visit(input) {
            return false;
        }
    }
    true
}

pub fn io_message(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => {
            let s = e.to_string();
            match s.find(" (os error") {
                Some(i) => s[..i].to_lowercase(),
                None => s,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for n in [
            "Dockerfile",
            "Dockerfile.dev",
            "api.Dockerfile",
            "x.dockerfile",
            "Containerfile",
            "Containerfile.arm",
        ] {
            assert!(is_dockerfile_name(n), "{n}");
        }
        for n in [
            "Dockerfile.dockerignore",
            "README.md",
            "dockerfile.go",
            "Makefile",
        ] {
            assert!(!is_dockerfile_name(n), "{n}");
        }
    }
}
